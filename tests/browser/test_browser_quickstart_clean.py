"""Opening and running ``examples/quickstart.ipynb`` in JupyterLab leaves a clone clean.

A new user clones the repository, opens the example and runs it. Nothing of that may show
in ``git status``: opening must not change the notebook beyond what JupyterLab always
writes (autosave would put the change into the clone), and what running it writes (data
files, the store) must be ignored — or every later run is recorded from a "dirty" work
tree. The clone is of the
committed tree; the server and its kernel resolve their store as on a first start.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from .harness import REPO, new_lab_page, run_command, running_lab, screenshot
from .notebook_flow import KERNEL_IDLE

pytestmark = pytest.mark.browser

#: the document in focus has unsaved changes
DIRTY = "() => window.jupyterapp.shell.currentWidget.context.model.dirty"


def _git(cwd: Any, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


def _check_opening_changes_nothing_but_the_python_version(page: Any, clone: Any) -> None:
    """Once the kernel is connected JupyterLab writes the kernel's ``language_info`` into
    the notebook. The example ships complete metadata, so the only change left is the
    interpreter's version: the notebook stays unmodified exactly when the user's Python
    is the one the example was written with (a known limit: see the README's examples)."""
    opened = page.evaluate("() => window.jupyterapp.shell.currentWidget.context.model.toJSON()")
    shipped = json.loads((clone / "examples" / "quickstart.ipynb").read_text())["metadata"]
    kernel_version = opened["metadata"]["language_info"]["version"]
    shipped_version = shipped["language_info"]["version"]
    opened["metadata"]["language_info"]["version"] = shipped_version
    assert opened["metadata"] == shipped
    assert page.evaluate(DIRTY) is (kernel_version != shipped_version)


def test_opening_and_running_the_quickstart_leaves_git_status_clean(
    browser: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from playwright.sync_api import expect

    with running_lab(tmp_path_factory.mktemp("quickstart"), pin_store=False) as lab:
        clone = lab.root_dir / "jupyter-mm"
        _git(lab.root_dir, "clone", "--quiet", str(REPO), str(clone))
        assert _git(clone, "status", "--porcelain", "--untracked-files=all") == ""
        page = new_lab_page(browser, lab, "/lab/tree/jupyter-mm/examples/quickstart.ipynb")
        try:
            page.wait_for_function(KERNEL_IDLE, timeout=120_000)
            page.wait_for_timeout(1000)
            _check_opening_changes_nothing_but_the_python_version(page, clone)
            run_command(page, "notebook:run-all-cells")
            cards = page.locator(".jp-mm-RunCard-finished")
            expect(cards).to_have_count(3, timeout=240_000)
            page.wait_for_function(KERNEL_IDLE, timeout=120_000)
            screenshot(page, "quickstart-ran")
        finally:
            page.context.close()
        status = _git(clone, "status", "--porcelain", "--untracked-files=all")
        assert status == "", status
        # the example really ran inside the clone: its data files are there, ignored
        assert (clone / "examples" / "data" / "train.csv").is_file()
