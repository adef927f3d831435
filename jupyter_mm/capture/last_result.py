"""A one-entry memo shared by the capture steps of ``%%track``.

Re-running a tracked cell of a saved, unchanged notebook meets the same notebook file
(same path, mtime and size) every time; its checkpoint and the index the reproducibility
flags are computed from depend on nothing else, so each is computed once and reused while
that key holds.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

Value = TypeVar("Value")


class LastResult(Generic[Value]):
    """The value computed for the most recent key (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: object = None
        self._value: Value | None = None

    def get(self, key: object) -> Value | None:
        """The value stored under ``key``, or None when the last key was another one."""
        with self._lock:
            return self._value if self._key is not None and key == self._key else None

    def put(self, key: object, value: Value) -> None:
        with self._lock:
            self._key, self._value = key, value
