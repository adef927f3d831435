"""Which names hold credentials: environment variables, params, tags, dict keys, CLI flags,
HTTP headers and the ``KEY=VALUE`` names found in text.

Two questions with different answers:

- :func:`is_credential_name` is broad: an environment variable whose name merely *mentions*
  a credential word is recorded by name only (``SSH_KEY_PATH`` loses a path nobody needs).
- :func:`credential_strength` decides whether the *value* next to a name is dropped where a
  name/value pair is recorded. It has to keep ``max_tokens=512``, ``key_dim=64``,
  ``password_min_length=8`` and ``token_type_ids``: a credential word counts only when the
  name *ends* in it (or in a word that still names the credential itself, like
  ``SECRET_KEY_BASE``), and names that count or measure credentials (``num_tokens``) are
  not credentials. Strong names (passwords, secrets, API keys, tokens) lose any value that is
  not a number or a placeholder; weak ones (a bare ``key``, ``auth``, ``cookie``) only values
  that look random.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

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


NONE, WEAK, STRONG = 0, 1, 2

#: Last words that name a credential outright: whatever value such a name has is secret.
_STRONG_WORDS = frozenset(
    {
        "PASSWORD", "PASSWORDS", "PASSWD", "PASS", "PASSPHRASE", "PWD", "PW", "SECRET",
        "SECRETS", "APIKEY", "CREDENTIAL", "CREDENTIALS", "CREDS", "TOKEN", "JWT", "BEARER",
        "OTP", "AUTHORIZATION", "AUTH", "DSN", "COOKIE", "PSK", "PIN",
    }
)  # fmt: skip
#: Last words that are credentials only next to a strong word (``api_key``) or with a
#: random-looking value (``key = "q8Xv…"``; ``key = "model-a"`` is a dict key).
_WEAK_WORDS = frozenset({"KEY", "KEYS", "SALT", "SIGNATURE", "SIG", "COOKIES"})
#: Words that, before a weak last word, make it strong: ``API_KEY``, ``ACCESS_KEY``.
_STRENGTHENERS = frozenset(
    {
        "API", "ACCESS", "SECRET", "PRIVATE", "SIGNING", "ENCRYPTION", "MASTER", "SERVICE",
        "CLIENT", "AUTH", "SESSION", "LICENSE", "SUBSCRIPTION", "ACCOUNT", "APP", "SSH",
        "STRIPE", "OPENAI", "ANTHROPIC", "AWS", "GCP", "AZURE", "HMAC", "WEBHOOK", "SHARED",
        "ADMIN", "ROOT", "DB", "DATABASE", "HF", "GITHUB", "GITLAB", "SLACK", "SENDGRID",
        "TWILIO", "X",
    }
)  # fmt: skip
#: Words after the credential word that still name the credential itself.
_VALUE_SUFFIXES = frozenset(
    {"VALUE", "STR", "STRING", "B64", "BASE64", "HEX", "RAW", "PLAIN", "PLAINTEXT", "BASE",
     "ENC", "ENCODED", "HASH"}
)  # fmt: skip
_CONNECTION_PAIRS = frozenset({("CONNECTION", "STRING"), ("CONN", "STR"), ("CONN", "STRING")})
#: First words of names that count, bound or describe credentials rather than hold one.
_QUANTITY_PREFIXES = frozenset({"NUM", "N", "MAX", "MIN", "TOTAL", "COUNT", "IS", "HAS", "USE"})


def _split_words(name: str) -> list[str]:
    return [w.upper() for w in _WORD_RE.findall(name)]


@lru_cache(maxsize=8192)
def credential_strength(name: str) -> int:
    """:data:`STRONG`, :data:`WEAK` or :data:`NONE` for the value paired with ``name``.

    ``db_password``, ``DB_PASS``, ``api_key``, ``hf_token``, ``X-API-Key``, ``--password``
    and ``Authorization`` are strong; ``key``, ``sort_keys`` and ``auth`` are weak;
    ``max_tokens``, ``key_dim``, ``password_min_length``, ``token_type_ids``,
    ``tokenizer``, ``monkey_patch`` and ``passes`` are not credentials at all.
    """
    name = name.strip("-_.\"' ")
    if not name or name.upper() == "OLDPWD":  # the shell's; PWD is judged by its value
        return NONE
    words = _split_words(name)
    if not words or words[0] in _QUANTITY_PREFIXES:
        return NONE
    if len(words) > 1 and (words[-2], words[-1]) in _CONNECTION_PAIRS:
        return STRONG
    # words after the credential word that still name it (``SECRET_KEY_BASE``); any other
    # last word says the value is about the credential, not the credential (``token_id``)
    last = len(words) - 1
    while last > 0 and words[last] in _VALUE_SUFFIXES:
        last -= 1
    word = words[last]
    if word.isdigit() and last > 0:  # PASSWORD2, api_key_1
        last -= 1
        word = words[last]
    if word in _STRONG_WORDS or (word.endswith("TOKEN") and len(word) > 5):
        return STRONG
    for strong in ("PASSWORD", "PASSWD", "SECRET", "APIKEY", "PRIVATEKEY", "CREDENTIAL"):
        if word.endswith(strong):  # MYSQLPASSWORD, CLIENTSECRET
            return STRONG
    if word in _WEAK_WORDS:
        if last > 0 and words[last - 1] in _STRENGTHENERS:
            return STRONG
        return WEAK
    return NONE


#: last words of names whose values may be plain words (a password can be "tiger"; a token,
#: a key or a cookie never is)
_WORD_VALUES = ("PASSWORD", "PASSWORDS", "PASSWD", "PASS", "PWD", "PW", "PASSPHRASE", "SECRET",
                "SECRETS", "PSK", "PIN")  # fmt: skip


@lru_cache(maxsize=4096)
def takes_words(name: str) -> bool:
    """Whether a credential name's value may be a plain word (passwords, secrets)."""
    words = _split_words(name.strip("-_.\"' "))
    return bool(words) and (words[-1] in _WORD_VALUES or words[-1].endswith(_WORD_VALUES[:3]))


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
