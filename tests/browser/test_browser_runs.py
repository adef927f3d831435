"""Issue #3 end to end in a real JupyterLab: a tracked cell run twice (the second time after
an unsaved edit), the run card, the sidebar, a run's detail, the diff of the two runs,
restoring and opening a checkpoint, the scope toggle, keyboard and command palette, the
dark theme; no data for requests without credentials; and the sidebar's latency (printed).

The tests share one notebook page (module-scoped ``flow``) and run in file order, each
checking one thing a user sees. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import nbformat
import pytest

from jupyter_mm.capture.checkpoint import load_checkpoint
from jupyter_mm.store import open_store

from .harness import ARTIFACTS, Lab, run_command, screenshot
from .notebook_flow import (
    NOTEBOOK,
    ROW,
    TrackedFlow,
    finish_latency_probe,
    run_tracked_flow,
    select_cell,
    start_latency_probe,
    stored_runs,
)

pytestmark = pytest.mark.browser

SIDEBAR = "#jupyter-mm-sidebar"


@pytest.fixture(scope="module")
def flow(browser: Any, lab: Lab) -> Iterator[TrackedFlow]:
    tracked = run_tracked_flow(browser, lab)
    try:
        yield tracked
    finally:
        tracked.page.context.close()


@pytest.fixture(scope="module")
def expect() -> Any:
    from playwright.sync_api import expect

    return expect


def row(flow: TrackedFlow, run_id: str) -> Any:
    return flow.page.locator(f'{SIDEBAR} {ROW}[data-run-id="{run_id}"]')


def test_the_tracked_cell_shows_its_run_card(flow: TrackedFlow, expect: Any) -> None:
    card = flow.page.locator(f'.jp-mm-RunCard[data-run-id="{flow.second.id}"]')
    expect(card).to_be_visible()
    expect(card).to_contain_text(re.compile("finished", re.IGNORECASE))
    # re-running the cell replaced the first run's card
    expect(flow.page.locator(f'.jp-mm-RunCard[data-run-id="{flow.first.id}"]')).to_have_count(0)
    screenshot(card, "run-card")
    # "Open in sidebar": the run is selected there and its detail opens
    card.locator('[data-testid="mm-card-open"]').click()
    expect(row(flow, flow.second.id)).to_have_attribute("aria-selected", "true")
    expect(flow.page.locator(f'.jp-mm-RunDetail[data-run-id="{flow.second.id}"]')).to_be_visible()


def test_the_second_checkpoint_is_the_live_notebook_with_the_unsaved_edit(
    flow: TrackedFlow,
) -> None:
    assert "lr = 0.1" in flow.disk_source_at_second_run, "the edit must not have been saved"
    assert flow.second.checkpoint_source == "live"
    store = open_store(flow.lab.store_url)
    try:
        first = load_checkpoint(store.blobs, flow.first.checkpoint_digest)
        second = load_checkpoint(store.blobs, flow.second.checkpoint_digest)
    finally:
        store.close()
    assert "lr = 0.1" in first.cells[1].source
    assert "lr = 0.2" in second.cells[1].source


def test_the_sidebar_lists_both_runs_newest_first(flow: TrackedFlow, expect: Any) -> None:
    rows = flow.page.locator(f"{SIDEBAR} {ROW}")
    expect(rows).to_have_count(2)
    ids = [rows.nth(i).get_attribute("data-run-id") for i in range(2)]
    assert ids == [flow.second.id, flow.first.id]
    # the row the latency probe saw appear is the second run's
    assert flow.probe_run_id == flow.second.id
    _report_latency(flow)
    # the README's picture: the runs next to the notebook and its run card
    flow.page.get_by_role("main").get_by_role("tab", name=NOTEBOOK, exact=True).click()
    screenshot(flow.page, "runs-list")


def _report_latency(flow: TrackedFlow) -> None:
    """Print (never assert) how long the new run took to show up in the sidebar."""
    figures = {name: None if v is None else round(v, 1) for name, v in flow.timings.items()}
    print(f"\njupyter-mm sidebar latency (ms): {json.dumps(figures)}")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "sidebar-latency.json").write_text(json.dumps(figures, indent=2) + "\n")


def test_search_narrows_the_runs(flow: TrackedFlow, expect: Any) -> None:
    search = flow.page.locator(f'{SIDEBAR} [data-testid="mm-search"]')
    search.fill(flow.second.id[:12])
    rows = flow.page.locator(f"{SIDEBAR} {ROW}")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-run-id", flow.second.id)
    search.fill("")
    expect(rows).to_have_count(2)


def test_a_run_detail_shows_params_metrics_and_artifacts(flow: TrackedFlow, expect: Any) -> None:
    page = flow.page
    row(flow, flow.first.id).click()
    detail = page.locator(f'.jp-mm-RunDetail[data-run-id="{flow.first.id}"]')
    expect(detail).to_be_visible()
    expect(row(flow, flow.first.id)).to_have_attribute("aria-selected", "true")
    expect(detail).to_contain_text("lr")
    expect(detail).to_contain_text("0.1")
    # four steps of "loss": drawn by JupyterLab's Vega-Lite renderer (svg or canvas)
    chart = detail.locator('[data-testid="mm-metric-chart"]').first
    expect(chart.locator("svg, canvas").first).to_be_visible()
    link = detail.locator('[data-testid="mm-artifact-link"]').first
    expect(link).to_contain_text("notes.txt")
    with page.expect_download() as download:
        link.click()
    with open(download.value.path(), "rb") as handle:
        assert handle.read() == b"lr=0.1\n"
    screenshot(page, "run-detail")


def test_comparing_the_two_runs_shows_the_edit(flow: TrackedFlow, expect: Any) -> None:
    page = flow.page
    row(flow, flow.first.id).click()
    row(flow, flow.second.id).click(modifiers=["ControlOrMeta"])
    expect(row(flow, flow.second.id)).to_have_attribute("aria-selected", "true")
    expect(row(flow, flow.first.id)).to_have_attribute("aria-selected", "true")
    page.locator(f'{SIDEBAR} [data-testid="mm-compare"]').click()

    diff = page.locator(".jp-mm-RunDiff").last
    expect(diff).to_be_visible()
    notebook = diff.locator(".jp-mm-RunDiff-notebook")
    expect(notebook.locator(".jp-Notebook-diff")).to_be_visible()
    expect(notebook).to_contain_text("lr = 0.1")
    expect(notebook).to_contain_text("lr = 0.2")
    # the setup cell ran again between the runs: its output differs (the tracked cell is
    # checkpointed as it starts, without the previous run's card)
    outputs = notebook.locator(".jp-Cellrow-outputs")
    expect(outputs.first).to_be_attached()
    screenshot(page, "diff-view")

    toggle = diff.locator('[data-testid="mm-ignore-outputs"]')
    toggle.check()
    expect(toggle).to_be_checked()
    expect(outputs).to_have_count(0)
    expect(notebook).to_contain_text("lr = 0.2")
    toggle.uncheck()
    expect(outputs.first).to_be_attached()


def test_restoring_a_checkpoint_writes_a_new_notebook_next_to_the_original(
    flow: TrackedFlow, expect: Any
) -> None:
    page = flow.page
    # save the edit, so the original holds 0.2 and only the first checkpoint holds 0.1
    page.get_by_role("main").get_by_role("tab", name=NOTEBOOK, exact=True).click()
    page.locator(".jp-NotebookPanel .jp-Cell").first.locator(".jp-InputPrompt").click()
    page.keyboard.press("ControlOrMeta+s")
    _wait_until(lambda: "lr = 0.2" in _cell_source(flow.notebook, 1), "the notebook was saved")
    before = set(flow.lab.root_dir.glob("*.ipynb"))

    run_command(page, "jupyter-mm:open-run", {"id": flow.first.id})
    detail = page.locator(f'.jp-mm-RunDetail[data-run-id="{flow.first.id}"]')
    expect(detail).to_be_visible()
    detail.locator('[data-testid="mm-restore-checkpoint"]').click()

    def restored() -> list[Any]:
        return sorted(set(flow.lab.root_dir.glob("*.ipynb")) - before)

    def written() -> bool:
        # the extension writes an untitled notebook first and renames it when complete
        new = restored()
        return (
            len(new) == 1
            and not new[0].name.startswith("Untitled")
            and "lr = 0.1" in _cell_source(new[0], 1)
        )

    _wait_until(written, "one restored notebook holds the first run's source")
    (path,) = restored()
    assert path.parent == flow.notebook.parent
    assert path.stem.startswith(flow.notebook.stem)
    assert "lr = 0.2" in _cell_source(flow.notebook, 1), "the original must be left alone"


def test_opening_a_checkpoint_shows_it_read_only(flow: TrackedFlow, expect: Any) -> None:
    page = flow.page
    run_command(page, "jupyter-mm:open-run", {"id": flow.first.id})
    detail = page.locator(f'.jp-mm-RunDetail[data-run-id="{flow.first.id}"]')
    detail.locator('[data-testid="mm-open-checkpoint"]').click()
    shown = page.locator(".jp-MainAreaWidget:visible").filter(has_text="lr = 0.1").last
    expect(shown).to_be_visible()
    # a view of the stored notebook, not an editable (saveable) notebook document
    expect(shown).not_to_have_class(re.compile(r"\bjp-NotebookPanel\b"))
    # typing into the checkpoint changes nothing
    shown.locator(".cm-line", has_text="lr = 0.1").first.click()
    page.keyboard.press("End")
    page.keyboard.type("9")
    expect(shown).to_contain_text("lr = 0.1")
    expect(shown).not_to_contain_text("lr = 0.19")


def test_the_scope_toggle_shows_runs_of_all_notebooks(
    flow: TrackedFlow, expect: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jupyter_mm as mm
    from jupyter_mm.config import ENV_STORE

    # a run made outside this notebook (a script): only the "all notebooks" scope shows it
    monkeypatch.setenv(ENV_STORE, flow.lab.store_url)
    with mm.start_run(name="script-run") as other:
        mm.log_metric("loss", 0.5)
    page = flow.page
    # "this notebook" follows the notebook in focus; the restore test opened another one
    page.get_by_role("main").get_by_role("tab", name=NOTEBOOK, exact=True).click()
    run_command(page, "jupyter-mm:refresh")
    rows = page.locator(f"{SIDEBAR} {ROW}")
    expect(rows).to_have_count(2)
    toggle = page.locator(f'{SIDEBAR} [data-testid="mm-scope-toggle"]')
    toggle.click()
    # newest first: the script's run leads the list of all notebooks
    expect(rows.first).to_have_attribute("data-run-id", other.id)
    toggle.click()
    expect(rows).to_have_count(2)
    expect(page.locator(f'{SIDEBAR} {ROW}[data-run-id="{other.id}"]')).to_have_count(0)


def test_the_runs_list_and_commands_work_from_the_keyboard(flow: TrackedFlow, expect: Any) -> None:
    page = flow.page
    row(flow, flow.second.id).click()  # selects only this run
    row(flow, flow.second.id).focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.locator(f'.jp-mm-RunDetail[data-run-id="{flow.first.id}"]')).to_be_visible()
    # Space adds the focused run to the selection
    row(flow, flow.first.id).focus()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Space")
    expect(row(flow, flow.first.id)).to_have_attribute("aria-selected", "true")
    expect(row(flow, flow.second.id)).to_have_attribute("aria-selected", "true")
    # and the command palette compares them
    page.keyboard.press("ControlOrMeta+Shift+c")
    palette = page.locator(".lm-CommandPalette-input")
    expect(palette).to_be_focused()
    palette.type("Compare Selected Runs")
    page.keyboard.press("Enter")
    diff = page.locator(".jp-mm-RunDiff:visible")
    expect(diff.locator(".jp-Notebook-diff")).to_be_visible()
    expect(diff).to_contain_text(flow.first.id[:10])
    expect(diff).to_contain_text(flow.second.id[:10])


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _get_without_credentials(url: str) -> tuple[int, str, str]:
    """(status, Location header, body) of a GET with no token and no cookie."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=30) as response:
            return response.status, "", response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location", ""), error.read().decode(errors="replace")


