"""The writes of a run's records: params, metric points (and their latest values), data
references, artifacts and blob links.

Each statement is an ``INSERT … ON CONFLICT`` built once per dialect and reused: building
one through SQLAlchemy (``excluded`` columns, conflict clauses) costs more than executing
it for the handful of rows a tracked cell writes, and the end of a cell is on the user's
critical path. The functions run inside the caller's transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table, and_, or_

from . import convert
from .models import (
    ARTIFACTS,
    DATA,
    LATEST_METRICS,
    METRICS,
    PARAMS,
    RUN_BLOBS,
)

#: SQLite takes metric points and blob links as plain values in multi-row INSERTs, not
#: through SQLAlchemy (whose per-row parameter processing costs more than SQLite's insert;
#: one flush of buffered points holds up to 10,000) and not through ``executemany``, which
#: steps SQLite once per row and releases and retakes the GIL each time: in a kernel whose
#: I/O thread is busy with the cell's messages, every retake may wait for that thread.
_SQLITE_MAX_VARIABLES = 999  # the lowest limit any SQLite build has (32766 since 3.32)


@functools.lru_cache(maxsize=64)
def _sqlite_insert(table: str, columns: tuple[str, ...], rows: int) -> str:
    row = "(" + ", ".join("?" * len(columns)) + ")"
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        + ", ".join([row] * rows)
        + " ON CONFLICT DO NOTHING"
    )


def sqlite_insert_rows(
    conn: Connection, table: str, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
) -> None:
    """``INSERT … ON CONFLICT DO NOTHING`` of ``rows`` (tuples in ``columns`` order), as few
    statements as the variable limit allows."""
    per = _SQLITE_MAX_VARIABLES // len(columns)
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        # one tuple: a list would be taken for one parameter set per element
        values = tuple([value for row in chunk for value in row])
        conn.exec_driver_sql(_sqlite_insert(table, columns, len(chunk)), values)


def insert(dialect: str, table: Table) -> Any:
    """A dialect INSERT, for ON CONFLICT clauses (same syntax on both backends)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def _upsert(dialect: str, table: Table, key: list[str]) -> Any:
    """Insert, or replace every non-key column of the existing row."""
    stmt = insert(dialect, table)
    others = {c.name: stmt.excluded[c.name] for c in table.c if c.name not in key}
    return stmt.on_conflict_do_update(index_elements=key, set_=others)


@dataclass(frozen=True)
class _Statements:
    params: Any
    metrics: Any
    latest: Any
    data: Any
    artifacts: Any
    links: Any


@functools.cache
def statements(dialect: str) -> _Statements:
    """The record statements of ``dialect`` ("sqlite" or "postgresql"), built once."""
    params = insert(dialect, PARAMS)
    latest = insert(dialect, LATEST_METRICS)
    current = LATEST_METRICS.c
    return _Statements(
        # a param written again with the same value is not rewritten
        params=params.on_conflict_do_update(
            index_elements=["run_id", "name"],
            set_={"value": params.excluded.value},
            where=PARAMS.c.value != params.excluded.value,
        ),
        metrics=insert(dialect, METRICS).on_conflict_do_nothing(),
        # a point replaces the stored latest one only when it is later (higher step, or the
        # same step and a later timestamp): replays and out-of-order batches leave it alone;
        # an equal (step, timestamp) keeps the stored point, as ``metrics`` does
        latest=latest.on_conflict_do_update(
            index_elements=["run_id", "name"],
            set_={
                "step": latest.excluded.step,
                "timestamp": latest.excluded.timestamp,
                "value": latest.excluded.value,
            },
            where=or_(
                latest.excluded.step > current.step,
                and_(
                    latest.excluded.step == current.step,
                    latest.excluded.timestamp > current.timestamp,
                ),
            ),
        ),
        data=_upsert(dialect, DATA, ["run_id", "name", "role"]),
        artifacts=_upsert(dialect, ARTIFACTS, ["run_id", "name"]),
        links=insert(dialect, RUN_BLOBS).on_conflict_do_nothing(),
    )


def write_records(conn: Connection, dialect: str, rows: dict[Table, list[Any]]) -> None:
    """Write validated rows (``{table: rows}`` for params, metrics, data and artifacts;
    metric rows are ``convert.METRIC_COLUMNS`` tuples) and keep ``latest_metrics`` in step
    with the new points."""
    ready = statements(dialect)
    if rows[PARAMS]:
        conn.execute(ready.params, rows[PARAMS])
    if rows[METRICS]:
        if dialect == "sqlite":
            sqlite_insert_rows(conn, "metrics", convert.METRIC_COLUMNS, rows[METRICS])
        else:
            columns = convert.METRIC_COLUMNS
            conn.execute(ready.metrics, [dict(zip(columns, r, strict=True)) for r in rows[METRICS]])
        conn.execute(ready.latest, convert.latest_rows(rows[METRICS]))
    if rows[DATA]:
        conn.execute(ready.data, rows[DATA])
    if rows[ARTIFACTS]:
        conn.execute(ready.artifacts, rows[ARTIFACTS])


def link_blobs(conn: Connection, dialect: str, run_id: str, digests: Sequence[str]) -> None:
    """Record that the run references these blobs (idempotent). A checkpoint names one
    blob per cell, so SQLite gets plain tuples here too."""
    if not digests:
        return
    if dialect == "sqlite":
        sqlite_insert_rows(conn, "run_blobs", ("run_id", "digest"), [(run_id, d) for d in digests])
    else:
        conn.execute(statements(dialect).links, [{"run_id": run_id, "digest": d} for d in digests])
