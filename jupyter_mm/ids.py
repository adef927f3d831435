"""Sortable identifiers.

Run ids are ULIDs (26 Crockford base32 characters): a 48-bit millisecond timestamp followed
by 80 random bits, so lexicographic order is creation order. Within one process ids created
in the same millisecond stay monotonic (the random part is incremented), which keeps
``ORDER BY id`` a stable "newest first" without a separate sequence.
"""

from __future__ import annotations

import os
import threading
import time

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_lock = threading.Lock()
_last_ms = -1
_last_rand = 0


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id() -> str:
    """Return a new ULID string (monotonic within this process)."""
    global _last_ms, _last_rand
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms <= _last_ms:
            now_ms = _last_ms
            _last_rand = (_last_rand + 1) & ((1 << 80) - 1)
        else:
            _last_ms = now_ms
            _last_rand = int.from_bytes(os.urandom(10), "big")
        return _encode(now_ms, 10) + _encode(_last_rand, 16)


def id_timestamp(ulid: str) -> float:
    """Seconds since the epoch encoded in a ULID."""
    value = 0
    for ch in ulid[:10].upper():
        value = value * 32 + _CROCKFORD.index(ch)
    return value / 1000.0


def is_valid_id(text: str) -> bool:
    """True for a full 26-character ULID."""
    return len(text) == 26 and all(c in _CROCKFORD for c in text.upper())
