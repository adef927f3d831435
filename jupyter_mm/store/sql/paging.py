"""Keyset paging tokens and LIKE escaping for run listings.

A page token is the base64 of the last row's sort key (start_time, id) and the order it was
made for: the next page is ``WHERE (start_time, id) < key``, which an index on
(start_time, id) answers in the same time for page 1 and page 10,000 (OFFSET would not).
"""

from __future__ import annotations

import base64
import binascii
import json

from ...errors import InvalidInput
from . import convert


def like_escape(text: str) -> str:
    """``text`` with LIKE wildcards escaped (backslash is the escape character)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def encode_token(order: str, start_time: float, run_id: str) -> str:
    """The opaque page token: base64 of the last row's (start_time, id) and the order."""
    raw = json.dumps([order, start_time, run_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, order: str) -> tuple[float, str]:
    """(start_time, id) from a page token of the same order. Raises InvalidInput."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        token_order, start_time, run_id = json.loads(raw)
        if token_order != order or not isinstance(run_id, str):
            raise ValueError
        return float(start_time), convert.check_run_id(run_id)
    except (ValueError, TypeError, binascii.Error, InvalidInput, UnicodeDecodeError):
        raise InvalidInput(
            "The page token is malformed or belongs to another listing; start again from "
            "the first page."
        ) from None
