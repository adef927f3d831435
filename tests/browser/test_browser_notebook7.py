"""The sidebar's own views in Jupyter Notebook 7's shell (a real ``jupyter notebook``).

Notebook 7 keeps one document in its main area and ignores any other widget added there,
so every jupyter-mm view must land where its shell shows secondary views (its bottom tab
panel). Checked the way a user gets there: the Runs panel from the left sidebar, a click
on a run, Enter on a focused row, the run card's "Open in sidebar"; then the diff, the
checkpoint, the Models panel, a model and a lineage. Screenshots of the Runs panel with a
run's detail land in test-artifacts/screenshots/ (scripts/screenshots.py copies them to
docs/images/ for the README).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_mm import registry
from jupyter_mm.store import open_store

from .harness import Lab, new_lab_page, run_command, running_lab, screenshot
from .notebook_flow import KERNEL_IDLE

pytestmark = pytest.mark.browser

FOLDER = "nb7"
SIDEBAR = "#jupyter-mm-sidebar"
ROW = f'{SIDEBAR} [data-testid="mm-run-row"]'
#: Notebook 7's bottom tab panel, where its shell shows views besides the document
DOWN_PANEL = "#jp-down-stack"
MODEL = "nb7-model"
TRACKED = """\
%%track --name {name} --param lr
lr = {lr}
for step in range(4):
    mm.log_metric("loss", lr / (step + 1), step=step)
with open("model-{name}.txt", "w") as handle:
    handle.write("weights {lr}")
