"""Secret redaction (``docs/architecture.md#security-model``).

Everything written to the store that could hold a secret — env var values, argv, git
remotes, params, cell sources and text outputs in checkpoints — goes through
:class:`Redactor` first. Each rule recognises one well-known format and replaces the secret
part with ``‹redacted:<rule>›``; for assignments (``password = "…"``) only the value is
replaced so the code stays readable.

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
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MARKER = "‹redacted:{}›"

_B = r"(?<![A-Za-z0-9_-])"  # start boundary for tokens that may contain _ and -
_E = r"(?![A-Za-z0-9_-])"  # end boundary
# the end of a name: optional closing quote and bracket (os.environ["X"] = …), an operator
_ASSIGN = r"""["']?\]?\s*(?:=|:=|:|=>)\s*"""


@dataclass(frozen=True)
class Rule:
    """One secret format.

    The pattern must match starting at one of ``keywords`` (lower-case when
    ``ignorecase``). When it has a group named ``secret`` (or ``bare``) only that group is
    replaced. ``check``, when given, must accept the secret text (heuristics a regex cannot
    express cheaply).
    """

    name: str
    pattern: str
    keywords: tuple[str, ...]
    ignorecase: bool = False
    check: Callable[[str], bool] | None = None
    #: the match starts this many characters before the keyword
    back: int = 0


def _looks_random(value: str) -> bool:
    """A value is secret-like only if it mixes letters and digits: ``token = config.token``
    or ``password = getpass`` are code, not secrets."""
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def _not_placeholder(value: str) -> bool:
    """False for values that stand in for a secret or are not one: ``***``, ``xxxx``,
    ``<your-token>``, ``${TOKEN}``, ``{{ secrets.X }}`` and tokenizer special tokens such
    as ``pad_token = "[PAD]"`` or ``"<|endoftext|>"``."""
    if value[0] in "<[{$%" and value[-1] in ">]}%":
        return False
    if value.startswith("${") or value.lower() in {"none", "null", "true", "false"}:
        return False
    return bool(value.strip("*xX.-_"))


_GENERIC_NAMES = (
    r"passwords?|passwd|passphrase|pwd|secrets?|tokens?|api_?keys?|apikey|access_?keys?|"
    r"(?:private|secret)_?keys?|auth|credentials?|creds"
)

RULES: tuple[Rule, ...] = (
    Rule(
        "private_key",
        r"-----BEGIN[A-Z0-9 ]{0,20}PRIVATE KEY(?: BLOCK)?-----"
        r"(?:[\s\S]{0,20000}?-----END[A-Z0-9 ]{0,20}PRIVATE KEY(?: BLOCK)?-----"
        r"|(?:\\[nr]|[A-Za-z0-9+/=\s:,.-])*)",
        ("-----BEGIN",),
    ),
    Rule(
        "gcp_service_account",
        r""""private_key_id"\s*:\s*"(?P<secret>[0-9a-f]{40})\"""",
        ('"private_key_id"',),
    ),
    Rule(
        "aws_access_key_id",
        r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])",
        ("AKIA", "ASIA"),
    ),
    Rule(
        "aws_secret_access_key",
        r"(?i)aws[A-Za-z0-9_.-]{0,40}?(?:secret|session)[A-Za-z0-9_.-]{0,40}?" + _ASSIGN
        + r"""["']?(?P<secret>[A-Za-z0-9/+=]{40,})(?![A-Za-z0-9/+=])""",
        ("aws",),
        ignorecase=True,
    ),
    # classic personal (ghp_), OAuth (gho_) and app user/server/refresh (ghu_ ghs_ ghr_)
    Rule("github_token", _B + r"gh[pousr]_[A-Za-z0-9]{36,251}" + _E, ("gh",)),
    Rule(
        "github_fine_grained_token",
        _B + r"github_pat_[A-Za-z0-9]{20,30}_[A-Za-z0-9]{50,70}" + _E,
        ("github_pat_",),
    ),
    Rule(
        "gitlab_token",
        _B + r"(?:glpat|gldt|glrt|glptt|glsoat|glcbt|glft|glimt|gloas)-[A-Za-z0-9_-]{20,}" + _E,
        ("gl",),
    ),
    Rule(
        "slack_webhook",
        r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_-]{20,}",
        ("hooks.slack.com",),
    ),
    Rule("slack_token", _B + r"xox[abposre]-[A-Za-z0-9-]{10,}" + _E, ("xox",)),
    Rule(
        "stripe_key",
        _B + r"[sr]k_(?:live|test)_[A-Za-z0-9]{16,}" + _E,
        ("k_live_", "k_test_"),
        back=1,
    ),
    Rule("stripe_key", _B + r"whsec_[A-Za-z0-9]{24,}" + _E, ("whsec_",)),
    Rule("google_api_key", _B + r"AIza[0-9A-Za-z_-]{35}" + _E, ("AIza",)),
    Rule(
        "google_oauth_token",
        _B + r"(?:ya29\.[0-9A-Za-z_-]{20,}|GOCSPX-[0-9A-Za-z_-]{24,})" + _E,
        ("ya29.", "GOCSPX-"),
    ),
    Rule(
        "azure_storage_key",
        r"(?:AccountKey|SharedAccessKey)=(?P<secret>[A-Za-z0-9+/]{20,}={0,2})",
        ("AccountKey=", "SharedAccessKey="),
    ),
    Rule("azure_sas_token", r"(?<=[?&])sig=(?P<secret>[A-Za-z0-9%+/=]{30,})", ("sig=",)),
    Rule(
        "anthropic_api_key",
        _B + r"sk-ant-(?:api|admin|sid)\d{2}-[A-Za-z0-9_-]{40,}" + _E,
        ("sk-ant-",),
    ),
    Rule(
        "openai_api_key",
        _B + r"sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}"
        r"|[A-Za-z0-9_-]{16,}T3BlbkFJ[A-Za-z0-9_-]{16,})" + _E,
        ("sk-",),
    ),
    Rule("huggingface_token", _B + r"(?:hf_|api_org_)[A-Za-z0-9]{30,}" + _E, ("hf_", "api_org_")),
    Rule("npm_token", _B + r"npm_[A-Za-z0-9]{36}" + _E, ("npm_",)),
    Rule("pypi_token", _B + r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}" + _E, ("pypi-AgEI",)),
    Rule("twilio_api_key", _B + r"SK[0-9a-fA-F]{32}" + _E, ("SK",)),
    Rule(
        "sendgrid_api_key",
        _B + r"SG\.[A-Za-z0-9_-]{20,24}\.[A-Za-z0-9_-]{40,46}" + _E,
        ("SG.",),
    ),
    Rule("mailgun_api_key", _B + r"key-[0-9a-f]{32}" + _E, ("key-",)),
    Rule(
        "digitalocean_token",
        _B + r"do[por]_v1_[a-f0-9]{64}" + _E,
        ("_v1_",),
        back=3,
    ),
    Rule("shopify_token", _B + r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}" + _E, ("shp",)),
    Rule(
        "square_token",
        _B + r"(?:EAAA[A-Za-z0-9_-]{60}|sq0(?:atp|csp)-[A-Za-z0-9_-]{22,43})" + _E,
        ("EAAA", "sq0"),
    ),
    Rule("databricks_token", _B + r"dapi[a-f0-9]{32}(?:-\d)?" + _E, ("dapi",)),
    Rule("heroku_api_key", _B + r"HRKU-[A-Za-z0-9_-]{40,}" + _E, ("HRKU-",)),
    Rule(
        "heroku_api_key",
        r"(?i)heroku[A-Za-z0-9_.-]{0,30}?(?:key|token)" + _ASSIGN
        + r"""["']?(?P<secret>[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12})""",
        ("heroku",),
        ignorecase=True,
    ),
    Rule(
        "jwt",
        _B + r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{10,}" + _E,
        ("eyJ",),
    ),
    Rule(
        "url_password",
        r"://[^:/?#@\s\"'<>]{0,200}:(?P<secret>[^@/?#\s\"'<>‹]{1,200})@",
        ("://",),
    ),
    Rule(
        "bearer_token",
        r"(?i)(?<![A-Za-z0-9])bearer\s+(?P<secret>[A-Za-z0-9._~+/-]{20,}=*)(?![A-Za-z0-9._~+/=-])",
        ("bearer",),
        ignorecase=True,
        check=_looks_random,
    ),
    Rule(
        "basic_auth",
        r"(?i)authorization[\"']?\s*[:=]\s*[\"']?basic\s+(?P<secret>[A-Za-z0-9+/]{8,}={0,2})",
        ("authorization",),
        ignorecase=True,
    ),
    Rule(
        "password_assignment",
        r"(?i)(?:" + _GENERIC_NAMES + r")(?![A-Za-z0-9])" + _ASSIGN
        + r"""(?:(?P<q>["'])(?P<secret>[^"'\s‹]{4,200})(?P=q)"""
        r"""|(?P<bare>[^\s"',;(){}\[\]<>‹]{6,200})(?![^\s"',;(){}\[\]<>‹]*[(\[]))""",
        (
            "pass", "pwd", "secret", "token", "api", "access", "private", "auth", "cred",
        ),
        ignorecase=True,
    ),
)  # fmt: skip


