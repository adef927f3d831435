"""Webhooks against a real local HTTP receiver: HMAC signatures checked the receiver's way,
giving up after the last attempt, no redirects, the delivery log, per-model and per-event
selection, and registry writes that stand whatever the receiver does. (The outbox itself —
the write not waiting, timeouts, backoff, leases, restarts — is test_webhook_outbox.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

import jupyter_mm as mm
from jupyter_mm.alerts.outbox import drain
from jupyter_mm.alerts.webhooks import Webhooks, make_webhooks, publish_events, sign, verify
from jupyter_mm.errors import InvalidInput

from .conftest import SECRET, register_production


def hook_config(url: str, **extra: Any) -> str:
    hook = {"url": url, "secret_env": "MM_HOOK_SECRET", **extra}
    return f"c.Webhooks.hooks = [{hook!r}]\nc.Webhooks.backoff = 0.01\n"


def test_registry_events_are_posted_signed(mm_store, receiver, write_config) -> None:
    write_config(hook_config(receiver.url, name="ops"))
    first = register_production(mm_store, "fraud", seed=0)
    second = register_production(mm_store, "fraud", seed=1)
    mm.rollback("fraud", "bad release", store=mm_store)
    assert drain(mm_store, timeout=60)

    kinds = [r.json["event"] for r in receiver.requests]
    assert kinds == [
        "registered", "transitioned", "promoted",
        "registered", "transitioned", "promoted",
        "rolled_back",
    ]  # fmt: skip
    assert all(r.signature_ok is True for r in receiver.requests)
    rolled = receiver.events("rolled_back")[0]
    assert (rolled["model"], rolled["version"], rolled["reason"]) == (
        "fraud", first.version, f"restored in place of version {second.version} (bad release)"
    )  # fmt: skip
    promoted = receiver.events("promoted")[-1]
    assert promoted["version"] == second.version and promoted["to_stage"] == "production"
    headers = receiver.requests[0].headers
    assert headers["x-mm-event"] == "registered" and len(headers["x-mm-delivery"]) == 32

    log = mm_store.list_deliveries(limit=100)
    assert len(log) == 7 and {d.outcome for d in log} == {"delivered"}
    assert {d.hook for d in log} == {"ops"} and {d.status for d in log} == {200}


def test_selection_by_model_pattern_and_event(mm_store, receiver, write_config) -> None:
    write_config(hook_config(receiver.url, models="fraud*", events=["promoted"]))
    register_production(mm_store, "churn", seed=0)
    register_production(mm_store, "fraud-eu", seed=0)
    assert drain(mm_store, timeout=60)
    assert [(r["event"], r["model"]) for r in receiver.events()] == [("promoted", "fraud-eu")]


def queue_alert(store, receiver, name: str, **settings) -> Webhooks:
    """One registry event queued for a single hook, with no deliverer running for it."""
    config = Config()
    config.Webhooks.hooks = [{"url": receiver.url, "secret_env": "MM_HOOK_SECRET", "name": name}]
    config.Webhooks.backoff = 0.0
    for key, value in settings.items():
        setattr(config.Webhooks, key, value)
    hooks = Webhooks(config=config)
    event = store.model_events("fraud")[0]
    queued = publish_events(store, [event], webhooks=hooks)
    assert len(queued) == 1
    assert drain(store, timeout=60)  # the publishing process's deliverer did its attempts
    return hooks


def test_gives_up_after_max_attempts_and_never_retries_a_4xx(mm_store, receiver) -> None:
    register_production(mm_store, "fraud")
    receiver.script = [500] * 10
    queue_alert(mm_store, receiver, "h", max_attempts=3)
    attempts = sorted(mm_store.list_deliveries(hook="h"), key=lambda d: d.attempt)
    assert [(d.attempt, d.status, d.outcome) for d in attempts] == [
        (1, 500, "retrying"), (2, 500, "retrying"), (3, 500, "failed")
    ]  # fmt: skip
    assert [r.state for r in mm_store.list_outbox()] == ["failed"]
    receiver.requests.clear()
    receiver.script = [401]
    queue_alert(mm_store, receiver, "h4", max_attempts=3)
    (refused,) = mm_store.list_deliveries(hook="h4")
    assert (refused.outcome, refused.attempt, len(receiver.requests)) == ("failed", 1, 1)


def test_a_receiver_that_is_down_never_fails_the_registry_write(
    mm_store, write_config, tmp_path: Path
) -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    write_config(hook_config(f"http://127.0.0.1:{port}/x") + "c.Webhooks.max_attempts = 2\n")
    version = register_production(mm_store, "fraud")
    assert mm_store.get_version("fraud", version.version).stage == "production"
    assert drain(mm_store, timeout=60)
    log = mm_store.list_deliveries(limit=100)
    assert {d.outcome for d in log} == {"retrying", "failed"}
    assert all(d.status is None and "URLError" in str(d.error) for d in log)


def test_secret_and_url_token_are_never_stored(mm_store, receiver, write_config, tmp_path) -> None:
    write_config(hook_config(receiver.url))
    register_production(mm_store, "fraud")
    assert drain(mm_store, timeout=60) and len(receiver.requests) == 3
    assert all(r.state == "delivered" for r in mm_store.list_outbox())
    mm_store.close()
    for path in (tmp_path / "store").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert SECRET.encode() not in data and b"t0k3n" not in data, path


def test_unsigned_when_the_secret_is_missing(mm_store, receiver, write_config, monkeypatch) -> None:
    monkeypatch.delenv("MM_HOOK_SECRET")
    write_config(hook_config(receiver.url, events=["promoted"]))
    register_production(mm_store, "fraud")
    assert drain(mm_store, timeout=60)
    assert [r.signature_ok for r in receiver.requests] == [None]
    assert "unsigned" in str(mm_store.list_deliveries()[0].error)


def test_signature_is_over_timestamp_and_body() -> None:
    signature = sign("k", "1700000000", b'{"a":1}')
    assert verify("k", "1700000000", b'{"a":1}', signature)
    assert not verify("k", "1700000001", b'{"a":1}', signature)
    assert not verify("k", "1700000000", b'{"a":2}', signature)
    assert not verify("other", "1700000000", b'{"a":1}', signature)


@pytest.mark.parametrize(
    ("hook", "message"),
    [
        ({"url": "file:///etc/passwd"}, "http"),
        ({"url": "http://x", "events": ["everything"]}, "events"),
        ({"url": "http://x", "secret": 5}, "must be a string"),
        ({"url": "http://x", "headers": {}}, "unknown key"),
    ],
)
def test_bad_hooks_are_one_line_errors(hook: dict, message: str) -> None:
    config = Config()
    config.Webhooks.hooks = [hook]
    with pytest.raises(InvalidInput, match=message) as caught:
        make_webhooks(config)
    assert "\n" not in str(caught.value)


def test_a_redirect_is_not_followed(mm_store, receiver) -> None:
    register_production(mm_store, "fraud")
    receiver.script = [302]
    queue_alert(mm_store, receiver, "h", max_attempts=3)
    (moved,) = mm_store.list_deliveries(hook="h")
    assert (moved.outcome, moved.status, len(receiver.requests)) == ("failed", 302, 1)
