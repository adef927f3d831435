"""Helpers of ``test_concurrent_kernels``: real kernels writing tracked runs into one store,
each driven from its own thread, and a REST reader polling a real server meanwhile."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_client.manager import KernelManager

from jupyter_mm.config import ENV_ARTIFACTS, ENV_STORE, StoreLocation

PARAMS = 20
METRIC_POINTS = 200
#: one artifact has the same bytes in every run (concurrent writers of one blob), the other
#: is the run's own
ARTIFACTS = ("shared.bin", "own.bin")
SHARED_BYTES = b"the same artifact in every run\n" * 64
#: a lock error in a REST answer, a kernel's stderr or the server log (SQLite, PostgreSQL)
LOCK_WORDS = ("database is locked", "stayed locked", "deadlock")


def run_name(kernel: int, run: int) -> str:
    return f"k{kernel}-r{run}"


def tracked_cell(kernel: int, run: int) -> str:
    """A ``%%track`` cell with PARAMS params, METRIC_POINTS points of ``loss`` and the two
    ARTIFACTS. No top-level literal assignment: those would become params too."""
    return (
        f"%%track -q --name {run_name(kernel, run)}\n"
        "import jupyter_mm as mm\n"
        f"for i in range({PARAMS}):\n"
        f"    mm.log_param(f'p{{i}}', i * {kernel + 1} + {run})\n"
        f"for step in range({METRIC_POINTS}):\n"
        "    mm.log_metric('loss', 1.0 / (step + 1), step=step)\n"
        f"mm.log_artifact({SHARED_BYTES!r}, name={ARTIFACTS[0]!r})\n"
        f"mm.log_artifact(b'{run_name(kernel, run)} ' * 100, name={ARTIFACTS[1]!r})\n"
    )


def kernel_env(store: StoreLocation) -> dict[str, str]:
    # a session name inherited from a notebook running the tests is not these kernels' own
    env = {k: v for k, v in os.environ.items() if k != "JPY_SESSION_NAME"}
    env[ENV_STORE] = store.url
    env[ENV_ARTIFACTS] = store.artifact_root
    return env


@dataclass
class KernelOutcome:
    """What one kernel's thread saw: its execute replies and every stderr text."""

    kernel: int
    statuses: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # ename: evalue of failed cells
    stderr: str = ""


def execute(kc: Any, code: str, outcome: KernelOutcome, timeout: float = 300) -> None:
    """Run ``code`` and wait for its reply; stderr from any request of this kernel (a flush
    thread may write under another parent) lands in ``outcome.stderr``."""
    msg_id = kc.execute(code, stop_on_error=False)
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream" and content["name"] == "stderr":
            outcome.stderr += content["text"]
        elif kind == "error":
            outcome.errors.append(f"{content['ename']}: {content['evalue']}")
        ours = msg["parent_header"].get("msg_id") == msg_id
        if ours and kind == "status" and content["execution_state"] == "idle":
            break
    while True:
        reply = kc.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            outcome.statuses.append(reply["content"]["status"])
            return


def start_kernels(
    managers: list[KernelManager], count: int, store: StoreLocation, cwd: Path
) -> None:
    """Launch ``count`` kernels into ``managers`` without waiting for them (each thread
    waits for its own); a kernel's own stderr goes to ``cwd/kernel-<i>.stderr``. The caller
    shuts down whatever is in ``managers``, also when a launch fails half-way."""
    for index in range(count):
        managers.append(launch_kernel(index, store, cwd))


def launch_kernel(index: int, store: StoreLocation, cwd: Path) -> KernelManager:
    km = KernelManager(kernel_name="python3")
    with (cwd / f"kernel-{index}.stderr").open("ab") as log:
        km.start_kernel(env=kernel_env(store), cwd=str(cwd), stderr=log)
    return km


def ready_client(managers: list[KernelManager], index: int, store: StoreLocation, cwd: Path) -> Any:
    """A started client of kernel ``index``, ready for requests. A kernel that dies before it
    ever answers (no jupyter-mm code has run in it yet: e.g. another process took one of the
    ports it was given) is launched once more, in place in ``managers``."""
    for attempt in (1, 2):
        km = managers[index]
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=120)
            return kc
        except RuntimeError:
            kc.stop_channels()
            if attempt == 2 or km.is_alive():
                raise
            km.cleanup_resources()
            managers[index] = launch_kernel(index, store, cwd)
    raise AssertionError("unreachable")


