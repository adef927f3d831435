"""The user's path through JupyterLab that the browser tests share: a notebook with a
tracked cell, run once, edited without saving and run again, the sidebar open meanwhile.

Everything is done the way a user does it: keys on the notebook, clicks in the sidebar.
Only opening the sidebar goes through its command id (as the palette would).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from jupyter_mm.entities import Run
from jupyter_mm.store import open_store

from .harness import Lab, new_lab_page, run_command, screenshot

NOTEBOOK = "tracked.ipynb"
#: its output counts its executions: run again between the two tracked runs, it gives the
#: second checkpoint an output the first does not have (the diff's output rows)
SETUP_SOURCE = (
    "import jupyter_mm as mm\n%load_ext jupyter_mm\n"
    'setup_runs = globals().get("setup_runs", 0) + 1\nsetup_runs'
)
#: line 2 holds the value the tests edit; metrics with several steps give the detail a chart
TRACKED_SOURCE = (
    "%%track --name first --param lr\n"
    "lr = 0.1\n"
    "for step in range(4):\n"
    '    mm.log_metric("loss", lr / (step + 1), step=step)\n'
    'mm.log_artifact(f"lr={lr}\\n".encode(), name="notes.txt", media_type="text/plain");'
)
ROW = '[data-testid="mm-run-row"]'

#: true once the kernel behind the current notebook is idle (it starts with the page)
KERNEL_IDLE = """() => {
  const widget = window.jupyterapp.shell.currentWidget;
  const kernel = widget && widget.sessionContext && widget.sessionContext.session
    && widget.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle';
}"""

#: Watches, frame by frame, for the tracked cell's execute reply (its prompt shows a new
#: count) and for a sidebar row with an id not seen before; stores both times.
LATENCY_PROBE = """([cellIndex, knownIds]) => {
  // the notebook in focus: other open notebooks have cells too
  const known = new Set(knownIds);
  const panel = window.jupyterapp.shell.currentWidget.node;
  const prompt = () => panel.querySelectorAll('.jp-Notebook .jp-Cell')[cellIndex]
    .querySelector('.jp-InputPrompt').textContent.trim();
  const before = prompt();
  const probe = { replyAt: null, rowAt: null, runId: null };
  window.__mmProbe = probe;
  const tick = () => {
    const now = performance.now();
    const text = prompt();
    if (probe.replyAt === null && text !== before && !text.includes('*')) probe.replyAt = now;
    if (probe.rowAt === null) {
      const row = [...document.querySelectorAll('[data-testid="mm-run-row"]')]
        .find(r => !known.has(r.dataset.runId));
      if (row) { probe.rowAt = now; probe.runId = row.dataset.runId; }
    }
    if (probe.replyAt === null || probe.rowAt === null) requestAnimationFrame(tick);
  };
  tick();
}"""


@dataclass
class TrackedFlow:
    """Two runs of the same tracked cell, the second after an unsaved edit."""

    lab: Lab
    page: Any
    notebook: Path
    first: Run
    second: Run
    #: milliseconds, see _latencies
    timings: dict[str, float | None] = field(default_factory=dict)
    #: the run id of the first new sidebar row the latency probe saw
    probe_run_id: str | None = None
    disk_source_at_second_run: str = ""


def write_notebook(path: Path, tracked_source: str = TRACKED_SOURCE) -> None:
    """A notebook of two cells: the setup (load the extension) and a tracked cell."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(SETUP_SOURCE),
        nbformat.v4.new_code_cell(tracked_source),
    ]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nbformat.write(notebook, str(path))


def stored_runs(lab: Lab, notebook: Path) -> list[Run]:
    """The finished-or-not runs of ``notebook`` in the lab's store, oldest first."""
    store = open_store(lab.store_url)
    try:
        page = store.search_runs(notebook_path=str(notebook), order="oldest", limit=100)
        return list(page.runs)
    finally:
        store.close()


def wait_for_runs(lab: Lab, notebook: Path, count: int, timeout: float = 60) -> list[Run]:
    """Poll the store until ``count`` runs of ``notebook`` have ended."""
    deadline = time.monotonic() + timeout
    runs: list[Run] = []
    while time.monotonic() < deadline:
        runs = stored_runs(lab, notebook)
        if len(runs) >= count and all(run.status != "running" for run in runs):
            return runs
        time.sleep(0.2)
    raise AssertionError(f"expected {count} ended runs of {notebook}, found {runs}")