mm.log_artifact("model-{name}.txt")
"""


@dataclass
class Notebook7:
    server: Lab
    page: Any
    #: run ids, in the order of the tracked cells
    runs: list[str]
    console_errors: list[str] = field(default_factory=list)


def _write(path: Path) -> None:
    nb = new_notebook(
        cells=[
            new_code_cell("%load_ext jupyter_mm\nimport jupyter_mm as mm"),
            new_code_cell(TRACKED.format(name="ridge", lr=0.1)),
            new_code_cell(TRACKED.format(name="lasso", lr=0.3)),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


@pytest.fixture(scope="module")
def nb7(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Notebook7]:
    from playwright.sync_api import expect

    with running_lab(tmp_path_factory.mktemp("notebook7-views"), app="notebook7") as server:
        _write(server.root_dir / FOLDER / "train.ipynb")
        page = new_lab_page(browser, server, f"/notebooks/{FOLDER}/train.ipynb")
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(f"{error}\n{error.stack}"))
        try:
            page.wait_for_function(KERNEL_IDLE, timeout=60_000)
            run_command(page, "notebook:run-all-cells")
            expect(page.locator(".jp-mm-RunCard")).to_have_count(2, timeout=90_000)
            expect(page.locator(".jp-mm-RunCard-finished")).to_have_count(2, timeout=60_000)
            runs = server.api_json("/runs?limit=10")["runs"]
            by_name = {run["name"]: run["id"] for run in runs}
            yield Notebook7(server, page, [by_name["ridge"], by_name["lasso"]], errors)
        finally:
            page.context.close()


@pytest.fixture(scope="module")
def expect() -> Any:
    from playwright.sync_api import expect

    return expect


def detail_of(nb7: Notebook7, run_id: str) -> Any:
    return nb7.page.locator(f'{DOWN_PANEL} .jp-mm-RunDetail[data-run-id="{run_id}"]')


def test_the_runs_panel_lists_this_notebooks_runs(nb7: Notebook7, expect: Any) -> None:
    run_command(nb7.page, "jupyter-mm:open-sidebar")
    rows = nb7.page.locator(ROW)
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-run-id", nb7.runs[1])  # newest first


def test_clicking_a_run_opens_its_detail_with_its_chart(nb7: Notebook7, expect: Any) -> None:
    ridge = nb7.runs[0]
    nb7.page.locator(f'{ROW}[data-run-id="{ridge}"]').click()
    detail = detail_of(nb7, ridge)
    expect(detail).to_be_visible()
    expect(detail).to_contain_text("ridge")
    chart = detail.locator(
        '[data-testid="mm-metric-chart"] canvas, [data-testid="mm-metric-chart"] svg'
    ).first
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 150, box
    # the bottom panel opened tall enough to read the page, not as a strip
    panel = nb7.page.locator(DOWN_PANEL).bounding_box()
    assert panel is not None and panel["height"] > 0.4 * 900, panel
    # the view sits in Notebook 7's bottom panel, not over the notebook
    expect(nb7.page.locator("#main-panel .jp-NotebookPanel")).to_be_visible()
    screenshot(nb7.page, "notebook7-runs")


def test_enter_on_a_focused_row_opens_that_run_in_the_same_tab(nb7: Notebook7, expect: Any) -> None:
    lasso = nb7.runs[1]
    row = nb7.page.locator(f'{ROW}[data-run-id="{lasso}"]')
    row.focus()
    nb7.page.keyboard.press("Enter")
    expect(detail_of(nb7, lasso)).to_be_visible()
    # one preview tab for run details: the earlier run's view was replaced
    expect(nb7.page.locator(".jp-mm-RunDetail")).to_have_count(1)


def test_the_run_cards_open_in_sidebar_opens_the_detail(nb7: Notebook7, expect: Any) -> None:
    ridge = nb7.runs[0]
    card = nb7.page.locator(".jp-mm-RunCard", has_text="ridge")
    card.locator(".jp-mm-RunCard-open").click()
    expect(detail_of(nb7, ridge)).to_be_visible()
    expect(nb7.page.locator(SIDEBAR)).to_be_visible()


def test_diff_and_checkpoint_open_in_notebook7(nb7: Notebook7, expect: Any) -> None:
    ridge, lasso = nb7.runs
    run_command(nb7.page, "jupyter-mm:compare-runs", {"a": ridge, "b": lasso})
    diff = nb7.page.locator(f'{DOWN_PANEL} .jp-mm-RunDiff[data-run-a="{ridge}"]')
    expect(diff).to_be_visible()
    expect(diff.locator(".jp-mm-RunDiff-notebook .jp-Notebook-diff")).to_contain_text("lr = 0.3")
    run_command(nb7.page, "jupyter-mm:open-checkpoint", {"id": lasso})
    checkpoint = nb7.page.locator(f'{DOWN_PANEL} .jp-mm-Checkpoint[data-run-id="{lasso}"]')
    expect(checkpoint).to_be_visible()
    expect(checkpoint).to_contain_text("lr = 0.3")


def test_models_model_and_lineage_open_in_notebook7(nb7: Notebook7, expect: Any) -> None:
    with open_store(nb7.server.store_url) as store:
        registry.register_model(nb7.runs[0], "model-ridge.txt", MODEL, store=store)
    run_command(nb7.page, "jupyter-mm:open-models")
    row = nb7.page.locator(f'[data-testid="mm-model-row"][data-model="{MODEL}"]')
    expect(row).to_be_visible()
    row.click()
    model = nb7.page.locator(f'{DOWN_PANEL} .jp-mm-Model[data-model="{MODEL}"]')
    expect(model).to_be_visible()
    model.locator('[data-testid="mm-version-row"][data-version="1"]').locator(
        '[data-testid="mm-lineage"]'
    ).click()
    lineage = nb7.page.locator(f'{DOWN_PANEL} .jp-mm-Lineage[data-model="{MODEL}"]')
    expect(lineage).to_be_visible()
    expect(lineage.locator('[data-testid="mm-lineage-run"]')).to_be_visible()


def _ours(error: str) -> bool:
    """An error of this extension: raised from its code, or lumino's attach/detach errors
    that views placed wrongly cause ("Host is not attached" was Notebook 7's failure).
    Notebook 7's own shortcut-settings handler sometimes throws while settings load
    (``reading 'schema'``, with no jupyter-mm code on its stack): not counted."""
    return "jupyter-mm" in error or "not attached" in error


def test_no_console_errors(nb7: Notebook7) -> None:
    ours = [error for error in nb7.console_errors if _ours(error)]
    assert ours == [], "\n".join(ours)
