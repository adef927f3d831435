"""Secret redaction (``docs/architecture.md#security-model``).

Everything written to the store that could hold a secret — env var values, argv, git
remotes, params, tags, notes, errors, cell sources and every textual output in checkpoints
— goes through :class:`Redactor` first, in one of two ways:

- text (:meth:`Redactor.redact_text`): each rule of :mod:`.formats` recognises one
  well-known format (provider tokens, private keys, passwords in URLs and command lines) or
  a credential-named pair (:mod:`.pairs`: ``api_key = "…"``, ``DB_PASS=…``, ``--token …``,
  ``Authorization: Token …``) and replaces the secret part with ``‹redacted:<rule>›``; only
  the value is replaced so code stays readable. ANSI escape codes are removed before
  scanning (IPython colours a traceback token by token, which splits ``password = "…"``).
- name/value data (:meth:`Redactor.redact_pair`, :meth:`Redactor.redact_value`,
  :meth:`Redactor.redact_argv`): a value whose name is a credential (:mod:`.names`) is
  dropped whatever it looks like — params, tags, dict entries at any depth, ``--flag value``.

Speed: notebooks with megabytes of output pass through here on every tracked run, and a
regex that has to be tried at every position of the text runs at only ~20 MB/s in
Python's ``re``. So every rule's pattern *starts with* one of its literal keywords: the
keywords are found with ``str.find`` (GB/s) in one lower-cased copy of the text (same
indices; text whose lower-casing changes its length falls back to full regex scans), and
the pattern is only tried, with ``match``, where a keyword occurs.
All rules' matches are collected on the original text first; where two overlap, the rule
listed first wins, then the text is rebuilt once.

Precision: rules anchor on fixed prefixes or on a credential-looking name and require
token boundaries, so git SHAs, UUIDs, hex digests, base64 image data and ordinary words
are left alone (tests/capture/test_redact_corpus.py measures both rates).
"""

from __future__ import annotations

import bisect
import os
import re
from typing import Any

from .formats import RULES, Rule
from .names import (
    CREDENTIAL_WORDS,
    NOT_CREDENTIALS,
    STRONG,
    credential_strength,
    is_credential_name,
    strip_url_credentials,
)
from .pairs import gate, value_is_secret

MARKER = "‹redacted:{}›"
#: the marker of a value dropped because of its name (a param, tag, dict entry, flag)
CREDENTIAL_MARKER = MARKER.format("credential")


def _secret_span(rule: Rule, match: re.Match[str]) -> tuple[int, int] | None:
    """The span to replace in ``match``, or None when the rule's checks reject it."""
    if "secret" in match.re.groupindex and match.group("secret") is not None:
        if rule.check is not None and not rule.check(match.group("secret")):
            return None
        return match.span("secret")
    if rule.check is not None and not rule.check(match.group(0)):
        return None
    return match.span()


class _ScanPlan:
    """Per-text choice between a multi-character ``find`` scan and hopping between the
    occurrences of a keyword's rarest character, from character counts of a sample."""

    SAMPLE_STEP = 97  # a prime, so periodic text (tables, logs) is sampled evenly
    MIN_LENGTH = 32 * 1024  # below this, planning costs more than it saves
    # Relative costs measured with CPython 3.11: ~1 ns per character for a multi-character
    # find, ~0.3 µs per visited occurrence of the anchor character.
    FIND_COST = 1.0
    HIT_COST = 300.0

    def __init__(self, haystack: str) -> None:
        self.found: dict[str, list[int]] = {}
        self.length = len(haystack)
        self.counts: dict[str, int] | None = None
        if self.length >= self.MIN_LENGTH:
            from collections import Counter

            self.counts = Counter(haystack[:: self.SAMPLE_STEP])

    def anchor(self, keyword: str) -> int | None:
        """Offset of the character to hop on, or None to scan with ``find``."""
        if self.counts is None:
            return None
        offset = min(range(len(keyword)), key=lambda j: self.counts.get(keyword[j], 0))  # type: ignore[union-attr]
        estimated_hits = self.counts.get(keyword[offset], 0) * self.SAMPLE_STEP
        if estimated_hits * self.HIT_COST < self.length * self.FIND_COST:
            return offset
        return None


