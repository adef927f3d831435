"""Keyset paging tokens and LIKE escaping for run listings.

A page token is the base64 of the last row's sort key (start_time, id) and the order it was
made for: the next page is ``WHERE (start_time, id) < key``, which an index on
(start_time, id) answers in the same time for page 1 and page 10,000 (OFFSET would not).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from ...errors import InvalidInput
from . import convert


def like_escape(text: str) -> str:
    """``text`` with LIKE wildcards escaped (backslash is the escape character)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


BAD_TOKEN = (
    "The page token is malformed or belongs to another listing; start again from the first page."
)


def pack(*fields: object) -> str:
    """An opaque page token holding ``fields`` (JSON values): unpadded URL-safe base64."""
    raw = json.dumps(list(fields), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unpack(token: str, count: int) -> list[Any]:
    """The ``count`` fields of a token made by :func:`pack`. Raises InvalidInput; callers
    check the fields themselves and raise ``InvalidInput(BAD_TOKEN)`` for a wrong one."""
    try:
        fields = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput(BAD_TOKEN) from None
    if not isinstance(fields, list) or len(fields) != count:
        raise InvalidInput(BAD_TOKEN)
    return fields


def encode_token(order: str, start_time: float, run_id: str) -> str:
    """The page token of a time-ordered listing: the last row's (start_time, id)."""
    return pack(order, start_time, run_id)


def decode_token(token: str, order: str) -> tuple[float, str]:
    """(start_time, id) from a page token of the same order. Raises InvalidInput."""
    token_order, start_time, run_id = unpack(token, 3)
    try:
        if token_order != order or not isinstance(run_id, str):
            raise ValueError
        return float(start_time), convert.check_run_id(run_id)
    except (ValueError, TypeError, InvalidInput):
        raise InvalidInput(BAD_TOKEN) from None
