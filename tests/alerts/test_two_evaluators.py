"""Several evaluators on one store: an alert episode is recorded once store-wide and its
actions run once — with evaluator threads that each open their own store connection, on
SQLite and PostgreSQL, and with two real ``jupyter mm watch`` processes started together."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import IntegrityError
from traitlets.config import Config

from jupyter_mm import tracking
from jupyter_mm.alerts.evaluate import check, rule_key
from jupyter_mm.alerts.source import PredictionLogSource
from jupyter_mm.config import StoreLocation
from jupyter_mm.errors import InvalidInput
from jupyter_mm.monitoring.settings import Monitor
from jupyter_mm.store import open_store
from jupyter_mm.store.deliveries_contract import episode_key

from .conftest import log_scored, register_production, two_versions_failing

RULE = "roc_auc < 0.78 over 100 labelled"
EVALUATORS = 4


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> StoreLocation:
    if request.param == "sqlite":
        return StoreLocation(
            url=f"sqlite:///{tmp_path / 'mm.db'}", artifact_root=str(tmp_path / "objects")
        )
    url = request.getfixturevalue("postgres_url")
    return StoreLocation(url=url, artifact_root=str(tmp_path / "objects"))


def rules(actions: list[str]) -> Monitor:
    config = Config()
    config.Monitor.rules = [{"when": RULE, "actions": actions, "name": "auc"}]
    return Monitor(config=config)


def evaluate_together(location: StoreLocation, monitor: Monitor) -> list[Any]:
    """Each evaluator opens its own store; all of them finish reading the metrics of a rule
    before any of them records a verdict (the source waits for the others), so every one
    decides while no alert exists yet — the moment two evaluators collide."""
    stores = [open_store(location) for _ in range(EVALUATORS)]
    decided = threading.Barrier(EVALUATORS)
    outcomes: list[Any] = [None] * EVALUATORS
    errors: list[BaseException] = []

    def evaluate(index: int) -> None:
        read = PredictionLogSource(stores[index])

        def source(model: str, version: int, window: Any) -> list[dict[str, Any]]:
            found = read(model, version, window)
            decided.wait(timeout=300)
            return found

        try:
            outcomes[index] = check(stores[index], monitor=monitor, source=source)
        except BaseException as exc:  # reported below, with the others' results
            errors.append(exc)

    threads = [threading.Thread(target=evaluate, args=(i,)) for i in range(EVALUATORS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert not errors, errors
    return [outcome for found in outcomes for outcome in found]


def test_concurrent_evaluators_alert_and_roll_back_once(location: StoreLocation) -> None:
    store = open_store(location)
    try:
        first, second = two_versions_failing(store)
        outcomes = evaluate_together(location, rules(["rollback"]))
        fired = [o for o in outcomes if o.state == "fired"]
        assert len(fired) == 1, [o.state for o in outcomes]
        # the others saw the open alert, or found the version already rolled back
        assert {o.state for o in outcomes if o is not fired[0]} <= {"firing", "undecided"}
        assert [a["action"] for a in fired[0].actions] == ["rollback"]
        assert all(not o.actions for o in outcomes if o is not fired[0])
        events = store.model_events("fraud")
        assert [e.id for e in events if e.action == "alert"] == [fired[0].alert_id]
        restored = [e for e in events if e.action == "rollback" and e.to_stage == "production"]
        assert [e.version for e in restored] == [first.version]
        assert store.get_version("fraud", first.version).stage == "production"
        assert store.get_version("fraud", second.version).stage == "archived"
    finally:
        store.close()


def test_concurrent_evaluators_alert_once_per_episode(location: StoreLocation) -> None:
    store = open_store(location)
    names = ("fraud", "churn", "spam")  # three collisions in one pass
    try:
        _, second = two_versions_failing(store)
        tracking.set_default_store(store)
        try:
            for seed, name in enumerate(names[1:], start=3):
                register_production(store, name, seed=seed)
                log_scored(store, f"{name}@production", seed=seed, rows=100, flip=True)
        finally:
            tracking.set_default_store(None)
        outcomes = evaluate_together(location, rules(["notify"]))
        for name in names:
            states = sorted(o.state for o in outcomes if o.model == name)
            assert states == ["fired"] + ["firing"] * (EVALUATORS - 1), (name, states)
            assert len({o.alert_id for o in outcomes if o.model == name}) == 1
        assert sorted(e.model for e in store.alert_events()) == sorted(names)
        (alert,) = store.alert_events(model="fraud")
        assert json.loads(alert.reason)["key"] == "auc"
        # the store's key refuses a second row for the episode whoever writes it
        key = episode_key("fraud", second.version, rule_key(rules([]).parsed_rules()[0]), 0)
        with pytest.raises(IntegrityError), store._engine.begin() as conn:
            from jupyter_mm.store.sql.models import ALERT_KEYS

            conn.execute(
                ALERT_KEYS.insert(),
                {"key": key, "model": "fraud", "version": second.version, "episode": 0,
                 "alert_id": alert.id},
            )  # fmt: skip
    finally:
        store.close()


def test_raise_alert_is_conditional_and_clear_ends_the_episode(store) -> None:
    _, second = two_versions_failing(store)
    version = second.version
    raised = store.raise_alert("fraud", version, "k", reason='{"key": "k"}', user="a")
    again = store.raise_alert("fraud", version, "k", reason='{"key": "k"}', user="b")
    assert raised.raised and not again.raised and again.event.id == raised.event.id
    assert store.clear_alert("fraud", version, "k", reason='{"key": "k"}', user="a") is not None
    assert store.clear_alert("fraud", version, "k", reason='{"key": "k"}', user="b") is None
    next_episode = store.raise_alert("fraud", version, "k", reason='{"key": "k"}', user="a")
    assert next_episode.raised and next_episode.event.id != raised.event.id
    # a version that left production gets no alert: the pass that judged it is stale
    store.rollback("fraud", user="ops", reason="manual")
    assert store.raise_alert("fraud", version, "other", reason='{"key": "other"}', user="a") is None


def test_two_watch_processes_roll_back_once(mm_store, receiver, write_config, tmp_path) -> None:
    first, _ = two_versions_failing(mm_store)
    write_config(
        f"c.Monitor.rules = [{{'when': {RULE!r}, 'actions': ['notify', 'rollback']}}]\n"
        f"c.Webhooks.hooks = [{{'url': {receiver.url!r}, 'events': ['alert', 'rolled_back'], "
        "'secret_env': 'MM_HOOK_SECRET'}]\n"
    )
    argv = [sys.executable, "-m", "jupyter_mm.cli", "watch", "fraud", "--check", "--json"]
    processes = [
        subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err.decode()
        results.append(json.loads(out)["outcomes"][0])
    states = sorted(r["state"] for r in results)
    assert states[0] == "fired" and states[1] in ("firing", "undecided"), states
    alerts = [e for e in mm_store.model_events("fraud") if e.action == "alert"]
    assert len(alerts) == 1
    assert mm_store.get_version("fraud", first.version).stage == "production"
    assert sorted(r.json["event"] for r in receiver.requests) == ["alert", "rolled_back"]


def test_two_deliverers_never_claim_one_row(location: StoreLocation) -> None:
    from jupyter_mm.store.deliveries_contract import OutboxDelivery

    stores = [open_store(location) for _ in range(EVALUATORS)]
    try:
        now = 1_000.0
        rows = [
            OutboxDelivery(
                delivery=f"{i:032x}",
                hook="ops",
                hook_id="h1",
                event="alert",
                payload="{}",
                created_time=now,
                next_time=now,
            )
            for i in range(6)
        ]
        stores[0].enqueue_deliveries(rows)
        start = threading.Barrier(EVALUATORS)
        claimed: list[list[Any]] = [[] for _ in stores]

        def claim(index: int) -> None:
            start.wait(timeout=60)
            claimed[index] = stores[index].claim_deliveries(
                now=now, lease=60.0, hook_ids=["h1"], limit=6
            )

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(EVALUATORS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ids = [row.id for found in claimed for row in found]
        assert sorted(ids) == sorted(r.id for r in stores[0].list_outbox())  # each once
        assert stores[0].claim_deliveries(now=now + 59, lease=60.0, hook_ids=["h1"]) == []
        assert len(stores[0].claim_deliveries(now=now + 61, lease=60.0, hook_ids=["h1"])) == 6
        assert stores[0].claim_deliveries(now=now + 61, lease=60.0, hook_ids=["other"]) == []
    finally:
        for store in stores:
            store.close()


def test_request_failures_count_by_time_span(store) -> None:
    _, second = two_versions_failing(store)
    version = second.version
    store.add_request_failures("fraud", version, "champion", 10.0, 11.0, 3)
    store.add_request_failures("fraud", version, "canary", 20.0, 21.0, 2)
    store.add_request_failures("fraud", version - 1, "champion", 10.0, 11.0, 50)
    assert store.request_failures("fraud", version, since=0.0) == 5
    assert store.request_failures("fraud", version, since=10.5, until=15.0) == 3
    assert store.request_failures("fraud", version, since=11.5, until=19.0) == 0
    assert store.request_failures("fraud", version, since=21.0) == 2
    with pytest.raises(InvalidInput):
        store.add_request_failures("fraud", version, "champion", 5.0, 4.0, 1)