_ENCODED_MIN = 1024
_ENCODED_RE = re.compile(r"[A-Za-z0-9+/=\r\n]*")
# the starts of base64 private key bytes (see keys.is_private_key_body)
_KEY_BODY_STARTS = ("MII", "MIG", "MHcC", "MC4C", "b3BlbnNzaC1rZXktdjE")
# CSI sequences (colours, cursor moves) and OSC sequences (titles, hyperlinks)
_ANSI_RE = re.compile(
    r"\x1b\[[0-9;:?<=>]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]"
)
# commands that take a password glued to -p (mysql) or after -p (sshpass) in argv
_GLUED_P = frozenset({"mysql", "mysqldump", "mysqladmin", "mariadb", "mariadb-dump"})


_FLAG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_.-")


def _in_flag(haystack: str, position: int) -> bool:
    """Whether the name around ``position`` is a command-line flag (``--api-key``)."""
    start = position
    floor = max(0, position - 64)
    while start > floor and haystack[start - 1] in _FLAG_CHARS:
        start -= 1
    return haystack.startswith("-", start)


def _accept(
    starts: list[int], accepted: list[tuple[int, int, str]], start: int, end: int, name: str
) -> None:
    """Add a secret's span to the sorted, disjoint ``accepted`` spans. A span overlapping
    accepted ones is merged with them under the earlier rule's name: a format rule may
    match only part of a longer value another rule finds whole (40 characters of an AWS
    session token look like a secret key), and every character either rule found must go."""
    i = bisect.bisect_left(starts, start)
    low = i - 1 if i > 0 and accepted[i - 1][1] > start else i
    high = i
    while high < len(starts) and starts[high] < end:
        high += 1
    if low == high:
        starts.insert(i, start)
        accepted.insert(i, (start, end, name))
        return
    merged = (min(start, accepted[low][0]), max(end, accepted[high - 1][1]), accepted[low][2])
    del starts[low:high], accepted[low:high]
    starts.insert(low, merged[0])
    accepted.insert(low, merged)


def _add_located(spans: list[tuple[int, int]], found: Any) -> None:
    """Add what a ``locate`` function found: None, one span, or a list of spans."""
    for span in [found] if isinstance(found, tuple) else found or ():
        if span[1] > span[0]:
            spans.append(span)


