"""Alembic: the packaged scripts, the models and the fast revision check agree."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import insert, inspect, select

from jupyter_mm import ids
from jupyter_mm.config import StoreLocation
from jupyter_mm.entities import ExecutionEntry, Metric, MetricOrder, Run, SessionLogAppend
from jupyter_mm.errors import InvalidInput
from jupyter_mm.store import open_store
from jupyter_mm.store.sql import convert
from jupyter_mm.store.sql.engine import KNOWN_REVISIONS, MIGRATIONS_DIR, SCHEMA_HEAD
from jupyter_mm.store.sql.models import LATEST_METRICS, METADATA, METRICS, RUNS


def _alembic_config(connection=None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def test_known_revisions_match_the_packaged_scripts():
    scripts = ScriptDirectory.from_config(_alembic_config())
    assert scripts.get_heads() == [SCHEMA_HEAD]
    oldest_first = [s.revision for s in scripts.walk_revisions()][::-1]
    assert tuple(oldest_first) == KNOWN_REVISIONS


def test_migrated_schema_matches_the_models(store):
    with store._engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), METADATA)
    assert differences == []


def test_downgrade_to_empty_then_reopen_recreates_the_schema(local_location):
    location = local_location
    with open_store(location) as store:
        with store._writer.begin() as conn:
            command.downgrade(_alembic_config(conn), "base")
        with store._engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) == {"alembic_version"}
    with open_store(location) as store:
        assert store.schema_version() == SCHEMA_HEAD
        assert store.check_integrity() == []


def test_an_empty_database_is_not_created_when_create_is_false(local_location, tmp_path):
    location = local_location
    db = tmp_path / ".jupyter_mm" / "mm.db"
    db.touch()  # an empty file is a valid, empty SQLite database
    with pytest.raises(InvalidInput, match="no jupyter-mm store"):
        open_store(location, create=False)
    with open_store(location) as store:
        assert store.schema_version() == SCHEMA_HEAD


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_location(request: pytest.FixtureRequest, tmp_path) -> StoreLocation:
    if request.param == "sqlite":
        return request.getfixturevalue("local_location")
    url = request.getfixturevalue("postgres_url")
    return StoreLocation(url=url, artifact_root=str(tmp_path / "objects"))


def _row_before_0003(run: Run) -> dict:
    """A runs row as jupyter-mm wrote it before revision 0003: the log inline (0004 moved it
    to the session), no process start time (0003), no outputs (0004)."""
    values = convert.run_values(run)
    del values["outputs_digest"]
    del values["process_start_time"]
    return values


def test_a_0002_store_keeps_its_inline_logs_and_new_runs_reference_their_session(any_location):
    with open_store(any_location) as store:
        with store._writer.begin() as conn:
            command.downgrade(_alembic_config(conn), "0002")
        old = Run(
            id=ids.new_id(),
            start_time=1000.0,
            execution_log=[ExecutionEntry(1, "a", "h1"), ExecutionEntry(2, None, "h2")],
        )
        with store._writer.begin() as conn:
            conn.execute(insert(RUNS), [_row_before_0003(old)])
    with open_store(any_location) as store:
        assert store.schema_version() == SCHEMA_HEAD
        assert store.get_run(old.id).execution_log == old.execution_log
        log = [ExecutionEntry(1, "a", "h1"), ExecutionEntry(2, "b", "h2")]
        new = store.create_run(
            Run(id=ids.new_id(), start_time=2000.0),
            session_log=SessionLogAppend("S" * 26, 2, 0, log, start_time=1.0),
        )
        assert store.get_run(new.id).execution_log == log
        assert store.get_run_detail(new.id).run.execution_log == log
        assert store.check_integrity() == []


def test_a_0001_store_with_metrics_is_upgraded_and_latest_metrics_backfilled(any_location):
    # A store as jupyter-mm left it at revision 0001: runs and metric points, no
    # latest_metrics. Opening it must upgrade it (the fast path only skips a store at head).
    with open_store(any_location) as store:
        with store._writer.begin() as conn:
            command.downgrade(_alembic_config(conn), "0001")
        with store._engine.connect() as conn:
            assert "latest_metrics" not in inspect(conn).get_table_names()
            assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == (
                "0001"
            )
        run_ids = [ids.new_id() for _ in range(3)]
        points = [
            # step 5 is the latest even though logged with an older timestamp
            (run_ids[0], "acc", 5, 10.0, 0.7),
            (run_ids[0], "acc", 2, 99.0, 0.99),
            # a tie on the highest step: the later timestamp wins
            (run_ids[0], "loss", 3, 1.0, 0.5),
            (run_ids[0], "loss", 3, 2.0, 0.4),
            (run_ids[1], "acc", 0, 1.0, None),  # NaN is stored as NULL
            (run_ids[1], "acc", -1, 2.0, 0.8),
            (run_ids[2], "acc", 7, 1.0, 0.9),
        ]
        with store._writer.begin() as conn:
            conn.execute(
                insert(RUNS),
                [
                    _row_before_0003(Run(id=run_id, start_time=1000.0 + i))
                    for i, run_id in enumerate(run_ids)
                ],
            )
            conn.execute(
                insert(METRICS),
                [
                    {"run_id": r, "name": n, "step": s, "timestamp": t, "value": v}
                    for r, n, s, t, v in points
                ],
            )
    with open_store(any_location) as store:
        assert store.schema_version() == SCHEMA_HEAD
        assert store.check_integrity() == []
        with store._engine.connect() as conn:
            rows = conn.execute(select(LATEST_METRICS).order_by("run_id", "name")).all()
        assert [tuple(r) for r in rows] == sorted(
            [
                (run_ids[0], "acc", 5, 10.0, 0.7),
                (run_ids[0], "loss", 3, 2.0, 0.4),
                (run_ids[1], "acc", 0, 1.0, None),
                (run_ids[2], "acc", 7, 1.0, 0.9),
            ]
        )
        ranked = store.search_runs(order=MetricOrder("acc"))
        assert [r.id for r in ranked.runs] == [run_ids[2], run_ids[0]]
        # and the upgraded table is maintained from now on
        store.log_batch(run_ids[1], metrics=[Metric("acc", 0.95, 1, 3.0)])
        assert [r.id for r in store.search_runs(order=MetricOrder("acc")).runs] == [
            run_ids[1],
            run_ids[2],
            run_ids[0],
        ]
