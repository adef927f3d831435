"""Engines for SQLite and PostgreSQL, and schema setup with Alembic.

SQLite is tuned for several processes on one machine (kernels, the server, the CLI):

* WAL, so readers never block the writer and the writer never blocks readers;
* ``synchronous=NORMAL`` (durable at checkpoints, never corrupt; the WAL default);
* foreign keys on (off by default in SQLite);
* a busy timeout, so a writer waits for the lock instead of failing;
* write transactions start with ``BEGIN IMMEDIATE``. A deferred transaction that reads and
  then writes must upgrade its lock, and two such transactions deadlock: SQLite then fails
  one with "database is locked" at once, without waiting for the busy timeout. Taking the
  write lock up front makes writers queue instead. pysqlite's own implicit BEGIN is turned
  off and our BEGIN is emitted from SQLAlchemy's ``begin`` event (the documented recipe).

Opening an up-to-date store costs one query (the Alembic revision); Alembic itself is only
imported when the schema must be created or upgraded, which happens once, under a lock
(a ``filelock`` next to a SQLite file, ``pg_advisory_xact_lock`` on PostgreSQL), so many
processes opening one fresh store at the same moment create it exactly once.
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import ArgumentError, DBAPIError

from ...errors import InvalidInput, StoreError, StoreVersionError

#: Alembic revisions this version of jupyter-mm knows, oldest first; the last is the head.
#: ``tests/store/test_migrations.py`` checks this against the scripts in ``migrations/``.
KNOWN_REVISIONS: tuple[str, ...] = (
    "0001",
    "0002",
    "0003",
    "0004",
    "0005",
    "0006",
    "0007",
    "0008",
    "0009",
    "0010",
    "0011",
)
SCHEMA_HEAD = KNOWN_REVISIONS[-1]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

#: Execution option that marks an engine's transactions as writes (``BEGIN IMMEDIATE``).
WRITE_OPTION = "jupyter_mm_write"

#: Key of the PostgreSQL advisory lock serializing schema setup (any fixed 64-bit value).
PG_SCHEMA_LOCK = 0x6A75_7079_6D6D  # "jupymm"

#: How long a process waits for another one to finish creating/upgrading the schema.
SCHEMA_LOCK_TIMEOUT = 300.0


def normalize_url(url: str) -> URL:
    """Parse a store URL; ``postgresql://`` and ``postgres://`` use the psycopg 3 driver."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidInput(
            f"{url!r} is not a database URL (expected sqlite:///path/mm.db or "
            "postgresql://user@host/db)."
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if parsed.drivername != "sqlite":
            parsed = parsed.set(drivername="sqlite")
        if not parsed.database or parsed.database == ":memory:":
            raise InvalidInput(
                "An in-memory SQLite store cannot be shared between processes; give a file "
                "path (sqlite:///path/mm.db)."
            )
    elif parsed.drivername != "postgresql+psycopg":
        raise InvalidInput(
            f"Unsupported store database {parsed.drivername!r}: use sqlite:/// or postgresql://."
        )
    return parsed


def display_url(url: URL) -> str:
    """The URL for messages and ``store.url``: password hidden, driver name as the user wrote."""
    shown = url.set(drivername=url.get_backend_name())
    return shown.render_as_string(hide_password=True)


def sqlite_path(url: URL) -> Path | None:
    """The database file of a SQLite URL, else None."""
    if url.get_backend_name() != "sqlite" or not url.database:
        return None
    return Path(url.database)


