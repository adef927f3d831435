"""Kernel sessions' execution logs: appended once per execution, referenced by position.

A run used to carry its session's whole log in its own row, so every run of a long session
wrote (and every read of it decoded) thousands of entries. Now a session's executions are
rows of ``session_executions``, written as the session goes — each run hands the store only
the executions since the previous run — and a run names ``(session_id, log_position)``:
its log is the first ``log_position`` executions of that session. Readers get the same
``Run.execution_log`` as before, materialized here. Runs written before revision 0004 keep
their inline log (``session_id`` NULL).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, select

from ...entities import ExecutionEntry, Run, SessionLogAppend
from . import convert, record_writes
from .models import KERNEL_SESSIONS, SESSION_EXECUTIONS


def append(conn: Connection, dialect: str, log: SessionLogAppend, writer: str) -> None:
    """Write the session (once) and the executions ``log`` hands over, inside the caller's
    transaction, as ``writer`` (on a team store only the session's writer may append to it).
    Positions already stored are left alone (a retried run, or a second store handle in the
    same kernel), so appending is idempotent."""
    rows = [(*row, writer) for row in convert.session_log_rows(log)]
    columns = (*convert.EXECUTION_COLUMNS, "writer")
    session = record_writes.insert(dialect, KERNEL_SESSIONS).on_conflict_do_nothing()
    conn.execute(
        session,
        [
            {
                "id": log.session_id,
                "start_time": float(log.start_time),
                "host": log.host,
                "pid": log.pid,
                "writer": writer,
            }
        ],
    )
    if not rows:
        return
    if dialect == "sqlite":
        record_writes.sqlite_insert_rows(conn, "session_executions", columns, rows)
    else:
        statement = record_writes.insert(dialect, SESSION_EXECUTIONS).on_conflict_do_nothing()
        conn.execute(statement, [dict(zip(columns, r, strict=True)) for r in rows])


def load(conn: Connection, session_id: str, position: int) -> list[ExecutionEntry]:
    """The first ``position`` executions of the session, oldest first."""
    table = SESSION_EXECUTIONS.c
    query = (
        select(table.exec_count, table.cell_id, table.source_hash)
        .where(table.session_id == session_id, table.position < position)
        .order_by(table.position)
    )
    return [convert.row_to_execution(row) for row in conn.execute(query)]


def with_log(conn: Connection, row: Mapping[str, Any]) -> Run:
    """The Run of a ``runs`` row, its execution log read from its session when it has one."""
    run = convert.row_to_run(row)
    session_id = row.get("session_id")
    if session_id is not None and row.get("log_position") is not None:
        run.execution_log = load(conn, session_id, row["log_position"])
    return run
