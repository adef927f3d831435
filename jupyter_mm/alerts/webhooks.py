"""Webhooks: registry events and alerts POSTed as signed JSON, with retries and a log.

Configuration (the one loader, :func:`jupyter_mm.config.load_config`)::

    c.Webhooks.hooks = [
        {"url": "https://hooks.example.com/mm", "events": ["promoted", "rolled_back", "alert"],
         "models": "fraud*", "secret_env": "MM_HOOK_SECRET", "name": "ops"},
    ]
    c.Webhooks.max_attempts = 4      # 1 + 3 retries
    c.Webhooks.backoff = 0.5         # seconds before the 2nd attempt; doubles each time
    c.Webhooks.timeout = 5.0         # seconds per attempt
    c.Webhooks.exit_wait = 5.0       # a short process waits this long at exit for its deliveries

Event kinds: ``registered``, ``transitioned`` (to staging or archived), ``promoted`` (to
production), ``rolled_back``, ``transition_requested``, ``approved``, ``rejected``,
``alert``, ``alert_cleared``, ``retrain``; ``"*"`` (the default) is every kind. ``models``
is an fnmatch pattern of model names.

**Signature.** The secret is read from the environment variable ``secret_env`` names (or a
literal ``secret`` in the config file) when a delivery is made; it is never stored or
logged. Each request carries ``X-MM-Timestamp`` (Unix seconds), ``X-MM-Event``,
``X-MM-Delivery`` (one id for all attempts) and ``X-MM-Signature-256: sha256=<hex>``, the
HMAC-SHA256 of ``<timestamp>.<body>`` with the secret. A receiver recomputes it over the
raw body, compares in constant time, and rejects old timestamps (replays).

**Off the write path.** Publishing an event only adds one row per matching hook to the
store's outbox (``webhook_outbox``) and wakes this process's deliverer thread
(:mod:`jupyter_mm.alerts.outbox`); the registry write returns at once, whatever the
receiver does. The deliverer posts each row with a bounded ``timeout`` per attempt.
**Retries.** A connection error, a timeout, 408, 429 or a 5xx is retried after
``backoff * 2**(attempt-1)`` seconds, up to ``max_attempts`` attempts; any other 4xx is a
refusal and is not retried. Every attempt is a row of the delivery log
(``jupyter mm deliveries``). A row still pending when its process stops (the retry is not
due yet, or the process was killed mid-attempt) stays in the outbox and is delivered by the
next deliverer that knows the hook: the Jupyter server's, ``jupyter mm watch``'s, or any
process that publishes — at least once; receivers de-duplicate on ``X-MM-Delivery``.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import json
import os
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from traitlets import Float, Int, List, TraitError, validate
from traitlets.config import Config, Configurable
from traitlets.traitlets import Dict as DictTrait

from ..errors import InvalidInput
from ..store.deliveries_contract import OutboxDelivery, WebhookDelivery

if TYPE_CHECKING:
    from ..entities import Event
    from ..store.abstract import AbstractStore

EVENT_KINDS = (
    "registered",
    "transitioned",
    "promoted",
    "rolled_back",
    "transition_requested",
    "approved",
    "rejected",
    "alert",
    "alert_cleared",
    "retrain",
)
_HOOK_KEYS = {"url", "events", "models", "secret_env", "secret", "name"}
RETRY_STATUSES = frozenset({408, 429})
SIGNATURE_HEADER = "X-MM-Signature-256"
UNSIGNED = "sent unsigned (no secret configured)"


def event_kind(event: Event) -> str | None:
    """The webhook kind of a registry event, or None for events that are not sent (a
    ``superseded`` archive is part of the ``promoted`` it follows; a rollback writes two
    events and is sent once, for the version coming back)."""
    action = event.action
    if action == "register":
        return "registered"
    if action == "transition":
        return "promoted" if event.to_stage == "production" else "transitioned"
    if action == "rollback":
        return "rolled_back" if event.to_stage == "production" else None
    return {
        "transition_requested": "transition_requested",
        "transition_approved": "approved",
        "transition_rejected": "rejected",
        "alert": "alert",
        "alert_cleared": "alert_cleared",
        "retrain": "retrain",
    }.get(action)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-MM-Signature-256`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def _check_hook(hook: Any) -> dict[str, Any]:
    if not isinstance(hook, dict):
        raise InvalidInput(f"A webhook is a dict with 'url', not {type(hook).__name__}.")
    unknown = sorted(set(map(str, hook)) - _HOOK_KEYS)
    if unknown:
        raise InvalidInput(
            f"Webhook {hook.get('name') or hook.get('url')!r} has unknown key(s) "
            f"{', '.join(unknown)} (known: {', '.join(sorted(_HOOK_KEYS))})."
        )
    url = hook.get("url")
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"Webhook {hook.get('name')!r}: 'url' must be an http(s) URL.")
    events = hook.get("events", ["*"])
    if not isinstance(events, list) or not all(e == "*" or e in EVENT_KINDS for e in events):
        raise InvalidInput(
            f"Webhook {hook_label(hook)!r}: 'events' is a list of {', '.join(EVENT_KINDS)} "
            f"or '*', not {events!r}."
        )
    for key in ("models", "secret_env", "secret", "name"):
        if key in hook and not isinstance(hook[key], str):
            raise InvalidInput(f"Webhook {hook_label(hook)!r}: {key!r} must be a string.")
    return hook


def hook_label(hook: dict[str, Any]) -> str:
    """How a hook is named in the delivery log: its name, else the receiver's host and
    port — never the URL's path or query, which often hold a token."""
    if hook.get("name"):
        return str(hook["name"])
    parts = urlsplit(str(hook.get("url", "")))
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


