"""Interrupting a real kernel at every stage of a tracked cell (``interrupt_kernel``, the
stop button). Whatever the moment, the run ends with the right status, the interrupt
reaches the user exactly when the body was interrupted, and the next tracked cell works.

The stages are made wide with the test-only ``JUPYTER_MM_TEST_PAUSE`` (a sleep at a named
point, see ``jupyter_mm.tracking.interrupts``) so the interrupt lands in them every time;
the first-cell sweep interrupts at several moments without any pause, while the warm-up
imports are still running.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from jupyter_mm.store import open_store

from .conftest import execute, kernel_env

pytestmark = pytest.mark.kernel

PAUSE = "JUPYTER_MM_TEST_PAUSE"


def _interrupt_after(km: Any, seconds: float):
    def interrupt() -> None:
        time.sleep(seconds)
        km.interrupt_kernel()

    return interrupt


def _runs_named(url: str, name: str) -> list[Any]:
    with open_store(url) as store:
        return [r for r in store.search_runs(limit=1000).runs if r.name == name]


def _next_cell_works(kc: Any, url: str, name: str) -> None:
    after = execute(kc, f"%%track -q -n {name}\nnext_value = 41 + 1\nnext_value")
    assert after.status == "ok", after.errors
    assert after.results[-1]["text/plain"] == "42"
    (run,) = _runs_named(url, name)
    assert run.status == "finished", run.warnings
    assert run.parent_id is None  # no interrupted run was left active to nest under


def _start(tmp_path, extra_env: dict[str, str] | None = None):
    from jupyter_client.manager import start_new_kernel

    url = f"sqlite:///{tmp_path / 'store' / 'mm.db'}"
    env = {**kernel_env(url), **(extra_env or {})}
    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(tmp_path))
    return url, km, kc


@pytest.mark.parametrize("delay", [0.05, 0.4, 1.2])
def test_interrupt_while_the_first_cell_waits_for_the_warm_up(tmp_path, delay) -> None:
    """The first tracked cell right after %load_ext waits for the warm-up (imports of
    SQLAlchemy, the store, the capture modules). An interrupt then stops the cell before its
    body, records nothing half-way and breaks nothing: the imports carry on off the main
    thread and the next tracked cell works (it used to fail for the rest of the session
    with a half-imported SQLAlchemy)."""
    url, km, kc = _start(tmp_path, {PAUSE: "warmup=2"})
    try:
        execute(kc, "%load_ext jupyter_mm")
        first = execute(
            kc, "%%track -n first\nbody_ran = True", after_send=_interrupt_after(km, delay)
        )
        assert first.status == "error"
        assert first.errors[0]["ename"] == "KeyboardInterrupt"
        assert execute(kc, "'body_ran' in dir()").results[0]["text/plain"] == "False"
        assert _runs_named(url, "first") == []
        _next_cell_works(kc, url, "after-warm-up")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.mark.parametrize("delay", [0.05, 0.5, 1.5])
def test_interrupt_during_the_real_start_up(tmp_path, delay) -> None:
    """No injected pause: the interrupt lands wherever the first cell's real start-up (or,
    later, its body) is. The body is long, so the interrupt always finds the cell running:
    one sent to an idle kernel would test ipykernel, not us."""
    url, km, kc = _start(tmp_path)
    try:
        execute(kc, "%load_ext jupyter_mm")
        cell = execute(
            kc,
            "%%track -n sweep\nimport time\ntime.sleep(6)\nswept = True",
            after_send=_interrupt_after(km, delay),
        )
        assert cell.status == "error"
        assert cell.errors[0]["ename"] == "KeyboardInterrupt"
        assert execute(kc, "'swept' in dir()").results[0]["text/plain"] == "False"
        assert [r.status for r in _runs_named(url, "sweep")] in ([], ["failed"])
        _next_cell_works(kc, url, "after-sweep")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def paused_kernel(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("interrupts")
    url, km, kc = _start(tmp_path)
    execute(kc, "%load_ext jupyter_mm")
    assert execute(kc, "%%track -q -n warm\nwarm = 1").status == "ok"
    try:
        yield url, km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def _with_pause(kc: Any, point: str | None) -> None:
    value = f"{point}=4" if point else ""
    execute(kc, f"import os; os.environ[{PAUSE!r}] = {value!r}")


@pytest.mark.parametrize(
    ("point", "body_completes"),
    [("begin", False), ("body", False), ("after_body", True), ("finish", True)],
)
def test_interrupt_at_each_stage(paused_kernel, point, body_completes) -> None:
    url, km, kc = paused_kernel
    name = f"stage-{point}"
    body = "import time\ntime.sleep(4)\n" if point == "body" else ""
    _with_pause(kc, None if point == "body" else point)
    try:
        cell = execute(
            kc,
            f"%%track -q -n {name} --metric score\n{body}score = 0.5\ndone_{point} = True",
            after_send=_interrupt_after(km, 1.5),
        )
    finally:
        _with_pause(kc, None)
    (run,) = _runs_named(url, name)
    done = execute(kc, f"'done_{point}' in dir()").results[0]["text/plain"] == "True"
    assert done == body_completes
    if body_completes:
        assert cell.status == "ok", cell.errors
        assert run.status == "finished"
        assert "interrupt ignored" in cell.stderr
        with open_store(url) as store:
            metrics = store.get_run_detail(run.id).metrics
        assert [(m.name, m.value) for m in metrics] == [("score", 0.5)]
    else:
        assert cell.status == "error"
        assert cell.errors[0]["ename"] == "KeyboardInterrupt"
        assert run.status == "failed"
        assert run.error == "KeyboardInterrupt"
    _next_cell_works(kc, url, f"after-{point}")


def test_interrupt_while_hashing_upstream_data(paused_kernel, tmp_path) -> None:
    """Before the body, the files earlier (untracked) cells read are hashed; a big one takes
    long and its progress bar invites Ctrl-C. The interrupt stops the hashing, not only
    the body after it: the upstream file is left out with a warning, the cell stops with
    KeyboardInterrupt before its body, the run is failed, and the next cell works."""
    url, km, kc = paused_kernel
    data = tmp_path / "upstream.csv"
    data.write_text("a,b\n1,2\n")
    assert execute(kc, f"with open({str(data)!r}) as f:\n    text = f.read()").status == "ok"
    _with_pause(kc, "upstream")
    try:
        cell = execute(
            kc,
            "%%track -q -n stage-upstream\nupstream_body_ran = True",
            after_send=_interrupt_after(km, 1.5),
        )
    finally:
        _with_pause(kc, None)
    assert cell.status == "error"
    assert cell.errors[0]["ename"] == "KeyboardInterrupt"
    assert execute(kc, "'upstream_body_ran' in dir()").results[0]["text/plain"] == "False"
    (run,) = _runs_named(url, "stage-upstream")
    assert (run.status, run.error) == ("failed", "KeyboardInterrupt")
    assert any("hashing interrupted" in w for w in run.warnings), run.warnings
    with open_store(url) as store:
        data_refs = store.get_run_detail(run.id).data
    assert [d.name for d in data_refs if d.role == "upstream"] == []  # stopped, not finished
    _next_cell_works(kc, url, "after-upstream")
