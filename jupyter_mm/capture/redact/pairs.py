"""Credential-named name/value pairs in text: the forms secrets are actually leaked in.

``api_key = "…"``, ``DB_PASS=…`` in a ``.env`` or an ``os.environ`` dump, ``"password": "…"``
in JSON and dict reprs, ``password: …`` in YAML, ``--token …`` and ``--api-key=…`` on
command lines, ``Authorization: Token …`` and ``X-API-Key: …`` headers, ``<th>password</th>
<td>…</td>`` in HTML tables, ``password is …`` in prose. The name decides (see
:func:`.names.credential_strength`), then the value: numbers, booleans, placeholders and
code (``token = os.environ["T"]``, ``password = getpass()``) are kept; a strong name loses
any other value, a weak one (``key``) only a value that looks random (a high-entropy check).

:func:`credential_pair` is called at each occurrence of a keyword (``pass``, ``token``,
``key``…) found in the text; it widens the hit to the whole name, then reads what follows.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter

from .names import NONE, STRONG, WEAK, credential_strength, takes_words

_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_MAX_NAME = 64
# quotes as code, JSON and dict reprs write them, and as HTML escapes them
_QUOTE = r"""(?:"|'|`|&quot;|&\#x27;|&\#39;|&\#34;)"""

_AFTER_NAME = re.compile(
    # a quoted name's closing quote, a subscript's bracket (os.environ["X"] = …)
    r"(?P<close>" + _QUOTE + r"?\]?)"
    r"(?:"
    # a type annotation before the value: password: str = "…"
    r"(?P<annotated>[ \t]*:[ \t]*[A-Za-z_][\w.]*(?:\[[^\]\n]{0,40}\])?"
    r"(?:[ \t]*\|[ \t]*None)?[ \t]*=(?!=)[ \t]*)"
    # "==" is a comparison in code (password == x, token==other_name:), but name==value
    # otherwise is a value that starts with "=" (random keys may): key==AbC… in a log line
    r"|(?P<op>[ \t]*(?:=>|:=|=(?!=[ \t]|=[A-Za-z_][\w.]*[ \t]*(?:[:)\],]|$))|:)[ \t]*)"
    # <th>password</th><td>…</td>
    r"|(?P<cell>[ \t]*</t[hd]>\s{0,40}<td[^>]{0,80}>\s*)"
    # | `password` | `…` | in a markdown table
    r"|(?P<mdcell>[ \t]*\|[ \t]*)"
    r"|(?P<prose>[ \t]+(?:is|was|=)[ \t]+)"
    # a quoted name and a quoted value as arguments: log_param("password", "…"),
    # ["--password", "…"], environ.setdefault("DB_PASS", "…")
    r"|(?P<comma>[ \t]*,[ \t]*(?=[bBrRuUfF]{0,2}" + _QUOTE + r"))"
    r"|(?P<space>[ \t]+)"
    r")"
)
_VALUE = re.compile(
    r"(?:[bBrRuUfF]{0,2}(?P<q>" + _QUOTE + r")(?P<quoted>[^\n‹]{0,1000}?)(?P=q)"
    r"|(?P<bare>[^\s\"'`,;(){}\[\]<>&|‹]{1,1000}))"
)
# the scheme word of an Authorization header value (``Token abc…``, ``Bearer abc…``)
_SCHEME = re.compile(
    r"(?i:basic|bearer|token|digest|bot|apikey|api-key|key|ssws|sharedaccesssignature|"
    r"negotiate|ntlm|hmac|otp)[ \t]+"
)
_NUMBER = re.compile(r"[-+]?(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?[kKmMgG%]?")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z_]*(?:\.[A-Za-z_][A-Za-z_]*)*")
_NOT_VALUES = frozenset(
    {
        "none", "null", "nil", "true", "false", "yes", "no", "on", "off", "undefined",
        "nan", "redacted", "hidden", "masked", "unset", "empty", "required", "optional",
        "str", "string", "bytes", "int", "secretstr", "any", "basic", "bearer", "token",
        "digest",
    }
)  # fmt: skip