def test_requests_without_credentials_get_no_data(
    flow: TrackedFlow, browser: Any, expect: Any
) -> None:
    lab, first, second = flow.lab, flow.first.id, flow.second.id
    notebook = urllib.parse.quote(str(flow.notebook))
    # with the token the same paths do answer, with the runs
    listed = lab.api_json(f"/runs?notebook={notebook}")
    assert {run["id"] for run in listed["runs"]} == {first, second}
    checkpoint = lab.api_json(f"/runs/{second}/checkpoint")
    assert "lr = 0.2" in "".join(checkpoint["cells"][1]["source"])

    paths = [
        "/runs",
        f"/runs?notebook={notebook}",
        "/runs/metric-names",
        f"/runs/{first}",
        "/runs/latest",
        f"/runs/{second}/checkpoint",
        f"/runs/{first}/diff/{second}",
        f"/runs/{first}/artifacts/notes.txt",
        "/events",
        "/info",
    ]
    for path in paths:
        status, location, body = _get_without_credentials(f"{lab.base_url}/jupyter-mm/api{path}")
        assert status in (401, 403) or (status in (301, 302) and "/login" in location), (
            path,
            status,
        )
        assert first not in body and second not in body, path
        assert "lr=0.1" not in body, path

    # a browser without the token: the API refuses, the lab asks for a login
    context = browser.new_context()
    try:
        page = context.new_page()
        response = page.goto(f"{lab.base_url}/jupyter-mm/api/runs")
        assert response is not None
        assert response.status in (401, 403) or "/login" in page.url
        assert first not in page.content() and second not in page.content()
        page.goto(f"{lab.base_url}/lab/tree/{NOTEBOOK}")
        assert "/login" in page.url
    finally:
        context.close()


