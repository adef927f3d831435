"""The run detail and diff views in a real JupyterLab, on runs recorded headless.

Two runs of a tracked notebook are made with `jupyter mm run` (the second after an edit of
`lr` and of the data file), and one run by a plain script with `mm.start_run` (no
checkpoint, failed). The notebook lives in its own folder so that these runs never show up
in test_browser_runs.py's notebook-scoped checks. The tests share one page and run in file
order; any console error on that page fails the last test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_mm.config import ENV_STORE

from .harness import Lab, new_lab_page, run_command, screenshot

pytestmark = pytest.mark.browser

FOLDER = "detail-views"

TRACKED_CELL = """\
%%track --name train --data data/train.csv
lr = {lr}
for step in range(5):
    mm.log_metric("loss", 1 / (step + 1) * lr * 10, step=step)
    mm.log_metric("accuracy", 0.5 + step * lr / 2, step=step)
with open("model.txt", "w") as handle:
    handle.write(f"weights {{lr}}")
mm.log_artifact("model.txt")
lr * 2
"""

FAILING_SCRIPT = """\
import jupyter_mm as mm
try:
    with mm.start_run(name="script-run"):
        mm.log_params({"lr": 0.5})
        mm.log_metric("loss", 0.9)
        raise ValueError("diverged")
except ValueError:
    pass
