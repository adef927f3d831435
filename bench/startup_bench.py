"""Start-up costs: ``%load_ext jupyter_mm`` in a kernel, the first tracked cell after it, the
server extension's load, and the command line's (``cli_bench``: ``jupyter mm --help`` and
``jupyter mm runs`` against MLflow's).

* ``%load_ext jupyter_mm`` warm: a real kernel per sample (the extension loads once per
  kernel), the execute round trip of ``%load_ext jupyter_mm`` minus that of a trivial cell
  in the same kernel. "Warm" means the OS page cache and bytecode caches are warm: one
  unmeasured kernel loads the extension first.
* ``jupyter server`` start-up with the jupyter_mm server extension enabled against the
  same command with it disabled: wall time from spawning the process until ``/api/status``
  answers, medians of several starts alternated so drift hits both sides alike.
* The first tracked cell of a kernel (the warm-up that ``%load_ext`` starts on a thread has
  to be over before it records): sent 5 s after ``%load_ext`` answered, as when a user
  writes the cell, and sent at once, as when a notebook is run top to bottom.
"""

from __future__ import annotations

import http.client
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cli_bench
from _common import Result


def _execute_seconds(kc, code: str) -> float:
    start = time.perf_counter()
    reply = kc.execute_interactive(code, timeout=120, output_hook=lambda msg: None)
    elapsed = time.perf_counter() - start
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"benchmark cell failed: {reply['content'].get('evalue')}")
    return elapsed


def load_ext_seconds(samples: int) -> list[float]:
    """Per fresh kernel: round trip of ``%load_ext jupyter_mm`` minus a trivial cell's."""
    from jupyter_client.manager import start_new_kernel

    results: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, JUPYTER_MM_STORE=f"sqlite:///{tmp}/store/mm.db")
        for index in range(samples + 1):
            km, kc = start_new_kernel(env=env, cwd=tmp)
            try:
                for _ in range(3):  # settle the kernel's first-message costs
                    _execute_seconds(kc, "x = 1")
                trivial = statistics.median(_execute_seconds(kc, "x = 1") for _ in range(5))
                load = _execute_seconds(kc, "%load_ext jupyter_mm")
            finally:
                kc.stop_channels()
                km.shutdown_kernel(now=True)
            if index > 0:  # the first kernel only warms the caches
                results.append(load - trivial)
    return results


FIRST_CELL = "%%track -q\nx = 1"


