"""PostgreSQL specifics: schema setup under an advisory lock, team-style URLs, refusals."""

from __future__ import annotations

import socket

import psycopg
import pytest
from store_workers import open_fresh, run_at_once, write_runs

from jupyter_mm.config import ENV_ARTIFACTS, ENV_STORE, StoreLocation
from jupyter_mm.entities import Run
from jupyter_mm.errors import StoreError, StoreVersionError
from jupyter_mm.store import open_store
from jupyter_mm.store.sql.engine import SCHEMA_HEAD

pytestmark = pytest.mark.postgres


def _location(url: str, tmp_path) -> StoreLocation:
    return StoreLocation(url=url, artifact_root=str(tmp_path / "objects"))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_eight_processes_opening_one_fresh_database_create_it_once(postgres_url, tmp_path):
    outcomes = run_at_once(open_fresh, 8, _location(postgres_url, tmp_path))
    assert [status for status, _, _ in outcomes] == ["ok"] * 8
    assert {version for _, version, _ in outcomes} == {SCHEMA_HEAD}
    assert sum(upgrades for _, _, upgrades in outcomes) == 1


def test_concurrent_writers(postgres_url, tmp_path):
    location = _location(postgres_url, tmp_path)
    open_store(location).close()
    outcomes = dict(run_at_once(write_runs, 4, location, 25))
    assert outcomes == {w: "ok" for w in range(4)}
    with psycopg.connect(postgres_url) as conn:
        counts = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("runs", "params", "metrics")
        }
    assert counts == {"runs": 100, "params": 300, "metrics": 1000}


def test_url_from_the_environment_hides_the_password(postgres_url, tmp_path, monkeypatch):
    # the test cluster trusts local connections, so any password is accepted
    url = postgres_url.replace("postgres@", "postgres:s3cret-pw@")
    monkeypatch.setenv(ENV_STORE, url)
    monkeypatch.setenv(ENV_ARTIFACTS, str(tmp_path / "objects"))
    with open_store(cwd=tmp_path) as store:
        assert "s3cret-pw" not in store.url
        assert store.url.startswith("postgresql://postgres:***@127.0.0.1:")
        run = store.create_run(Run(id="01JTEAMRUN0000000000000000", start_time=1.0))
        assert store.resolve_run("01jteam") == run


def test_newer_schema_is_refused(postgres_url, tmp_path):
    location = _location(postgres_url, tmp_path)
    open_store(location).close()
    with psycopg.connect(postgres_url) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0999'")
    with pytest.raises(StoreVersionError, match=r"newer jupyter-mm \(schema 0999\)"):
        open_store(location)


def test_an_unreachable_server_is_a_one_line_store_error(tmp_path):
    url = f"postgresql://bob:hunter2@127.0.0.1:{_closed_port()}/mm"
    with pytest.raises(StoreError) as caught:
        open_store(_location(url, tmp_path))
    message = str(caught.value)
    assert message.startswith("Cannot open the jupyter-mm store at postgresql://bob:***@127.0.0.1")
    assert "hunter2" not in message
    assert "\n" not in message


def test_check_integrity_reports_dangling_rows(postgres_url, tmp_path):
    with open_store(_location(postgres_url, tmp_path)) as store:
        assert store.check_integrity() == []
        with psycopg.connect(postgres_url) as conn:
            # a superuser can switch off foreign-key triggers, as a bad restore would
            conn.execute("SET session_replication_role = replica")
            conn.execute(
                "INSERT INTO metrics (run_id, name, step, timestamp, value) "
                "VALUES ('01GHOST', 'loss', 0, 0, 1)"
            )
        problems = store.check_integrity()
    assert problems == ["1 row(s) of metrics name a missing runs row (run_id)."]


def test_a_missing_database_is_a_store_error(postgres_server, tmp_path):
    url = postgres_server.url("mm_no_such_database")
    with pytest.raises(StoreError, match='database "mm_no_such_database" does not exist'):
        open_store(_location(url, tmp_path))
