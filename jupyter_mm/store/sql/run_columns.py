"""``SqlStore.run_columns``: runs with their params and latest metric values, column by column
(what ``mm.runs()`` turns into a DataFrame).

Ten thousand runs cost three queries and no entities: the listing columns of the runs
(not the JSON fields a Run entity would decode), then their params and their rows of
``latest_metrics`` by run id. Rows are fetched all at once and spread into columns in one
pass; building a Run per row and reading params and metrics through the per-run methods was
most of the time before.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, select

from ...entities import RUN_STATUSES
from ...errors import InvalidInput
from ..abstract import AbstractStore, add_value_columns, check_listing_limit
from . import listing
from .models import LATEST_METRICS, PARAMS, RUNS

#: run ids per statement, below SQLite's and PostgreSQL's bound-parameter limits
_CHUNK = 900

_PARAMS = select(PARAMS.c.run_id, PARAMS.c.name, PARAMS.c.value).where(
    PARAMS.c.run_id.in_(bindparam("ids", expanding=True))
)
_LATEST = select(LATEST_METRICS.c.run_id, LATEST_METRICS.c.name, LATEST_METRICS.c.value).where(
    LATEST_METRICS.c.run_id.in_(bindparam("ids", expanding=True))
)


def _by_chunk(conn: Connection, statement: Any, ids: Sequence[str]) -> Iterator[Any]:
    # By id rather than joined to the listing query: on PostgreSQL (read committed) a run
    # started in between would shift a repeated "newest N" window.
    for start in range(0, len(ids), _CHUNK):
        yield from conn.execute(statement, {"ids": list(ids[start : start + _CHUNK])}).all()


def run_columns(
    conn: Connection, *, notebook_path: str | None, status: str | None, limit: int
) -> dict[str, list[Any]]:
    """See AbstractStore.run_columns. ``conn`` should be in a transaction."""
    check_listing_limit(limit)
    if status is not None and status not in RUN_STATUSES:
        raise InvalidInput(
            f"Unknown run status {status!r}; expected one of {', '.join(RUN_STATUSES)}."
        )
    query = select(*(RUNS.c[name] for name in AbstractStore.RUN_COLUMNS))
    if notebook_path is not None:
        query = query.where(RUNS.c.notebook_path == notebook_path)
    if status is not None:
        query = query.where(
            listing.status_condition(conn, status, narrowed=notebook_path is not None)
        )
    query = query.order_by(RUNS.c.start_time.desc(), RUNS.c.id.desc()).limit(limit)
    rows = conn.execute(query).all()
    columns: dict[str, list[Any]] = {
        name: [row[index] for row in rows] for index, name in enumerate(AbstractStore.RUN_COLUMNS)
    }
    ids = columns["id"]
    add_value_columns(columns, "params.", _by_chunk(conn, _PARAMS, ids))
    add_value_columns(
        columns,
        "metrics.",
        # NULL stands for NaN in the metric tables
        (
            (run_id, name, math.nan if value is None else value)
            for run_id, name, value in _by_chunk(conn, _LATEST, ids)
        ),
    )
    return columns
