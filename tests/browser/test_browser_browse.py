"""``mm.browse()`` rendered by a real frontend, in JupyterLab and in Jupyter Notebook 7.

The same notebook runs in both: a tracked cell, then the browser. The widgets must render
from ipywidgets' own frontend code (this project ships none for them), list the run as a
run of *this* notebook (Notebook 7 names notebooks relative to its root, so this also checks
that runs are stored under one canonical path), and answer clicks: select the run, open its
detail. Screenshots land in test-artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_mm.store import open_store

from .harness import Lab, new_lab_page, run_command, running_lab, screenshot
from .notebook_flow import KERNEL_IDLE

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module", params=["lab", "notebook7"])
def frontend(request: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Lab]]:
    if request.param == "lab":
        yield "lab", request.getfixturevalue("lab")
        return
    with running_lab(tmp_path_factory.mktemp("notebook7"), app="notebook7") as server:
        yield "notebook7", server


def _write(path: Path, app: str) -> None:
    cells = [
        new_code_cell("%load_ext jupyter_mm\nimport jupyter_mm as mm"),
        new_code_cell(f"%%track --name from-{app} --metric acc\nacc = 0.75"),
        new_code_cell("mm.browse()"),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def test_browse_renders_lists_this_notebooks_run_and_opens_its_detail(
    browser: Any, frontend: tuple[str, Lab]
) -> None:
    from playwright.sync_api import expect

    app, server = frontend
    folder = f"browse-{app}"
    notebook = server.root_dir / folder / "browse.ipynb"
    _write(notebook, app)
    url = (
        f"/lab/tree/{folder}/browse.ipynb" if app == "lab" else f"/notebooks/{folder}/browse.ipynb"
    )
    page = new_lab_page(browser, server, url)
    try:
        page.wait_for_function(KERNEL_IDLE, timeout=60_000)
        run_command(page, "notebook:run-all-cells")
        options = page.locator(".widget-select-multiple select option")
        expect(options).to_have_count(1, timeout=60_000)  # this notebook's run only
        expect(options.first).to_contain_text(f"from-{app}")
        expect(options.first).to_contain_text("acc=0.75")
        page.locator(".widget-select-multiple select").select_option(index=0)
        details = page.get_by_role("button", name="Details")
        expect(details).to_be_enabled()
        details.click()
        detail = page.locator(".widget-html", has_text="Params")
        expect(detail).to_be_visible()
        expect(detail).to_contain_text(f"from-{app}")
        screenshot(page, f"browse-{app}")
        page.locator(".widget-tab").get_by_role("tab", name="Models", exact=True).click()
        # the lab's store is shared with the other browser tests: whatever they registered
        names = [m["name"] for m in server.api_json("/models")["models"]]
        if names:
            output = page.locator(".jp-OutputArea-output", has_text=names[0])
            expect(output.first).to_be_visible()
        else:
            expect(page.locator(".widget-html", has_text="No registered models")).to_be_visible()
    finally:
        page.context.close()

    store = open_store(server.store_url, create=False)
    try:
        (run,) = [r for r in store.search_runs(limit=50).runs if r.name == f"from-{app}"]
        assert run.notebook_path == str(notebook.resolve())
        assert run.checkpoint_source == "live"  # the extension sent the notebook
    finally:
        store.close()
