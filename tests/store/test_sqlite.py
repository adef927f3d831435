"""SQLite specifics: pragmas, write locking, many processes at once, refusing bad files."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from store_workers import open_fresh, run_at_once, write_runs

from jupyter_mm import ids
from jupyter_mm.config import ENV_STORE, MMConfig
from jupyter_mm.entities import Param, Run
from jupyter_mm.errors import InvalidInput, StoreError, StoreVersionError
from jupyter_mm.store import open_store
from jupyter_mm.store.sql.engine import SCHEMA_HEAD


def _raw(db: Path, timeout: float = 0.0) -> sqlite3.Connection:
    """A plain sqlite3 connection that manages its own transactions."""
    return sqlite3.connect(db, timeout=timeout, isolation_level=None)


def _db_file(store) -> Path:
    return Path(store._engine.url.database)


def test_connections_use_wal_foreign_keys_normal_sync_and_busy_timeout(local_location):
    config = MMConfig(busy_timeout=7.5)
    with open_store(local_location, config=config) as store:
        assert _raw(_db_file(store)).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        with store._engine.connect() as conn:
            pragma = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("foreign_keys", "synchronous", "busy_timeout")
            }
        assert pragma == {"foreign_keys": 1, "synchronous": 1, "busy_timeout": 7500}


def test_write_transactions_take_the_write_lock_at_begin(tmp_store):
    other = _raw(_db_file(tmp_store))
    # a read transaction leaves the write lock free ...
    with tmp_store._engine.connect() as conn, conn.begin():
        conn.exec_driver_sql("SELECT count(*) FROM runs").scalar()
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    # ... a write transaction holds it from BEGIN, before its first write statement
    with (
        tmp_store._writer.connect() as conn,
        conn.begin(),
        pytest.raises(sqlite3.OperationalError, match="locked"),
    ):
        other.execute("BEGIN IMMEDIATE")


def test_a_writer_waits_for_the_lock_then_fails_with_a_clear_error(local_location):
    location = local_location
    open_store(location).close()
    with open_store(location, config=MMConfig(busy_timeout=0.3)) as store:
        holder = _raw(Path(location.url[len("sqlite:///") :]))
        holder.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        with pytest.raises(StoreError, match="locked by another process") as caught:
            store.create_run(Run(id=ids.new_id(), start_time=time.time()))
        assert time.monotonic() - started >= 0.25
        assert "\n" not in str(caught.value)
        holder.execute("ROLLBACK")
        store.create_run(Run(id=ids.new_id(), start_time=time.time()))


# -- several processes -----------------------------------------------------------------------


def test_concurrent_writers_from_four_processes(local_location):
    location = local_location
    open_store(location).close()
    outcomes = dict(run_at_once(write_runs, 4, location, 50))
    assert outcomes == {w: "ok" for w in range(4)}
    with open_store(location) as store, store._engine.connect() as conn:
        counts = {
            table: conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
            for table in ("runs", "params", "metrics")
        }
        finished = conn.exec_driver_sql("SELECT count(*) FROM runs WHERE status = 'finished'")
        assert finished.scalar() == 200
        assert store.check_integrity() == []
    assert counts == {"runs": 200, "params": 600, "metrics": 2000}


def test_eight_processes_opening_one_fresh_store_create_it_once(local_location):
    location = local_location
    assert not Path(location.url[len("sqlite:///") :]).exists()
    outcomes = run_at_once(open_fresh, 8, location)
    assert [status for status, _, _ in outcomes] == ["ok"] * 8
    assert {version for _, version, _ in outcomes} == {SCHEMA_HEAD}
    assert sum(upgrades for _, _, upgrades in outcomes) == 1


# -- opening -----------------------------------------------------------------------------------


def test_reopening_an_up_to_date_store_is_cheap_and_skips_alembic(local_location):
    location = local_location
    open_store(location).close()
    # a fresh process, as a kernel on its first tracked cell; imports are paid once per
    # process, so the open itself is timed on the second call
    code = (
        "import sys, time\n"
        "from jupyter_mm.store import open_store\n"
        f"open_store({location.url!r}).close()\n"
        f"s = open_store({location.url!r})\n"
        f"assert s.schema_version() == {SCHEMA_HEAD!r}\n"
        "print('alembic' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    assert out.stdout.split() == ["False"], "an up-to-date store must not load Alembic"


def test_newer_schema_is_refused_and_left_untouched(local_location):
    location = local_location
    with open_store(location) as store:
        db = _db_file(store)
    _raw(db).execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    with pytest.raises(StoreVersionError) as caught:
        open_store(location)
    message = str(caught.value)
    assert "newer jupyter-mm (schema 9999_from_the_future)" in message
    assert "upgrade jupyter-mm" in message
    version = _raw(db).execute("SELECT version_num FROM alembic_version").fetchall()
    assert version == [("9999_from_the_future",)]


def test_a_file_that_is_not_a_database_is_refused_and_kept(local_location):
    location = local_location
    db = Path(location.url[len("sqlite:///") :])
    content = b"these are my notes, not a database\n" * 200
    db.write_bytes(content)
    with pytest.raises(StoreError) as caught:
        open_store(location)
    assert str(db) in str(caught.value)
    assert "not a database" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert db.read_bytes() == content


def test_an_unwritable_directory_is_a_store_error(tmp_path):
    target = tmp_path / "locked"
    target.mkdir()
    target.chmod(0o555)
    url = f"sqlite:///{target / 'sub' / 'mm.db'}"
    code = (
        "from jupyter_mm.store import open_store\n"
        "from jupyter_mm.errors import StoreError\n"
        "try:\n"
        f"    open_store({url!r})\n"
        "except StoreError as exc:\n"
        "    print('StoreError:', exc)\n"
    )
    argv = [sys.executable, "-c", code]
    if os.geteuid() == 0:
        # root ignores permission bits; drop the capabilities that let it
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: cannot make a directory unwritable")
        argv = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *argv]
    out = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("StoreError: Cannot create the store directory")
    assert str(target / "sub") in out.stdout
    assert not (target / "sub").exists()


def test_runs_of_dead_processes_become_crashed_on_open(local_location):
    location = local_location
    dead_pid = int(
        subprocess.run(
            [sys.executable, "-c", "import os; print(os.getpid())"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    host = socket.gethostname()
    with open_store(location) as store:
        dead = store.create_run(
            Run(id=ids.new_id(), start_time=time.time(), host=host, pid=dead_pid)
        )
        mine = store.create_run(
            Run(id=ids.new_id(), start_time=time.time(), host=host, pid=os.getpid())
        )
    with open_store(location) as store:
        assert store.get_run(dead.id).status == "crashed"
        assert store.get_run(mine.id).status == "running"


def test_store_urls_and_resolution(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV_STORE, raising=False)
    monkeypatch.delenv("JUPYTER_MM_ARTIFACTS", raising=False)
    with open_store("sqlite:///rel/mm.db", cwd=tmp_path) as store:
        assert store.url == f"sqlite:///{tmp_path / 'rel' / 'mm.db'}"
        assert store.blobs.root == str(tmp_path / "rel" / "objects")
    monkeypatch.setenv("JUPYTER_MM_ARTIFACTS", "blobs-here")
    with open_store("sqlite:///rel/mm.db", cwd=tmp_path) as store:
        assert store.blobs.root == str(tmp_path / "blobs-here")
    monkeypatch.delenv("JUPYTER_MM_ARTIFACTS")
    with pytest.raises(InvalidInput, match="no jupyter-mm store"):
        open_store("sqlite:///missing/mm.db", cwd=tmp_path, create=False)
    with pytest.raises(InvalidInput, match="in-memory"):
        open_store("sqlite://")
    with pytest.raises(InvalidInput, match="not a database URL"):
        open_store("just some words")
    with pytest.raises(InvalidInput, match="ARTIFACTS"):
        open_store("postgresql://nobody@127.0.0.1:1/none")
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    with open_store(cwd=project / "sub", root_dir=project) as store:
        assert store.url == f"sqlite:///{project / '.jupyter_mm' / 'mm.db'}"
    # found again from below, without creating a second store
    with open_store(cwd=project / "sub", create=False) as store:
        assert store.schema_version() == SCHEMA_HEAD


def test_check_integrity_reports_rows_naming_missing_runs(tmp_store):
    run = tmp_store.create_run(Run(id=ids.new_id(), start_time=time.time()))
    raw = _raw(_db_file(tmp_store))  # foreign keys are off by default in plain sqlite3
    raw.execute("INSERT INTO params (run_id, name, value) VALUES ('01GHOST', 'lr', '1')")
    raw.execute(f"UPDATE runs SET environment_id = 'env-gone' WHERE id = '{run.id}'")
    problems = tmp_store.check_integrity()
    assert any("params" in p and "runs" in p for p in problems), problems
    assert any("environments" in p for p in problems), problems


def test_one_store_shared_by_threads(tmp_store):
    from concurrent.futures import ThreadPoolExecutor

    def record(worker: int) -> None:
        for i in range(20):
            run = tmp_store.create_run(Run(id=ids.new_id(), start_time=time.time()))
            tmp_store.log_batch(run.id, params=[Param("w", str(worker)), Param("i", str(i))])
            tmp_store.search_runs(limit=5)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(record, range(8)))
    assert len(tmp_store.search_runs(limit=1000).runs) == 160
    assert (
        sum(
            len(p)
            for p in tmp_store.params_of(
                r.id for r in tmp_store.search_runs(limit=1000).runs
            ).values()
        )
        == 320
    )


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_uses_its_own_connections(tmp_store):
    first = tmp_store.create_run(Run(id=ids.new_id(), start_time=time.time()))
    with tmp_store._engine.connect() as conn:  # leaves a used connection in the pool
        parent_handle = id(conn.connection.dbapi_connection)
    pid = os.fork()
    if pid == 0:  # the child: as a multiprocessing worker started from a notebook would
        try:
            with tmp_store._engine.connect() as conn:
                if id(conn.connection.dbapi_connection) == parent_handle:
                    os._exit(2)  # reused the parent's SQLite handle
            tmp_store.create_run(Run(id=ids.new_id(), start_time=time.time(), name="child"))
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with tmp_store._engine.connect() as conn:  # the parent keeps its own connection
        assert id(conn.connection.dbapi_connection) == parent_handle
    tmp_store.create_run(Run(id=ids.new_id(), start_time=time.time(), name="parent"))
    names = {r.name for r in tmp_store.search_runs().runs}
    assert names == {None, "child", "parent"}
    assert first.id in {r.id for r in tmp_store.search_runs().runs}
    assert tmp_store.check_integrity() == []
