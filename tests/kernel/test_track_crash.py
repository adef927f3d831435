"""A kernel killed in the middle of a tracked cell: its run becomes ``crashed`` the next time
the store opens, and the metric points flushed before the kill are kept."""

from __future__ import annotations

import os
import signal
import time

import pytest

from jupyter_mm.store import open_store

from .conftest import execute, start_kernel

pytestmark = pytest.mark.kernel

DOOMED = """%%track -n doomed
import time, jupyter_mm as mm
for step in range(30):
    mm.log_metric("progress", step)
    time.sleep(0.05)
time.sleep(120)
"""


def test_sigkilled_kernel_leaves_a_crashed_run_with_its_flushed_metrics(tmp_path):
    url = f"sqlite:///{tmp_path / 'store' / 'mm.db'}"
    km, kc = start_kernel(url, str(tmp_path))
    try:
        pid = int(execute(kc, "import os; os.getpid()").results[0]["text/plain"])
        kc.execute(DOOMED)  # do not wait: the cell never finishes
        deadline = time.monotonic() + 30
        run_id, points = None, []
        with open_store(url) as store:
            # wait until the run exists and the flush timer has written the loop's points
            while time.monotonic() < deadline:
                found = store.search_runs(status="running").runs
                if found:
                    run_id = found[0].id
                    points = store.get_run_detail(run_id).metrics
                    if len(points) >= 30:
                        break
                time.sleep(0.2)
        assert run_id is not None, "the tracked cell never started a run"
        assert len(points) == 30  # flushed within ~1 s, before the kernel dies
        os.kill(pid, signal.SIGKILL)
        while km.is_alive():  # also reaps the process, so its pid is really gone
            time.sleep(0.05)
        with open_store(url) as store:
            run = store.get_run(run_id)
            assert run.status == "crashed"
            assert [m.step for m in store.get_run_detail(run_id).metrics] == list(range(30))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
