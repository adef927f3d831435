"""The registry half of the store contract (``jupyter_mm/store/registry_contract.py``), on
SQLite and on the suite's PostgreSQL server. Each test reads like a line of its docstrings."""

from __future__ import annotations

import threading
import time

import pytest
from hostile_strings import fill_registry, tag

from jupyter_mm import ids
from jupyter_mm.entities import Artifact, Event, Run
from jupyter_mm.errors import Conflict, InvalidInput, NotFound
from jupyter_mm.store.registry_contract import production_history, rollback_target


def make_run_with_model(store, payload: bytes = b"weights", name: str = "model") -> Run:
    run = store.create_run(Run(id=ids.new_id(), start_time=time.time()))
    digest = store.blobs.put_bytes(payload)
    store.log_batch(run.id, artifacts=[Artifact(name, digest, len(payload), "x/y")])
    return run


def register(store, model: str = "churn", payload: bytes = b"weights"):
    run = make_run_with_model(store, payload)
    return store.register_version(model, run.id, "model", flavor="file", user="ada")


def promote(store, model: str, version: int, to_stage: str, user: str = "ada"):
    current = store.get_version(model, version).stage
    return store.transition_version(
        model, version, from_stage=current, to_stage=to_stage, user=user, reason="test"
    )


def test_register_creates_model_and_numbered_versions_with_events(store):
    run = make_run_with_model(store, b"v1")
    first = store.register_version(
        "churn",
        run.id,
        "model",
        flavor="joblib",
        user="ada",
        signature={"type": "ndarray", "shape": [None, 3]},
        description="first try",
        model_description="churn classifier",
    )
    second = register(store, payload=b"v2")
    assert (first.version, second.version) == (1, 2)
    assert first.digest == store.get_run_detail(run.id).artifacts[0].digest
    assert first.stage == "none" and first.aliases == [] and first.flavor == "joblib"
    assert store.get_version("churn", 1) == first
    assert store.get_model("churn").description == "churn classifier"
    assert [m.name for m in store.list_models()] == ["churn"]
    assert [v.version for v in store.list_versions("churn")] == [1, 2]
    assert store.versions_of_run(run.id) == [first]
    events = store.model_events("churn")
    assert [(e.action, e.version, e.to_stage, e.user) for e in events] == [
        ("register", 1, "none", "ada"),
        ("register", 2, "none", "ada"),
    ]
    assert run.id in events[0].reason


def test_register_refuses_unknown_runs_artifacts_and_bad_names(store):
    run = make_run_with_model(store)
    with pytest.raises(NotFound, match="no artifact named 'missing'"):
        store.register_version("churn", run.id, "missing", flavor="file", user=None)
    with pytest.raises(NotFound, match="No run"):
        store.register_version("churn", "0" * 26, "model", flavor="file", user=None)
    for bad in ("", "a/b", "a@b", "-x", "x" * 256):
        with pytest.raises(InvalidInput, match="not a model name"):
            store.register_version(bad, run.id, "model", flavor="file", user=None)
    with pytest.raises(InvalidInput, match="signature cannot be stored"):
        store.register_version(
            "churn", run.id, "model", flavor="file", user=None, signature={"x": float("nan")}
        )
    assert store.list_models() == []
    assert store.model_events("churn") == []


def test_unknown_models_and_versions_are_not_found(store):
    register(store)
    with pytest.raises(NotFound, match="No model named nope"):
        store.get_model("nope")
    with pytest.raises(NotFound, match="No model named nope"):
        store.get_version("nope", 1)
    with pytest.raises(NotFound, match="churn has no version 7"):
        store.get_version("churn", 7)
    with pytest.raises(NotFound, match="No model named nope"):
        store.list_versions("nope")
    with pytest.raises(InvalidInput, match="positive integer"):
        store.get_version("churn", 0)


def test_promotion_archives_the_previous_production_version_in_one_step(store):
    for payload in (b"1", b"2"):
        register(store, payload=payload)
    promote(store, "churn", 1, "staging")
    promote(store, "churn", 1, "production")
    promote(store, "churn", 2, "staging")
    written = promote(store, "churn", 2, "production")
    assert [(e.action, e.version, e.from_stage, e.to_stage) for e in written] == [
        ("transition", 2, "staging", "production"),
        ("superseded", 1, "production", "archived"),
    ]
    stages = {v.version: v.stage for v in store.list_versions("churn")}
    assert stages == {1: "archived", 2: "production"}
    assert written == store.model_events("churn")[-2:]


