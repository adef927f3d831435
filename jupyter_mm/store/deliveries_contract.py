"""The alerts' part of the store contract: the webhook delivery log, and alert events.

Every attempt to deliver a webhook (registry events and alerts, :mod:`jupyter_mm.alerts.webhooks`)
is one row: which hook (its configured name or the receiver's host — never the URL, which
often carries a token), which event, the attempt number, the HTTP status or the error, and
the outcome. Rows are only appended. Alerts themselves are registry events (``alert`` and
``alert_cleared``) in the event log; :meth:`AbstractDeliveryStore.alert_events` reads just
those, so the lab's alerts poll never pages through the whole audit trail.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..entities import Event

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
