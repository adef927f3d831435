"""Redactor behaviour: replacement shape, code left intact, names, URLs, nested values."""

from __future__ import annotations

import base64
import os
import secrets
from collections import namedtuple

import pytest

from jupyter_mm.capture.redact import (
    is_credential_name,
    redact_text,
    redact_value,
    strip_url_credentials,
)

GITHUB = "ghp_" + "A1b2C3d4" * 4 + "E5f6"


def test_only_the_value_of_an_assignment_is_replaced() -> None:
    text, hits = redact_text('DB_PASSWORD = "hunter22"\nprint(1)')
    assert text == 'DB_PASSWORD = "‹redacted:credential›"\nprint(1)'
    assert hits == ["credential"]


@pytest.mark.parametrize(
    "code",
    [
        'os.environ["DB_PASSWORD"] = "hunter22"',
        "config['client_secret'] = 'hunter22'",
        'connect(host="db", password="hunter22")',
        '{"auth": "hunter22"}',
    ],
)
def test_assignment_forms(code: str) -> None:
    text, hits = redact_text(code)
    assert "hunter22" not in text and hits == ["credential"]


def test_specific_rule_wins_over_generic_and_hits_are_ordered() -> None:
    text, hits = redact_text(f'token = "{GITHUB}"\nurl = "https://bob:pw12@host/x"')
    assert (
        text
        == 'token = "‹redacted:github_token›"\nurl = "https://bob:‹redacted:url_password›@host/x"'
    )
    assert hits == ["github_token", "url_password"]


def test_multiline_and_escaped_private_keys() -> None:
    body = base64.b64encode(os.urandom(300)).decode()
    block = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{body[:64]}\n{body[64:]}\n-----END OPENSSH PRIVATE KEY-----"
    assert redact_text(f"a\n{block}\nb")[0] == "a\n‹redacted:private_key›\nb"
    escaped = block.replace("\n", "\\n")
    assert body[:64] not in redact_text(f'"{escaped}"')[0]
    truncated = "-----BEGIN RSA PRIVATE KEY-----\n" + body[:64]  # output cut off mid-key
    assert body[:64] not in redact_text(truncated)[0]


@pytest.mark.parametrize(
    "code",
    [
        "tokens = tokenizer(text)",
        'pad_token = "[PAD]"',
        'bos_token = "<s>"',
        "password = getpass.getpass()",
        "api_key = os.environ['OPENAI_API_KEY']",
        "token = config.token",
        "for key, value in d.items():",
        'secret = "***"',
        'password = "${DB_PASSWORD}"',
        "commit 3f786850e387550fdab836ed7e6dc881de23001b",
        "id 123e4567-e89b-12d3-a456-426614174000",
        "http://localhost:8888/tree?path=x",
        "git@github.com:org/repo.git",
    ],
)
def test_code_and_lookalikes_are_left_alone(code: str) -> None:
    assert redact_text(code) == (code, [])


def test_length_changing_lowercase_falls_back_correctly() -> None:
    # "İ".lower() is two characters: indices of the lower-cased copy no longer line up.
    text, hits = redact_text('İİ naïve password = "s3cretvalue"')
    assert text == 'İİ naïve password = "‹redacted:credential›"'
    assert hits == ["credential"]


def test_base64_blobs_are_skipped_quickly_but_mixed_text_is_not() -> None:
    blob = base64.b64encode(os.urandom(300_000)).decode()
    assert redact_text(blob) == (blob, [])
    mixed = blob[:2000] + f" {GITHUB} " + blob[2000:4000]
    assert GITHUB not in redact_text(mixed)[0]


