"""JupyterLab's main area after a walkthrough, the runs list at the sidebar's default
width, and the Models panel following changes made outside the page.

- Preview tabs: opening run after run, diff after diff, model after model costs one tab per
  kind; a pinned tab (its Pin button, or a double-click on the tab) stays.
- Columns: at ~245 px two runs of one name can be told apart, nothing scrolls sideways,
  the issues badge is whole; dragging a metric header's edge widens that column.
- Models: a promotion and a registration made through the Python API (as the CLI or
  another user would) show up without a refresh; version descriptions are shown; "Roll
  back production" is disabled while there is nothing to roll back.

Own lab (seeded store), so the other browser tests never see these runs and models.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from jupyter_mm import registry
from jupyter_mm.entities import Artifact, Metric, ReproFlag, Run
from jupyter_mm.ids import new_id
from jupyter_mm.store import open_store

from .harness import Lab, new_lab_page, run_command, running_lab, screenshot

pytestmark = pytest.mark.browser

SIDEBAR = "#jupyter-mm-sidebar"
ROW = f'{SIDEBAR} [data-testid="mm-run-row"]'
#: tabs of JupyterLab's main dock panel
MAIN_TABS = "#jp-main-dock-panel .lm-TabBar-tab"
NAMES = ["logreg", "logreg", "random-forest", "gradient-boosting", "svm", "knn"]
MODEL = "tabs-model"
#: the class a preview view (and its tab) carries until pinned
PREVIEW = re.compile(r"\bjp-mm-Preview\b")


def _seed(lab: Lab) -> list[Run]:
    """Runs of NAMES (oldest first) with two metrics and a model artifact each; the first
    carries 12 reproducibility flags (a two-digit badge)."""
    runs: list[Run] = []
    base = time.time() - 600
    with open_store(lab.store_url) as store:
        for i, name in enumerate(NAMES):
            start = base + 10 * i
            flags = [ReproFlag("out_of_order", f"Cell {n} ran late.") for n in range(12)]
            run = store.create_run(
                Run(
                    id=new_id(),
                    name=name,
                    status="finished",
                    start_time=start,
                    end_time=start + 2,
                    notebook_path=str(lab.root_dir / "tabs.ipynb"),
                    checkpoint_source="none",
                    flags=flags if i == 0 else [],
                )
            )
            digest = store.blobs.put_bytes(f"weights {i}".encode())
            store.log_batch(
                run.id,
                metrics=[
                    Metric("accuracy", 0.9 + i / 100, 0, start),
                    Metric("roc_auc", 0.95 + i / 1000, 0, start),
                ],
                artifacts=[Artifact("model.txt", digest, 9, "text/plain")],
            )
            runs.append(run)
    return runs


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, list[Run]]]:
    with running_lab(tmp_path_factory.mktemp("tabs-lab")) as lab:
        yield lab, _seed(lab)


@pytest.fixture(scope="module")
def page(browser: Any, seeded: tuple[Lab, list[Run]]) -> Iterator[Any]:
    lab, _ = seeded
    page = new_lab_page(browser, lab)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"{error}\n{error.stack}"))
    page.console_errors = errors  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        page.context.close()


@pytest.fixture(scope="module")
def expect() -> Any:
    from playwright.sync_api import expect

    return expect


def test_a_walkthrough_keeps_one_tab_per_kind(
    page: Any, seeded: tuple[Lab, list[Run]], expect: Any
) -> None:
    lab, runs = seeded
    before = page.locator(MAIN_TABS).count()
    for run in runs:
        run_command(page, "jupyter-mm:open-run", {"id": run.id})
        expect(page.locator(f'.jp-mm-RunDetail[data-run-id="{run.id}"]')).to_be_visible()
    for a, b in itertools.pairwise(runs):
        run_command(page, "jupyter-mm:compare-runs", {"a": a.id, "b": b.id})
        expect(page.locator(f'.jp-mm-RunDiff[data-run-b="{b.id}"]')).to_be_visible()
    with open_store(lab.store_url) as store:
        for run in runs[:3]:
            registry.register_model(run.id, "model.txt", MODEL, store=store)
        registry.register_model(runs[3].id, "model.txt", f"{MODEL}-2", store=store)
    for name in (MODEL, f"{MODEL}-2"):
        run_command(page, "jupyter-mm:open-model", {"name": name})
        expect(page.locator(f'.jp-mm-Model[data-model="{name}"]')).to_be_visible()
    for version in (1, 2, 3):
        run_command(page, "jupyter-mm:open-lineage", {"name": MODEL, "version": version})
        lineage = page.locator(f'.jp-mm-Lineage[data-model="{MODEL}"][data-version="{version}"]')
        expect(lineage).to_be_visible()
    # 6 details, 5 diffs, 2 models, 3 lineages: one tab of each kind
    expect(page.locator(".jp-mm-RunDetail")).to_have_count(1)
    expect(page.locator(".jp-mm-RunDiff")).to_have_count(1)
    expect(page.locator(".jp-mm-Model")).to_have_count(1)
    expect(page.locator(".jp-mm-Lineage")).to_have_count(1)
    assert page.locator(MAIN_TABS).count() == before + 4
    # readable titles once loaded: run name and short id, "Diff: a ↔ b"
    labels = page.locator(f"{MAIN_TABS} .lm-TabBar-tabLabel")
    expect(labels.filter(has_text=f"knn · {runs[-1].id[:10]}")).to_have_count(1, timeout=60_000)
    expect(labels.filter(has_text="Diff: svm ↔ knn")).to_have_count(1, timeout=60_000)
    expect(labels.filter(has_text=f"Lineage {MODEL} v3")).to_have_count(1)


def test_pinned_tabs_stay_open(page: Any, seeded: tuple[Lab, list[Run]], expect: Any) -> None:
    _, runs = seeded
    knn = page.locator(f'.jp-mm-RunDetail[data-run-id="{runs[-1].id}"]')
    run_command(page, "jupyter-mm:open-run", {"id": runs[-1].id})  # its tab to the front
    knn.locator(".jp-mm-PinButton").click()
    expect(knn).not_to_have_class(PREVIEW)
    run_command(page, "jupyter-mm:open-run", {"id": runs[0].id})
    expect(page.locator(".jp-mm-RunDetail")).to_have_count(2)
    # a double-click on the preview's tab pins it too
    logreg = page.locator(f'.jp-mm-RunDetail[data-run-id="{runs[0].id}"]')
    expect(logreg).to_have_class(PREVIEW)
    page.locator(f"{MAIN_TABS}.jp-mm-Preview", has_text="logreg").dblclick()
    expect(logreg).not_to_have_class(PREVIEW)
    run_command(page, "jupyter-mm:open-run", {"id": runs[1].id})
    expect(page.locator(".jp-mm-RunDetail")).to_have_count(3)
    # asking for a pinned run again focuses its tab
    run_command(page, "jupyter-mm:open-run", {"id": runs[-1].id})
    expect(page.locator(".jp-mm-RunDetail")).to_have_count(3)
    expect(knn).to_be_visible()


def test_the_runs_list_at_the_default_sidebar_width(
    page: Any, seeded: tuple[Lab, list[Run]], expect: Any
) -> None:
    _, runs = seeded
    run_command(page, "jupyter-mm:open-sidebar")
    toggle = page.locator('[data-testid="mm-scope-toggle"]')
    if toggle.get_attribute("aria-pressed") != "true":
        toggle.click()  # no notebook is open: all notebooks
    expect(page.locator(ROW)).to_have_count(len(NAMES))
    scroller = page.locator(f"{SIDEBAR} .jp-mm-RunList-scroller")
    width = scroller.evaluate("node => node.closest('.lm-Widget').getBoundingClientRect().width")
    assert 230 <= width <= 260, width  # JupyterLab's default left panel width
    # nothing scrolls sideways
    assert scroller.evaluate("node => node.scrollWidth <= node.clientWidth")
    # the two logreg runs show their short ids
    for run in runs[:2]:
        row = page.locator(f'{ROW}[data-run-id="{run.id}"]')
        expect(row.locator(".jp-mm-RunRow-id")).to_have_text(run.id[:10])
    # the badge of 12 flags is whole, inside its row
    flagged = page.locator(f'{ROW}[data-run-id="{runs[0].id}"]')
    badge = flagged.locator(".jp-mm-Badge").bounding_box()
    row_box = flagged.bounding_box()
    assert badge and row_box and badge["x"] + badge["width"] <= row_box["x"] + row_box["width"]
    assert flagged.locator(".jp-mm-Badge").evaluate("b => b.scrollWidth <= b.clientWidth")
    # values right-aligned, full value in the tooltip
    metric = flagged.locator(".jp-mm-RunRow-metric").first
    assert metric.evaluate("n => getComputedStyle(n).textAlign") == "right"
    assert metric.get_attribute("title") == "accuracy = 0.9"
    screenshot(page.locator(SIDEBAR), "runs-sidebar-default-width")


def test_dragging_a_header_edge_resizes_the_column(page: Any, expect: Any) -> None:
    header = page.locator(f'{SIDEBAR} [data-testid="mm-metric-header"][data-metric="accuracy"]')
    before = header.bounding_box()
    handle = header.locator('[data-testid="mm-column-resizer"]').bounding_box()
    assert before and handle
    y = handle["y"] + handle["height"] / 2
    page.mouse.move(handle["x"] + 1, y)
    page.mouse.down()
    page.mouse.move(handle["x"] + 31, y, steps=5)
    page.mouse.up()
    after = header.bounding_box()
    assert after and after["width"] > before["width"] + 20, (before, after)
    cell = page.locator(f"{ROW} .jp-mm-RunRow-metric").first.bounding_box()
    assert cell and abs(cell["width"] - after["width"]) < 2  # rows follow the header


def test_the_models_panel_follows_changes_made_elsewhere(
    page: Any, seeded: tuple[Lab, list[Run]], expect: Any
) -> None:
    lab, runs = seeded
    run_command(page, "jupyter-mm:open-models")
    row = page.locator(f'[data-testid="mm-model-row"][data-model="{MODEL}"]')
    expect(row).to_be_visible()
    run_command(page, "jupyter-mm:open-model", {"name": MODEL})
    view = page.locator(f'.jp-mm-Model[data-model="{MODEL}"]')
    rollback = view.locator('[data-testid="mm-rollback"]')
    expect(rollback).to_be_disabled()  # nothing in production
    with open_store(lab.store_url) as store:
        registry.register_model(
            runs[4].id, "model.txt", MODEL, "svm on the scaled features", store=store
        )
        for version in (1, 2):
            registry.transition(MODEL, version, "staging", store=store)
            registry.transition(MODEL, version, "production", store=store)
    # no click: the poll notices the new version and the promotions
    described = view.locator('[data-testid="mm-version-row"][data-version="4"]')
    expect(described.locator('[data-testid="mm-version-description"]')).to_have_text(
        "svm on the scaled features", timeout=60_000
    )
    expect(rollback).to_be_enabled(timeout=60_000)
    expect(rollback).to_have_attribute("title", "Put version 1 back into production")
    expect(row).to_contain_text("v2", timeout=60_000)


def test_replacing_views_quickly_logs_no_errors(page: Any) -> None:
    # views were replaced while still loading (charts, outputs, diffs in flight)
    assert page.console_errors == [], "\n".join(page.console_errors)