class Redactor:
    """Applies :data:`RULES` (or the given rules) to text and JSON-like values."""

    def __init__(self, rules: tuple[Rule, ...] = RULES) -> None:
        self.rules = rules
        self._compiled = [
            (
                rule,
                re.compile(rule.pattern) if rule.locate is None else None,
                tuple(k.lower() for k in rule.keywords),
            )
            for rule in rules
        ]
        # Every keyword is searched for in one lower-cased copy of the text, so keywords
        # that are prefixes of others ("sk" of "sk-ant-", "auth" of "authorization") are
        # scanned for once; a longer keyword's hits are filtered from its prefix's.
        keywords = sorted({k for _, _, kws in self._compiled for k in kws}, key=len)
        self._parent: dict[str, str | None] = {}
        for keyword in keywords:
            prefixes = [k for k in keywords if len(k) < len(keyword) and keyword.startswith(k)]
            self._parent[keyword] = max(prefixes, key=len) if prefixes else None
        self._roots = [k for k, parent in self._parent.items() if parent is None]
        self._prefilters = {
            id(rule): re.compile(rule.prefilter) for rule in rules if rule.prefilter
        }

    def _positions(self, keyword: str, haystack: str, plan: _ScanPlan) -> list[int]:
        """Start positions of ``keyword`` in ``haystack`` (cached per text in ``plan``)."""
        found = plan.found.get(keyword)
        if found is not None:
            return found
        parent = self._parent.get(keyword)
        if parent is not None:
            found = [
                p
                for p in self._positions(parent, haystack, plan)
                if haystack.startswith(keyword, p)
            ]
        else:
            offset = plan.anchor(keyword)
            found = []
            if offset is None:
                position = haystack.find(keyword)
                while position != -1:
                    found.append(position)
                    position = haystack.find(keyword, position + 1)
            else:
                # A single-character find is a memchr (tens of GB/s), a multi-character
                # find ~1 GB/s: when one of the keyword's characters is rare in this text,
                # jump between its occurrences and compare the keyword there.
                char = keyword[offset]
                position = haystack.find(char, offset)
                while position != -1:
                    start = position - offset
                    if haystack.startswith(keyword, start):
                        found.append(start)
                    position = haystack.find(char, position + 1)
        plan.found[keyword] = found
        return found

    def _spans(self, text: str, haystack: str, plan: _ScanPlan) -> list[tuple[int, int, str]]:
        """Non-overlapping (start, end, rule name) of secrets in ``text`` (``haystack``: its
        lower-cased copy, ``plan``: the keyword scan plan for it), sorted."""
        starts: list[int] = []
        accepted: list[tuple[int, int, str]] = []
        aligned = len(haystack) == len(text)  # False only when lower() changed the length
        for rule, regex, keywords in self._compiled:
            if rule.locate is not None:
                spans = self._located(rule, text, haystack if aligned else None, keywords, plan)
            elif aligned:
                assert regex is not None  # rules without locate are compiled
                matches = self._anchored(regex, text, haystack, keywords, rule.back, plan)
                spans = [span for m in matches if (span := _secret_span(rule, m)) is not None]
            else:
                assert regex is not None
                spans = [span for m in regex.finditer(text) if (span := _secret_span(rule, m))]
            for start, end in spans:
                _accept(starts, accepted, start, end, rule.name)
        return accepted

    def _located(
        self,
        rule: Rule,
        text: str,
        haystack: str | None,
        keywords: tuple[str, ...],
        plan: _ScanPlan,
    ) -> list[tuple[int, int]]:
        """Spans a ``locate`` rule finds at its keywords' occurrences."""
        assert rule.locate is not None
        seen: set[int] = set()
        spans: list[tuple[int, int]] = []
        prefilter = self._prefilters.get(id(rule))
        for keyword in keywords:
            if haystack is None:  # lower() changed the length: no aligned copy to scan
                for m in re.finditer(re.escape(keyword), text, re.I):
                    _add_located(spans, rule.locate(text, m.start(), seen))
                continue
            after = len(keyword)
            for position in self._positions(keyword, haystack, plan):
                # the hot loop on logs and code: one C call turns most hits away
                if prefilter is not None and prefilter.match(haystack, position + after) is None:
                    if not rule.flags or haystack[position - 1 : position] not in _FLAG_CHARS:
                        continue  # a name starting at the keyword cannot be a --flag
                    if not _in_flag(haystack, position):
                        continue
                if not gate(haystack, position, keyword):
                    continue
                _add_located(spans, rule.locate(text, position, seen))
        return spans

    def _anchored(
        self,
        regex: re.Pattern[str],
        text: str,
        haystack: str,
        keywords: tuple[str, ...],
        back: int,
        plan: _ScanPlan,
    ) -> list[re.Match[str]]:
        """Matches of ``regex`` starting ``back`` characters before a keyword occurrence."""
        matches = []
        for keyword in keywords:
            covered = -1
            for position in self._positions(keyword, haystack, plan):
                if position < covered or position < back:
                    continue
                match = regex.match(text, position - back)
                if match is not None and match.end() > position:
                    matches.append(match)
                    covered = match.end()
        return matches

    def redact_text(self, text: str) -> tuple[str, list[str]]:
        """(text with secrets replaced, names of the rules that matched, in rule order).

        Text with ANSI escape codes is scanned without them; when something is redacted the
        codes are gone from the result too (they are presentation only). A long string made
        only of base64 characters (an encoded image or binary output) is returned unchanged
        without running the rules unless it starts like private key bytes: no other
        supported format can be the whole of such a string, and these are the bulk of a
        notebook's bytes.
        """
        if not text or len(text) < 8:
            return text, []
        if (
            len(text) >= _ENCODED_MIN
            and _ENCODED_RE.fullmatch(text)
            and not text.lstrip().startswith(_KEY_BODY_STARTS)
        ):
            return text, []
        plain, haystack = text, text.lower()
        plan = _ScanPlan(haystack)
        if "\x1b" in text and any(self._positions(k, haystack, plan) for k in self._roots):
            # Stripping is costly on densely coloured text, and it only matters where a
            # rule could match. A highlighter colours whole tokens, so a keyword is never
            # split by a code: text without any keyword has nothing to find either way.
            plain = _ANSI_RE.sub("", text)
            haystack = plain.lower()
            plan = _ScanPlan(haystack)
        spans = self._spans(plain, haystack, plan)
        if not spans:
            return text, []
        pieces = []
        previous = 0
        for start, end, name in spans:
            pieces.append(plain[previous:start])
            pieces.append(MARKER.format(name))
            previous = end
        pieces.append(plain[previous:])
        names = {name for _, _, name in spans}
        ordered = dict.fromkeys(r.name for r in self.rules if r.name in names)
        return "".join(pieces), list(ordered)

    def redact_pair(self, name: Any, value: Any) -> Any:
        """``value`` as it may be recorded under ``name``: dropped (the credential marker)
        when the name is a credential and the value is not a number, a boolean or a
        placeholder; otherwise redacted as data (:meth:`redact_value`)."""
        if isinstance(name, str) and not isinstance(value, (bool, int, float, type(None))):
            strength = credential_strength(name)
            if strength:
                if isinstance(value, (str, bytes)):
                    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
                    if value_is_secret(text, strength):
                        return CREDENTIAL_MARKER
                elif strength == STRONG and not isinstance(value, (dict, list, tuple)):
                    return CREDENTIAL_MARKER  # a SecretStr, a custom object: its repr may leak
        return self.redact_value(value)

    def redact_value(self, value: Any) -> Any:
        """A copy of ``value`` with every string inside dicts, lists and tuples redacted
        (dict keys included), and the value of every credential-named dict key dropped
        (:meth:`redact_pair`) at any depth. Other types are returned unchanged."""
        if isinstance(value, str):
            return self.redact_text(value)[0]
        if isinstance(value, dict):
            return {self.redact_value(k): self.redact_pair(k, v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.redact_value(v) for v in value]
        if isinstance(value, tuple):
            items = [self.redact_value(v) for v in value]
            # namedtuples take their fields as separate arguments
            return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
        return value

    def redact_argv(self, argv: list[str]) -> list[str]:
        """``argv`` with the values of credential flags dropped (``--password S``,
        ``--api-key=S``, mysql's ``-pS``, sshpass' ``-p S``) and every argument redacted."""
        out = [self.redact_text(arg)[0] for arg in argv]
        command = os.path.basename(argv[0]) if argv else ""
        glued = command in _GLUED_P
        for i, arg in enumerate(argv):
            following = argv[i + 1] if i + 1 < len(argv) else None
            if glued and arg.startswith("-p") and len(arg) > 2 and not arg.startswith("--"):
                out[i] = "-p" + CREDENTIAL_MARKER
            elif command == "sshpass" and arg == "-p" and following is not None:
                out[i + 1] = CREDENTIAL_MARKER
            elif arg.startswith("-") and following is not None and not following.startswith("-"):
                name, sep, _ = arg.partition("=")
                if not sep and self.redact_pair(name.lstrip("-"), following) == CREDENTIAL_MARKER:
                    out[i + 1] = CREDENTIAL_MARKER
            if arg.startswith("-") and "=" in arg:
                name, _, flag_value = arg.partition("=")
                if self.redact_pair(name.lstrip("-"), flag_value) == CREDENTIAL_MARKER:
                    out[i] = f"{name}={CREDENTIAL_MARKER}"
        return out


_default: Redactor | None = None


def default_redactor() -> Redactor:
    """A shared Redactor with the built-in rules (compiled once per process)."""
    global _default
    if _default is None:
        _default = Redactor()
    return _default


def redact_text(text: str) -> tuple[str, list[str]]:
    """:meth:`Redactor.redact_text` with the built-in rules."""
    return default_redactor().redact_text(text)


def redact_value(value: Any) -> Any:
    """:meth:`Redactor.redact_value` with the built-in rules."""
    return default_redactor().redact_value(value)


def redact_pair(name: Any, value: Any) -> Any:
    """:meth:`Redactor.redact_pair` with the built-in rules."""
    return default_redactor().redact_pair(name, value)


__all__ = [
    "CREDENTIAL_MARKER",
    "CREDENTIAL_WORDS",
    "MARKER",
    "NOT_CREDENTIALS",
    "RULES",
    "Redactor",
    "Rule",
    "credential_strength",
    "default_redactor",
    "is_credential_name",
    "redact_pair",
    "redact_text",
    "redact_value",
    "strip_url_credentials",
]