class Webhooks(Configurable):
    """Webhook receivers, ``c.Webhooks.<name>`` (see the module docstring)."""

    hooks = List(
        DictTrait(),
        default_value=[],
        help="Receivers: [{'url': ..., 'events': ['promoted', 'alert'], 'models': 'fraud*', "
        "'secret_env': 'MM_HOOK_SECRET', 'name': 'ops'}]. Events: " + ", ".join(EVENT_KINDS),
    ).tag(config=True)
    max_attempts = Int(4, help="Attempts per delivery (the first one and the retries).").tag(
        config=True
    )
    backoff = Float(0.5, help="Seconds before the first retry; doubles at each retry.").tag(
        config=True
    )
    timeout = Float(5.0, help="Seconds per attempt (a receiver that hangs is cut off).").tag(
        config=True
    )
    exit_wait = Float(
        5.0,
        help="Seconds a process that published events waits at exit for their deliveries "
        "that are due; what is left stays in the outbox for the next deliverer.",
    ).tag(config=True)
    poll = Float(
        2.0, help="Seconds between outbox checks of a long-running deliverer (server, watch)."
    ).tag(config=True)

    @validate("hooks")
    def _check_hooks(self, proposal: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            return [_check_hook(hook) for hook in proposal["value"]]
        except InvalidInput as exc:
            raise TraitError(str(exc)) from None

    def matching(self, kind: str, model: str | None) -> list[dict[str, Any]]:
        found = []
        for hook in self.hooks:
            events = hook.get("events", ["*"])
            if "*" not in events and kind not in events:
                continue
            if model is not None and not fnmatch.fnmatchcase(model, hook.get("models", "*")):
                continue
            found.append(hook)
        return found


def make_webhooks(config: Config | None = None) -> Webhooks:
    from ..config import load_config

    try:
        return Webhooks(config=load_config() if config is None else config)
    except TraitError as exc:
        raise InvalidInput(str(exc).splitlines()[0]) from None


@dataclass
class _Attempt:
    status: int | None
    error: str | None
    retry: bool


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> _Attempt:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return _Attempt(response.status, None, False)
    except urllib.error.HTTPError as exc:
        retry = exc.code >= 500 or exc.code in RETRY_STATUSES
        return _Attempt(exc.code, f"HTTP {exc.code} {exc.reason}", retry)
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return _Attempt(None, f"{type(exc).__name__}: {reason}", True)


def _secret(hook: dict[str, Any]) -> str | None:
    if hook.get("secret_env"):
        return os.environ.get(hook["secret_env"]) or None
    return hook.get("secret") or None


def hook_id(hook: dict[str, Any]) -> str:
    """A digest of the hook's configuration: the outbox names hooks by it (and by their
    label), never by their URL, which often holds a token."""
    fields = {k: hook.get(k) for k in ("url", "name", "secret_env")}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:32]


