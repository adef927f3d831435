"""The secret formats: provider tokens in their documented shapes, private keys, passwords
in URLs and command lines, and the credential-named name/value pairs of :mod:`.pairs`.

Every rule's pattern starts with one of its keywords (see the package docstring for why);
rules listed first win where two overlap.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from . import keys, pairs

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
    #: instead of ``pattern``: ``locate(text, position, seen)`` gives the (start, end) of
    #: the secret for a keyword found at ``position``, or None (``seen``: name starts
    #: already judged in this text, so a name hit by two keywords is judged once)
    locate: (
        Callable[[str, int, set[int]], tuple[int, int] | list[tuple[int, int]] | None] | None
    ) = None
    #: with ``locate``: a pattern that must match the lower-cased text at a keyword (or the
    #: keyword must follow a dash, as in a flag) before ``locate`` is called — one C call
    #: that turns away the many hits that cannot start a pair ("token count", "tokens,")
    prefilter: str = ""
    #: with ``prefilter``: a keyword inside a command-line flag (``--api-key S``) is let
    #: through even when the prefilter does not match (its value follows a space)
    flags: bool = False


_PORT_AND_PATH = re.compile(r"\d{1,5}(?:[/?#]|$)")


def _not_a_port_and_path(value: str) -> bool:
    """``http://host:8080/a?mail=x@y`` has no password: what follows the colon is a port
    and a path, and the "@" belongs to the query."""
    return _PORT_AND_PATH.match(value) is None


def _looks_random(value: str) -> bool:
    """A value is secret-like only if it mixes letters and digits: ``Bearer {token}`` or a
    ``bearer`` in prose is not a secret."""
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


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
        # also inside a JSON string (a service account file embedded in a config)
        r"""private_key_id\\?"\s*:\s*\\?"(?P<secret>[0-9a-f]{40})""",
        ("private_key_id",),
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
        # A password may hold "/", "?" or "#" (SQLAlchemy and most drivers read up to the
        # last "@"; random keys often contain "/"), so only "@", blanks and quotes end it.
        r"://[^:/?#@\s\"'<>]{0,200}:(?P<secret>[^@\s\"'<>‹]{1,200})@",
        ("://",),
        check=_not_a_port_and_path,
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
        "azure_client_secret",
        _B + r"[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}" + _E,
        ("q~",),
        back=4,
    ),
    # command lines that take a password glued to or after a short flag
    Rule(
        "cli_password",
        r"(?i)(?:mysql|mysqldump|mysqladmin|mariadb|mariadb-dump)\b[^\n|;&]{0,200}?\s-p"
        r"(?P<secret>'[^'\n]+'|\"[^\"\n]+\"|[^\s'\"]+)",
        ("mysql", "mariadb"),
        ignorecase=True,
    ),
    Rule(
        "cli_password",
        r"(?i)sshpass\s+-p\s*(?P<secret>'[^'\n]+'|\"[^\"\n]+\"|[^\s'\"]+)",
        ("sshpass",),
        ignorecase=True,
    ),
    Rule(
        "cli_password",
        r"(?i)redis-cli\b[^\n|;&]{0,200}?\s-a\s+(?P<secret>'[^'\n]+'|\"[^\"\n]+\"|[^\s'\"]+)",
        ("redis-cli",),
        ignorecase=True,
    ),
    Rule(
        "cli_password",
        r"(?i)curl\b[^\n|;&]{0,300}?\s(?:-u|--user)\s*['\"]?[^:\s'\"]{1,100}:"
        r"(?P<secret>[^\s'\"]+)",
        ("curl",),
        ignorecase=True,
    ),
    # private key material whose BEGIN line was cut off: the body before an END line, and
    # base64 that decodes to the start of a private key (DER version field, OpenSSH magic)
    Rule("private_key", "", ("-----end",), locate=keys.body_before_end),
    Rule(
        "private_key",
        _B + r"(?:MI[IG]|MHcC|MC4C|b3BlbnNzaC1rZXktdjE)(?:[A-Za-z0-9+/]|\r?\n|\\n){60,}={0,2}",
        ("mi", "mhcc", "mc4c", "b3blbnnzac1rzxktdje"),
        check=keys.is_private_key_body,
    ),
    Rule("credential", "", ("<table",), locate=pairs.html_columns),
    Rule(
        "credential",
        "",
        ("pass", "pwd", "secret", "token", "key", "auth", "cred"),
        locate=pairs.text_columns,
        prefilter=pairs.COLUMN_PREFILTER,
    ),
    Rule(
        "credential",
        "",
        # a bare "key" is everywhere in code and logs and is only a weak name: pairs.gate
        # lets through only hits inside a name (api_key, X-API-Key, apiKey) or in prose
        ("pass", "pwd", "secret", "token", "key", "auth", "cred", "cookie", "dsn", "jwt"),
        locate=pairs.credential_pair,
        prefilter=pairs.PREFILTER,
        flags=True,
    ),
)  # fmt: skip
