"""The store: where runs, their records and blobs live.

``open_store()`` is the one way in for the kernel, the server and the CLI. It finds the store
(``docs/architecture.md#configuration-and-store-resolution``), opens the database (SQLite
or PostgreSQL) with its blob backend, creates or upgrades the schema when needed, refuses a
store written by a newer jupyter-mm, and marks runs of dead processes on this host as
crashed.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import (
    ENV_ARTIFACTS,
    OBJECTS_DIR,
    MMConfig,
    StoreLocation,
    load_mm_config,
    resolve_store,
)
from ..errors import InvalidInput, MMError, StoreError
from .abstract import AbstractStore
from .blobs import BlobStore

if TYPE_CHECKING:
    from sqlalchemy import URL

__all__ = ["AbstractStore", "BlobStore", "open_blobs", "open_store", "pid_alive"]


def pid_alive(pid: int, start_time: str | None = None) -> bool:
    """True when the process ``pid`` runs on this machine, is not a zombie and, when its
    recorded ``start_time`` is given, is still the process that started then (pids are
    reused). See :mod:`.processes`."""
    from .processes import process_alive

    return process_alive(pid, start_time)


def open_blobs(artifact_root: str, storage_options: dict[str, Any] | None = None) -> BlobStore:
    """The blob backend for an artifact root: a local path (or ``file://`` URL without a
    scheme) gives a LocalBlobStore, any other fsspec URL an FsspecBlobStore opened with
    ``storage_options`` (``c.MMConfig.artifact_storage_options``; credentials come from the
    filesystem's own sources, e.g. the AWS variables and profiles for ``s3://``)."""
    if "://" not in artifact_root:
        from .local_blobs import LocalBlobStore

        return LocalBlobStore(artifact_root)
    from .fsspec_blobs import FsspecBlobStore

    return FsspecBlobStore(artifact_root, **(storage_options or {}))


def _location_for_url(
    url: str, config: MMConfig, cwd: str | os.PathLike[str] | None
) -> StoreLocation:
    """A location for an explicit database URL: blobs as configured, else ``objects/`` next
    to a SQLite file (required otherwise)."""
    from .sql.engine import normalize_url, sqlite_path

    parsed = normalize_url(url)
    artifacts = os.environ.get(ENV_ARTIFACTS) or config.artifact_root
    db_file = sqlite_path(parsed)
    if db_file is not None:
        db_file = Path(cwd or os.getcwd(), db_file).resolve()
        url = f"sqlite:///{db_file}"
        artifacts = artifacts or str(db_file.parent / OBJECTS_DIR)
    elif not artifacts:
        raise InvalidInput(
            f"{ENV_ARTIFACTS} (or c.MMConfig.artifact_root) must be set when the store is not "
            "SQLite."
        )
    return StoreLocation(url=url, artifact_root=artifacts)


def _absolute_sqlite(parsed: URL, cwd: str | os.PathLike[str] | None) -> URL:
    from .sql.engine import sqlite_path

    db_file = sqlite_path(parsed)
    if db_file is None or db_file.is_absolute():
        return parsed
    return parsed.set(database=str(Path(cwd or os.getcwd(), db_file).resolve()))


_READ_ONLY = "it is read-only (SQLite must be able to write the file and its directory)"


def _writable(db_file: Path) -> bool:
    return os.access(db_file, os.W_OK) and os.access(db_file.parent, os.W_OK | os.X_OK)


def open_store(
    location: StoreLocation | str | None = None,
    *,
    config: MMConfig | None = None,
    cwd: str | os.PathLike[str] | None = None,
    root_dir: str | os.PathLike[str] | None = None,
    create: bool = True,
    for_writing: bool = False,
) -> AbstractStore:
    """Open (creating or upgrading when needed) the store and return it.

    ``location``: a resolved StoreLocation, a database URL (``sqlite:///…`` relative to
    ``cwd``, or ``postgresql://…``), or None to resolve from ``cwd`` / ``root_dir`` and
    ``config`` (``docs/architecture.md#configuration-and-store-resolution``). With
    ``create=False`` a missing store is InvalidInput.
    ``for_writing``: the caller will write (a kernel, ``jupyter mm run``), so a read-only
    SQLite store is refused at once with a StoreError that says so.
    Raises StoreVersionError for a store written by a newer jupyter-mm and StoreError for
    an unusable database or directory.
    """
    config = config or load_mm_config()
    if location is None:
        location = resolve_store(config, cwd=cwd, root_dir=root_dir, create=create)
    elif isinstance(location, str):
        location = _location_for_url(location, config, cwd)
    elif not isinstance(location, StoreLocation):
        raise InvalidInput(f"Expected a store URL or StoreLocation, not {location!r}.")

    from sqlalchemy.exc import DBAPIError

    from .sql.engine import (
        create_store_engine,
        display_url,
        ensure_schema,
        normalize_url,
        prepare_sqlite_file,
        sqlite_path,
    )
    from .sql.store import SqlStore

    parsed = _absolute_sqlite(normalize_url(location.url), cwd)
    shown = display_url(parsed)
    db_file = sqlite_path(parsed)
    where = str(db_file) if db_file is not None else shown
    if db_file is not None:
        prepare_sqlite_file(db_file, create=create)
        if for_writing and db_file.exists() and not _writable(db_file):
            # a writer is told now, in words, not by SQLite at its first write; a reader may
            # still read such a store (SQLite reads a WAL store whose -shm file exists)
            raise StoreError(
                f"Cannot write to the jupyter-mm store at {where}: {_READ_ONLY}.",
                server_paths=[where],
            )
    artifact_root = location.artifact_root
    if "://" not in artifact_root:
        artifact_root = str(Path(cwd or os.getcwd(), artifact_root).resolve())
    blobs = open_blobs(artifact_root, config.artifact_storage_options)
    engine = create_store_engine(parsed, busy_timeout=config.busy_timeout)
    try:
        ensure_schema(engine, where, create=create)
        store = SqlStore(engine, blobs, shown)
        store.mark_crashed(socket.gethostname(), pid_alive)
    except MMError:
        engine.dispose()
        raise
    except DBAPIError as exc:
        engine.dispose()
        reason = (str(exc.orig).strip().splitlines() or ["unknown error"])[0].rstrip(".")
        if db_file is not None and not _writable(db_file):
            # SQLite only says "unable to open database file"
            reason = _READ_ONLY
        raise StoreError(
            f"Cannot open the jupyter-mm store at {where}: {reason}.", server_paths=[where]
        ) from None
    # before this store writes a blob there: gc on a shared root must know it (root_registry)
    from .root_registry import register_store

    register_store(blobs, shown)
    return store