def test_a_transition_from_a_stage_the_version_left_meanwhile_changes_nothing(store):
    register(store)
    promote(store, "churn", 1, "staging")
    before = store.model_events("churn")
    with pytest.raises(Conflict, match="is in staging now, not none"):
        store.transition_version(
            "churn", 1, from_stage="none", to_stage="archived", user="bob", reason=None
        )
    assert store.get_version("churn", 1).stage == "staging"
    assert store.model_events("churn") == before
    with pytest.raises(InvalidInput, match="Unknown stage"):
        store.transition_version(
            "churn", 1, from_stage="staging", to_stage="prod", user="bob", reason=None
        )


def test_append_event_only_appends(store):
    register(store)
    event = store.append_event(
        "transition_refused",
        model="churn",
        version=1,
        user="bob",
        from_stage="none",
        to_stage="production",
        reason="none -> production is not allowed",
    )
    assert isinstance(event, Event) and event.id > 0
    assert store.model_events("churn")[-1] == event
    assert store.model_events("churn", version=1)[-1] == event
    assert store.get_version("churn", 1).stage == "none"
    with pytest.raises(InvalidInput, match="Unknown event action"):
        store.append_event("delete", model="churn", version=1, user=None)


def test_aliases_are_unique_per_model_and_move_with_an_event(store):
    register(store, payload=b"1")
    register(store, payload=b"2")
    register(store, model="other", payload=b"3")
    assert store.set_alias("churn", 1, "champion", user="ada").aliases == ["champion"]
    store.set_alias("other", 1, "champion", user="ada")  # another model: no conflict
    moved = store.set_alias("churn", 2, "champion", user="bob", reason="A/B win")
    assert moved.aliases == ["champion"]
    assert store.get_version("churn", 1).aliases == []
    assert store.get_version("other", 1).aliases == ["champion"]
    last = store.model_events("churn")[-1]
    assert (last.action, last.version, last.user) == ("alias", 2, "bob")
    assert "moved from version 1" in last.reason and "A/B win" in last.reason
    removed = store.remove_alias("churn", "champion", user="bob")
    assert removed.version == 2 and removed.aliases == []
    assert store.model_events("churn")[-1].action == "unalias"
    with pytest.raises(NotFound, match="No version of churn has the alias"):
        store.remove_alias("churn", "champion", user="bob")
    for bad in ("production", "3", "has space", "latest"):
        with pytest.raises(InvalidInput):
            store.set_alias("churn", 1, bad, user=None)


def test_rollback_walks_back_through_production_history(store):
    for payload in (b"1", b"2", b"3"):
        register(store, payload=payload)
    with pytest.raises(Conflict, match="no version in production"):
        store.rollback("churn", user="ada", reason=None)
    for version in (1, 2, 3):
        promote(store, "churn", version, "staging")
        promote(store, "churn", version, "production")
    done = store.rollback("churn", user="ada", reason="latency")
    assert (done.restored.version, done.restored.stage) == (2, "production")
    assert (done.archived.version, done.archived.stage) == (3, "archived")
    assert done.restored == store.get_version("churn", 2)
    assert done.archived == store.get_version("churn", 3)
    assert {v.version: v.stage for v in store.list_versions("churn")} == {
        1: "archived",
        2: "production",
        3: "archived",
    }
    leaving, back = store.model_events("churn")[-2:]
    assert (leaving.action, leaving.version, leaving.from_stage, leaving.to_stage) == (
        "rollback",
        3,
        "production",
        "archived",
    )
    assert (back.action, back.version, back.to_stage) == ("rollback", 2, "production")
    assert "latency" in back.reason
    # a second rollback goes one step further back, not to 3 again; the target the
    # views announce (rollback_target) is the one the store restores, at every step
    assert rollback_target(store.model_events("churn"), 2) == 1
    assert store.rollback("churn", user="ada", reason=None).restored.version == 1
    assert rollback_target(store.model_events("churn"), 1) is None
    with pytest.raises(Conflict, match="no earlier production version"):
        store.rollback("churn", user="ada", reason=None)
    assert store.get_version("churn", 1).stage == "production"


