"""Lazy, shared access to the store from the Jupyter server.

The server must start even when the store is broken, missing or not yet written by any
kernel: opening it is deferred to the first request that needs it, and a failure is
reported to that request as a :class:`~jupyter_mm.errors.StoreError` (HTTP 503) instead
of stopping the server. A failed open is retried on the next request, so fixing the
store (or upgrading jupyter-mm) does not need a server restart.

Reads never create a store: until a kernel (or a registry write) has created one, a read
finds no store (:meth:`StoreProvider.get_existing` returns None) and the listings answer
their empty state. Only a write opens the store with ``create``.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from ..config import MMConfig, existing_store, load_mm_config
from ..errors import MMError, StoreError

if TYPE_CHECKING:
    from traitlets.config import Config

    from ..store.abstract import AbstractStore


def display_url(url: str) -> str:
    """``url`` without user, password or query string, safe to show to any client.

    The store's own ``url`` already drops credentials; this is the second line of defence
    for a URL that reaches a browser, where a leaked password cannot be taken back.
    (Hand-rolled rather than ``urllib.parse``: ``urlunsplit`` turns ``sqlite:///x`` into
    ``sqlite:/x`` because it does not know the scheme.)
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url.split("?", 1)[0]
    rest = rest.split("?", 1)[0]
    if "@" in rest and not rest.startswith("/"):
        # the user part ends at the last "@": a password may hold "/" (random keys do)
        rest = rest.rpartition("@")[2]
    return f"{scheme}://{rest}"


class StoreProvider:
    """Opens the store once, on first use, and hands the same instance to every handler.

    Store instances are thread-safe (see the store contract), so handlers may use the one
    returned here from executor threads.
    """

    def __init__(self, server_config: Config, root_dir: str, log: logging.Logger) -> None:
        self._server_config = server_config
        self._log = log
        self._root_dir = root_dir
        self._store: AbstractStore | None = None
        self._lock = threading.Lock()

    @property
    def root_dir(self) -> str:
        """The server's root directory (the frontend's paths are relative to it)."""
        return self._root_dir

    def get(self) -> AbstractStore:
        """The open store. Raises StoreError (or another MMError) when it cannot be opened."""
        if self._store is not None:
            return self._store
        with self._lock:
            if self._store is None:
                self._store = self._open()
            return self._store

    def get_existing(self) -> AbstractStore | None:
        """The open store, or None when there is no store yet (nothing is created). Raises
        StoreError when a store is there but cannot be opened (not a database, no
        permission, written by a newer jupyter-mm…)."""
        if self._store is not None:
            return self._store
        with self._lock:
            if self._store is None:
                _, exists = existing_store(
                    self._config(), cwd=self._root_dir, root_dir=self._root_dir
                )
                if not exists:
                    return None
                self._store = self._open()
            return self._store

    def store_url(self) -> str:
        """Where the store is, or will be once something is recorded (nothing is created)."""
        location, _ = existing_store(self._config(), cwd=self._root_dir, root_dir=self._root_dir)
        return location.url

    def _config(self) -> MMConfig:
        try:
            return load_mm_config(self._server_config)
        except MMError as exc:  # an unreadable jupyter_mm_config file: the operator's to fix
            raise StoreError(f"The jupyter-mm configuration cannot be loaded: {exc}") from None

    def _open(self) -> AbstractStore:
        try:
            from ..store import open_store
        except ImportError as exc:
            self._log.exception("jupyter-mm: the store backend cannot be imported")
            raise StoreError(
                "The jupyter-mm store backend is not available in this installation; "
                "reinstall jupyter-mm."
            ) from exc
        config = self._config()
        try:
            # cwd=root_dir: the server finds the store the way a kernel started in the
            # server's root directory would, and creates a new one there if none exists.
            return open_store(config=config, cwd=self._root_dir, root_dir=self._root_dir)
        except MMError:
            raise
        except Exception as exc:
            # Anything else (a driver error, a permission problem) may carry hosts, paths or
            # worse in its text: the details go to the server log, the client gets one line.
            self._log.exception("jupyter-mm: opening the store failed")
            raise StoreError(
                "The jupyter-mm store could not be opened; the Jupyter server log has the details."
            ) from exc

    def close(self) -> None:
        """Release the store's connections (server shutdown)."""
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
