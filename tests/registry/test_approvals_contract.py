"""Approval requests in the registry contract (``AbstractRegistryStore`` approvals part), on
SQLite and on the suite's PostgreSQL server."""

from __future__ import annotations

import threading
import time

import pytest
from test_registry_contract import promote, register

from jupyter_mm.errors import Conflict, InvalidInput, NotFound

DAY = 86_400.0


def staged(store, model: str = "churn") -> int:
    version = register(store, model).version
    promote(store, model, version, "staging")
    return version


def ask(store, version: int, user: str = "alice", expires: float | None = None, model="churn"):
    return store.create_approval_request(
        model,
        version,
        from_stage="staging",
        to_stage="production",
        user=user,
        reason="A/B test won",
        expires_time=time.time() + DAY if expires is None else expires,
    )


def actions(store, model: str = "churn") -> list[tuple[str, str | None, int | None]]:
    return [(e.action, e.user, e.version) for e in store.model_events(model)]


def test_request_is_pending_with_its_event_and_moves_nothing(store):
    version = staged(store)
    request = ask(store, version)
    assert (request.status, request.requester, request.reason) == (
        "pending",
        "alice",
        "A/B test won",
    )
    assert (request.from_stage, request.to_stage, request.version) == ("staging", "production", 1)
    assert store.get_version("churn", version).stage == "staging"
    event = store.model_events("churn")[-1]
    assert (event.action, event.user, event.to_stage) == (
        "transition_requested",
        "alice",
        "production",
    )
    assert event.reason == f"request #{request.id}: A/B test won"
    assert store.get_approval_request(request.id) == request


def test_one_open_request_per_version_and_target(store):
    version = staged(store)
    ask(store, version)
    with pytest.raises(Conflict, match="already has a pending request"):
        ask(store, version, user="carol")
    assert [r.requester for r in store.list_approval_requests()] == ["alice"]


def test_request_refused_when_the_version_moved_or_is_unknown(store):
    version = staged(store)
    promote(store, "churn", version, "archived")
    with pytest.raises(Conflict, match="in archived now"):
        ask(store, version)
    with pytest.raises(NotFound):
        ask(store, 9)
    with pytest.raises(NotFound):
        ask(store, 1, model="nosuch")
    assert store.list_approval_requests() == []


def test_approve_moves_the_version_with_events_in_order(store):
    old = staged(store)
    promote(store, "churn", old, "production")
    new = staged(store)
    request = ask(store, new)
    decided, events = store.decide_approval_request(
        request.id, decision="approve", user="bob", reason="diff reviewed", now=time.time()
    )
    assert (decided.status, decided.decided_by, decided.decision_reason) == (
        "approved",
        "bob",
        "diff reviewed",
    )
    assert [(e.action, e.user, e.version) for e in events] == [
        ("transition_approved", "bob", new),
        ("transition", "bob", new),
        ("superseded", "bob", old),
    ]
    assert events[1].reason == f"request #{request.id}: requested by alice: A/B test won"
    assert store.get_version("churn", new).stage == "production"
    assert store.get_version("churn", old).stage == "archived"
    assert actions(store)[-3:] == [(e.action, e.user, e.version) for e in events]


def test_requester_cannot_decide_own_request_and_nothing_is_written(store):
    version = staged(store)
    request = ask(store, version)
    before = actions(store)
    for decision in ("approve", "reject", "fail"):
        with pytest.raises(Conflict, match="someone else has to approve"):
            store.decide_approval_request(
                request.id, decision=decision, user="alice", reason="me", now=time.time()
            )
    assert actions(store) == before
    assert store.get_approval_request(request.id).status == "pending"
    assert store.get_version("churn", version).stage == "staging"


