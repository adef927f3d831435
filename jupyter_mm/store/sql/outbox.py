"""Alerts raised once and the webhook outbox of SqlStore (see AbstractDeliveryStore).

``raise_alert`` runs in one write transaction that first locks the model's row (``SELECT …
FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already holds the database's write
lock), so two evaluators deciding at once are serialized: the second one sees the first
one's alert. The ``alert_keys`` primary key holds even for a writer that skipped the lock.
Outbox rows are claimed with a conditional ``UPDATE`` (the row must still be pending and
unleased), which both backends apply atomically per row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from ...entities import Event
from ...errors import InvalidInput
from ..deliveries_contract import (
    OUTBOX_STATES,
    AbstractDeliveryStore,
    OutboxDelivery,
    RaisedAlert,
    episode_key,
    open_alert_in,
)
from ..validation import check_listing_limit
from .models import ALERT_KEYS, MODEL_VERSIONS, WEBHOOK_OUTBOX


class SqlOutboxMixin(AbstractDeliveryStore):
    # provided by SqlStore (and its registry mixin)
    _write: Any
    _read: Any
    _lock_model: Any
    _events: Any
    _add_event: Any

    def _in_production(self, conn: Any, model: str, version: int) -> bool:
        stage = conn.execute(
            select(MODEL_VERSIONS.c.stage).where(
                MODEL_VERSIONS.c.model == model, MODEL_VERSIONS.c.version == version
            )
        ).scalar()
        return stage == "production"

    def raise_alert(
        self, model: str, version: int, key: str, *, reason: str, user: str | None
    ) -> RaisedAlert | None:
        try:
            with self._write() as conn:
                self._lock_model(conn, model)
                if not self._in_production(conn, model, version):
                    return None
                opened, episodes = open_alert_in(self._events(conn, model, version), version, key)
                if opened is not None:
                    return RaisedAlert(opened, raised=False)
                alert = self._add_event(
                    conn, action="alert", model=model, version=version, user=user, reason=reason
                )
                conn.execute(
                    ALERT_KEYS.insert(),
                    {
                        "key": episode_key(model, version, key, episodes),
                        "model": model,
                        "version": version,
                        "episode": episodes,
                        "alert_id": alert.id,
                    },
                )
                return RaisedAlert(alert, raised=True)
        except (IntegrityError, InvalidInput):
            # the episode's key exists: another writer recorded this alert first
            opened = self.open_alert(model, version, key)
            if opened is None:
                raise
            return RaisedAlert(opened, raised=False)

    def open_alert(self, model: str, version: int, key: str) -> Event | None:
        with self._read() as conn:
            return open_alert_in(self._events(conn, model, version), version, key)[0]

    def clear_alert(
        self, model: str, version: int, key: str, *, reason: str, user: str | None
    ) -> Event | None:
        with self._write() as conn:
            self._lock_model(conn, model)
            opened, _ = open_alert_in(self._events(conn, model, version), version, key)
            if opened is None:
                return None
            return self._add_event(
                conn,
                action="alert_cleared",
                model=model,
                version=version,
                user=user,
                reason=reason,
            )

    # -- the outbox ----------------------------------------------------------------------------

    def enqueue_deliveries(self, deliveries: list[OutboxDelivery]) -> list[OutboxDelivery]:
        stored = []
        with self._write() as conn:
            for item in deliveries:
                values = {k: v for k, v in item.to_dict().items() if k != "id"}
                new_id = conn.execute(
                    WEBHOOK_OUTBOX.insert().returning(WEBHOOK_OUTBOX.c.id), values
                ).scalar_one()
                stored.append(OutboxDelivery(**{**values, "id": new_id}))
        return stored

    def claim_deliveries(
        self, *, now: float, lease: float, hook_ids: list[str], limit: int = 20
    ) -> list[OutboxDelivery]:
        table = WEBHOOK_OUTBOX
        if not hook_ids:
            return []
        claimable = and_(
            table.c.state == "pending",
            table.c.hook_id.in_(hook_ids),
            table.c.next_time <= now,
            or_(table.c.lease_until.is_(None), table.c.lease_until < now),
        )
        claimed = []
        with self._write() as conn:
            rows = conn.execute(
                select(table).where(claimable).order_by(table.c.next_time, table.c.id).limit(limit)
            ).mappings()
            for row in list(rows):
                taken = conn.execute(
                    update(table)
                    .where(table.c.id == row["id"], claimable)
                    .values(lease_until=now + lease)
                )
                if taken.rowcount == 1:
                    claimed.append(OutboxDelivery(**{**dict(row), "lease_until": now + lease}))
        return claimed

    def finish_attempt(
        self, delivery_id: int, *, state: str, attempts: int, next_time: float
    ) -> None:
        if state not in OUTBOX_STATES:
            raise InvalidInput(f"Unknown outbox state {state!r}.")
        with self._write() as conn:
            conn.execute(
                update(WEBHOOK_OUTBOX)
                .where(WEBHOOK_OUTBOX.c.id == delivery_id)
                .values(state=state, attempts=attempts, next_time=next_time, lease_until=None)
            )

    def list_outbox(self, *, state: str | None = None, limit: int = 50) -> list[OutboxDelivery]:
        check_listing_limit(limit)
        query = select(WEBHOOK_OUTBOX)
        if state is not None:
            query = query.where(WEBHOOK_OUTBOX.c.state == state)
        with self._read() as conn:
            rows = conn.execute(query.order_by(WEBHOOK_OUTBOX.c.id.desc()).limit(limit)).mappings()
            return [OutboxDelivery(**dict(row)) for row in rows]
