"""The Serving section of the model view in a real JupyterLab, fed by a real
`jupyter mm serve` process on the lab's store: the endpoint, the traffic split
(champion / canary %), the request rate; and archiving the served version asks first.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from serving.conftest import register_classifier, serving, training_frame

from jupyter_mm import tracking
from jupyter_mm.store import open_store

from .harness import Lab, new_lab_page, run_command, screenshot

pytestmark = pytest.mark.browser

MODEL = "served-churn"


@pytest.fixture(scope="module")
def served(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    """Versions 1 (production) and 2 (staging), served with a 25 % canary, under a steady
    trickle of requests so the rate is never zero."""
    store = open_store(lab.store_url)
    tracking.set_default_store(store)
    stop = threading.Event()
    try:
        register_classifier(store, MODEL, 1.0, "production")
        register_classifier(store, MODEL, 0.01, "staging")
        args = (f"{MODEL}@production", "--canary", f"{MODEL}@staging:25%")
        with serving(lab.store_url, tmp_path_factory.mktemp("serve"), *args) as server:
            body = {"dataframe_records": training_frame(rows=2)[0].to_dict(orient="records")}

            def trickle() -> None:
                while not stop.wait(0.1):
                    server.post("/invocations", body)

            sender = threading.Thread(target=trickle, daemon=True)
            sender.start()
            yield server, store
            stop.set()
            sender.join()
    finally:
        stop.set()
        tracking.set_default_store(None)
        store.close()


def test_serving_section_and_archiving_the_served_version(
    browser: Any, lab: Lab, served: tuple[Any, Any]
) -> None:
    from playwright.sync_api import expect

    server, store = served
    page = new_lab_page(browser, lab)
    try:
        run_command(page, "jupyter-mm:open-model", {"name": MODEL})
        view = page.locator(f'.jp-mm-Model[data-model="{MODEL}"]')
        row = view.locator('[data-testid="mm-serving"] [data-testid="mm-endpoint-row"]')
        expect(row).to_have_count(1, timeout=30_000)
        expect(row).to_have_attribute("data-live", "true")
        expect(row).to_contain_text(server.url)
        expect(row.locator('[data-arm="champion"]')).to_have_text("champion v1 · 75%")
        expect(row.locator('[data-arm="canary"]')).to_have_text("canary v2 · 25%")
        # the rate comes with the next heartbeat (5 s) and the section's next poll (5 s)
        expect(row.locator('[data-testid="mm-endpoint-rate"]')).not_to_have_text(
            "0.0", timeout=30_000
        )
        screenshot(view, "serving")

        archive = view.locator(
            '[data-testid="mm-version-row"][data-version="1"] '
            '[data-testid="mm-promote"][data-stage="archived"]'
        )
        dialog = page.locator(".jp-Dialog")
        archive.click()
        expect(dialog).to_contain_text("being served by")
        expect(dialog).to_contain_text(f"{server.url} (champion)")
        dialog.locator(".jp-mod-reject").click()
        expect(dialog).to_have_count(0)
        assert store.get_version(MODEL, 1).stage == "production"  # cancelled: nothing sent

        archive.click()
        dialog.locator(".jp-mod-accept").click()  # "Archive anyway"
        dialog.locator('[data-testid="mm-dialog-reason"]').fill("replaced by a new pipeline")
        dialog.locator(".jp-mod-accept").click()
        badge = view.locator('[data-testid="mm-version-row"][data-version="1"] .jp-mm-StageBadge')
        expect(badge).to_have_attribute("data-stage", "archived")
        assert store.get_version(MODEL, 1).stage == "archived"
    finally:
        page.context.close()