def not_placeholder(value: str) -> bool:
    """False for values that stand in for a secret or are not one: ``***``, ``xxxx``,
    ``<your-token>``, ``${TOKEN}``, ``$TOKEN``, ``{{ secrets.X }}``, ``%(pw)s`` and
    tokenizer special tokens such as ``pad_token = "[PAD]"`` or ``"<|endoftext|>"``."""
    if not value:
        return False
    if value[0] in "<[{$%" and value[-1] in ">]}%s":
        return False
    if value[0] == "$" or value.lower() in _NOT_VALUES:
        return False
    return bool(value.strip("*xX.-_#• "))


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def looks_random(value: str) -> bool:
    """The high-entropy check for values of weakly named keys (``key = "…"``): long, no
    spaces, letters mixed with digits, and ≥ 3 bits of entropy per character — generated
    keys have 4–6, a name like ``model-v2`` or ``resnet50`` is shorter or has less."""
    if len(value) < 16 or any(c.isspace() for c in value):
        return False
    if not (any(c.isdigit() for c in value) and any(c.isalpha() for c in value)):
        return False
    return entropy(value) >= 3.0


# identifiers made of words: StrPathToken, getPasswordFromVault, _HTTPHeaderName
_CAMEL = re.compile(r"_*[a-z]*(?:[A-Z][a-z]{2,}|[A-Z]{2,}(?=[A-Z][a-z]|_|$)|_[a-z]+|\d+)*")
# a word, not a secret, as the value of a quoted name in an argument list or in prose:
# ("pass", "passthrough"), ["Cookie", "Authorization"], "the token is ';'"
_WORDISH = re.compile(r"[A-Za-z_ -]*|.{0,3}")


def _random_letters(value: str) -> bool:
    """Letters typed by no one: ``KoOOKofsEEjJiGw``, not ``getPasswordFromVault``, ``pw``
    or ``DB_PASSWORD`` (names of variables and constants)."""
    if len(value) < 10 or value.upper() == value or "." in value or _CAMEL.fullmatch(value):
        return False
    runs = re.findall(r"[a-z]+", value)
    upper_pairs = sum(1 for a, b in itertools.pairwise(value) if a.isupper() and b.isupper())
    return (max(map(len, runs), default=0) <= 4 and sum(c.isupper() for c in value) >= 3) or (
        upper_pairs >= 3
    )


def value_is_secret(value: str, strength: int) -> bool:
    """Whether the value of a name of this strength is dropped (values given as data:
    params, tags, dict entries)."""
    value = value.strip()
    if strength == NONE or not not_placeholder(value) or _NUMBER.fullmatch(value):
        return False
    if not any(c.isalnum() for c in value):
        return False  # punctuation: token = "|"
    return strength == STRONG or looks_random(value)


#: what must follow a keyword hit for it to start a pair (see Rule.prefilter): the rest of
#: the name, then a quote, a bracket, an operator, a tag, a separator, or a space and an
#: operator or "is"/"was"
PREFILTER = r"[a-z0-9_.-]{0,64}(?:[\"'`\]&=:<,|]|[ \t]+(?:[=:-]|is |was )|-[->])"


#: the words before "token" in NLP code (max_tokens, n_token …), never in a credential's name
_TOKEN_COUNT_WORDS = ("max_", "num_", "min_", "n_", "total_")


def _word_before(haystack: str, position: int, word: str) -> bool:
    """Whether ``word`` ends at ``position`` as a whole word: "n_" in ``n_tokens`` but not
    in ``session_token`` (AWS_SESSION_TOKEN is a credential)."""
    start = position - len(word)
    return (
        start >= 0
        and haystack.startswith(word, start)
        and (start == 0 or not haystack[start - 1].isalnum())
    )


def gate(haystack: str, position: int, keyword: str) -> bool:
    """A cheap look at a keyword hit in the lower-cased text, before the pair is judged: a
    "key" counts only inside a name (api_key, x-api-key, apikey) or before is/was; a
    "token" not in the words of NLP code."""
    if keyword == "token":
        # tokenizer, tokens, max_tokens, num_tokens: the words of NLP code, never names
        # of a credential (names.credential_strength agrees; this is only faster)
        after = haystack[position + 5 : position + 7]
        if after[:1] == "i" or (after[:1] == "s" and not after[1:2].isalnum()):
            return False
        return not any(_word_before(haystack, position, w) for w in _TOKEN_COUNT_WORDS)
    if keyword != "key":
        return True
    before = haystack[position - 1 : position]
    return (before.isalnum() or before in ("_", "-")) or haystack.startswith(
        (" is ", " was "), position + 3
    )