def drive_kernel(
    managers: list[KernelManager],
    index: int,
    runs: int,
    start_together: threading.Barrier,
    store: StoreLocation,
    cwd: Path,
) -> KernelOutcome:
    """Load the extension, wait for every other kernel, then run ``runs`` tracked cells."""
    outcome = KernelOutcome(kernel=index)
    try:
        kc = ready_client(managers, index, store, cwd)
    except BaseException:
        start_together.abort()  # the others must not wait for a kernel that is gone
        raise
    try:
        try:
            execute(kc, "%load_ext jupyter_mm", outcome, timeout=240)
            # longer than any one kernel may take to get here, so that a broken barrier
            # always means that kernel failed (its own error is the one reported)
            start_together.wait(timeout=400)
        except BaseException:
            start_together.abort()
            raise
        for run in range(runs):
            execute(kc, tracked_cell(index, run), outcome)
    finally:
        kc.stop_channels()
    return outcome


def outcomes_of(futures: list[Future[KernelOutcome]], cwd: Path) -> list[KernelOutcome]:
    """Every kernel's outcome; when a kernel thread failed, its own error (not the broken
    barrier it left the others) with that kernel's stderr file."""
    wait(futures)
    failed = [
        (index, future.exception())
        for index, future in enumerate(futures)
        if future.exception() is not None
    ]
    if failed:
        first = next(
            ((i, e) for i, e in failed if not isinstance(e, threading.BrokenBarrierError)),
            failed[0],
        )
        index, error = first
        stderr_file = cwd / f"kernel-{index}.stderr"
        stderr = stderr_file.read_text(errors="replace")[-3000:] if stderr_file.exists() else ""
        raise AssertionError(f"kernel {index} failed: {error!r}; its stderr:\n{stderr}") from error
    return [future.result() for future in futures]


@dataclass
class PollLog:
    polls: int = 0  # listing requests answered
    details: int = 0  # run detail requests answered
    polls_seeing_running: int = 0  # polls that caught a kernel in the middle of a run
    most_runs_seen: int = 0
    failures: list[str] = field(default_factory=list)


class RestReader(threading.Thread):
    """Polls ``GET runs`` every ``period`` seconds, and the detail of the newest run and of
    the newest finished run. Every answer must be 200 with JSON, and a run listed as
    finished must already have everything it will ever have (the end is one transaction)."""

    def __init__(self, get: Callable[[str], tuple[int, bytes]], period: float = 0.1) -> None:
        super().__init__(name="rest-reader", daemon=True)
        self.get, self.period = get, period
        self.log = PollLog()
        self.stop = threading.Event()

    def _json(self, path: str) -> Any:
        status, body = self.get(path)
        text = body.decode(errors="replace")
        if status != 200:
            self.log.failures.append(f"GET {path} -> {status}: {text[:300]}")
            return None
        if any(word in text.lower() for word in LOCK_WORDS):
            self.log.failures.append(f"GET {path} mentions a lock: {text[:300]}")
        try:
            return json.loads(body)
        except ValueError:
            self.log.failures.append(f"GET {path} -> 200 but not JSON: {text[:300]}")
            return None

    def poll_once(self) -> None:
        page = self._json("/runs?limit=50")
        if page is None:
            return
        self.log.polls += 1
        if any(r["status"] == "running" for r in page["runs"]):
            self.log.polls_seeing_running += 1
        runs = page["runs"]
        self.log.most_runs_seen = max(self.log.most_runs_seen, len(runs))
        finished = [r for r in runs if r["status"] == "finished"]
        for run in {r["id"]: r for r in runs[:1] + finished[:1]}.values():
            detail = self._json(f"/runs/{run['id']}")
            if detail is None:
                continue
            self.log.details += 1
            if detail["run"]["status"] == "finished":
                problem = incomplete(detail)
                if problem:
                    self.log.failures.append(f"finished run {run['id']} read {problem}")

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                self.poll_once()
            except Exception as exc:  # a refused connection, a timeout: a failure too
                self.log.failures.append(f"poll raised {type(exc).__name__}: {exc}")
            self.stop.wait(max(0.0, self.period - (time.monotonic() - started)))


def incomplete(detail: dict[str, Any]) -> str | None:
    """What a finished run's REST detail misses of a full tracked cell, or None."""
    params = [p["name"] for p in detail["params"]]
    steps = [m["step"] for m in detail["metrics"] if m["name"] == "loss"]
    artifacts = sorted(a["name"] for a in detail["artifacts"])
    if sorted(params) != sorted(f"p{i}" for i in range(PARAMS)):
        return f"{len(params)} params"
    if sorted(steps) != list(range(METRIC_POINTS)):
        return f"{len(steps)} metric points"
    if artifacts != sorted(ARTIFACTS):
        return f"artifacts {artifacts}"
    if detail["run"].get("warnings"):
        return f"warnings {detail['run']['warnings']}"
    return None