def test_redact_value_walks_json_like_structures() -> None:
    value = {
        "params": {"lr": 0.1, "note": f"used {GITHUB}"},
        "argv": ["train.py", "--password=hunter22x"],
        "tuple": ("x", f"Bearer {GITHUB}"),
        "n": None,
        "flag": True,
    }
    out = redact_value(value)
    assert out["params"] == {"lr": 0.1, "note": "used ‹redacted:github_token›"}
    assert out["argv"] == ["train.py", "--password=‹redacted:credential›"]
    assert isinstance(out["tuple"], tuple) and GITHUB not in out["tuple"][1]
    assert out["n"] is None and out["flag"] is True
    assert value["params"]["note"].endswith(GITHUB)  # the input is not modified
    Pair = namedtuple("Pair", "name value")
    assert redact_value(Pair("x", f"token={GITHUB}")) == Pair("x", "token=‹redacted:github_token›")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("AWS_SECRET_ACCESS_KEY", True),
        ("GITHUB_TOKEN", True),
        ("HF_TOKEN", True),
        ("GHTOKEN", True),
        ("DB_PASS", True),
        ("MYSQLPASSWORD", True),
        ("DB_PWD", True),
        ("apiKey", True),
        ("SSH_KEY", True),
        ("DATABASE_CONNECTION_STRING", True),
        ("SENTRY_DSN", True),
        ("SESSION_COOKIE", True),
        ("JUPYTERHUB_API_TOKEN", True),
        ("GOOGLE_APPLICATION_CREDENTIALS", True),
        ("PWD", False),
        ("OLDPWD", False),
        ("KEYBOARD_LAYOUT", False),
        ("TOKENIZERS_PARALLELISM", False),
        ("GIT_AUTHOR_NAME", False),
        ("CUDA_VISIBLE_DEVICES", False),
        ("LANG", False),
        ("PYTHONHASHSEED", False),
    ],
)
def test_is_credential_name(name: str, expected: bool) -> None:
    assert is_credential_name(name) is expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://x-access-token:ghs_abc@github.com/o/r.git", "https://github.com/o/r.git"),
        ("https://ghp_tokenasuser@github.com/o/r", "https://github.com/o/r"),
        ("ssh://git@github.com/o/r.git", "ssh://git@github.com/o/r.git"),
        ("ssh://user:pw@host/r.git", "ssh://user@host/r.git"),
        ("git@github.com:o/r.git", "git@github.com:o/r.git"),
        ("https://github.com/o/r", "https://github.com/o/r"),
        ("/srv/git/repo.git", "/srv/git/repo.git"),
    ],
)
def test_strip_url_credentials(url: str, expected: str) -> None:
    assert strip_url_credentials(url) == expected


def test_names_ending_in_n_token_are_credentials_in_text():
    """``n_`` before "token" marks NLP code (n_tokens) only as a whole word: the value of
    AWS_SESSION_TOKEN (…sessio*n_*token) in a printed environment is a credential."""
    token = "IQoJb3JpZ2luX2VjE" + secrets.token_urlsafe(12)
    for text in (str({"AWS_SESSION_TOKEN": token}), f"ADMIN_TOKEN={token}"):
        assert token not in redact_text(text)[0]
    assert redact_text("n_tokens = 4096, max_tokens = 512")[1] == []


def test_a_partial_format_match_inside_a_longer_secret_takes_the_whole_value():
    """40 characters of a session token look like an AWS secret key; the pair rule finds
    the whole value. Overlapping finds are merged, so no tail of the token is left."""
    for _ in range(50):
        token = "IQoJb3JpZ2luX2VjE" + secrets.token_urlsafe(64)
        redacted = redact_text(str({"HOME": "/root", "AWS_SESSION_TOKEN": token}))[0]
        assert not [
            token[k : k + 8] for k in range(0, len(token) - 8) if token[k : k + 8] in redacted
        ]
        assert "'HOME': '/root'" in redacted


@pytest.mark.parametrize("password", ["se/cr+et", "a?b#c/d", "k9/Xz+/Qw==", "Zq"])
def test_a_url_password_holding_slashes_is_redacted_whole(password: str) -> None:
    # random keys (AWS secrets, generated passwords) often hold "/" and "+"; drivers read
    # the password up to the last "@", so must the redaction
    text = f"{{'JUPYTER_MM_STORE': 'postgresql://mm:{password}@db.internal:5432/mm'}}"
    redacted, found = redact_text(text)
    assert password not in redacted and "url_password" in found
    assert "db.internal:5432/mm" in redacted


@pytest.mark.parametrize(
    "text",
    ["see http://host:8080/a?mail=x@y.com", "https://host/a@b", "ssh://git@host/repo"],
)
def test_a_port_and_path_before_an_at_sign_is_no_password(text: str) -> None:
    assert redact_text(text)[0] == text


def test_a_value_starting_with_an_equals_sign_is_redacted() -> None:
    # key==value in a log line: random keys may begin with "="; code comparisons stay
    line = "2026-12-06 10:00:01,123 INFO auth: using password==g~7wei8+BsC+4+Z?cs9J for upload"
    redacted, found = redact_text(line)
    assert "g~7wei8" not in redacted and found
    for code in ("if password == entered:", "if token==expected_token:", "ok = a==b"):
        assert redact_text(code)[0] == code