def _secret_span(rule: Rule, match: re.Match[str]) -> tuple[int, int] | None:
    """The span to replace in ``match``, or None when the rule's checks reject it."""
    groups = match.re.groupindex
    if "bare" in groups and match.group("bare") is not None:
        return match.span("bare") if _looks_random(match.group("bare")) else None
    if "secret" in groups and match.group("secret") is not None:
        secret = match.group("secret")
        if rule.check is not None and not rule.check(secret):
            return None
        if "q" in groups and not _not_placeholder(secret):
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
        counts = self.counts
        offset = min(range(len(keyword)), key=lambda j: counts.get(keyword[j], 0))
        estimated_hits = self.counts.get(keyword[offset], 0) * self.SAMPLE_STEP
        if estimated_hits * self.HIT_COST < self.length * self.FIND_COST:
            return offset
        return None


_ENCODED_MIN = 1024
_ENCODED_RE = re.compile(r"[A-Za-z0-9+/=\r\n]*")


class Redactor:
    """Applies :data:`RULES` (or the given rules) to text and JSON-like values."""

    def __init__(self, rules: tuple[Rule, ...] = RULES) -> None:
        self.rules = rules
        self._compiled = [
            (rule, re.compile(rule.pattern), tuple(k.lower() for k in rule.keywords))
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

    def _spans(self, text: str) -> list[tuple[int, int, str]]:
        """Non-overlapping (start, end, rule name) of secrets in ``text``, sorted."""
        starts: list[int] = []
        accepted: list[tuple[int, int, str]] = []
        haystack = text.lower()
        aligned = len(haystack) == len(text)  # False only when lower() changed the length
        plan = _ScanPlan(haystack)
        for rule, regex, keywords in self._compiled:
            if aligned:
                candidates = self._anchored(regex, text, haystack, keywords, rule.back, plan)
            else:
                candidates = list(regex.finditer(text))
            for match in candidates:
                span = _secret_span(rule, match)
                if span is None:
                    continue
                start, end = span
                # Earlier rules win: skip a span overlapping one already accepted.
                i = bisect.bisect_left(starts, start)
                if i > 0 and accepted[i - 1][1] > start:
                    continue
                if i < len(starts) and starts[i] < end:
                    continue
                starts.insert(i, start)
                accepted.insert(i, (start, end, rule.name))
        return accepted

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

        A long string made only of base64 characters (an encoded image or binary output)
        is returned unchanged without running the rules: no supported secret format can
        be the whole of such a string, and these are the bulk of a notebook's bytes.
        """
        if not text or len(text) < 8:
            return text, []
        if len(text) >= _ENCODED_MIN and _ENCODED_RE.fullmatch(text):
            return text, []
        spans = self._spans(text)
        if not spans:
            return text, []
        pieces = []
        previous = 0
        for start, end, name in spans:
            pieces.append(text[previous:start])
            pieces.append(MARKER.format(name))
            previous = end
        pieces.append(text[previous:])
        names = {name for _, _, name in spans}
        ordered = dict.fromkeys(r.name for r in self.rules if r.name in names)
        return "".join(pieces), list(ordered)

    def redact_value(self, value: Any) -> Any:
        """A copy of ``value`` with every string inside dicts, lists and tuples redacted
        (dict keys included). Other types are returned unchanged."""
        if isinstance(value, str):
            return self.redact_text(value)[0]
        if isinstance(value, dict):
            return {self.redact_value(k): self.redact_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.redact_value(v) for v in value]
        if isinstance(value, tuple):
            items = [self.redact_value(v) for v in value]
            # namedtuples take their fields as separate arguments
            return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
        return value


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


# -- names ---------------------------------------------------------------------------------

#: Words that mark a name as a credential when they appear as a whole word.
CREDENTIAL_WORDS = frozenset(
    [
        "TOKEN",
        "TOKENS",
        "SECRET",
        "SECRETS",
        "PASSWORD",
        "PASSWORDS",
        "PASSWD",
        "PASS",
        "PASSPHRASE",
        "PWD",
        "KEY",
        "KEYS",
        "APIKEY",
        "CREDENTIAL",
        "CREDENTIALS",
        "CREDS",
        "AUTH",
        "PRIVATE",
        "COOKIE",
        "COOKIES",
        "SESSION",
        "SIGNATURE",
        "SIG",
        "DSN",
        "JWT",
        "BEARER",
        "SALT",
        "OTP",
    ]
)
#: Substrings that mark a name as a credential anywhere (no ordinary word contains them).
_CREDENTIAL_SUBSTRINGS = ("PASSWORD", "PASSWD", "SECRET", "CREDENTIAL", "APIKEY", "PRIVATEKEY")
#: Names that contain a credential word but are not credentials: the shell's working
#: directory variables (PWD is the cwd, not a password).
NOT_CREDENTIALS = frozenset({"PWD", "OLDPWD"})
_WORD_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


@lru_cache(maxsize=4096)
def is_credential_name(name: str) -> bool:
    """True when a variable / env var / param name looks like it holds a credential.

    Whole words (split on ``_ - .`` and camelCase) are compared with CREDENTIAL_WORDS, so
    ``DB_PASS``, ``apiKey`` and ``SSH_KEY`` are credentials while ``KEYBOARD`` and
    ``TOKENIZERS_PARALLELISM`` are not; ``PASSWORD``/``SECRET``/… count anywhere
    (``MYSQLPASSWORD``), a word ending in ``TOKEN`` counts (``GHTOKEN``), and the pairs
    CONNECTION STRING / CONN STR count. ``PWD`` and ``OLDPWD`` alone are the shell's
    working directory and are not credentials; ``DB_PWD`` is.
    """
    upper = name.upper()
    if upper in NOT_CREDENTIALS:
        return False
    if any(s in upper for s in _CREDENTIAL_SUBSTRINGS):
        return True
    words = [w.upper() for w in _WORD_RE.findall(name)]
    for i, word in enumerate(words):
        if word in CREDENTIAL_WORDS or (word.endswith("TOKEN") and len(word) > 5):
            return True
        following = words[i + 1] if i + 1 < len(words) else ""
        if (word, following) in {("CONNECTION", "STRING"), ("CONN", "STR"), ("CONN", "STRING")}:
            return True
    return False


def strip_url_credentials(url: str) -> str:
    """``url`` without a password, and for http(s) without any user part either (a token
    is often passed as the user name). ``ssh://git@host`` keeps its plain user; scp-like
    ``git@host:path`` and non-URLs are returned unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.scheme or "@" not in parts.netloc:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    if parts.scheme.lower() in ("http", "https") or ":" in userinfo:
        user = "" if parts.scheme.lower() in ("http", "https") else userinfo.split(":", 1)[0]
        netloc = f"{user}@{hostport}" if user else hostport
        return urlunsplit(parts._replace(netloc=netloc))
    return url
