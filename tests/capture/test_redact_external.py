"""The redactor against a corpus written from outside its rules (secret_corpus.py): 32
documented formats x 20 contexts, random values on every run, plus the look-alikes that
must stay intact. Prints recall per context; the README's Secrets table comes from here and
from tests/kernel/test_secrets_kernel.py."""

from __future__ import annotations

import collections

import pytest
from secret_corpus import BENIGN, CONTEXTS, FORMATS, applicable, case

from jupyter_mm.capture.redact import CREDENTIAL_MARKER, Redactor, credential_strength

PER_PAIR = 3


def test_recall_per_context() -> None:
    redactor = Redactor()
    total: collections.Counter[str] = collections.Counter()
    missed: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)
    for fmt in FORMATS:
        for context in CONTEXTS:
            if not applicable(fmt, context):
                continue
            for _ in range(PER_PAIR):
                text, secret = case(fmt, context)
                total[context] += 1
                if secret in redactor.redact_text(text)[0]:
                    missed[context].append((fmt.name, text))
    for context, n in total.items():
        print(f"{context:22s} recall {1 - len(missed[context]) / n:.3f} of {n}")
    cases = sum(total.values())
    assert cases > 1500
    # random values: a password of random letters can look like a variable name, so allow
    # one miss per context and run, never more
    for context in total:
        assert len(missed[context]) <= 1, (context, missed[context][:3])
    assert sum(map(len, missed.values())) <= 3, dict(missed)


# the header contexts name the value themselves (Authorization, X-API-Key)
@pytest.mark.parametrize(
    "context", sorted(set(CONTEXTS) - {"bare value", "http header", "api key header"})
)
def test_look_alikes_stay_intact_in_every_context(context: str) -> None:
    redactor = Redactor()
    for line in BENIGN:
        assert redactor.redact_text(line) == (line, []), line
    # the names of ML code next to the values they take
    for name, value in [
        ("max_tokens", "512"),
        ("tokenizer", "bert-base-uncased"),
        ("key_dim", "64"),
        ("passes", "3"),
        ("num_tokens", "2048"),
        ("password_min_length", "8"),
        ("sort_keys", "True"),
        ("token_type_ids", "None"),
        ("monkey_patch", "enabled"),
    ]:
        text = CONTEXTS[context](name, value)
        assert redactor.redact_text(text) == (text, []), text


@pytest.mark.parametrize(
    ("name", "strength"),
    [
        ("db_password", 2), ("DB_PASS", 2), ("api_key", 2), ("X-API-Key", 2), ("hf_token", 2),
        ("--password", 2), ("Authorization", 2), ("SECRET_KEY_BASE", 2), ("smtp_pass", 2),
        ("MYSQLPASSWORD", 2), ("password2", 2), ("key", 1), ("sort_keys", 1),
        ("max_tokens", 0), ("key_dim", 0), ("password_min_length", 0), ("token_type_ids", 0),
        ("tokenizer", 0), ("monkey_patch", 0), ("passes", 0), ("OLDPWD", 0), ("token_id", 0),
    ],
)  # fmt: skip
def test_credential_strength(name: str, strength: int) -> None:
    assert credential_strength(name) == strength


def test_credential_named_values_are_dropped_as_data() -> None:
    redactor = Redactor()
    assert redactor.redact_pair("password", "hunter2") == CREDENTIAL_MARKER
    assert redactor.redact_pair("db_password", "correct horse") == CREDENTIAL_MARKER
    assert redactor.redact_pair("password_min_length", 8) == 8
    assert redactor.redact_pair("max_tokens", 512) == 512
    assert redactor.redact_pair("key", "model-a") == "model-a"
    assert redactor.redact_pair("key", "q8Xv2LmN0pRt5YzW") == CREDENTIAL_MARKER
    assert redactor.redact_pair("api_key", "${OPENAI_API_KEY}") == "${OPENAI_API_KEY}"
    nested = {"smtp": {"host": "mail", "pass": "s3cr3t!"}, "lr": 0.1}
    assert redactor.redact_value(nested) == {
        "smtp": {"host": "mail", "pass": CREDENTIAL_MARKER},
        "lr": 0.1,
    }


def test_argv_flags() -> None:
    redactor = Redactor()
    argv = ["train.py", "--password", "Pw1!", "--api-key=AbC123", "--token", "T0k", "--lr", "3"]
    assert redactor.redact_argv(argv) == [
        "train.py", "--password", CREDENTIAL_MARKER, f"--api-key={CREDENTIAL_MARKER}",
        "--token", CREDENTIAL_MARKER, "--lr", "3",
    ]  # fmt: skip
    assert redactor.redact_argv(["mysql", "-u", "root", "-pS3cret", "db"])[3] == (
        "-p" + CREDENTIAL_MARKER
    )
    assert redactor.redact_argv(["sshpass", "-p", "S3cret", "ssh", "h"])[2] == CREDENTIAL_MARKER


def test_ansi_codes_do_not_hide_a_secret_and_stay_when_nothing_is_found() -> None:
    redactor = Redactor()
    coloured = (
        '\x1b[38;5;241mpassword\x1b[39m \x1b[38;5;250m=\x1b[39m \x1b[38;5;124m"Zq9!xT"\x1b[39m'
    )
    out, hits = redactor.redact_text(coloured)
    assert "Zq9!xT" not in out and hits == ["credential"]
    plain = "\x1b[31mValueError\x1b[39m: lr must be positive"
    assert redactor.redact_text(plain) == (plain, [])
