"""Monitor passes on real prediction logs: metrics computed from logged predictions and
labels, alerts with evidence, de-duplication, clearing, qualifiers, and actions."""

from __future__ import annotations

import json

from traitlets.config import Config

import jupyter_mm as mm
from jupyter_mm.alerts.evaluate import check
from jupyter_mm.alerts.rules import WindowSpec
from jupyter_mm.alerts.source import PredictionLogSource
from jupyter_mm.monitoring.settings import Monitor

from .conftest import classifier_data, log_scored, register_production


def monitor(*rules: object, window: int = 1000) -> Monitor:
    config = Config()
    config.Monitor.rules = list(rules)
    config.Monitor.window = window
    return Monitor(config=config)


def alerts(store, model: str = "fraud") -> list:
    return [e for e in store.model_events(model) if e.action in ("alert", "alert_cleared")]


def test_source_computes_metrics_from_the_log(mm_store) -> None:
    version = register_production(mm_store)
    log_scored(mm_store, "fraud@production", seed=1, rows=300, flip=False)
    log_scored(mm_store, "fraud@production", seed=2, rows=300, flip=True)
    source = PredictionLogSource(mm_store)
    (good, bad) = source("fraud", version.version, WindowSpec("predictions", 300, 2))
    assert good["roc_auc"] > 0.85 and bad["roc_auc"] < 0.15
    assert good["labelled"] == bad["labelled"] == 300
    assert good["accuracy"] > 0.8 and bad["accuracy"] < 0.2
    assert good["window"]["end"] <= bad["window"]["end"]
    (last,) = source("fraud", version.version, WindowSpec("labelled", 100))
    assert last["labelled"] == 100 and last["roc_auc"] < 0.15


def test_alert_once_while_firing_then_cleared_then_again(mm_store) -> None:
    register_production(mm_store)
    rules = monitor({"when": "roc_auc < 0.78 over 200 labelled", "actions": ["notify"]})
    ids = log_scored(mm_store, "fraud@production", seed=1, rows=200, flip=True)

    (first,) = check(mm_store, monitor=rules)
    assert first.state == "fired"
    (event,) = alerts(mm_store)
    evidence = json.loads(event.reason)
    assert evidence["rule"] == "roc_auc < 0.78 over 200 labelled"
    assert evidence["thresholds"] == [0.78]
    (window,) = evidence["windows"]
    assert window["values"]["roc_auc"] < 0.78 and window["values"]["labelled"] == 200
    assert window["holds"] is True and window["window"]["rows"] == 200
    assert event.version == first.version and first.alert_id == event.id

    assert [o.state for o in check(mm_store, monitor=rules)] == ["firing"]
    assert len(alerts(mm_store)) == 1  # no second alert while it keeps firing

    _, y = classifier_data(1, 200)
    mm.log_labels(ids, y, store=mm_store)  # the labels were wrong: corrected
    assert [o.state for o in check(mm_store, monitor=rules)] == ["cleared"]
    assert [e.action for e in alerts(mm_store)] == ["alert", "alert_cleared"]
    assert [o.state for o in check(mm_store, monitor=rules)] == ["ok"]

    log_scored(mm_store, "fraud@production", seed=3, rows=200, flip=True)
    assert [o.state for o in check(mm_store, monitor=rules)] == ["fired"]
    assert [e.action for e in alerts(mm_store)] == ["alert", "alert_cleared", "alert"]


def test_over_n_labelled_waits_for_enough_labels(mm_store) -> None:
    register_production(mm_store)
    rules = monitor("roc_auc < 0.78 over 500 labelled")
    log_scored(mm_store, "fraud@production", seed=1, rows=300, flip=True)
    (outcome,) = check(mm_store, monitor=rules)
    assert outcome.state == "undecided" and "300 of 500" in outcome.evidence["why"]
    assert alerts(mm_store) == []


def test_for_k_windows_needs_every_window(mm_store) -> None:
    register_production(mm_store)
    rules = monitor("accuracy < 0.5 for 2 windows", window=200)
    log_scored(mm_store, "fraud@production", seed=1, rows=200, flip=False)
    log_scored(mm_store, "fraud@production", seed=2, rows=200, flip=True)
    assert [o.state for o in check(mm_store, monitor=rules)] == ["ok"]
    log_scored(mm_store, "fraud@production", seed=3, rows=200, flip=True)
    (outcome,) = check(mm_store, monitor=rules)
    assert outcome.state == "fired"
    assert [w["holds"] for w in outcome.evidence["windows"]] == [True, True]


def test_latency_rule_and_models_pattern(mm_store) -> None:
    register_production(mm_store, "fraud")
    register_production(mm_store, "churn")
    log_scored(mm_store, "fraud@production", seed=1, rows=50, flip=False)
    log_scored(mm_store, "churn@production", seed=1, rows=50, flip=False)
    rules = monitor({"when": "p99_latency_ms >= 0", "models": "fr*"})
    outcomes = check(mm_store, monitor=rules)
    assert [(o.model, o.state) for o in outcomes] == [("fraud", "fired")]


def test_rollback_action_names_the_alert(mm_store) -> None:
    first = register_production(mm_store, seed=0)
    second = register_production(mm_store, seed=1)
    rules = monitor({"when": "roc_auc < 0.78 over 100 labelled", "actions": ["rollback"]})
    log_scored(mm_store, "fraud@production", seed=2, rows=100, flip=True)
    (outcome,) = check(mm_store, monitor=rules)
    assert outcome.actions == [
        {"action": "rollback", "ok": True,
         "detail": f"version {first.version} restored, {second.version} archived"}
    ]  # fmt: skip
    assert mm_store.get_version("fraud", first.version).stage == "production"
    (restored,) = [
        e for e in mm_store.model_events("fraud")
        if e.action == "rollback" and e.to_stage == "production"
    ]  # fmt: skip
    assert restored.reason == (
        f"restored in place of version {second.version} "
        f"(alert #{outcome.alert_id}: roc_auc < 0.78 over 100 labelled)"
    )
    # the restored version has no predictions of its own yet: undecided, no new alert
    assert [o.state for o in check(mm_store, monitor=rules)] == ["undecided"]


def test_dry_run_writes_nothing(mm_store) -> None:
    register_production(mm_store)
    log_scored(mm_store, "fraud@production", seed=1, rows=100, flip=True)
    rules = monitor({"when": "roc_auc < 0.78 over 100 labelled", "actions": ["rollback"]})
    (outcome,) = check(mm_store, monitor=rules, dry_run=True)
    assert outcome.state == "fired" and outcome.actions == []
    assert alerts(mm_store) == []


def test_long_evidence_stays_valid_json_with_its_key() -> None:
    from jupyter_mm.alerts.evaluate import MAX_REASON, event_reason

    windows = [{"values": {"roc_auc": 0.5, "n": i}, "window": {"rows": 100}} for i in range(500)]
    details = {"key": "auc", "rule": "roc_auc < 0.7 for 500 windows", "windows": windows}
    kept = json.loads(event_reason(details))
    assert kept["key"] == "auc" and [w["values"]["n"] for w in kept["windows"]] == [497, 498, 499]
    huge = {"key": "auc", "summary": "x" * 20_000, "windows": []}
    text = event_reason(huge)
    assert len(text) <= MAX_REASON and json.loads(text)["key"] == "auc"
