"""Monitor alerts reach JupyterLab: a real pass writes an alert into the lab's store and the
alerts plugin shows it as a notification (it polls ``GET /alerts`` with the last id seen,
so alerts from before the page opened are not replayed)."""

from __future__ import annotations

from typing import Any

import pytest
from traitlets.config import Config

from jupyter_mm import tracking
from jupyter_mm.alerts.evaluate import check
from jupyter_mm.monitoring.settings import Monitor
from jupyter_mm.store import open_store

from .harness import Lab, screenshot

pytestmark = pytest.mark.browser

RULE = "roc_auc < 0.78 over 80 labelled"


def raise_alert(lab: Lab, name: str) -> int:
    """Register a production model in the lab's store, log wrong-looking labelled
    predictions and run a monitor pass: the alert's event id."""
    from alerts.conftest import log_scored, register_production

    with open_store(lab.store_url) as store:
        tracking.set_default_store(store)
        try:
            register_production(store, name)
            log_scored(store, f"{name}@production", seed=3, rows=80, flip=True)
        finally:
            tracking.set_default_store(None)
        config = Config()
        config.Monitor.rules = [{"when": RULE, "actions": ["notify"], "models": name}]
        (outcome,) = check(store, monitor=Monitor(config=config))
    assert outcome.alert_id is not None
    return outcome.alert_id


def test_a_new_alert_shows_as_a_notification(lab: Lab, lab_page: Any) -> None:
    from playwright.sync_api import expect

    # the plugin's first poll only learns the newest id; wait for it before alerting
    with lab_page.expect_response(lambda r: "/jupyter-mm/api/alerts" in r.url, timeout=60_000):
        lab_page.reload()
    alert_id = raise_alert(lab, "fraud-browser")
    message = f"jupyter-mm alert #{alert_id}: fraud-browser v1: {RULE} (actions: notify)"
    toast = lab_page.get_by_text(message)
    expect(toast).to_be_visible(timeout=90_000)  # the next poll (every 15 s) finds it
    screenshot(lab_page, "alert-notification")
