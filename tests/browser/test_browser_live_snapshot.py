"""Live checkpoints from JupyterLab (issue #3, item 2): the lab extension sends the notebook
in the editor to the kernel before each ``%%track`` cell, over a comm it opens per kernel.
Checked where that comm is easy to get wrong: after a kernel restart (the kernel forgot the
comm), after the notebook was renamed while open (the path is read at send time), and with
a second notebook open (one comm per kernel). Each run must say ``live`` and the kernel's
run notice must reach the page every time.

A lab of its own: these runs must not show up in the other browser tests' store.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from jupyter_mm.entities import Run
from jupyter_mm.store import open_store

from .harness import Lab, new_lab_page, running_lab
from .notebook_flow import KERNEL_IDLE, write_notebook

pytestmark = pytest.mark.browser

CURRENT_PATH = "() => window.jupyterapp.shell.currentWidget?.context?.path ?? null"


@pytest.fixture(scope="module")
def own_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with running_lab(tmp_path_factory.mktemp("live-lab")) as lab:
        yield lab


def all_runs(lab: Lab) -> list[Run]:
    with open_store(lab.store_url) as store:
        return list(store.search_runs(order="oldest", limit=100).runs)


def wait_for_run_count(lab: Lab, count: int, timeout: float = 60) -> list[Run]:
    deadline = time.monotonic() + timeout
    runs: list[Run] = []
    while time.monotonic() < deadline:
        runs = all_runs(lab)
        if len(runs) >= count and all(run.status != "running" for run in runs):
            return runs
        time.sleep(0.2)
    raise AssertionError(f"expected {count} ended runs, found {runs}")


def run_all_cells(page: Any) -> None:
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


def open_notebook(page: Any, path: str) -> None:
    page.evaluate(
        "path => { window.jupyterapp.commands.execute('docmanager:open', {path}); }", path
    )
    page.wait_for_function(f"() => ({CURRENT_PATH})() === {path!r}")
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)


def run_notices(page: Any) -> set[str]:
    return set(page.evaluate("() => Object.keys(window.__jupyterMM?.lastRunMessageAt ?? {})") or [])


@pytest.fixture(scope="module")
def page(browser: Any, own_lab: Lab) -> Iterator[Any]:
    write_notebook(own_lab.root_dir / "first.ipynb")
    write_notebook(own_lab.root_dir / "second.ipynb")
    page = new_lab_page(browser, own_lab, "/lab/tree/first.ipynb")
    page.locator(".jp-NotebookPanel .jp-Cell").nth(1).wait_for()
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)
    try:
        yield page
    finally:
        page.context.close()


def test_a_first_run_is_live_and_announced(page: Any, own_lab: Lab) -> None:
    run_all_cells(page)
    (run,) = wait_for_run_count(own_lab, 1)
    assert run.checkpoint_source == "live"
    assert run.notebook_path == str(own_lab.root_dir / "first.ipynb")
    page.wait_for_function(
        "id => !!window.__jupyterMM?.lastRunMessageAt?.[id]", arg=run.id, timeout=10_000
    )


def test_after_a_kernel_restart_the_comm_is_opened_again(page: Any, own_lab: Lab) -> None:
    page.evaluate(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()"
    )
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)
    run_all_cells(page)
    run = wait_for_run_count(own_lab, 2)[-1]
    assert run.checkpoint_source == "live"
    page.wait_for_function(
        "id => !!window.__jupyterMM?.lastRunMessageAt?.[id]", arg=run.id, timeout=10_000
    )


def test_a_notebook_renamed_while_open_reports_its_new_path(page: Any, own_lab: Lab) -> None:
    page.evaluate(
        "() => window.jupyterapp.serviceManager.contents.rename('first.ipynb', 'renamed.ipynb')"
    )
    page.wait_for_function(f"() => ({CURRENT_PATH})() === 'renamed.ipynb'")
    run_all_cells(page)
    run = wait_for_run_count(own_lab, 3)[-1]
    assert run.checkpoint_source == "live"
    assert run.notebook_path == str(own_lab.root_dir / "renamed.ipynb")


def test_a_second_notebook_has_its_own_comm(page: Any, own_lab: Lab) -> None:
    open_notebook(page, "second.ipynb")
    run_all_cells(page)
    runs = wait_for_run_count(own_lab, 4)
    assert runs[-1].checkpoint_source == "live"
    assert runs[-1].notebook_path == str(own_lab.root_dir / "second.ipynb")
    page.wait_for_function(
        "id => !!window.__jupyterMM?.lastRunMessageAt?.[id]", arg=runs[-1].id, timeout=10_000
    )
    assert {run.id for run in runs} <= run_notices(page)


KERNEL_COUNTERS = """async () => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({
    code: "live = get_ipython().magics_manager.registry['TrackMagics'].channel.live; "
      + "print(live.deltas_applied, live.bases_reused)",
    silent: true
  });
  let text = '';
  future.onIOPub = msg => {
    if (msg.header.msg_type === 'stream') { text += msg.content.text; }
  };
  await future.done;
  return text.trim().split(' ').map(Number);
}"""


def run_tracked_cell(page: Any) -> None:
    page.evaluate(
        """() => {
          const panel = window.jupyterapp.shell.currentWidget;
          panel.content.activeCellIndex = 1;
          window.jupyterapp.commands.execute('notebook:run-cell');
        }"""
    )


def test_an_unsaved_edit_reaches_later_runs_through_deltas(page: Any, own_lab: Lab) -> None:
    """After the first (full) snapshot on a comm the page sends deltas: the edited cell in
    full, the others as ids; and nothing at all when nothing changed. The checkpoints must
    still hold the notebook as it is on screen."""
    from jupyter_mm.capture.checkpoint import load_checkpoint

    page.wait_for_function(KERNEL_IDLE, timeout=60_000)
    deltas, reused = page.evaluate(KERNEL_COUNTERS)
    edit = "\n# an unsaved edit, sent in a delta"
    page.evaluate(
        "text => { const cell = window.jupyterapp.shell.currentWidget.content.model.cells.get(0);"
        " cell.sharedModel.setSource(cell.sharedModel.getSource() + text); }",
        edit,
    )
    count = len(all_runs(own_lab))
    run_tracked_cell(page)
    wait_for_run_count(own_lab, count + 1)
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)
    run_tracked_cell(page)
    runs = wait_for_run_count(own_lab, count + 2)
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)
    # the first run sends the edited cell in a delta; before the second nothing changed
    # (the tracked cell's new output does not count), so the page sends nothing and the
    # kernel checkpoints the notebook it holds for the comm
    assert page.evaluate(KERNEL_COUNTERS) == [deltas + 1, reused + 1]
    for run in runs[-2:]:
        assert (run.checkpoint_source, run.warnings) == ("live", [])
    with open_store(own_lab.store_url) as store:
        saved = load_checkpoint(store.blobs, runs[-1].checkpoint_digest)
    assert saved.cells[0].source.endswith(edit)
    # the page's tracked cell held the first run's count and card; the checkpoint has the
    # cell as it starts (the previous run's result is not this run's), so both runs of the
    # unchanged notebook share one checkpoint
    assert (saved.cells[1].execution_count, saved.cells[1].outputs) == (None, [])
    assert runs[-1].checkpoint_digest == runs[-2].checkpoint_digest
