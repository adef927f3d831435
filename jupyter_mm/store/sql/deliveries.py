"""The webhook delivery log of SqlStore (see AbstractDeliveryStore for the contract)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ...entities import Event
from ...errors import InvalidInput
from ..deliveries_contract import DELIVERY_OUTCOMES, AbstractDeliveryStore, WebhookDelivery
from ..validation import check_listing_limit
from .models import EVENTS, WEBHOOK_DELIVERIES

MAX_ERROR = 1000


class SqlDeliveriesMixin(AbstractDeliveryStore):
    # provided by SqlStore
    _write: Any
    _read: Any

    def record_delivery(self, attempt: WebhookDelivery) -> WebhookDelivery:
        if attempt.outcome not in DELIVERY_OUTCOMES:
            raise InvalidInput(
                f"Unknown delivery outcome {attempt.outcome!r}; expected one of "
                f"{', '.join(DELIVERY_OUTCOMES)}."
            )
        values = {k: v for k, v in attempt.to_dict().items() if k != "id"}
        if values["error"] is not None:
            values["error"] = str(values["error"])[:MAX_ERROR]
        with self._write() as conn:
            new_id = conn.execute(
                WEBHOOK_DELIVERIES.insert().returning(WEBHOOK_DELIVERIES.c.id), values
            ).scalar_one()
        return WebhookDelivery(**{**values, "id": new_id})

    def list_deliveries(
        self, *, model: str | None = None, hook: str | None = None, limit: int = 50
    ) -> list[WebhookDelivery]:
        check_listing_limit(limit)
        table = WEBHOOK_DELIVERIES
        query = select(table)
        if model is not None:
            query = query.where(table.c.model == model)
        if hook is not None:
            query = query.where(table.c.hook == hook)
        with self._read() as conn:
            rows = conn.execute(query.order_by(table.c.id.desc()).limit(limit)).mappings()
            return [WebhookDelivery(**dict(row)) for row in rows]

    def alert_events(
        self, *, model: str | None = None, after: int | None = None, limit: int = 50
    ) -> list[Event]:
        check_listing_limit(limit)
        query = select(EVENTS).where(EVENTS.c.action.in_(("alert", "alert_cleared")))
        if model is not None:
            query = query.where(EVENTS.c.model == model)
        if after is not None:
            query = query.where(EVENTS.c.id > after)
        with self._read() as conn:
            rows = conn.execute(query.order_by(EVENTS.c.id.desc()).limit(limit)).mappings()
            return [Event(**dict(row)) for row in rows]