def attempt_delivery(
    store: AbstractStore, hook: dict[str, Any], row: OutboxDelivery, *, webhooks: Webhooks
) -> tuple[WebhookDelivery, bool]:
    """One POST of an outbox row to its hook, logged. Returns the log row and whether the
    delivery is finished (delivered, refused, or out of attempts)."""
    body = row.payload.encode()
    secret = _secret(hook)
    attempt = row.attempts + 1
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "jupyter-mm-webhooks",
        "X-MM-Event": row.event,
        "X-MM-Delivery": row.delivery,
        "X-MM-Timestamp": timestamp,
    }
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, timestamp, body)
    started = time.monotonic()
    result = _post(hook["url"], body, headers, webhooks.timeout)
    ok = result.status is not None and 200 <= result.status < 300
    final = ok or not result.retry or attempt >= max(1, webhooks.max_attempts)
    error = result.error
    if not secret:
        error = f"{error}; {UNSIGNED}" if error else UNSIGNED
    logged = store.record_delivery(
        WebhookDelivery(
            delivery=row.delivery,
            time=time.time(),
            hook=row.hook,
            event=row.event,
            attempt=attempt,
            outcome="delivered" if ok else ("failed" if final else "retrying"),
            model=row.model,
            event_id=row.event_id,
            status=result.status,
            error=error,
            duration_ms=(time.monotonic() - started) * 1000,
        )
    )
    return logged, final


def event_payload(event: Event, kind: str) -> dict[str, Any]:
    """The JSON body for a registry event (an alert's evidence is parsed back from its
    reason, so receivers get structured values)."""
    payload: dict[str, Any] = {
        "event": kind,
        "id": event.id,
        "time": event.time,
        "model": event.model,
        "version": event.version,
        "from_stage": event.from_stage,
        "to_stage": event.to_stage,
        "user": event.user,
        "reason": event.reason,
    }
    if event.action in ("alert", "alert_cleared", "retrain") and event.reason:
        try:
            payload["details"] = json.loads(event.reason)
            payload["reason"] = payload["details"].get("summary")
        except (ValueError, AttributeError):
            pass
    return payload


def publish_events(
    store: AbstractStore, events: Iterable[Event], *, webhooks: Webhooks | None = None
) -> list[OutboxDelivery]:
    """Queue registry events for every hook configured for their kind and model, and wake
    the deliverer; returns the queued deliveries at once. Never raises: a webhook problem
    must not turn a registry write that happened into an error."""
    from .outbox import wake_deliverer

    queued: list[OutboxDelivery] = []
    try:
        webhooks = webhooks or make_webhooks()
        now = time.time()
        for event in events:
            kind = event_kind(event)
            if kind is None:
                continue
            body = json.dumps(event_payload(event, kind), sort_keys=True, separators=(",", ":"))
            for hook in webhooks.matching(kind, event.model):
                queued.append(
                    OutboxDelivery(
                        delivery=uuid.uuid4().hex,
                        hook=hook_label(hook),
                        hook_id=hook_id(hook),
                        event=kind,
                        payload=body,
                        model=event.model,
                        event_id=event.id,
                        created_time=now,
                        next_time=now,
                    )
                )
        if queued:
            queued = store.enqueue_deliveries(queued)
            wake_deliverer(store, webhooks)
    except Exception as exc:  # the registry write stands; say why nothing was sent
        import warnings

        warnings.warn(f"jupyter-mm: webhooks not delivered: {exc}", stacklevel=2)
    return queued
