"""Live checkpoints in a real JupyterLab beyond the simple case (issue #3, item 2): after a
kernel restart, after the notebook was renamed while open, and with two notebooks open at
once. Each run must be `live` and hold that notebook's unsaved source, under its path.

The notebooks live in their own folder, so their runs never show up in the other modules'
notebook-scoped checks. The tests share one page and run in file order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jupyter_mm.capture.checkpoint import load_checkpoint
from jupyter_mm.entities import Run
from jupyter_mm.store import open_store

from .harness import Lab, new_lab_page, run_command, screenshot
from .notebook_flow import (
    KERNEL_IDLE,
    edit_second_line,
    select_cell,
    stored_runs,
    wait_for_runs,
    write_notebook,
)

pytestmark = pytest.mark.browser

FOLDER = "live"


def tracked_source(name: str) -> str:
    # line 2 is the one the tests edit (by appending digits)
    return f"%%track --name {name} --param value\nvalue = 1"


@dataclass
class LivePage:
    lab: Lab
    page: Any
    first: Path
    second: Path


@pytest.fixture(scope="module")
def live(browser: Any, lab: Lab) -> Iterator[LivePage]:
    folder = lab.root_dir / FOLDER
    folder.mkdir()
    first, second = folder / "first.ipynb", folder / "second.ipynb"
    write_notebook(first, tracked_source("live-first"))
    write_notebook(second, tracked_source("live-second"))
    page = new_lab_page(browser, lab, f"/lab/tree/{FOLDER}/{first.name}")
    try:
        page.locator(".jp-NotebookPanel .jp-Cell").nth(1).wait_for()
        page.wait_for_function(KERNEL_IDLE, timeout=60_000)
        yield LivePage(lab=lab, page=page, first=first, second=second)
    except BaseException:
        screenshot(page, "live-failure")
        raise
    finally:
        page.context.close()


def run_setup_and_tracked_cell(page: Any) -> None:
    """Shift+Enter on the setup cell, Ctrl+Enter on the tracked one (as after a restart)."""
    select_cell(page, 0)
    page.keyboard.press("Shift+Enter")
    page.keyboard.press("Control+Enter")


def newest_run(lab: Lab, notebook: Path, count: int) -> Run:
    return wait_for_runs(lab, notebook, count)[-1]


def checkpoint_source_of(lab: Lab, run: Run) -> str:
    """Source of the tracked cell in the run's checkpoint."""
    store = open_store(lab.store_url)
    try:
        return load_checkpoint(store.blobs, run.checkpoint_digest).cells[1].source
    finally:
        store.close()


def assert_live(lab: Lab, run: Run, notebook: Path, value_line: str) -> None:
    assert run.status == "finished", run
    assert run.checkpoint_source == "live", run
    assert run.notebook_path == str(notebook)
    assert value_line in checkpoint_source_of(lab, run).splitlines()
    # the edit was never saved
    assert value_line not in notebook.read_text()


def test_live_checkpoints_after_a_kernel_restart(live: LivePage) -> None:
    lab, page, notebook = live.lab, live.page, live.first
    run_setup_and_tracked_cell(page)
    assert newest_run(lab, notebook, 1).checkpoint_source == "live"

    # restart from the Kernel menu's command, confirming its dialog
    page.evaluate("() => { window.jupyterapp.commands.execute('kernelmenu:restart'); }")
    page.locator(".jp-Dialog .jp-mod-accept").click()
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)

    select_cell(page, 1)
    edit_second_line(page, append="2")
    run_setup_and_tracked_cell(page)
    assert_live(lab, newest_run(lab, notebook, 2), notebook, "value = 12")


def test_live_checkpoints_after_renaming_the_open_notebook(live: LivePage) -> None:
    lab, page = live.lab, live.page
    renamed = live.first.with_name("first-renamed.ipynb")
    # what the file browser's rename does: the open document follows the new path
    page.evaluate(
        "([from, to]) => window.jupyterapp.serviceManager.contents.rename(from, to)",
        [f"{FOLDER}/{live.first.name}", f"{FOLDER}/{renamed.name}"],
    )
    page.get_by_role("main").get_by_role("tab", name=renamed.name, exact=True).wait_for()
    select_cell(page, 1)
    edit_second_line(page, append="3")
    page.keyboard.press("Control+Enter")
    assert_live(lab, newest_run(lab, renamed, 1), renamed, "value = 123")
    live.first = renamed


def test_live_checkpoints_with_two_notebooks_open(live: LivePage) -> None:
    lab, page = live.lab, live.page
    run_command(page, "docmanager:open", {"path": f"{FOLDER}/{live.second.name}"})
    page.get_by_role("main").get_by_role("tab", name=live.second.name, exact=True).wait_for()
    page.wait_for_function(KERNEL_IDLE, timeout=60_000)
    select_cell(page, 1)
    edit_second_line(page, append="4")
    run_setup_and_tracked_cell(page)
    assert_live(lab, newest_run(lab, live.second, 1), live.second, "value = 14")

    # back to the first notebook: its own unsaved source, not the other one's
    page.get_by_role("main").get_by_role("tab", name=live.first.name, exact=True).click()
    select_cell(page, 1)
    edit_second_line(page, append="5")
    page.keyboard.press("Control+Enter")
    run = newest_run(lab, live.first, 2)
    assert_live(lab, run, live.first, "value = 1235")
    assert len(stored_runs(lab, live.second)) == 1