def test_reject_and_fail_move_nothing_and_close_the_request(store):
    first = staged(store)
    rejected, events = store.decide_approval_request(
        ask(store, first).id, decision="reject", user="bob", reason="no", now=time.time()
    )
    assert rejected.status == "rejected"
    assert [e.action for e in events] == ["transition_rejected"]
    failed, events = store.decide_approval_request(
        ask(store, first).id, decision="fail", user="bob", reason="gate x", now=time.time()
    )
    assert (failed.status, failed.decision_reason) == ("failed", "gate x")
    assert [e.action for e in events] == ["transition_refused"]
    assert "approved by bob, but gate x" in events[0].reason
    assert store.get_version("churn", first).stage == "staging"


def test_approval_after_the_version_moved_fails_instead_of_moving(store):
    version = staged(store)
    request = ask(store, version)
    promote(store, "churn", version, "archived", user="carol")
    decided, events = store.decide_approval_request(
        request.id, decision="approve", user="bob", reason="ok", now=time.time()
    )
    assert decided.status == "failed"
    assert "in archived now" in decided.decision_reason
    assert [e.action for e in events] == ["transition_refused"]
    assert store.get_version("churn", version).stage == "archived"


def test_decided_and_expired_requests_cannot_be_decided(store):
    version = staged(store)
    request = ask(store, version)
    store.decide_approval_request(
        request.id, decision="reject", user="bob", reason="no", now=time.time()
    )
    with pytest.raises(Conflict, match="is rejected by bob already"):
        store.decide_approval_request(
            request.id, decision="approve", user="carol", reason="yes", now=time.time()
        )
    late = ask(store, version, expires=time.time() - 1)
    with pytest.raises(Conflict, match="has expired"):
        store.decide_approval_request(
            late.id, decision="approve", user="carol", reason="yes", now=time.time()
        )
    assert store.get_version("churn", version).stage == "staging"


def test_expiry_marks_overdue_requests_once_with_an_event(store):
    version = staged(store)
    other = staged(store)
    overdue = ask(store, version, expires=time.time() - 5)
    fresh = ask(store, other)
    assert store.list_approval_requests(status="pending") == [fresh, overdue]
    expired = store.expire_approval_requests(time.time())
    assert [(r.id, r.status) for r in expired] == [(overdue.id, "expired")]
    assert store.expire_approval_requests(time.time()) == []
    assert actions(store).count(("transition_request_expired", None, version)) == 1
    assert [r.id for r in store.list_approval_requests(status="pending")] == [fresh.id]


def test_concurrent_expiry_expires_each_request_once(store):
    for _ in range(3):
        ask(store, staged(store), expires=time.time() - 1)
    results: list[int] = []
    errors: list[BaseException] = []

    def expire() -> None:
        try:
            results.append(len(store.expire_approval_requests(time.time())))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=expire) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(results) == 3
    expired_events = [a for a in actions(store) if a[0] == "transition_request_expired"]
    assert len(expired_events) == 3


def test_listing_filters_and_arguments(store):
    version = staged(store)
    staged(store, "fraud")
    mine = ask(store, version)
    theirs = ask(store, 1, user="carol", model="fraud")
    assert store.list_approval_requests() == [theirs, mine]
    assert store.list_approval_requests(requester="alice") == [mine]
    assert store.list_approval_requests(model="fraud") == [theirs]
    assert store.list_approval_requests(status="approved") == []
    assert store.list_approval_requests(limit=1) == [theirs]
    with pytest.raises(InvalidInput):
        store.list_approval_requests(status="open")
    with pytest.raises(InvalidInput):
        store.list_approval_requests(limit=0)
    with pytest.raises(InvalidInput):
        store.get_approval_request(0)
    with pytest.raises(NotFound):
        store.get_approval_request(999)
    with pytest.raises(InvalidInput):
        store.decide_approval_request(mine.id, decision="maybe", user="bob", reason=None, now=0)
    with pytest.raises(InvalidInput):
        store.decide_approval_request(mine.id, decision="approve", user="", reason=None, now=0)
