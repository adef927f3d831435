"""A checkpoint restored as a new notebook never runs its scripts, in a real JupyterLab.

The run's stored checkpoint is hostile (tests/hostile_checkpoint.py): its code cell carries
``metadata.trusted: true`` and its outputs hold a ``<script>`` in HTML and an
``application/javascript`` output, each setting ``window.mmRan`` and a marker on
``document.body``. Restoring it writes a notebook through the contents API and opens it;
were it signed, JupyterLab would run both scripts. Neither may run, and the file written
must not be signed trusted by the server's notary.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from hostile_checkpoint import hostile_run
from nbformat.sign import NotebookNotary

from jupyter_mm.store import open_store

from .harness import Lab, new_lab_page, run_command, screenshot

pytestmark = pytest.mark.browser

FOLDER = "restore-trust"


@pytest.fixture
def page(browser: Any, lab: Lab) -> Iterator[Any]:
    page = new_lab_page(browser, lab)
    try:
        yield page
    finally:
        page.context.close()


def _restored(folder: Path, run_id: str) -> list[Path]:
    return sorted(folder.glob(f"report-{run_id[:10]}*.ipynb"))


def test_a_restored_checkpoint_runs_none_of_its_scripts(page: Any, lab: Lab) -> None:
    from playwright.sync_api import expect

    folder = lab.root_dir / FOLDER
    folder.mkdir()
    with open_store(lab.store_url) as store:
        run = hostile_run(store, str(folder / "report.ipynb"))

    run_command(page, "jupyter-mm:restore-checkpoint", {"id": run.id})
    deadline = time.monotonic() + 30
    while not _restored(folder, run.id):
        assert time.monotonic() < deadline, "the checkpoint was not restored"
        time.sleep(0.2)
    (path,) = _restored(folder, run.id)

    # the restored notebook is open and its outputs rendered: a trusted script would have
    # run by now (scripts run as their output is attached)
    panel = page.locator(".jp-NotebookPanel:visible")
    expect(panel.locator(".jp-OutputArea-output").filter(has_text="hi").first).to_be_visible()
    screenshot(page, "restored-untrusted-checkpoint")
    ran = page.evaluate("() => [window.mmRan ?? null, document.body.dataset.mmRan ?? null]")
    assert ran == [None, None]

    saved = nbformat.read(str(path), as_version=4)
    assert saved.cells[1].outputs[1]["data"]["application/javascript"]  # kept, not run
    # the notary of the server (same Jupyter data directory as this process)
    assert not NotebookNotary().check_signature(saved)
