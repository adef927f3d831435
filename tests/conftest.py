"""Fixtures shared by the whole suite: real stores on SQLite and on a real PostgreSQL 15.

The PostgreSQL cluster is a throwaway one started once per session (``initdb`` + ``pg_ctl``,
about a second) and each test gets a fresh database in it. When the binaries are missing
the PostgreSQL tests are skipped on a developer machine but fail in CI (``CI`` set), so a
broken CI image can never silently drop the team backend from the suite.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# the shared store (PostgreSQL + S3) fixtures: s3_server, team_store (see that module)
from mm_test_support import free_port, unavailable
from team_fixtures import s3_server, team_store  # noqa: F401

from jupyter_mm.config import DB_FILE, OBJECTS_DIR, STORE_DIR_NAME, StoreLocation, ensure_store_dir

PG_BIN = Path(os.environ.get("JUPYTER_MM_PG_BIN", "/usr/lib/postgresql/15/bin"))


@dataclass(frozen=True)
class PostgresServer:
    """A running throwaway PostgreSQL cluster."""

    host: str
    port: int
    user: str

    def url(self, database: str) -> str:
        """The connection URL of ``database`` on this server."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        """Run one statement outside a transaction in the maintenance database."""
        import psycopg

        with psycopg.connect(
            host=self.host, port=self.port, user=self.user, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(sql)


def _as_postgres(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root; as root, run its tools as the postgres user."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL 15 cluster for the session (fsync off: the data is thrown away)."""
    initdb, pg_ctl = PG_BIN / "initdb", PG_BIN / "pg_ctl"
    if not (initdb.exists() and pg_ctl.exists()):
        reason = f"PostgreSQL binaries not found in {PG_BIN} (set JUPYTER_MM_PG_BIN)"
        unavailable(reason, ci_must="test the PostgreSQL backend")
    # not under pytest's tmp dir: that is private to root and the server runs as postgres
    base = Path(tempfile.mkdtemp(prefix="jupyter-mm-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    data = base / "data"
    port = free_port()
    run = {"check": True, "capture_output": True, "text": True, "timeout": 120}
    try:
        subprocess.run(
            _as_postgres([str(initdb), "-D", str(data), "-A", "trust", "-U", "postgres"]), **run
        )
        options = (
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        start = [str(pg_ctl), "-D", str(data), "-l", str(base / "log"), "-w", "-o", options]
        subprocess.run(_as_postgres([*start, "start"]), **run)
    except subprocess.CalledProcessError as exc:
        log = (base / "log").read_text() if (base / "log").exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"Could not start PostgreSQL: {exc.stderr}\n{log}")
    try:
        yield PostgresServer(host="127.0.0.1", port=port, user="postgres")
    finally:
        subprocess.run(
            _as_postgres([str(pg_ctl), "-D", str(data), "-m", "immediate", "-w", "stop"]),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """The URL of a fresh, empty database, dropped after the test."""
    name = f"mm_test_{secrets.token_hex(6)}"
    postgres_server.admin(f"CREATE DATABASE {name}")
    try:
        yield postgres_server.url(name)
    finally:
        postgres_server.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def sqlite_location(base: Path) -> StoreLocation:
    """A local store location (``.jupyter_mm/`` with ``mm.db`` and ``objects/``) in ``base``."""
    directory = ensure_store_dir(base / STORE_DIR_NAME)
    return StoreLocation(
        url=f"sqlite:///{directory / DB_FILE}",
        artifact_root=str(directory / OBJECTS_DIR),
        directory=directory,
    )


@pytest.fixture
def local_location(tmp_path: Path) -> StoreLocation:
    """Where a fresh local store goes: ``tmp_path/.jupyter_mm`` (not opened yet)."""
    return sqlite_location(tmp_path)


@pytest.fixture
def tmp_store(tmp_path: Path) -> Iterator[object]:
    """A fresh SQLite store in ``tmp_path/.jupyter_mm``."""
    from jupyter_mm.store import open_store

    store = open_store(sqlite_location(tmp_path))
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    """A fresh store on each backend; PostgreSQL blobs live in a local directory too."""
    from jupyter_mm.store import open_store

    if request.param == "sqlite":
        location = sqlite_location(tmp_path)
    else:
        url = request.getfixturevalue("postgres_url")
        location = StoreLocation(url=url, artifact_root=str(tmp_path / "objects"))
    opened = open_store(location)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def mm_shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """The suite's one global IPython test shell with ``%load_ext jupyter_mm``, recording
    into a fresh SQLite store in ``tmp_path`` (the working directory; no notebook)."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.testing.globalipapp import start_ipython

    from jupyter_mm import tracking

    monkeypatch.setenv("JUPYTER_MM_STORE", f"sqlite:///{tmp_path / 'mm.db'}")
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.chdir(tmp_path)
    tracking.set_default_store(None)
    # a plain InteractiveShell made first would make every later start_ipython fail
    start_ipython()  # returns None once started
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "jupyter_mm")
    yield ip
    tracking.set_default_store(None)
