"""Private key material that lost its ``-----BEGIN … PRIVATE KEY-----`` line: a key printed
from its second line, a body sliced out of a PEM string, or a base64 blob of key bytes.
The BEGIN rule in :mod:`.formats` covers whole keys; these cover the rest."""

from __future__ import annotations

import binascii
import re

_END_RE = re.compile(r"-----END[A-Z0-9 ]{0,20}PRIVATE KEY(?: BLOCK)?-----")
_BODY_LINE = re.compile(r"[A-Za-z0-9+/=]{4,}|[A-Za-z-]{2,30}: [^\n]{0,200}|=[A-Za-z0-9+/]{4}|")
_LINE_BREAK = re.compile(r"\r?\n|(?:\\r)?\\n")
_MAX_BODY = 20_000
_OPENSSH_MAGIC = "b3BlbnNzaC1rZXktdjE"


def body_before_end(text: str, position: int, seen: set[int]) -> tuple[int, int] | None:
    """The key body that ends at the END line found at ``position`` (a PEM whose BEGIN
    line is missing; a whole key is taken by the BEGIN rule first): the base64 lines (and
    PEM headers) right above it, on real or escaped (``\\n``) line breaks."""
    if _END_RE.match(text, position) is None:
        return None
    segment = text[max(0, position - _MAX_BODY) : position]
    breaks = [m.span() for m in _LINE_BREAK.finditer(segment)]
    base = position - len(segment)
    start = len(segment)
    body_chars = 0
    # walk the lines upwards from the END line while each is a body line
    ends = [b[0] for b in breaks][::-1]
    starts = [b[1] for b in breaks][::-1]
    line_end = len(segment)
    for line_start in [*starts, 0]:
        line = segment[line_start:line_end].strip(" \t")
        if _BODY_LINE.fullmatch(line) is None:
            # a partial first line: keep its trailing base64 (a key cut mid-line)
            tail = re.search(r"[A-Za-z0-9+/=]{16,}$", line)
            if tail is not None:
                start = line_start + segment[line_start:line_end].rstrip(" \t").rfind(tail.group())
                body_chars += len(tail.group())
            break
        body_chars += len(line)
        start = line_start
        following = ends.pop(0) if ends else 0
        line_end = following
    if body_chars < 40:
        return None
    return base + start, position


def is_private_key_body(candidate: str) -> bool:
    """True when base64 text starts like private key bytes: a DER SEQUENCE whose first
    element is the version INTEGER 0 or 1 (PKCS#1 RSA, PKCS#8, SEC1 EC, DSA) — a
    certificate or a public key starts with another SEQUENCE — or OpenSSH's magic."""
    if candidate.startswith(_OPENSSH_MAGIC):
        return True
    head = "".join(candidate[:40].replace("\\n", "").split())[:16]
    try:
        der = binascii.a2b_base64(head)
    except (binascii.Error, ValueError):
        return False
    if len(der) < 7 or der[0] != 0x30:
        return False
    length_bytes = der[1] - 0x80 if der[1] & 0x80 else 0
    if length_bytes > 3:
        return False
    version = der[2 + length_bytes : 5 + length_bytes]
    return version in (b"\x02\x01\x00", b"\x02\x01\x01")
