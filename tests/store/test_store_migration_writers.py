"""Revision 0009 (row writers) on a store that already holds labels and session logs: the old
rows stay readable and name no writer, new ones name theirs, labels are kept per writer,
downgrading keeps the newest label of each request; ``team init-db`` upgrades an older
team store before it applies the policies that name the new columns."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect

from jupyter_mm.config import StoreLocation
from jupyter_mm.service import team_db
from jupyter_mm.store import open_store
from jupyter_mm.store.sql.engine import MIGRATIONS_DIR, SCHEMA_HEAD


def _alembic(connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def location(request: pytest.FixtureRequest, tmp_path) -> StoreLocation:
    if request.param == "sqlite":
        return request.getfixturevalue("local_location")
    url = request.getfixturevalue("postgres_url")
    return StoreLocation(url=url, artifact_root=str(tmp_path / "objects"))


def _at_0008_with_labels(location: StoreLocation) -> None:
    with open_store(location) as store, store._writer.begin() as conn:
        command.downgrade(_alembic(conn), "0008")
        conn.exec_driver_sql(
            "INSERT INTO prediction_labels (request_id, model, label, time) VALUES "
            "('r1', 'fraud', '1', 10.0), ('r2', 'fraud', '0', 11.0)"
        )
        conn.exec_driver_sql(
            "INSERT INTO kernel_sessions (id, start_time, host, pid) VALUES "
            "('SSSSSSSSSSSSSSSSSSSSSSSSSS', 1.0, 'h', 1)"
        )


def test_old_labels_stay_and_new_writers_get_their_own_rows(location) -> None:
    _at_0008_with_labels(location)
    with open_store(location) as store:
        assert store.schema_version() == SCHEMA_HEAD
        with store._engine.connect() as conn:
            key = inspect(conn).get_pk_constraint("prediction_labels")["constrained_columns"]
            session_writer = conn.exec_driver_sql("SELECT writer FROM kernel_sessions").scalar()
        assert key == ["request_id", "writer"]
        assert session_writer is None
        assert store.labels_by_writer_since(0.0) == {"": {"r1": "1", "r2": "0"}}
        # this store's writer labels r1 again: a row of its own, and the newest label wins
        store.log_labels([("r1", "0")], 20.0, model="fraud")
        by_writer = store.labels_by_writer_since(0.0, model="fraud")
        (writer,) = set(by_writer) - {""}
        assert writer  # the login role (PostgreSQL) or the OS user (SQLite)
        assert by_writer[writer] == {"r1": "0"}
        assert store.labels_since(0.0) == {"r1": "0", "r2": "0"}
        assert store.labels_for(["r1", "r2"], writers=[""]) == {"r1": "1", "r2": "0"}
        assert store.labels_for(["r1", "r2"], writers=[writer]) == {"r1": "0"}
        # a label given again by the same writer replaces that writer's own
        store.log_labels([("r1", "1")], 30.0, model="fraud")
        assert store.labels_by_writer_since(0.0)[writer] == {"r1": "1"}


def test_downgrade_keeps_the_newest_label_of_each_request(location) -> None:
    _at_0008_with_labels(location)
    with open_store(location) as store:
        store.log_labels([("r1", "0")], 20.0, model="fraud")
        with store._writer.begin() as conn:
            command.downgrade(_alembic(conn), "0008")
        with store._engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT request_id, label FROM prediction_labels ORDER BY request_id"
            ).all()
        assert [tuple(r) for r in rows] == [("r1", "0"), ("r2", "0")]


def test_trust_base_is_the_tables_owner_on_postgresql_and_none_on_sqlite(location) -> None:
    with open_store(location) as store:
        base = store.writer_trust_base()
        if location.url.startswith("sqlite"):
            assert base is None
        else:
            assert base == "postgres"  # the suite's cluster admin created the tables


@pytest.mark.postgres
def test_init_db_upgrades_an_older_team_store_then_applies_its_policies(
    postgres_url, tmp_path
) -> None:
    location = StoreLocation(url=postgres_url, artifact_root=str(tmp_path / "objects"))
    _at_0008_with_labels(location)
    team_db.apply(postgres_url, team_db.policy_statements())
    with open_store(location) as store:
        assert store.schema_version() == SCHEMA_HEAD
        with store._engine.connect() as conn:
            policies = conn.exec_driver_sql(
                "SELECT tablename, policyname FROM pg_policies WHERE tablename IN "
                "('prediction_labels', 'session_executions') ORDER BY 1, 2"
            ).all()
        assert [tuple(p) for p in policies] == [
            (table, policy)
            for table in ("prediction_labels", "session_executions")
            for policy in ("mm_own_delete", "mm_own_insert", "mm_own_update", "mm_read")
        ]
        assert store.labels_since(0.0) == {"r1": "1", "r2": "0"}