def create_store_engine(url: URL, *, busy_timeout: float) -> Engine:
    """An engine for ``url`` with the SQLite settings described in the module docstring."""
    if url.get_backend_name() != "sqlite":
        # pool_pre_ping: a team server outlives database restarts and idle-connection reapers
        engine = create_engine(url, pool_pre_ping=True)
        _forget_pool_after_fork(engine)
        return engine

    engine = create_engine(
        url,
        # the store is shared between threads (server handlers); SQLAlchemy's pool never
        # hands one connection to two threads at once
        connect_args={"timeout": busy_timeout, "check_same_thread": False},
    )
    _forget_pool_after_fork(engine)
    timeout_ms = int(busy_timeout * 1000)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # take transaction control away from pysqlite; the begin hook below issues BEGIN
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # busy_timeout first: switching to WAL needs a lock other openers may hold
            cursor.execute(f"PRAGMA busy_timeout = {timeout_ms}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA synchronous = NORMAL")
            # WAL is a property of the file: only the first opener ever switches it
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        if conn.get_execution_options().get(WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


def _forget_pool_after_fork(engine: Engine) -> None:
    """A forked child (``multiprocessing`` in a notebook) must not reuse its parent's
    connections: two processes on one SQLite handle or PostgreSQL socket corrupt each other.
    The child drops the inherited pool without closing it (the parent still uses it) and
    opens fresh connections on demand."""
    ref = weakref.ref(engine)

    def after_fork_in_child() -> None:
        inherited = ref()
        if inherited is not None:
            inherited.dispose(close=False)

    os.register_at_fork(after_in_child=after_fork_in_child)


def write_engine(engine: Engine) -> Engine:
    """A view of ``engine`` (same pool) whose transactions are write transactions."""
    return engine.execution_options(**{WRITE_OPTION: True})


def _missing_version_table(exc: DBAPIError) -> bool:
    """True when the error says the database has no ``alembic_version`` table (an empty
    database), as opposed to a missing database, refused connection or corrupt file."""
    message = str(exc.orig).lower()
    return "alembic_version" in message and (
        "no such table" in message or "does not exist" in message
    )


def current_revision(engine: Engine) -> str | None:
    """The store's Alembic revision in one query; None when the database has no schema."""
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    except DBAPIError as exc:
        if _missing_version_table(exc):
            return None
        raise
    return rows[0][0] if rows else None


def _revision_in(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    row = conn.exec_driver_sql("SELECT version_num FROM alembic_version").first()
    return row[0] if row else None


def check_known(revision: str | None, where: str) -> None:
    """Refuse a database written by a newer jupyter-mm."""
    if revision is not None and revision not in KNOWN_REVISIONS:
        raise StoreVersionError(
            f"This store ({where}) was written by a newer jupyter-mm (schema {revision}); "
            "upgrade jupyter-mm to use it.",
            server_paths=[where],
        )


def _upgrade(conn: Connection) -> None:
    """Run the packaged Alembic scripts up to head on ``conn`` (inside its transaction)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = conn
    command.upgrade(config, "head")


def _setup_locked(engine: Engine, where: str, create: bool) -> None:
    """With the schema lock held: re-check (another process may have finished meanwhile)
    and create or upgrade in one transaction."""
    with write_engine(engine).connect() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_SCHEMA_LOCK})
        revision = _revision_in(conn)
        check_known(revision, where)
        if revision == SCHEMA_HEAD:
            return
        if revision is None and not create:
            raise InvalidInput(f"There is no jupyter-mm store at {where}.", server_paths=[where])
        _upgrade(conn)


def ensure_schema(engine: Engine, where: str, *, create: bool = True) -> None:
    """Make sure the database is at ``SCHEMA_HEAD``: cheap when it is, otherwise create or
    upgrade it once under a cross-process lock. Raises StoreVersionError for a newer store."""
    revision = current_revision(engine)
    check_known(revision, where)
    if revision == SCHEMA_HEAD:
        return
    if revision is None and not create:
        raise InvalidInput(f"There is no jupyter-mm store at {where}.", server_paths=[where])
    db_file = sqlite_path(engine.url)
    if db_file is None:
        _setup_locked(engine, where, create)
        return

    from filelock import FileLock, Timeout

    lock = FileLock(f"{db_file}.lock", timeout=SCHEMA_LOCK_TIMEOUT)
    try:
        with lock:
            _setup_locked(engine, where, create)
    except Timeout:
        raise StoreError(
            f"Timed out waiting for another process to set up the store at {where}.",
            server_paths=[where],
        ) from None
    except OSError as exc:
        raise StoreError(
            f"Cannot lock the store at {where}: {exc.strerror or exc}.", server_paths=[where]
        ) from None


def prepare_sqlite_file(path: Path, *, create: bool) -> None:
    """Check a SQLite store file can be opened before SQLite reports it less clearly."""
    where = str(path)
    if path.is_dir():
        raise StoreError(
            f"The store database {where} is a directory, not a file.", server_paths=[where]
        )
    if path.exists():
        return
    if not create:
        raise InvalidInput(f"There is no jupyter-mm store at {where}.", server_paths=[where])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"Cannot create the store directory {path.parent}: {exc.strerror or exc}.",
            server_paths=[path.parent],
        ) from None
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise StoreError(
            f"Cannot create the store at {where}: the directory is not writable.",
            server_paths=[where],
        )