# what follows PWD when it is the working directory: PWD=/home/…, 'PWD': '/home/…'
_CWD = re.compile(r"""["']?[ \t]*[=:][ \t]*["']?[/~]""")
_NAME_TAIL = re.compile(r"[A-Za-z0-9_.-]{0,64}")
# what may follow a name that has a value: a quote, a bracket, an operator, a space, a tag
_FOLLOWERS = frozenset("\"'`]&=:-<, \t|")


def _bare_is_secret(
    value: str, strength: int, name: str, kind: str, follows: str, after_scheme: bool
) -> bool:
    """A bare (unquoted) value: keep code (a call, a subscript, an attribute chain, a
    variable) and, after prose (``password is``), plain words."""
    if follows and follows in "([.":
        return False
    if not value_is_secret(value, strength):
        return False
    if _IDENTIFIER.fullmatch(value):
        # token = tok, password: str, "the password is required": code or words. A
        # .env / shell / os.environ dump line (UPPER_NAME=value) is data, not code.
        env_style = (name.isupper() or name.startswith("-")) and kind == "op" and "." not in name
        return env_style or after_scheme or kind in ("cell", "space") or _random_letters(value)
    return True


def credential_pair(text: str, position: int, seen: set[int]) -> tuple[int, int] | None:
    """The (start, end) of the value paired with the credential name hit at ``position``."""
    # the whole name around the hit (inlined: this runs at every keyword occurrence)
    name_end = _NAME_TAIL.match(text, position).end()  # type: ignore[union-attr]
    while name_end > position and text[name_end - 1] in ".-":  # "the password." ends it
        name_end -= 1
    if text[name_end : name_end + 1] not in _FOLLOWERS:
        return None
    name_start = position
    floor = max(0, position - _MAX_NAME)
    while name_start > floor and text[name_start - 1] in _NAME_CHARS:
        name_start -= 1
    if name_start in seen:
        return None
    seen.add(name_start)
    raw_name = text[name_start:name_end]
    # self.password -> password; a command-line flag keeps its dashes (its values are data)
    name = raw_name.rsplit(".", 1)[-1] if not raw_name.startswith("-") else raw_name
    if "." in raw_name and name.isupper():
        name = name.lower()  # token.ERRORTOKEN is an attribute, not an environment variable
    strength = credential_strength(name)
    if strength == NONE or (name == "PWD" and _CWD.match(text, name_end)):
        return None  # the shell's PWD=/home/… or 'PWD': '/home/…' is a directory
    if text[name_end : name_end + 1] in " \t" and not raw_name.startswith("-"):
        # "token count 3": only an operator or "is"/"was" can follow a name and a space
        rest = text[name_end : name_end + 8].lstrip(" \t")
        if not rest or (rest[0] not in "=:-" and not rest.startswith(("is ", "was "))):
            return None
    after = _AFTER_NAME.match(text, name_end)
    if after is None:
        return None
    kind = after.lastgroup or "close"
    if kind == "space" and not raw_name.startswith("-"):
        return None  # only command-line flags take their value after a space
    if kind == "comma" and not after.group("close"):
        return None  # f(password, "x"): a variable, not a name
    value_start = after.end()
    scheme = None
    if strength == STRONG and name.lower().endswith("authorization"):
        scheme = _SCHEME.match(text, value_start)
        if scheme is not None:
            value_start = scheme.end()
    value = _VALUE.match(text, value_start)
    if value is None:
        return None
    if value.group("quoted") is not None:
        secret = value.group("quoted")
        if not value_is_secret(secret, strength):
            return None
        wordish = _WORDISH.fullmatch(secret) and not _random_letters(secret)
        if wordish and (kind in ("comma", "prose") or not takes_words(name)):
            return None  # ("pass", "passthrough"), _DEFAULT_TOKEN = "_sa_default"
        return value.span("quoted")
    bare = value.group("bare").rstrip(":.")  # "if token == other:", "token is None."
    if kind == "prose" and _WORDISH.fullmatch(bare.strip("*_`")):
        return None  # "the token is **removed**"
    if strength == WEAK and len(bare) < 16:
        return None  # cannot pass the high-entropy check (the common case in logs)
    if kind == "space" and bare.startswith("-"):
        return None  # --password --verbose: the next flag, not a value
    end = value.start("bare") + len(bare)
    if not _bare_is_secret(bare, strength, name, kind, text[end : end + 1], scheme is not None):
        return None
    return value.start("bare"), end


