"""A per-user SQLite cache of file digests keyed by stat tuples.

A file's digest is remembered under (path, device, inode, size, mtime_ns); a directory's
under a fingerprint (digest of all its files' relative paths and stat tuples). Several
kernels share the file: WAL mode, short busy timeout, every statement in autocommit.

The cache is an optimisation only, so it is never fatal: when the file cannot be opened,
is corrupt or is locked for longer than the busy timeout, the operation behaves as a miss
(or the write is dropped) and, for corruption, the cache switches itself off for the rest
of the process. ``problem`` then says why.

"Racy git": a file modified within ``RACY_SECONDS`` of hashing may be modified again within
the same mtime tick after we read it, so its stat tuple would not change although its
content did. Such files (and directories holding one) are hashed but never cached.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterable

#: (absolute path, st_dev, st_ino, st_size, st_mtime_ns)
StatKey = tuple[str, int, int, int, int]

RACY_SECONDS = 2.0
_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, dev INTEGER, ino INTEGER, size INTEGER, mtime_ns INTEGER,
    digest TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dirs (
    path TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, digest TEXT NOT NULL
) WITHOUT ROWID;
"""


def default_cache_path() -> str:
    """``$XDG_CACHE_HOME/jupyter_mm/statcache.sqlite`` (default ``~/.cache/…``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "jupyter_mm", "statcache.sqlite")


def _is_racy(mtime_ns: int) -> bool:
    return mtime_ns >= time.time_ns() - int(RACY_SECONDS * 1e9)


def storable_text(path: str) -> bool:
    """False for a path holding an undecodable (surrogate-escaped) name, which UTF-8 text
    columns (SQLite, PostgreSQL) cannot store: the stat cache hashes such files every time
    instead of failing."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class StatCache:
    """Digest cache; ``StatCache()`` uses :func:`default_cache_path`."""

    def __init__(self, path: str | os.PathLike[str] | None = None, timeout: float = 0.5):
        self.path = os.fspath(path) if path is not None else default_cache_path()
        self.timeout = timeout
        #: why the cache is switched off (None while it works)
        self.problem: str | None = None
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    # -- connection ------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection | None:
        if self._conn is not None or self.problem is not None:
            return self._conn
        try:
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version != _SCHEMA_VERSION:
                    # Empty file or an older layout: (re)create. Old rows are only a cache.
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.executescript(
                        "DROP TABLE IF EXISTS files; DROP TABLE IF EXISTS dirs;" + _SCHEMA
                    )
                    conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
                conn.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.Error:
                conn.close()
                raise
        except (OSError, sqlite3.Error) as exc:
            self.problem = f"stat cache {self.path} is unusable ({exc}); hashing without it"
            return None
        self._conn = conn
        return conn

    def _run(self, sql: str, params: Iterable[object] = ()) -> list[tuple[object, ...]] | None:
        with self._lock:
            conn = self._connect()
            if conn is None:
                return None
            try:
                return conn.execute(sql, tuple(params)).fetchall()
            except UnicodeEncodeError:
                return None  # an undecodable file name (see storable_text): a miss
            except sqlite3.OperationalError:
                return None  # locked or read-only: a miss / dropped write
            except sqlite3.Error as exc:  # corrupt: stop using the cache
                self._disable(exc)
                return None

    def _disable(self, exc: Exception) -> None:
        self.problem = f"stat cache {self.path} is unusable ({exc}); hashing without it"
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
            self._conn = None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- files -----------------------------------------------------------------------------

    def get_file(self, key: StatKey) -> str | None:
        """The digest stored for exactly this stat tuple, else None."""
        rows = self._run(
            "SELECT digest FROM files WHERE path=? AND dev=? AND ino=? AND size=? AND mtime_ns=?",
            key,
        )
        return str(rows[0][0]) if rows else None

    def put_file(self, key: StatKey, digest: str) -> None:
        self.put_files([(key, digest)])

    def put_files(self, items: Iterable[tuple[StatKey, str]]) -> None:
        """Remember digests (one transaction); racy files are skipped."""
        rows = [
            (*key, digest)
            for key, digest in items
            if not _is_racy(key[4]) and storable_text(key[0])
        ]
        if not rows:
            return
        with self._lock:
            conn = self._connect()
            if conn is None:
                return
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany("INSERT OR REPLACE INTO files VALUES (?,?,?,?,?,?)", rows)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError:
                pass
            except sqlite3.Error as exc:
                self._disable(exc)

    def get_files_under(self, directory: str) -> dict[StatKey, str]:
        """Every cached file below ``directory`` (one range query), by stat tuple."""
        prefix = directory.rstrip(os.sep) + os.sep
        # Paths below prefix sort between prefix and prefix with its last char bumped.
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        rows = self._run(
            "SELECT path, dev, ino, size, mtime_ns, digest FROM files WHERE path >= ? AND path < ?",
            (prefix, upper),
        )
        return {
            # SQLite hands back the column types the table was written with
            (str(p), int(d), int(i), int(s), int(m)): str(g)  # type: ignore[call-overload]
            for p, d, i, s, m, g in rows or ()
        }

    # -- directories -------------------------------------------------------------------------

    def get_directory(self, path: str, fingerprint: str) -> str | None:
        rows = self._run(
            "SELECT digest FROM dirs WHERE path=? AND fingerprint=?", (path, fingerprint)
        )
        return str(rows[0][0]) if rows else None

    def put_directory(self, path: str, fingerprint: str, digest: str, newest_mtime_ns: int) -> None:
        """Remember a directory digest unless one of its files is racy (``newest_mtime_ns``)."""
        if _is_racy(newest_mtime_ns):
            return
        self._run("INSERT OR REPLACE INTO dirs VALUES (?,?,?)", (path, fingerprint, digest))

    def __enter__(self) -> StatCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