def first_tracked_cell_seconds(samples: int, wait: float) -> list[float]:
    """Per fresh kernel: round trip of the first ``%%track`` cell, sent ``wait`` seconds after
    ``%load_ext jupyter_mm`` answered, minus a trivial cell's. The store exists already (a
    warm disk: the unmeasured first kernel creates it and warms the page cache)."""
    from jupyter_client.manager import start_new_kernel

    results: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, JUPYTER_MM_STORE=f"sqlite:///{tmp}/store/mm.db")
        for index in range(samples + 1):
            km, kc = start_new_kernel(env=env, cwd=tmp)
            try:
                for _ in range(3):
                    _execute_seconds(kc, "x = 1")
                trivial = statistics.median(_execute_seconds(kc, "x = 1") for _ in range(5))
                _execute_seconds(kc, "%load_ext jupyter_mm")
                time.sleep(wait)
                first = _execute_seconds(kc, FIRST_CELL)
            finally:
                kc.stop_channels()
                km.shutdown_kernel(now=True)
            if index > 0:
                results.append(first - trivial)
    return results


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _check_extension_state(port: int, token: str, enabled: bool) -> None:
    """Make sure the flag did what the row claims: jupyter_mm's API answers only when on."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/jupyter-mm/api/info", headers={"Authorization": f"token {token}"})
        response = conn.getresponse()
        response.read()
    finally:
        conn.close()
    if (response.status == 200) != enabled:
        state = "enabled" if enabled else "disabled"
        raise RuntimeError(
            f"jupyter_mm should be {state} but /jupyter-mm/api/info answered {response.status}."
        )


def _server_start_seconds(root: Path, enabled: bool) -> float:
    port = _free_port()
    token = secrets.token_hex(16)
    env = dict(
        os.environ,
        JUPYTER_MM_STORE=f"sqlite:///{root / 'store' / 'mm.db'}",
        JUPYTER_RUNTIME_DIR=str(root / "runtime"),
    )
    command = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--no-browser",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.log_level=WARN",
        "--allow-root",
    ]
    if not enabled:
        command.append('--ServerApp.jpserver_extensions={"jupyter_mm": False}')
    start = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                conn.request("GET", "/api/status", headers={"Authorization": f"token {token}"})
                if conn.getresponse().status == 200:
                    elapsed = time.perf_counter() - start
                    _check_extension_state(port, token, enabled)
                    return elapsed
            except (OSError, http.client.HTTPException):
                pass
            finally:
                conn.close()
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("jupyter server did not start for the start-up benchmark.")
            time.sleep(0.01)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _extension_really_loads() -> None:
    """Fail loudly if the extension is not enabled by default (the comparison would be 0)."""
    out = subprocess.run(
        [sys.executable, "-m", "jupyter", "server", "extension", "list"],
        capture_output=True,
        text=True,
        check=False,
    )
    text = out.stdout + out.stderr
    if "jupyter_mm" not in text or "enabled" not in text.split("jupyter_mm", 1)[1][:40]:
        raise RuntimeError("the jupyter_mm server extension is not enabled in this environment.")


def server_start_seconds(samples: int) -> tuple[float, float]:
    """(median without jupyter_mm, median with it) seconds until /api/status answers."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _extension_really_loads()
        _server_start_seconds(root, True)  # warm caches, create the store once
        without: list[float] = []
        with_mm: list[float] = []
        for _ in range(samples):
            without.append(_server_start_seconds(root, False))
            with_mm.append(_server_start_seconds(root, True))
    return statistics.median(without), statistics.median(with_mm)


def run(quick: bool) -> list[Result]:
    started = time.perf_counter()
    samples = 3 if quick else 9
    load = statistics.median(load_ext_seconds(samples))
    without, with_mm = server_start_seconds(samples)
    first_samples = 3 if quick else 5
    wait = 5.0
    at_once = statistics.median(first_tracked_cell_seconds(first_samples, 0.0))
    after_wait = statistics.median(first_tracked_cell_seconds(first_samples, wait))
    print(f"  (start-up benchmarks took {time.perf_counter() - started:.0f} s)")
    return [
        Result(
            target=f"first tracked cell, {wait:.0f} s after %load_ext (added time, warm disk)",
            ours=after_wait,
            peer=None,
            peer_name="",
            max_ours=0.300,
            note=f"median of {first_samples} fresh kernels; round trip of `%%track -q` "
            "`x = 1` minus a trivial cell's",
        ),
        Result(
            target="first tracked cell sent right after %load_ext (added time, warm disk)",
            ours=at_once,
            peer=None,
            peer_name="",
            note="waits for the rest of the warm-up (SQLAlchemy, store, capture modules); "
            f"median of {first_samples} fresh kernels",
        ),
        Result(
            target="%load_ext jupyter_mm, warm (real kernel round trip)",
            ours=load,
            peer=None,
            peer_name="",
            max_ours=0.150,
            note=f"median of {samples} fresh kernels, minus a trivial cell's round trip",
        ),
        Result(
            target="jupyter server start-up added by the jupyter_mm extension",
            ours=with_mm - without,
            peer=None,
            peer_name="",
            max_ours=0.300,
            note=f"until /api/status answers: {without * 1000:.0f} ms without jupyter_mm, "
            f"{with_mm * 1000:.0f} ms with it (medians of {samples})",
        ),
        # the command line, side by side with MLflow's (cli_bench.py)
        *cli_bench.run(quick),
    ]


if __name__ == "__main__":  # pragma: no cover - convenience for a single group
    from _common import print_table

    print_table(run("--quick" in sys.argv))
