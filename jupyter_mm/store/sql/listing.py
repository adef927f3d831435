"""Listing queries behind the sidebar and the REST API: metric column names and the audit
trail, keyset-paged. Kept apart from :mod:`.store` so that module stays about runs and their
records; ``SqlStore`` delegates here."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, func, select

from ...entities import Event
from ...errors import InvalidInput
from .models import EVENTS, METRICS, PARAMS, RUNS
from .models import LATEST_METRICS as LATEST
from .paging import BAD_TOKEN, pack, unpack

_EVENT_TOKEN_KIND = "events"

#: bound parameters per statement, below SQLite's and PostgreSQL's limits
IN_CHUNK = 900
#: run ids and metric names per latest-values statement (both lists bound at once)
_PAIR_CHUNK = 200


def chunks(items: Sequence[str], size: int = IN_CHUNK) -> list[Sequence[str]]:
    """``items`` in slices of at most ``size`` (for ``IN (...)`` lists)."""
    return [items[i : i + size] for i in range(0, len(items), size)]


@functools.cache
def params_statement() -> Any:
    """(run_id, name, value) of the params of the runs bound as ``ids``; built once."""
    return select(PARAMS.c.run_id, PARAMS.c.name, PARAMS.c.value).where(
        PARAMS.c.run_id.in_(bindparam("ids", expanding=True))
    )


def latest_metrics(
    conn: Connection, run_ids: Sequence[str], names: Sequence[str] | None
) -> dict[str, dict[str, float]]:
    """``{run id: {name: value at the highest step (latest timestamp breaks ties)}}``, names
    in sorted order.

    Read from ``latest_metrics`` (one row per run and metric, kept up to date by every write
    of metric points): one primary-key range per run, however long the metric histories
    are; a listing page of runs that logged a loss at every one of 10,000 steps must not
    read all those points.
    """
    result: dict[str, dict[str, float]] = {run_id: {} for run_id in run_ids}
    if not run_ids or names == []:
        return result
    name_chunks: list[Sequence[str] | None] = (
        [None] if names is None else [*chunks(list(names), _PAIR_CHUNK)]
    )
    for ids in chunks(list(run_ids), _PAIR_CHUNK):
        for wanted in name_chunks:
            statement = latest_statement(filtered=wanted is not None)
            rows = conn.execute(statement, {"ids": list(ids), "names": list(wanted or ())})
            for run_id, name, value in rows:
                result[run_id][name] = math.nan if value is None else value
    return result


@functools.cache
def latest_statement(*, filtered: bool) -> Any:
    """(run_id, name, value) of ``latest_metrics`` for the runs bound as ``ids`` (and the
    names bound as ``names`` when ``filtered``). Built once: constructing a statement costs
    more than running it on a page."""
    query = (
        select(LATEST.c.run_id, LATEST.c.name, LATEST.c.value)
        .where(LATEST.c.run_id.in_(bindparam("ids", expanding=True)))
        .order_by(LATEST.c.run_id, LATEST.c.name)
    )
    if filtered:
        # ``name || ''`` keeps SQLite's planner on the primary key (run_id, name): without
        # statistics it would walk the (name, value, run_id) index through every run that
        # has those metrics (90 ms instead of 1 for a page of 50 among 100k runs)
        query = query.where(LATEST.c.name.concat("").in_(bindparam("names", expanding=True)))
    return query


#: a status held by more runs than this is filtered while walking the listing index
_SORT_AT_MOST = 2000


def status_condition(conn: Connection, status: str, *, narrowed: bool) -> Any:
    """The WHERE term for a status filter, chosen so the listing stays one cheap page.

    Through the status index, every run with the status is fetched and sorted before the
    first page comes out: instant for the few "running" ones, half a second for 80k
    "finished" ones out of 100k. For a common status, ``status || ''`` keeps the planner off
    that index, so it walks the listing index newest-first and stops after one page. A
    bounded count (at most _SORT_AT_MOST + 1 index entries) tells which case this is.
    ``narrowed``: another indexed filter (the notebook) already bounds the work.
    """
    if narrowed:
        return RUNS.c.status == status
    common = more_than(conn, select(RUNS.c.id).where(RUNS.c.status == status), _SORT_AT_MOST)
    return RUNS.c.status.concat("") == status if common else RUNS.c.status == status


def more_than(conn: Connection, query: Any, bound: int) -> bool:
    """Whether ``query`` has more than ``bound`` rows, reading at most ``bound + 1`` of them
    (how the listing decides between walking an index and fetching every match)."""
    limited = query.limit(bound + 1).subquery()
    return conn.execute(select(func.count()).select_from(limited)).scalar_one() > bound


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
    return pack(_EVENT_TOKEN_KIND, last_id)


def _decode_event_token(token: str) -> int:
    kind, last_id = unpack(token, 2)
    # bool is an int in Python; a token never holds one
    if kind != _EVENT_TOKEN_KIND or isinstance(last_id, bool) or not isinstance(last_id, int):
        raise InvalidInput(BAD_TOKEN)
    return last_id


def _row_to_event(row: Mapping[Any, Any]) -> Event:
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
