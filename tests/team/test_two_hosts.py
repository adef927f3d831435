"""Kernels on two hosts writing to one PostgreSQL + S3 store at the same time.

Each "host" is a real kernel process in its own UTS namespace (``unshare --uts``) with its
own host name, so everything that asks the operating system who it is — the run's
``host``, crash detection on open (``mark_crashed`` looks only at runs of its own host) —
sees two machines. Both kernels track runs with artifacts and models and register
versions of one model while ``gc`` runs beside them; then ``jupyter mm verify`` and
``jupyter mm gc --yes`` (the real CLI): nothing lost, every run attributed to its host,
the model's version numbers gap-free.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from kernel.conftest import REPO, execute

from jupyter_mm.cli._common import iter_all_runs
from jupyter_mm.cli.maintenance import collect_garbage
from jupyter_mm.tracking import new_run

pytestmark = [pytest.mark.postgres, pytest.mark.s3, pytest.mark.kernel]

HOSTS = ("mm-host-a", "mm-host-b")
RUNS_PER_HOST = 4
MODEL = "team-model"


def _unshare_prefix() -> list[str]:
    """How to start a process with its own host name here (root: a UTS namespace; others:
    in a user namespace as well), or fail/skip saying why."""
    unshare = shutil.which("unshare")
    prefix = [unshare, "--uts"] if unshare else []
    if prefix and os.geteuid() != 0:
        prefix.append("--map-root-user")
    probe = [*prefix, "sh", "-c", "hostname mm-probe && hostname"]
    ok = bool(prefix) and subprocess.run(probe, capture_output=True, text=True).stdout == (
        "mm-probe\n"
    )
    if not ok:
        reason = "cannot give a process its own host name here (unshare --uts)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run the two-hosts test.")
        pytest.skip(reason)
    return prefix


@pytest.fixture
def host_kernels(team_store, tmp_path) -> Iterator[dict[str, Any]]:
    """One running kernel per host name, each with the team store's environment."""
    prefix = _unshare_prefix()
    specs = tmp_path / "kernels"
    launcher = 'hostname "$0" && exec "$1" -m ipykernel_launcher -f "$2"'
    for host in HOSTS:
        spec = specs / host
        spec.mkdir(parents=True)
        argv = [*prefix, "sh", "-c", launcher, host, sys.executable, "{connection_file}"]
        spec.joinpath("kernel.json").write_text(
            json.dumps({"argv": argv, "display_name": host, "language": "python"})
        )
    kernel_specs = KernelSpecManager(kernel_dirs=[str(specs)])
    managers: dict[str, KernelManager] = {}
    try:
        for host in HOSTS:
            env = team_store.env()
            env["HOSTNAME"] = host  # what a login shell on that host would export
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO, env.get("PYTHONPATH")]))
            env.pop("JPY_SESSION_NAME", None)
            workdir = tmp_path / host
            workdir.mkdir()
            km = KernelManager(kernel_name=host, kernel_spec_manager=kernel_specs)
            with (tmp_path / f"{host}.stderr").open("wb") as log:
                km.start_kernel(env=env, cwd=str(workdir), stderr=log)
            managers[host] = km
        yield managers
    finally:
        for km in managers.values():
            km.shutdown_kernel(now=True)


def _tracked_cell(host: str, index: int) -> str:
    return f"""%%track -n {host}-{index} -m acc
import numpy as np
import jupyter_mm as mm
from sklearn.linear_model import LogisticRegression
rng = np.random.default_rng({index})
X = rng.normal(size=(40, 3))
y = (X[:, 0] > 0).astype(int)
clf = LogisticRegression(C={index + 1}.0).fit(X, y)
acc = float(clf.score(X, y))
mm.log_artifact("{host} run {index}".encode(), name="note.txt")
mm.log_model(clf, "clf")
last_run = mm.active_run().id
"""


def _drive(km: KernelManager, host: str, start: threading.Barrier, out: dict[str, Any]) -> None:
    kc = km.client()
    kc.start_channels()
    problems: list[str] = []
    try:
        kc.wait_for_ready(timeout=120)
        execute(kc, "%load_ext jupyter_mm", timeout=120)
        seen = execute(kc, "import socket; print(socket.gethostname())").stdout.strip()
        start.wait(timeout=180)
        for index in range(RUNS_PER_HOST):
            for code in (
                _tracked_cell(host, index),
                f"print(mm.register_model(last_run, 'clf', {MODEL!r}).version)",
            ):
                result = execute(kc, code, timeout=180)
                if result.status != "ok" or "jupyter-mm" in result.stderr:
                    problems.append(f"{host}: {result.status} {result.errors} {result.stderr}")
        out[host] = {"hostname": seen, "problems": problems}
    except BaseException as exc:  # reported by the test, not lost in a thread
        start.abort()
        out[host] = {"hostname": None, "problems": [f"{host}: {exc!r}"]}
    finally:
        kc.stop_channels()