__all__ = [
    "STRONG",
    "WEAK",
    "credential_pair",
    "looks_random",
    "not_placeholder",
    "value_is_secret",
]


_TABLE_END = re.compile(r"</table\s*>", re.I)
_ROW = re.compile(r"<tr\b[^>]*>(.*?)</tr\s*>", re.I | re.S)
_CELL = re.compile(r"<t([hd])\b[^>]*>(.*?)</t\1\s*>", re.I | re.S)
_TAG = re.compile(r"<[^>]*>")
_MAX_TABLE = 2_000_000


def html_columns(text: str, position: int, seen: set[int]) -> list[tuple[int, int]] | None:
    """Values under a credential-named column header of the HTML table starting at
    ``position`` (``DataFrame.to_html()`` of a table with a ``password`` column): the name
    is in the header row, each value many characters away in its own row."""
    end = _TABLE_END.search(text, position, min(len(text), position + _MAX_TABLE))
    if end is None:
        return None
    rows = list(_ROW.finditer(text, position, end.start()))
    header_at = None
    columns: dict[int, int] = {}
    for index, row in enumerate(rows):
        cells = list(_CELL.finditer(row.group(0)))
        if not cells or any(c.group(1).lower() == "d" for c in cells):
            break  # the header rows are the leading rows made only of <th> cells
        for column, cell in enumerate(cells):
            strength = credential_strength(_TAG.sub("", cell.group(2)).strip())
            if strength != NONE:
                columns[column] = strength
        header_at = index
    if header_at is None or not columns:
        return None
    spans: list[tuple[int, int]] = []
    for row in rows[header_at + 1 :]:
        for column, cell in enumerate(_CELL.finditer(row.group(0))):
            column_strength = columns.get(column)
            value = cell.group(2).strip()
            if column_strength is not None and value_is_secret(
                _TAG.sub("", value), column_strength
            ):
                start = row.start() + cell.start(2)
                spans.append((start, row.start() + cell.end(2)))
    return spans


_TOKEN = re.compile(r"\S+")
_MAX_ROWS = 10_000
_MAX_HEADER = 2_000
#: what follows a column name in a plain-text table header (see Rule.prefilter)
COLUMN_PREFILTER = r"[a-z0-9_.-]{0,64}(?:  |\n)"


def text_columns(text: str, position: int, seen: set[int]) -> list[tuple[int, int]] | None:
    """Values under a credential-named column of a plain-text table (a DataFrame's
    ``text/plain``): the name is in the header line, each value in the lines below, aligned
    with it on the right (pandas) or on the left."""
    # bounded searches: a long line is no table header, and a megabyte line of JSON with
    # many hits must not be scanned back to its start at each of them
    line_start = text.rfind("\n", max(0, position - _MAX_HEADER), position) + 1
    line_end = text.find("\n", position, position + _MAX_HEADER)
    if line_end == -1 or (line_start == 0 and position > _MAX_HEADER):
        return None
    header = text[line_start:line_end]
    columns = len(header.split())
    if columns < 2 or "  " not in header.strip() or header.lstrip()[:1] in (".", ">", "#"):
        return None  # a header has several columns padded with spaces; not a doctest
    start = position
    while start > line_start and not text[start - 1].isspace():
        start -= 1
    end = position
    while end < line_end and not text[end].isspace():
        end += 1
    if start in seen:
        return None
    seen.add(start)
    strength = credential_strength(text[start:end])
    if strength == NONE:
        return None
    left, right = start - line_start, end - line_start
    spans = []
    row_start = line_end + 1
    for _ in range(_MAX_ROWS):
        row_end = text.find("\n", row_start)
        row_end = len(text) if row_end == -1 else row_end
        row = text[row_start:row_end]
        if len(row.split()) not in (columns, columns + 1):
            break  # a row has a value per column, and an index
        for token in _TOKEN.finditer(row):
            if token.end() == right or token.start() == left:
                if value_is_secret(token.group(), strength):
                    spans.append((row_start + token.start(), row_start + token.end()))
                break
            if token.start() >= right:
                break
        if row_end == len(text):
            break
        row_start = row_end + 1
    return spans
