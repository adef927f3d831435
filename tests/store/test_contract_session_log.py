"""Contract of the session log: a kernel session's executions are stored once, appended as
runs start, and each run reads back the log up to its own position.

Runs against every store implementation (the ``store`` fixture: SQLite and PostgreSQL).
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from jupyter_mm import ids
from jupyter_mm.entities import ExecutionEntry, Run, SessionLogAppend
from jupyter_mm.errors import InvalidInput
from jupyter_mm.store.sql.models import SESSION_EXECUTIONS

SESSION = ids.new_id()


def _log(count: int) -> list[ExecutionEntry]:
    return [ExecutionEntry(i + 1, f"cell-{i % 7}", f"{i:032x}") for i in range(count)]


def _start(store, position: int, start: int, log: list[ExecutionEntry]) -> Run:
    run = Run(id=ids.new_id(), start_time=time.time())
    appended = SessionLogAppend(SESSION, position, start, log[start:position], start_time=1.0)
    return store.create_run(run, session_log=appended)


def _stored_executions(store) -> int:
    with store._engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(SESSION_EXECUTIONS)).scalar_one()


def test_each_run_reads_its_session_log_up_to_its_position(store):
    log = _log(12)
    first = _start(store, 5, 0, log)
    second = _start(store, 12, 5, log)
    assert store.get_run(first.id).execution_log == log[:5]
    assert store.get_run(second.id).execution_log == log
    assert store.resolve_run(second.id[:10]).execution_log == log
    assert store.get_run_detail(first.id).run.execution_log == log[:5]
    # every execution is stored once, however many runs name it
    assert _stored_executions(store) == 12


def test_the_log_a_run_keeps_survives_its_end(store):
    log = _log(4)
    run = _start(store, 4, 0, log)
    run.status, run.end_time = "finished", run.start_time + 1
    store.finish_run(run)
    assert store.get_run(run.id).execution_log == log
    store.update_run(run)
    assert store.get_run(run.id).execution_log == log


def test_handing_over_executions_again_changes_nothing(store):
    log = _log(6)
    _start(store, 6, 0, log)
    again = _start(store, 6, 0, log)  # a second store handle in the same kernel
    assert store.get_run(again.id).execution_log == log
    assert _stored_executions(store) == 6


def test_a_session_log_that_does_not_end_at_the_run_is_refused(store):
    with pytest.raises(InvalidInput, match="must end right before it"):
        store.create_run(
            Run(id=ids.new_id(), start_time=1.0),
            session_log=SessionLogAppend(SESSION, 5, 0, _log(3)),
        )
    with pytest.raises(InvalidInput, match="source hash"):
        store.create_run(
            Run(id=ids.new_id(), start_time=1.0),
            session_log=SessionLogAppend(SESSION, 1, 0, [ExecutionEntry(1, None, 7)]),  # type: ignore[arg-type]
        )