def _cli(team_store, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_mm.cli", *args],
        env=team_store.env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_two_hosts_write_one_store_while_gc_runs(team_store, host_kernels):
    with team_store.open() as store:
        # garbage from before: an unreferenced blob the final gc must take
        garbage = store.blobs.put_bytes(b"left over from a deleted run")
        start = threading.Barrier(len(HOSTS) + 1)
        outcomes: dict[str, Any] = {}
        threads = [
            threading.Thread(target=_drive, args=(km, host, start, outcomes))
            for host, km in host_kernels.items()
        ]
        for thread in threads:
            thread.start()
        start.wait(timeout=300)
        # gc with the default grace while both hosts write: it must take nothing they need
        collections = 0
        while any(thread.is_alive() for thread in threads):
            report = collect_garbage(store, grace_hours=1.0, delete=True)
            assert report["unreferenced"] == [] and report["blockers"] == []
            collections += 1
        for thread in threads:
            thread.join()
        assert collections >= 1
        for host in HOSTS:
            assert outcomes[host]["problems"] == []
            assert outcomes[host]["hostname"] == host

        runs = list(iter_all_runs(store))
        assert len(runs) == len(HOSTS) * RUNS_PER_HOST
        for run in runs:
            assert run.status == "finished", run
            assert run.name.startswith(run.host + "-"), (run.name, run.host)
            detail = store.get_run_detail(run.id)
            note = {a.name: a for a in detail.artifacts}["note.txt"]
            assert store.blobs.get_bytes(note.digest).decode().startswith(run.host)
        versions = store.list_versions(MODEL)
        numbers = sorted(v.version for v in versions)
        assert numbers == list(range(1, len(HOSTS) * RUNS_PER_HOST + 1))
        assert {v.run_id for v in versions} == {r.id for r in runs}

    verified = _cli(team_store, "verify", "--json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    report = json.loads(verified.stdout)
    assert report["ok"] and report["runs"] == len(HOSTS) * RUNS_PER_HOST

    # no kernel writes now: a gc without grace takes the old garbage and nothing else
    collected = _cli(team_store, "gc", "--yes", "--grace", "0", "--json")
    assert collected.returncode == 0, collected.stderr
    gone = [e["digest"] for e in json.loads(collected.stdout)["unreferenced"]]
    assert gone == [garbage]
    after = _cli(team_store, "verify", "--json")
    assert after.returncode == 0 and json.loads(after.stdout)["ok"], after.stdout


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_crash_marking_and_loading_across_hosts(team_store, host_kernels):
    """A run left ``running`` by a process that died on host A: a store opening on host B
    leaves it alone (B cannot see A's processes), one opening on host A marks it crashed.
    And a version registered from host A loads (digest-checked, through S3) on host B."""
    (host_a, km_a), (host_b, km_b) = host_kernels.items()
    with team_store.open() as store:
        orphan = store.create_run(
            replace(new_run("orphan"), host=host_a, pid=_dead_pid(), process_start_time=None)
        )
    clients = {}
    try:
        for host, km in ((host_b, km_b), (host_a, km_a)):
            kc = km.client()
            kc.start_channels()
            kc.wait_for_ready(timeout=120)
            clients[host] = kc
        b, a = clients[host_b], clients[host_a]
        status = f"print(mm.get_run({orphan.id!r}).run.status)"
        execute(b, "%load_ext jupyter_mm", timeout=120)
        assert execute(b, "import jupyter_mm as mm\n" + status).stdout.strip() == "running"
        execute(a, "%load_ext jupyter_mm", timeout=120)
        assert execute(a, "import jupyter_mm as mm\n" + status).stdout.strip() == "crashed"

        assert execute(a, _tracked_cell(host_a, 0), timeout=180).status == "ok"
        registered = execute(a, f"mm.register_model(last_run, 'clf', {MODEL!r}).version")
        assert registered.status == "ok"
        code = (
            "import numpy as np\n"
            f"m = mm.load_model('{MODEL}/1')\n"
            "print(type(m).__name__, m.predict(np.zeros((1, 3))).shape)"
        )
        loaded = execute(b, code, timeout=180)
        assert loaded.status == "ok", loaded.errors
        assert loaded.stdout.strip() == "LogisticRegression (1,)"
    finally:
        for kc in clients.values():
            kc.stop_channels()
