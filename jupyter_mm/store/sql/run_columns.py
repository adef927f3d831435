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

from sqlalchemy import Connection, select

from ..abstract import AbstractStore
from ..validation import add_value_columns, check_listing_limit, check_status
from . import listing
from .models import RUNS


def _by_chunk(conn: Connection, statement: Any, ids: Sequence[str]) -> Iterator[Any]:
    # By id rather than joined to the listing query: on PostgreSQL (read committed) a run
    # started in between would shift a repeated "newest N" window.
    for chunk in listing.chunks(ids):
        yield from conn.execute(statement, {"ids": list(chunk)}).all()


def run_columns(
    conn: Connection, *, notebook_path: str | None, status: str | None, limit: int
) -> dict[str, list[Any]]:
    """See AbstractStore.run_columns. ``conn`` should be in a transaction."""
    check_listing_limit(limit)
    check_status(status)
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
    add_value_columns(columns, "params.", _by_chunk(conn, listing.params_statement(), ids))
    add_value_columns(
        columns,
        "metrics.",
        # NULL stands for NaN in the metric tables
        (
            (run_id, name, math.nan if value is None else value)
            for run_id, name, value in _by_chunk(
                conn, listing.latest_statement(filtered=False), ids
            )
        ),
    )
    return columns
