"""The alerts' part of the store contract: alert events raised once, the webhook outbox
and its delivery log.

Every attempt to deliver a webhook (registry events and alerts, :mod:`jupyter_mm.alerts.webhooks`)
is one row: which hook (its configured name or the receiver's host — never the URL, which
often carries a token), which event, the attempt number, the HTTP status or the error, and
the outcome. Rows are only appended. Alerts themselves are registry events (``alert`` and
``alert_cleared``) in the event log; :meth:`AbstractDeliveryStore.alert_events` reads just
those, so the lab's alerts poll never pages through the whole audit trail.

**One alert per episode, store-wide.** :meth:`AbstractDeliveryStore.raise_alert` decides
and writes in one transaction that holds the model's lock: it appends the ``alert`` only
when no alert of that (model, version, rule) is open, and a unique key on (model, version,
rule, episode) refuses a second one even so. The caller told ``raised=True`` is the only
one that runs the alert's actions, however many evaluators watch the store.

**The outbox.** A webhook delivery is first a row of the outbox (``pending``); deliverers
claim due rows with a lease, post them, and record each attempt in the log. A row whose
lease ran out (its deliverer stopped mid-way) is claimed again: at least once.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..entities import Event

#: states of an outbox row
OUTBOX_STATES = ("pending", "delivered", "failed")
#: events that put a version (back) into production: an alert episode never spans one
_TO_PRODUCTION = ("transition", "rollback")

#: ``delivered`` (2xx), ``retrying`` (a retryable failure, another attempt follows),
#: ``failed`` (the last attempt failed, or the receiver refused with a 4xx)
DELIVERY_OUTCOMES = ("delivered", "retrying", "failed")


@dataclass
class WebhookDelivery:
    """One delivery attempt. ``id`` is assigned by the store."""

    delivery: str  # one id for all attempts of one delivery (the X-MM-Delivery header)
    time: float
    hook: str
    event: str  # registered, promoted, rolled_back, alert, ...
    attempt: int
    outcome: str
    model: str | None = None
    event_id: int | None = None
    status: int | None = None
    error: str | None = None
    duration_ms: float | None = None
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class OutboxDelivery:
    """A webhook delivery to make. ``hook`` is the hook's label (never its URL);
    ``hook_id`` a digest of its configuration, to find it again when the delivery is made."""

    delivery: str
    hook: str
    hook_id: str
    event: str
    payload: str  # the JSON body
    model: str | None = None
    event_id: int | None = None
    state: str = "pending"
    attempts: int = 0
    created_time: float = 0.0
    next_time: float = 0.0
    lease_until: float | None = None
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RaisedAlert:
    """What :meth:`AbstractDeliveryStore.raise_alert` found: the open alert, and whether
    this call recorded it (``raised``) or another evaluator already had."""

    event: Event
    raised: bool


def alert_key_of(event: Event) -> str | None:
    """The rule key an ``alert``/``alert_cleared`` event carries in its JSON reason."""
    try:
        found = json.loads(event.reason or "{}").get("key")
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, str) else None


def open_alert_in(events: list[Event], version: int, key: str) -> tuple[Event | None, int]:
    """The alert of (version, rule ``key``) still open in ``events`` (oldest first), and how
    many alerts of that rule the version ever had (the next episode's number). A version
    going (back) into production closes what was open: it is judged afresh."""
    opened: Event | None = None
    count = 0
    for event in events:
        if event.version != version:
            continue
        if event.action in _TO_PRODUCTION and event.to_stage == "production":
            opened = None
        elif event.action in ("alert", "alert_cleared") and alert_key_of(event) == key:
            count += event.action == "alert"
            opened = event if event.action == "alert" else None
    return opened, count


def episode_key(model: str, version: int, key: str, episode: int) -> str:
    """The unique key of one alert episode (a digest: rule keys can be long)."""
    text = json.dumps([model, version, key, episode])
    return hashlib.sha256(text.encode()).hexdigest()


class AbstractDeliveryStore(ABC):
    @abstractmethod
    def record_delivery(self, attempt: WebhookDelivery) -> WebhookDelivery:
        """Append one attempt (InvalidInput for an unknown outcome). Returns it with its id."""

    @abstractmethod
    def list_deliveries(
        self, *, model: str | None = None, hook: str | None = None, limit: int = 50
    ) -> list[WebhookDelivery]:
        """Attempts, newest first; ``limit`` is 1..1000."""

    @abstractmethod
    def alert_events(
        self, *, model: str | None = None, after: int | None = None, limit: int = 50
    ) -> list[Event]:
        """``alert`` and ``alert_cleared`` events, newest first; ``after``: only events with
        a larger id (what a poller has not seen). ``limit`` is 1..1000."""

    @abstractmethod
    def raise_alert(
        self, model: str, version: int, key: str, *, reason: str, user: str | None
    ) -> RaisedAlert | None:
        """Append an ``alert`` for (model, version, rule ``key``) unless one is open, in one
        transaction (see the module docstring). None when the version is no longer in
        production (the pass that judged it is stale: nothing is written)."""

    @abstractmethod
    def open_alert(self, model: str, version: int, key: str) -> Event | None:
        """The open alert of (model, version, rule ``key``), or None."""

    @abstractmethod
    def clear_alert(
        self, model: str, version: int, key: str, *, reason: str, user: str | None
    ) -> Event | None:
        """Append ``alert_cleared`` for the open alert of (model, version, ``key``); None
        when none is open (another evaluator cleared it)."""

    @abstractmethod
    def enqueue_deliveries(self, deliveries: list[OutboxDelivery]) -> list[OutboxDelivery]:
        """Add pending deliveries to the outbox in one transaction; returns them with ids."""

    @abstractmethod
    def claim_deliveries(
        self, *, now: float, lease: float, hook_ids: list[str], limit: int = 20
    ) -> list[OutboxDelivery]:
        """Pending deliveries to these hooks, due at ``now``, whose lease (if any) ran out,
        now leased to the caller until ``now + lease``; two callers never get the same row
        at once. A process claims only the hooks it knows (their URL and secret are in
        its configuration, not in the store)."""

    @abstractmethod
    def finish_attempt(
        self, delivery_id: int, *, state: str, attempts: int, next_time: float
    ) -> None:
        """Record the outcome of an attempt on a claimed row and release its lease."""

    @abstractmethod
    def list_outbox(self, *, state: str | None = None, limit: int = 50) -> list[OutboxDelivery]:
        """Outbox rows, newest first."""
