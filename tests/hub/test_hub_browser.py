"""Team mode in Chromium: alice logs into the hub, her server's JupyterLab shows the Models
panel over the team store; carol, who only reads, tries to promote a version to production
from the model's view and is told why not, and nothing changes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser.harness import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, run_command, screenshot

from jupyter_mm import registry
from jupyter_mm.config import StoreLocation
from jupyter_mm.store import open_store

from .harness import OWNER, PASSWORD, Hub, missing

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

MODEL = "smoke"
SEED = "import jupyter_mm as mm\nwith mm.start_run('smoke') as run:\n    mm.log_artifact(b'w', 'model')\nprint(run.run.id)\n"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        missing(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def staged_model(hub: Hub) -> None:
    """``smoke`` version 1 in staging, registered by the owner from a run of alice's."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", SEED],
        env=hub.env("alice"),
        cwd=hub.home("alice"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    run_id = out.stdout.strip().splitlines()[-1]
    location = StoreLocation(url=hub.db.url(OWNER), artifact_root=str(hub.db.artifacts))
    with open_store(location) as store:
        registry.register_model(run_id, "model", MODEL, store=store, actor="setup")
        registry.transition(MODEL, 1, "staging", store=store, actor="setup")
    hub.start_servers(["alice", "carol"])


def hub_lab_page(browser: Any, hub: Hub, user: str) -> Any:
    """Log in on the hub's own login page, then open the user's JupyterLab."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto(f"{hub.url}/hub/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login_submit")
    # the hub sends a logged-in user on (to their running server here)
    page.wait_for_url(lambda url: "/hub/login" not in url)
    page.goto(f"{hub.url}/user/{user}/lab?reset")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started", timeout=120_000)
    return page


def test_alice_sees_the_models_panel_of_the_team_store(
    browser: Any, hub: Hub, staged_model: None
) -> None:
    from playwright.sync_api import expect

    page = hub_lab_page(browser, hub, "alice")
    try:
        run_command(page, "jupyter-mm:open-models")
        row = page.locator(f'[data-testid="mm-model-row"][data-model="{MODEL}"]')
        expect(row).to_be_visible()
        screenshot(page, "hub-alice-models")
    finally:
        page.context.close()


def test_carols_promotion_is_refused_with_the_reason(
    browser: Any, hub: Hub, staged_model: None
) -> None:
    from playwright.sync_api import expect

    page = hub_lab_page(browser, hub, "carol")
    try:
        run_command(page, "jupyter-mm:open-models")
        page.locator(f'[data-testid="mm-model-row"][data-model="{MODEL}"]').click()
        view = page.locator(f'.jp-mm-Model[data-model="{MODEL}"]')
        row = view.locator('[data-testid="mm-version-row"][data-version="1"]')
        row.locator('[data-testid="mm-promote"][data-stage="production"]').click()
        dialog = page.locator(".jp-Dialog")
        dialog.locator('[data-testid="mm-dialog-reason"]').fill("ship it")
        dialog.locator(".jp-mod-accept").click()
        refusal = "carol may not promote to production or roll back model smoke"
        expect(page.locator(".Toastify__toast", has_text=refusal).first).to_be_visible()
        expect(page.locator(".Toastify__toast", has_text="'approve' role").first).to_be_visible()
        expect(row.locator(".jp-mm-StageBadge")).to_have_attribute("data-stage", "staging")
        screenshot(page, "hub-carol-refused")
    finally:
        page.context.close()
    assert hub.db.rows(
        "SELECT stage FROM model_versions WHERE model = %s AND version = 1", MODEL
    ) == [("staging",)]
