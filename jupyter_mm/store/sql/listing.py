"""Listing queries behind the sidebar and the REST API: metric column names and the audit
trail, keyset-paged. Kept apart from :mod:`.store` so that module stays about runs and their
records; ``SqlStore`` delegates here."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Table, select

from ...entities import Event
from ...errors import InvalidInput
from .models import EventRow, MetricRow, RunRow

EVENTS: Table = EventRow.__table__  # type: ignore[assignment]
METRICS: Table = MetricRow.__table__  # type: ignore[assignment]
RUNS: Table = RunRow.__table__  # type: ignore[assignment]

_EVENT_TOKEN_KIND = "events"


def metric_names(conn: Connection, notebook_path: str | None) -> list[str]:
    """Distinct metric names, sorted; of one notebook's runs when ``notebook_path`` is given
    (answered through the runs' notebook index and the metrics primary key)."""
    if notebook_path is None:
        query = select(METRICS.c.name).distinct()
    else:
        query = (
            select(METRICS.c.name)
            .distinct()
            .select_from(METRICS.join(RUNS, RUNS.c.id == METRICS.c.run_id))
            .where(RUNS.c.notebook_path == notebook_path)
        )
    return sorted(name for (name,) in conn.execute(query))


def _encode_event_token(last_id: int) -> str:
    raw = json.dumps([_EVENT_TOKEN_KIND, last_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_event_token(token: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        kind, last_id = json.loads(raw)
        # bool is an int in Python; a token never holds one
        if kind != _EVENT_TOKEN_KIND or isinstance(last_id, bool) or not isinstance(last_id, int):
            raise ValueError
        return last_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput(
            "The page token is malformed or belongs to another listing; start again from "
            "the first page."
        ) from None


def _row_to_event(row: Mapping[str, Any]) -> Event:
    return Event(**{name: row[name] for name in EVENTS.c.keys()})  # noqa: SIM118


def list_events(
    conn: Connection, *, model: str | None, limit: int, page_token: str | None
) -> tuple[list[Event], str | None]:
    """Events newest first (highest id first: ids grow with time and never repeat)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise InvalidInput(f"The page size must be between 1 and 1000, not {limit!r}.")
    query = select(EVENTS)
    if model is not None:
        query = query.where(EVENTS.c.model == model)
    if page_token is not None:
        query = query.where(EVENTS.c.id < _decode_event_token(page_token))
    query = query.order_by(EVENTS.c.id.desc()).limit(limit + 1)
    rows = conn.execute(query).mappings().all()
    events = [_row_to_event(r) for r in rows[:limit]]
    token = _encode_event_token(events[-1].id) if len(rows) > limit else None
    return events, token