def test_sidebar_latency_over_repeated_runs(flow: TrackedFlow) -> None:
    """Five more runs of the tracked cell, each timed from its execute reply (and from the
    kernel's run message) to its row. The figures are printed, never asserted."""
    page = flow.page
    page.get_by_role("main").get_by_role("tab", name=NOTEBOOK, exact=True).click()
    known = [run.id for run in stored_runs(flow.lab, flow.notebook)]
    select_cell(page, 1)
    samples: list[dict[str, float | None]] = []
    for _ in range(5):
        start_latency_probe(page, 1, known)
        page.keyboard.press("Control+Enter")
        run_id, timings = finish_latency_probe(page)
        assert run_id not in known
        known.append(run_id)
        samples.append(timings)
    # every row that appeared is a finished run of this notebook
    stored = {run.id: run.status for run in stored_runs(flow.lab, flow.notebook)}
    assert all(stored.get(run_id) == "finished" for run_id in known[-5:]), stored
    summary: dict[str, Any] = {}
    for name in samples[0]:
        values = sorted(v for sample in samples if (v := sample[name]) is not None)
        if values:
            summary[name] = {
                "median": round(values[len(values) // 2], 1),
                "max": round(values[-1], 1),
                "samples": len(values),
            }
    print(f"\njupyter-mm sidebar latency over 5 runs (ms): {json.dumps(summary)}")
    (ARTIFACTS / "sidebar-latency-repeated.json").write_text(json.dumps(summary, indent=2))


def test_the_views_follow_the_dark_theme(flow: TrackedFlow, expect: Any) -> None:
    page = flow.page
    run_command(page, "jupyter-mm:compare-runs", {"a": flow.first.id, "b": flow.second.id})
    diff = page.locator(".jp-mm-RunDiff:visible")
    expect(diff.locator(".jp-Notebook-diff")).to_be_visible()
    sidebar = page.locator(SIDEBAR)
    light = sidebar.evaluate("node => getComputedStyle(node).backgroundColor")
    run_command(page, "apputils:change-theme", {"theme": "JupyterLab Dark"})
    try:
        page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
        # JupyterLab shows its splash screen while the theme's CSS loads
        page.locator("#jupyterlab-splash").wait_for(state="detached")
        expect(sidebar).not_to_have_css("background-color", light)
        expect(diff).not_to_have_css("background-color", light)
        screenshot(page, "diff-view-dark")
    finally:
        run_command(page, "apputils:change-theme", {"theme": "JupyterLab Light"})
        page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'")
        page.locator("#jupyterlab-splash").wait_for(state="detached")


def _cell_source(path: Any, index: int) -> str:
    try:
        return nbformat.read(str(path), as_version=4).cells[index].source
    except (OSError, ValueError, IndexError, KeyError):
        return ""  # not written completely yet


def _wait_until(condition: Any, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting until {what}")