def test_a_version_withdrawn_on_purpose_is_not_a_rollback_target(store):
    for payload in (b"1", b"2", b"3"):
        register(store, payload=payload)
    for version in (1, 2):
        promote(store, "churn", version, "staging")
        promote(store, "churn", version, "production")
    promote(store, "churn", 2, "archived")  # withdrawn by hand: bad release
    promote(store, "churn", 3, "staging")
    promote(store, "churn", 3, "production")
    assert store.rollback("churn", user=None, reason=None).restored.version == 1


def test_production_history_is_computed_from_events_alone():
    def event(action: str, version: int, frm: str | None, to: str) -> Event:
        return Event(0, 0.0, None, action, "m", version, frm, to)

    events = [
        event("transition", 1, "staging", "production"),
        event("transition", 2, "staging", "production"),
        event("superseded", 1, "production", "archived"),
        event("transition", 3, "staging", "production"),
        event("rollback", 3, "production", "archived"),
        event("rollback", 2, "archived", "production"),
    ]
    assert production_history(events) == [1, 2]
    assert production_history([*events, event("transition", 2, "production", "staging")]) == [1]
    assert rollback_target(events, 2) == 1
    assert rollback_target(events, None) is None  # nothing in production


def test_concurrent_promotions_leave_exactly_one_production_version(store):
    for payload in (b"1", b"2", b"3", b"4"):
        register(store, payload=payload)
        version = store.list_versions("churn")[-1].version
        promote(store, "churn", version, "staging")
    errors: list[BaseException] = []

    def go(version: int) -> None:
        try:
            store.transition_version(
                "churn",
                version,
                from_stage="staging",
                to_stage="production",
                user=None,
                reason=None,
            )
        except BaseException as exc:  # collected and checked below
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(v,)) for v in (1, 2, 3, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    stages = [v.stage for v in store.list_versions("churn")]
    assert stages.count("production") == 1 and stages.count("archived") == 3
    superseded = [e for e in store.model_events("churn") if e.action == "superseded"]
    assert len(superseded) == 3


def test_a_run_behind_a_registered_version_stays(store):
    version = register(store)
    with pytest.raises(Conflict):
        store.delete_run(version.run_id)
    assert version.digest in store.referenced_digests()
    assert store.check_integrity() == []


def test_the_registry_contract_is_apart_from_the_run_store_and_sql_keeps_both():
    from jupyter_mm.store.abstract import AbstractRunStore, AbstractStore
    from jupyter_mm.store.deliveries_contract import AbstractDeliveryStore
    from jupyter_mm.store.predictions_contract import AbstractPredictionStore
    from jupyter_mm.store.registry_contract import AbstractRegistryStore
    from jupyter_mm.store.sql.store import SqlStore

    run_methods = AbstractRunStore.__abstractmethods__
    registry_methods = AbstractRegistryStore.__abstractmethods__
    prediction_methods = AbstractPredictionStore.__abstractmethods__
    delivery_methods = AbstractDeliveryStore.__abstractmethods__
    assert not issubclass(AbstractRunStore, AbstractRegistryStore)
    assert not run_methods & registry_methods
    assert not (run_methods | registry_methods) & prediction_methods
    assert {"rollback", "list_events", "register_version"} <= registry_methods
    assert {"create_run", "search_runs", "put_environment"} <= run_methods
    assert issubclass(SqlStore, AbstractStore)
    assert not (run_methods | registry_methods | prediction_methods) & delivery_methods
    assert AbstractStore.__abstractmethods__ == (
        run_methods | registry_methods | prediction_methods | delivery_methods
    )
    assert not SqlStore.__abstractmethods__


def test_hostile_text_is_kept_exactly_and_unstorable_text_refused_alike(store):
    """Both backends keep the hostile corpus byte for byte and refuse, with the same
    InvalidInput, what one of them could not store (PostgreSQL text holds no NUL; no
    backend stores a lone surrogate): a shared store behaves the same on either."""
    fill_registry(store)
    (version,) = store.list_versions("churn")
    assert version.description == tag("version description")
    reasons = {r.reason for r in store.list_approval_requests(model="churn")}
    assert reasons == {tag("request reason")}
    for reason in ("a\x00b", "a\ud800b"):
        with pytest.raises(InvalidInput):
            store.transition_version(
                "churn", 1, from_stage="staging", to_stage="archived", user=None, reason=reason
            )
    assert store.get_version("churn", 1).stage == "staging"
