"""Issue #6 b: 32 processes open one store that does not exist yet at the same moment
(spawned, released together by a barrier). None may fail and the schema is created once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest
from store_workers import open_fresh, run_at_once

from jupyter_mm.config import StoreLocation
from jupyter_mm.store.sql.engine import SCHEMA_HEAD

PROCESSES = 32


def check_outcomes(outcomes: list) -> None:
    failures = [status for status, _, _ in outcomes if status != "ok"]
    assert failures == [], f"{len(failures)} of {PROCESSES} processes failed: {failures[:3]}"
    assert {version for _, version, _ in outcomes} == {SCHEMA_HEAD}
    assert sum(upgrades for _, _, upgrades in outcomes) == 1, "schema created more than once"


def test_32_processes_open_one_fresh_sqlite_store(local_location: StoreLocation) -> None:
    db_file = Path(local_location.url[len("sqlite:///") :])
    assert not db_file.exists()
    check_outcomes(run_at_once(open_fresh, PROCESSES, local_location))
    with sqlite3.connect(db_file) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (SCHEMA_HEAD,)
        ]


# ~20 s on 2 cores: CI runs the 8-process PostgreSQL variant in tests/store instead
@pytest.mark.slow
@pytest.mark.postgres
def test_32_processes_open_one_fresh_postgres_database(postgres_url: str, tmp_path: Path) -> None:
    location = StoreLocation(url=postgres_url, artifact_root=str(tmp_path / "objects"))
    check_outcomes(run_at_once(open_fresh, PROCESSES, location))
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    assert rows == [(SCHEMA_HEAD,)]
