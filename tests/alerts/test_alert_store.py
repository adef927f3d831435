"""The alerts' part of the store contract on SQLite and PostgreSQL: the delivery log, alert
events, and a whole monitor pass (alert, de-duplication, rollback) on each backend."""

from __future__ import annotations

import json
import time

import pytest
from traitlets.config import Config

from jupyter_mm.alerts.evaluate import check
from jupyter_mm.errors import InvalidInput
from jupyter_mm.monitoring.settings import Monitor
from jupyter_mm.store.deliveries_contract import WebhookDelivery

from .conftest import two_versions_failing


def attempt(
    n: int, outcome: str, model: str | None = "fraud", hook: str = "ops"
) -> WebhookDelivery:
    return WebhookDelivery(
        delivery="d" * 32, time=time.time(), hook=hook, event="promoted", attempt=n,
        outcome=outcome, model=model, event_id=7, status=500 if outcome != "delivered" else 200,
        error="x" * 5000 if outcome == "failed" else None, duration_ms=1.5,
    )  # fmt: skip


def test_delivery_log(store) -> None:
    first = store.record_delivery(attempt(1, "retrying"))
    store.record_delivery(attempt(2, "delivered"))
    store.record_delivery(attempt(1, "failed", model="churn", hook="other"))
    assert first.id is not None
    newest = store.list_deliveries()
    assert [(d.model, d.attempt, d.outcome) for d in newest] == [
        ("churn", 1, "failed"), ("fraud", 2, "delivered"), ("fraud", 1, "retrying")
    ]  # fmt: skip
    assert len(newest[0].error) == 1000  # errors are cut, rows stay small
    assert [d.attempt for d in store.list_deliveries(model="fraud", limit=1)] == [2]
    assert [d.hook for d in store.list_deliveries(hook="other")] == ["other"]
    with pytest.raises(InvalidInput, match="outcome"):
        store.record_delivery(attempt(1, "lost"))
    with pytest.raises(InvalidInput):
        store.list_deliveries(limit=0)


def test_monitor_pass_on_each_backend(store) -> None:
    first, second = two_versions_failing(store)
    config = Config()
    config.Monitor.rules = [
        {"when": "roc_auc < 0.78 over 100 labelled", "actions": ["rollback"], "name": "auc"}
    ]
    rules = Monitor(config=config)
    (fired,) = check(store, monitor=rules)
    assert fired.state == "fired" and fired.version == second.version
    assert store.get_version("fraud", first.version).stage == "production"
    (alert,) = store.alert_events()
    assert (alert.id, alert.action, json.loads(alert.reason)["key"]) == (
        fired.alert_id, "alert", "auc"
    )  # fmt: skip
    assert store.alert_events(after=alert.id) == [] and store.alert_events(model="churn") == []
    # the rollback's events are not alerts
    assert {e.action for e in store.model_events("fraud")} >= {"alert", "rollback"}