"""


@dataclass
class Views:
    lab: Lab
    page: Any
    folder: Path
    first: str
    second: str
    script: str
    console_errors: list[str] = field(default_factory=list)


def _write_notebook(folder: Path, lr: float) -> None:
    (folder / "data").mkdir(exist_ok=True)
    (folder / "data" / "train.csv").write_text("x,y\n1,2\n" + "3,4\n" * int(lr * 10))
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    notebook.cells = [
        nbformat.v4.new_code_cell("%load_ext jupyter_mm\nimport jupyter_mm as mm"),
        # its output is in the checkpoint and differs between the runs
        nbformat.v4.new_code_cell(f"print('training with lr={lr}')"),
        nbformat.v4.new_code_cell(TRACKED_CELL.format(lr=lr)),
    ]
    nbformat.write(notebook, str(folder / "train.ipynb"))


def _newest_run(lab: Lab, exclude: set[str]) -> str:
    runs = lab.api_json("/runs?limit=20")["runs"]
    (new,) = [run["id"] for run in runs if run["id"] not in exclude][:1]
    return new


def _record(lab: Lab, folder: Path, command: list[str], known: set[str]) -> str:
    env = dict(os.environ, **{ENV_STORE: lab.store_url})
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    run_id = _newest_run(lab, known)
    known.add(run_id)
    return run_id


@pytest.fixture(scope="module")
def views(browser: Any, lab: Lab) -> Iterator[Views]:
    folder = lab.root_dir / FOLDER
    folder.mkdir()
    known = {run["id"] for run in lab.api_json("/runs?limit=200")["runs"]}
    jupyter_mm_run = [sys.executable, "-m", "jupyter_mm.cli", "run", "train.ipynb"]
    _write_notebook(folder, 0.1)
    first = _record(lab, folder, jupyter_mm_run, known)
    _write_notebook(folder, 0.3)
    second = _record(lab, folder, jupyter_mm_run, known)
    script = _record(lab, folder, [sys.executable, "-c", FAILING_SCRIPT], known)
    page = new_lab_page(browser, lab)
    state = Views(lab, page, folder, first, second, script)
    page.on("console", lambda m: state.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: state.console_errors.append(str(error)))
    try:
        yield state
    finally:
        page.context.close()


@pytest.fixture(scope="module")
def expect() -> Any:
    from playwright.sync_api import expect

    return expect


def detail_of(views: Views, run_id: str) -> Any:
    return views.page.locator(f'.jp-mm-RunDetail[data-run-id="{run_id}"]')


def test_the_step_charts_fill_their_card(views: Views, expect: Any) -> None:
    run_command(views.page, "jupyter-mm:open-run", {"id": views.first})
    detail = detail_of(views, views.first)
    charts = detail.locator('[data-testid="mm-metric-chart"]')
    expect(charts).to_have_count(2)  # accuracy and loss have five steps each
    expect(charts.first).to_have_attribute("data-metric", "accuracy")
    drawing = charts.first.locator("canvas, svg").first
    expect(drawing).to_be_visible()
    # Vega sizes a `container`-wide chart once: it must see the card's width, not 0
    box = drawing.bounding_box()
    assert box is not None and box["width"] > 150, box
    # data paths read relative to the notebook's folder
    expect(detail.locator(".jp-mm-Path", has_text="data/train.csv")).to_have_count(1)


def test_the_tracked_cells_own_result_is_shown(views: Views, expect: Any) -> None:
    # `lr * 2` ends the tracked cell: its result is in no checkpoint, but in the run
    outputs = detail_of(views, views.first).locator(".jp-mm-Outputs")
    expect(outputs).to_contain_text("0.2")
    expect(outputs.locator(".jp-mm-Output-rich")).to_have_count(1)


def test_opening_a_run_again_by_prefix_focuses_its_tab(views: Views, expect: Any) -> None:
    run_command(views.page, "jupyter-mm:open-run", {"id": views.first[:12]})
    run_command(views.page, "jupyter-mm:open-run", {"id": views.first})
    expect(detail_of(views, views.first)).to_have_count(1)
    expect(detail_of(views, views.first)).to_be_visible()


def test_an_artifact_downloads_through_the_authenticated_request(views: Views) -> None:
    link = detail_of(views, views.first).locator('[data-testid="mm-artifact-link"]')
    with views.page.expect_download() as download:
        link.first.click()
    assert download.value.suggested_filename == "model.txt"
    assert Path(download.value.path()).read_text() == "weights 0.1"


def test_the_diff_colours_deltas_by_the_metrics_direction(views: Views, expect: Any) -> None:
    run_command(views.page, "jupyter-mm:compare-runs", {"a": views.first, "b": views.second})
    diff = views.page.locator(f'.jp-mm-RunDiff[data-run-a="{views.first}"]')
    notebook = diff.locator(".jp-mm-RunDiff-notebook .jp-Notebook-diff")
    expect(notebook).to_contain_text("lr = 0.3")
    # both went up: better for accuracy, worse for loss
    metrics = diff.locator(".jp-mm-DiffTable").nth(1)
    expect(
        metrics.locator("tr", has_text="accuracy").locator(".jp-mm-Delta-better")
    ).to_be_visible()
    expect(metrics.locator("tr", has_text="loss").locator(".jp-mm-Delta-worse")).to_be_visible()
    # the data file changed between the runs
    expect(diff.locator(".jp-mm-DiffRow-changed", has_text="data/train.csv")).to_be_visible()
    outputs = notebook.locator(".jp-Cellrow-outputs")
    expect(outputs.first).to_be_attached()
    diff.locator('[data-testid="mm-ignore-outputs"]').check()
    expect(outputs).to_have_count(0)
    expect(diff).to_contain_text("outputs ignored")


def test_a_run_without_checkpoint_disables_its_buttons_and_says_why(
    views: Views, expect: Any
) -> None:
    run_command(views.page, "jupyter-mm:open-run", {"id": views.script})
    detail = detail_of(views, views.script)
    expect(detail.locator('[data-testid="mm-open-checkpoint"]')).to_be_disabled()
    expect(detail.locator('[data-testid="mm-restore-checkpoint"]')).to_be_disabled()
    expect(detail).to_contain_text("This run has no notebook checkpoint.")
    expect(detail.locator(".jp-mm-Problem-error")).to_contain_text("ValueError: diverged")

    run_command(views.page, "jupyter-mm:compare-runs", {"a": views.script, "b": views.second})
    diff = views.page.locator(f'.jp-mm-RunDiff[data-run-a="{views.script}"]')
    expect(diff.locator(".jp-mm-Problem")).to_contain_text("Run A has no notebook checkpoint")
    expect(diff.locator(".jp-mm-RunDiff-notebook .jp-Notebook-diff")).to_be_attached()


def _restored(folder: Path, run_id: str) -> list[str]:
    return sorted(p.name for p in folder.glob(f"train-{run_id[:10]}*.ipynb"))


def test_restoring_twice_never_overwrites(views: Views, expect: Any) -> None:
    original = (views.folder / "train.ipynb").read_bytes()
    for expected in (1, 2):
        run_command(views.page, "jupyter-mm:open-run", {"id": views.first})
        detail_of(views, views.first).locator('[data-testid="mm-restore-checkpoint"]').click()
        deadline = time.monotonic() + 30
        while len(_restored(views.folder, views.first)) < expected:
            assert time.monotonic() < deadline, "the checkpoint was not restored"
            time.sleep(0.2)
    stem = f"train-{views.first[:10]}"
    assert _restored(views.folder, views.first) == [f"{stem}-1.ipynb", f"{stem}.ipynb"]
    for name in _restored(views.folder, views.first):
        source = nbformat.read(str(views.folder / name), as_version=4).cells[2].source
        assert "lr = 0.1" in source, name
    assert (views.folder / "train.ipynb").read_bytes() == original
    assert not list(views.folder.glob("Untitled*.ipynb"))


def test_dark_theme_and_no_console_errors(views: Views, expect: Any) -> None:
    page = views.page
    run_command(page, "apputils:change-theme", {"theme": "JupyterLab Dark"})
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    run_command(page, "jupyter-mm:open-run", {"id": views.first})
    chart = detail_of(views, views.first).locator(
        '[data-testid="mm-metric-chart"] :is(canvas, svg)'
    )
    expect(chart.first).to_be_visible()
    screenshot(page, "run-detail-dark")
    run_command(page, "apputils:change-theme", {"theme": "JupyterLab Light"})
    assert views.console_errors == [], textwrap.shorten(" | ".join(views.console_errors), 600)