def cell(page: Any, index: int) -> Any:
    """Cell ``index`` of the notebook on screen (hidden tabs keep their cells in the DOM)."""
    return page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell").nth(index)


def select_cell(page: Any, index: int) -> None:
    """Command mode with cell ``index`` active (a click on its prompt, then Escape)."""
    cell(page, index).locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")


def edit_second_line(page: Any, *, backspaces: int = 0, append: str = "") -> None:
    """In the active cell (command mode): edit the end of line 2 with keys, back to command
    mode, nothing saved."""
    page.keyboard.press("Enter")
    page.keyboard.press("Control+Home")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("End")
    for _ in range(backspaces):
        page.keyboard.press("Backspace")
    page.keyboard.type(append)
    page.keyboard.press("Escape")


def widen_left_panel(page: Any, pixels: int) -> None:
    """Drag the splitter right of the left panel, as a user does to see more columns."""
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle:visible").first
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + pixels, y, steps=5)
    page.mouse.up()


def run_tracked_flow(browser: Any, lab: Lab) -> TrackedFlow:
    """Open the notebook, run the tracked cell, edit it without saving, run it again."""
    notebook = lab.root_dir / NOTEBOOK
    write_notebook(notebook)
    page = new_lab_page(browser, lab, f"/lab/tree/{NOTEBOOK}")
    try:
        page.locator(".jp-NotebookPanel .jp-Cell").nth(1).wait_for()
        page.wait_for_function(KERNEL_IDLE, timeout=60_000)
        run_command(page, "jupyter-mm:open-sidebar")
        page.locator("#jupyter-mm-sidebar").wait_for()
        widen_left_panel(page, 160)

        select_cell(page, 0)
        page.keyboard.press("Shift+Enter")  # the setup cell; moves on to the tracked one
        page.keyboard.press("Control+Enter")  # run it and stay on it
        (first,) = wait_for_runs(lab, notebook, 1)

        select_cell(page, 0)
        page.keyboard.press("Shift+Enter")  # the setup cell again; moves on to the tracked one
        expect_output = cell(page, 0).locator(".jp-OutputArea-output")
        expect_output.filter(has_text="2").wait_for()
        # Edit line 2 (lr = 0.1 -> 0.2) through the editor, and do not save.
        edit_second_line(page, backspaces=1, append="2")

        start_latency_probe(page, 1, [first.id])
        page.keyboard.press("Control+Enter")
        # what the kernel could read from disk at this moment: still the saved version
        disk_source = nbformat.read(str(notebook), as_version=4).cells[1].source
        _, second = wait_for_runs(lab, notebook, 2)
        probe_run_id, timings = finish_latency_probe(page)
    except BaseException:
        screenshot(page, "flow-failure")  # what the page showed when the flow broke
        page.context.close()
        raise
    return TrackedFlow(
        lab=lab,
        page=page,
        notebook=notebook,
        first=first,
        second=second,
        timings=timings,
        disk_source_at_second_run=disk_source,
        probe_run_id=probe_run_id,
    )


def start_latency_probe(page: Any, cell_index: int, known_ids: list[str]) -> None:
    """Watch for the next execute reply of cell ``cell_index`` and the next new row."""
    page.evaluate(LATENCY_PROBE, [cell_index, known_ids])


def finish_latency_probe(page: Any) -> tuple[str, dict[str, float | None]]:
    """Wait until the probe saw both; the new row's run id and the latencies."""
    probe = page.wait_for_function(
        "() => window.__mmProbe.replyAt !== null && window.__mmProbe.rowAt !== null"
        " && window.__mmProbe",
        timeout=30_000,
    ).json_value()
    return probe["runId"], _latencies(page, probe["runId"], probe)


def _latencies(page: Any, run_id: str, probe: dict[str, Any]) -> dict[str, float | None]:
    """Milliseconds: execute reply -> row (Playwright's frame probe; negative when the row
    came first) and, when the sidebar records them, the kernel's run message -> row."""
    recorded = page.evaluate(
        """(id) => {
          const mm = window.__jupyterMM || {};
          const at = (table) => (table && table[id] !== undefined ? table[id] : null);
          return { message: at(mm.lastRunMessageAt), row: at(mm.lastRowShownAt) };
        }""",
        run_id,
    )
    message_to_row = None
    if recorded["message"] is not None and recorded["row"] is not None:
        message_to_row = recorded["row"] - recorded["message"]
    return {
        "reply_to_row_ms": probe["rowAt"] - probe["replyAt"],
        "run_message_to_row_ms": message_to_row,
    }
