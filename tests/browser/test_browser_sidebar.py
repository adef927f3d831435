"""The runs sidebar at a size where its mechanics matter: a store of 450 runs, more than
four pages of the sidebar's 100. Checks that the list renders only the rows in view, pages
in the rest through ``next_token`` while scrolling, filters on the server (status, text),
and is usable from the keyboard alone (arrows, Space to select, Enter to open).

The page and the lab are shared by the tests of this module (their own lab, so the
seeded runs never show up in the other browser tests' store).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from jupyter_mm.entities import Metric, ReproFlag, Run
from jupyter_mm.ids import new_id
from jupyter_mm.store import open_store

from .harness import Lab, new_lab_page, run_command, running_lab, screenshot

pytestmark = pytest.mark.browser

SIDEBAR = "#jupyter-mm-sidebar"
ROW = f'{SIDEBAR} [data-testid="mm-run-row"]'
TOTAL = 450
#: every 10th run failed; the store keeps them newest first by start time
FAILED_EVERY = 10
#: more rows than this in the DOM means the list is not virtualized
MAX_DOM_ROWS = 80
ROW_HEIGHT = 28


def seed_runs(lab: Lab) -> list[Run]:
    """TOTAL finished/failed runs over two notebooks, one second apart; newest first."""
    runs: list[Run] = []
    base = time.time() - TOTAL - 60
    with open_store(lab.store_url) as store:
        for i in range(TOTAL):
            start = base + i
            run = store.create_run(
                Run(
                    id=new_id(),
                    name=f"sweep-{i:03d}",
                    status="failed" if i % FAILED_EVERY == 0 else "finished",
                    start_time=start,
                    end_time=start + 0.5,
                    notebook_path=str(lab.root_dir / ("sweep.ipynb" if i % 3 else "other.ipynb")),
                    checkpoint_source="live",
                    flags=[ReproFlag("out_of_order", "Cell 2 ran before cell 1.")]
                    if i % 7 == 0
                    else [],
                )
            )
            store.log_batch(run.id, metrics=[Metric("acc", i / TOTAL, 0, start)])
            runs.append(run)
    return runs[::-1]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, list[Run]]]:
    with running_lab(tmp_path_factory.mktemp("sidebar-lab")) as lab:
        yield lab, seed_runs(lab)


@pytest.fixture(scope="module")
def page(browser: Any, seeded: tuple[Lab, list[Run]]) -> Iterator[Any]:
    lab, _ = seeded
    page = new_lab_page(browser, lab)
    requests: list[str] = []
    page.on(
        "request", lambda r: requests.append(r.url) if "/jupyter-mm/api/runs?" in r.url else None
    )
    page.run_requests = requests  # type: ignore[attr-defined]
    run_command(page, "jupyter-mm:open-sidebar")
    page.locator(SIDEBAR).wait_for()
    # No notebook is open: the default scope ("this notebook") has nothing to show.
    toggle = page.locator('[data-testid="mm-scope-toggle"]')
    if "All notebooks" not in toggle.inner_text():
        toggle.click()
    page.locator(ROW).first.wait_for()
    try:
        yield page
    finally:
        page.context.close()


def dom_rows(page: Any) -> list[str]:
    return page.eval_on_selector_all(ROW, "rows => rows.map(r => r.dataset.runId)")


def loaded_rows(page: Any) -> int:
    """Rows the list holds (rendered or not): the canvas is ROW_HEIGHT per row, plus one
    row for the "loading more" line while pages remain."""
    height = page.eval_on_selector(
        f"{SIDEBAR} .jp-mm-RunList-canvas", "c => parseFloat(c.style.height)"
    )
    more = page.locator(f"{SIDEBAR} .jp-mm-RunList-more").count()
    return round(height / ROW_HEIGHT) - more


def scroll_to_end(page: Any) -> None:
    """Scroll down until nothing more loads (each page arrives as the end comes near),
    then once more to the bottom of the last page."""
    to_bottom = "s => { s.scrollTop = s.scrollHeight; }"
    scroller = f"{SIDEBAR} .jp-mm-RunList-scroller"
    deadline = time.monotonic() + 30
    while page.locator(f"{SIDEBAR} .jp-mm-RunList-more").count() > 0:
        assert time.monotonic() < deadline, "the list never reached its end"
        page.eval_on_selector(scroller, to_bottom)
        page.wait_for_timeout(150)
    page.eval_on_selector(scroller, to_bottom)
    page.wait_for_timeout(200)


def test_first_page_is_newest_first_and_only_visible_rows_render(
    page: Any, seeded: tuple[Lab, list[Run]]
) -> None:
    _, runs = seeded
    ids = dom_rows(page)
    assert ids[0] == runs[0].id
    assert ids == [run.id for run in runs[: len(ids)]]
    assert 10 <= len(ids) <= MAX_DOM_ROWS
    assert loaded_rows(page) == 100  # one page of the sidebar's page size


def test_scrolling_pages_in_every_run_through_next_token(
    page: Any, seeded: tuple[Lab, list[Run]]
) -> None:
    _, runs = seeded
    scroll_to_end(page)
    assert loaded_rows(page) == TOTAL
    ids = dom_rows(page)
    assert ids[-1] == runs[-1].id, "the oldest run is the last row"
    assert len(ids) <= MAX_DOM_ROWS, "rows scrolled past must leave the DOM"
    tokens = [url for url in page.run_requests if "page_token=" in url]
    assert len(tokens) >= 4, "450 runs are five pages of 100"
    screenshot(page.locator(SIDEBAR), "sidebar-scrolled-to-end")


def test_status_filter_asks_the_server(page: Any, seeded: tuple[Lab, list[Run]]) -> None:
    _, runs = seeded
    failed = [run.id for run in runs if run.status == "failed"]
    page.locator(f'{SIDEBAR} [data-testid="mm-status-filter"]').select_option("failed")
    page.wait_for_function(
        f"() => document.querySelector('{SIDEBAR} .jp-mm-RunList-canvas').style.height"
        f" === '{len(failed) * ROW_HEIGHT}px'"
    )
    shown = dom_rows(page)
    assert shown == failed[: len(shown)]
    assert page.locator(f"{ROW}.jp-mm-RunRow-finished").count() == 0
    assert any("status=failed" in url for url in page.run_requests)
    page.locator(f'{SIDEBAR} [data-testid="mm-status-filter"]').select_option("")
    page.wait_for_function(
        f"() => document.querySelector('{SIDEBAR} [data-testid=\"mm-run-row\"]')?"
        f".dataset.runId === '{runs[0].id}'"
    )


def test_search_is_debounced_and_server_side(page: Any, seeded: tuple[Lab, list[Run]]) -> None:
    _, runs = seeded
    target = next(run for run in runs if run.name == "sweep-123")
    before = len(page.run_requests)
    page.locator(f'{SIDEBAR} [data-testid="mm-search"]').press_sequentially("sweep-123", delay=20)
    page.wait_for_function(
        f"() => [...document.querySelectorAll('{ROW}')].map(r => r.dataset.runId)"
        f".join() === '{target.id}'"
    )
    searches = [url for url in page.run_requests[before:] if "q=" in url]
    assert 1 <= len(searches) <= 2, f"typing 9 characters sent {len(searches)} searches"
    page.locator(f'{SIDEBAR} [data-testid="mm-search"]').fill("")
    page.wait_for_function(f"() => document.querySelectorAll('{ROW}').length > 5")


def test_keyboard_moves_selects_and_opens(page: Any, seeded: tuple[Lab, list[Run]]) -> None:
    _, runs = seeded
    first = page.locator(f'{ROW}[data-run-id="{runs[0].id}"]')
    first.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    focused = page.evaluate("() => document.activeElement.dataset.runId")
    assert focused == runs[2].id
    page.keyboard.press("Space")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Space")
    selected = page.eval_on_selector_all(
        f'{ROW}[aria-selected="true"]', "rows => rows.map(r => r.dataset.runId)"
    )
    assert sorted(selected) == sorted([runs[1].id, runs[2].id])
    assert page.locator(f'{SIDEBAR} [data-testid="mm-compare"]').is_enabled()
    # End jumps to the last loaded row: the clearing of the search above reloaded the first
    # page of 100 only
    page.keyboard.press("End")
    assert page.evaluate("() => document.activeElement.dataset.runId") == runs[99].id
    page.keyboard.press("Enter")
    page.locator(f'.jp-mm-RunDetail[data-run-id="{runs[99].id}"]').wait_for()
    screenshot(page, "sidebar-keyboard-open")


def test_warning_badges_count_flags(page: Any, seeded: tuple[Lab, list[Run]]) -> None:
    _, runs = seeded
    page.eval_on_selector(f"{SIDEBAR} .jp-mm-RunList-scroller", "s => { s.scrollTop = 0; }")
    flagged = next(run for run in runs if run.flags)
    clean = next(run for run in runs if not run.flags)
    row = page.locator(f'{ROW}[data-run-id="{flagged.id}"]')
    row.wait_for()
    assert row.locator(".jp-mm-Badge-warn").inner_text() == "1"
    assert page.locator(f'{ROW}[data-run-id="{clean.id}"] .jp-mm-Badge-warn').count() == 0


def test_a_refresh_merges_new_runs_on_top_and_keeps_the_rows_in_view(
    page: Any, seeded: tuple[Lab, list[Run]]
) -> None:
    lab, runs = seeded
    scroller = f"{SIDEBAR} .jp-mm-RunList-scroller"
    page.eval_on_selector(scroller, f"s => {{ s.scrollTop = {20 * ROW_HEIGHT}; }}")
    anchor = page.locator(f'{ROW}[data-run-id="{runs[25].id}"]')
    anchor.wait_for()
    before = anchor.bounding_box()
    with open_store(lab.store_url) as store:
        newest = store.create_run(
            Run(
                id=new_id(),
                name="sweep-new",
                status="finished",
                start_time=time.time(),
                end_time=time.time() + 0.5,
                notebook_path=str(lab.root_dir / "sweep.ipynb"),
            )
        )
    canvas = f"document.querySelector('{SIDEBAR} .jp-mm-RunList-canvas').style.height"
    height = page.evaluate(f"() => {canvas}")
    run_command(page, "jupyter-mm:refresh")
    # one more row above the ones loaded, and nothing else
    page.wait_for_function(
        f"() => {canvas} === '{float(height.removesuffix('px')) + ROW_HEIGHT:g}px'"
    )
    after = anchor.bounding_box()
    assert before is not None and after is not None
    assert abs(after["y"] - before["y"]) < 2, "the rows the user was reading moved"
    page.eval_on_selector(scroller, "s => { s.scrollTop = 0; }")
    page.wait_for_function(
        f"() => document.querySelector('{ROW}')?.dataset.runId === '{newest.id}'"
    )
    assert dom_rows(page)[1] == runs[0].id


def test_a_metric_header_orders_the_list_by_that_metric(
    page: Any, seeded: tuple[Lab, list[Run]]
) -> None:
    _, runs = seeded  # acc is i / TOTAL: the newest seeded run has the highest acc
    page.eval_on_selector(f"{SIDEBAR} .jp-mm-RunList-scroller", "s => { s.scrollTop = 0; }")
    top = f"() => document.querySelector('{ROW}')?.dataset.runId"
    newest_first = dom_rows(page)
    header = page.locator(f'{SIDEBAR} [data-testid="mm-metric-header"][data-metric="acc"]')

    def requested(order: str) -> bool:
        return any(f"order={order.replace(':', '%3A')}" in url for url in page.run_requests)

    header.click()  # highest first; runs without acc (the refresh test's new run) left out
    page.wait_for_function(f"{top} === '{runs[0].id}'")
    shown = dom_rows(page)
    assert shown == [run.id for run in runs[: len(shown)]] and len(shown) > 5
    assert requested("metric:acc:desc") and "▼" in header.inner_text()
    header.click()  # lowest first
    page.wait_for_function(f"{top} === '{runs[-1].id}'")
    shown = dom_rows(page)
    assert shown == [run.id for run in runs[::-1][: len(shown)]]
    assert requested("metric:acc:asc") and "▲" in header.inner_text()
    screenshot(page.locator(SIDEBAR), "sidebar-sorted-by-metric")
    header.click()  # back to newest first
    page.wait_for_function(f"{top} === '{newest_first[0]}'")
    assert dom_rows(page)[:5] == newest_first[:5]
    assert "▲" not in header.inner_text() and "▼" not in header.inner_text()


def test_the_chosen_metric_columns_survive_a_reload(page: Any) -> None:
    header = f"{SIDEBAR} .jp-mm-RunList-header"
    assert "acc" in page.locator(header).inner_text()
    chooser = page.locator(f'{SIDEBAR} [data-testid="mm-metric-columns"]')
    chooser.locator("summary").click()
    chooser.get_by_label("acc").uncheck()
    page.wait_for_function(f"() => !document.querySelector('{header}').textContent.includes('acc')")
    # let JupyterLab write its state database, then load the page again
    page.wait_for_timeout(500)
    page.goto(page.url.split("?")[0])
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started")
    page.locator(ROW).first.wait_for()
    assert "All notebooks" in page.locator('[data-testid="mm-scope-toggle"]').inner_text()
    assert "acc" not in page.locator(header).inner_text()
