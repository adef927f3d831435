"""A secret corpus written from the outside: formats as providers document them (and as
gitleaks' rule set and detect-secrets' plugins describe them), in the contexts people leak
them in. Values are random on every run (``random.SystemRandom``), in the documented shape.

Used by tests/capture/test_redact_corpus.py (the redactor on text), tests/kernel/
test_secrets_kernel.py (through a real kernel into a real store) and bench/redaction_bench.py
(recall and speed of this project's rules against detect-secrets).
"""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Callable
from dataclasses import dataclass

RNG = random.SystemRandom()
LOWER = string.ascii_lowercase
UPPER = string.ascii_uppercase
DIGITS = string.digits
ALNUM = string.ascii_letters + DIGITS
HEX = "0123456789abcdef"
URLSAFE = ALNUM + "_-"
B64 = ALNUM + "+/"
# what a person picks as a password: letters, digits and the usual symbols
PASSWORD_CHARS = ALNUM + "!#%*+-=?@^_~"


def rand(alphabet: str, n: int) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def password() -> str:
    """A human-chosen password: a word, digits and a symbol, or random characters."""
    if RNG.random() < 0.5:
        word = RNG.choice(["Summer", "dragon", "Monkey", "letmein", "Falcon", "orange"])
        return f"{word}{rand(DIGITS, RNG.randint(2, 4))}{RNG.choice('!#@*')}{rand(ALNUM, 3)}"
    return rand(PASSWORD_CHARS, RNG.randint(12, 24))


def der_key_base64(kind: str) -> str:
    """Base64 of bytes that start like a DER private key (SEQUENCE, version INTEGER)."""
    if kind == "ec":
        head = bytes([0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20])
        size = 110
    else:
        size = RNG.choice([1190, 1216, 1217])
        head = bytes([0x30, 0x82, size >> 8, size & 0xFF, 0x02, 0x01, 0x00])
    return base64.b64encode(head + RNG.randbytes(size)).decode()


def pem(label: str, body: str) -> str:
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"])


def openssh_body() -> str:
    magic = b"openssh-key-v1\x00"
    return base64.b64encode(magic + RNG.randbytes(380)).decode()


def pgp_block() -> tuple[str, str]:
    body = base64.b64encode(bytes([0x95, 0x03, 0xC6]) + RNG.randbytes(900)).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    text = "\n".join(
        ["-----BEGIN PGP PRIVATE KEY BLOCK-----", "", *lines, "=" + rand(B64, 4),
         "-----END PGP PRIVATE KEY BLOCK-----"]
    )  # fmt: skip
    return text, lines[3]


@dataclass(frozen=True)
class Format:
    """One documented secret format: ``make`` returns (the value to embed, the part that
    must not reach the store), ``names`` the variable names it is usually given."""

    name: str
    make: Callable[[], tuple[str, str]]
    names: tuple[str, ...]
    #: True when the value is recognisable without a name (a provider prefix, a structure);
    #: False for passwords and generic keys, which only a credential context reveals
    self_evident: bool = True


def _same(make: Callable[[], str]) -> Callable[[], tuple[str, str]]:
    def both() -> tuple[str, str]:
        value = make()
        return value, value

    return both


def _jwt() -> str:
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {
        "sub": rand(DIGITS, 10),
        "name": "Ada",
        "iat": RNG.randint(1_600_000_000, 1_800_000_000),
    }
    return f"{header}.{b64url(json.dumps(claims).encode())}.{b64url(RNG.randbytes(32))}"


def _url(scheme: str) -> Callable[[], tuple[str, str]]:
    def make() -> tuple[str, str]:
        secret = rand(ALNUM + "!*~", RNG.randint(10, 20))
        user = "" if scheme == "redis" else rand(LOWER, 6)
        host = RNG.choice(["db.internal:5432", "10.0.3.7:6379", "cluster0.ab12c.mongodb.net"])
        return f"{scheme}://{user}:{secret}@{host}/app", secret

    return make


def _gcp_service_account() -> tuple[str, str]:
    key_id = rand(HEX, 40)
    key = pem("PRIVATE KEY", der_key_base64("rsa")).replace("\n", "\\n")
    doc = {
        "type": "service_account",
        "project_id": f"ml-{rand(LOWER, 6)}",
        "private_key_id": key_id,
        "private_key": key,
        "client_email": f"trainer@ml-{rand(LOWER, 6)}.iam.gserviceaccount.com",
    }
    return json.dumps(doc), key_id


def _private_key(label: str, body: Callable[[], str]) -> Callable[[], tuple[str, str]]:
    def make() -> tuple[str, str]:
        text = pem(label, body())
        return text, text.splitlines()[2]

    return make


def _headless_key() -> tuple[str, str]:
    """A PEM key printed without its BEGIN line (``print(key[32:])``, a cut log)."""
    text = pem("RSA PRIVATE KEY", der_key_base64("rsa"))
    body = text.split("\n", 1)[1]
    return body, body.splitlines()[1]


def _key_bytes() -> tuple[str, str]:
    """The base64 of a key's bytes with no markers at all (``base64.b64encode(der)``)."""
    body = RNG.choice([der_key_base64("rsa"), der_key_base64("ec"), openssh_body()])
    return body, body[:120]


FORMATS: tuple[Format, ...] = (
    Format("aws_access_key_id", _same(lambda: "AKIA" + rand(UPPER + "234567", 16)),
           ("aws_access_key_id", "AWS_ACCESS_KEY_ID")),
    Format("aws_secret_access_key", _same(lambda: rand(B64, 40)),
           ("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY"), self_evident=False),
    Format("gcp_service_account", _gcp_service_account, ("service_account_info",)),
    Format("azure_storage_key",
           lambda: ((k := rand(B64, 86) + "==") and
                    f"DefaultEndpointsProtocol=https;AccountName=mlstore{rand(DIGITS, 3)};"
                    f"AccountKey={k};EndpointSuffix=core.windows.net", k),
           ("AZURE_STORAGE_CONNECTION_STRING", "conn_str")),
    Format("azure_client_secret",
           _same(lambda: rand(ALNUM, 3) + rand(DIGITS, 1) + "Q~" + rand(ALNUM + "_~.-", 34)),
           ("AZURE_CLIENT_SECRET", "client_secret")),
    Format("github_classic", _same(lambda: "ghp_" + rand(ALNUM, 36)), ("GITHUB_TOKEN", "gh_token")),
    Format("github_fine_grained",
           _same(lambda: f"github_pat_{rand(ALNUM, 22)}_{rand(ALNUM, 59)}"), ("GH_PAT", "token")),
    Format("github_app", _same(lambda: "ghs_" + rand(ALNUM, 36)), ("installation_token",)),
    Format("gitlab", _same(lambda: "glpat-" + rand(URLSAFE, 20)), ("GITLAB_TOKEN", "private_token")),
    Format("slack_bot",
           _same(lambda: f"xoxb-{rand(DIGITS, 11)}-{rand(DIGITS, 12)}-{rand(ALNUM, 24)}"),
           ("SLACK_BOT_TOKEN", "slack_token")),
    Format("slack_webhook",
           lambda: ((p := f"T{rand(UPPER + DIGITS, 8)}/B{rand(UPPER + DIGITS, 10)}/{rand(ALNUM, 24)}")
                    and f"https://hooks.slack.com/services/{p}", p.split("/")[-1]),
           ("SLACK_WEBHOOK_URL", "webhook_url")),
    Format("stripe", _same(lambda: RNG.choice(["sk_live_", "rk_live_"]) + rand(ALNUM, 99)),
           ("STRIPE_SECRET_KEY", "stripe_key")),
    Format("twilio_api_key", _same(lambda: "SK" + rand(HEX, 32)), ("TWILIO_API_KEY",)),
    Format("twilio_auth_token", _same(lambda: rand(HEX, 32)), ("TWILIO_AUTH_TOKEN", "auth_token"),
           self_evident=False),
    Format("sendgrid", _same(lambda: f"SG.{rand(URLSAFE, 22)}.{rand(URLSAFE, 43)}"),
           ("SENDGRID_API_KEY", "sg_key")),
    Format("openai",
           _same(lambda: f"sk-proj-{rand(URLSAFE, 74)}T3BlbkFJ{rand(URLSAFE, 74)}"),
           ("OPENAI_API_KEY", "openai_api_key")),
    Format("anthropic", _same(lambda: f"sk-ant-api03-{rand(URLSAFE, 93)}AA"),
           ("ANTHROPIC_API_KEY", "anthropic_key")),
    Format("huggingface", _same(lambda: "hf_" + rand(string.ascii_letters, 34)),
           ("HF_TOKEN", "hf_token")),
    Format("npm", _same(lambda: "npm_" + rand(ALNUM, 36)), ("NPM_TOKEN",)),
    Format("pypi", _same(lambda: "pypi-AgEIcHlwaS5vcmc" + rand(URLSAFE, 70)),
           ("TWINE_PASSWORD", "pypi_token")),
    Format("jwt", _same(_jwt), ("id_token", "JWT")),
    Format("basic_auth_url", _url("https"), ("index_url", "REPO_URL")),
    Format("postgres_url", _url("postgresql"), ("DATABASE_URL", "db_url")),
    Format("mongodb_url", _url("mongodb+srv"), ("MONGO_URI",)),
    Format("redis_url", _url("redis"), ("REDIS_URL",)),
    Format("private_key_pem", _private_key("RSA PRIVATE KEY", lambda: der_key_base64("rsa")),
           ("private_key",)),
    Format("private_key_openssh", _private_key("OPENSSH PRIVATE KEY", openssh_body),
           ("ssh_key",)),
    Format("private_key_pgp", pgp_block, ("gpg_key",)),
    Format("private_key_headless", _headless_key, ("key_material",)),
    Format("private_key_bytes", _key_bytes, ("key_b64",)),
    Format("password", _same(password),
           ("password", "db_password", "DB_PASS", "smtp_pass", "MYSQL_PWD", "passphrase"),
           self_evident=False),
    Format("generic_secret", _same(lambda: rand(ALNUM, RNG.randint(24, 48))),
           ("client_secret", "SECRET_KEY", "webhook_secret", "api_key", "X_API_KEY"),
           self_evident=False),
)  # fmt: skip

MULTILINE = {"gcp_service_account", "private_key_pem", "private_key_openssh", "private_key_pgp",
             "private_key_headless", "private_key_bytes"}  # fmt: skip


def _ansi(text: str) -> str:
    """Colour every token the way IPython's highlighter does in a traceback."""
    out = []
    for token in text.replace("=", " = ").split(" "):
        out.append(f"\x1b[38;5;{RNG.choice([241, 250, 124, 28])}m{token}\x1b[39m")
    return "\x1b[38;5;250m \x1b[39m".join(out)


def _html_row(name: str, value: str) -> str:
    """A pandas ``Series.to_frame().to_html()``-like table: names as row headers."""
    return (
        '<table border="1" class="dataframe">\n  <tbody>\n    <tr>\n'
        f"      <th>{name}</th>\n      <td>{value}</td>\n    </tr>\n  </tbody>\n</table>"
    )


def _html_column(name: str, value: str) -> str:
    """A pandas ``DataFrame.to_html()``-like table: names as column headers."""
    return (
        '<table border="1" class="dataframe">\n  <thead>\n    <tr style="text-align: right;">\n'
        f"      <th></th>\n      <th>host</th>\n      <th>{name}</th>\n      <th>port</th>\n"
        "    </tr>\n  </thead>\n  <tbody>\n    <tr>\n      <th>0</th>\n      <td>db1</td>\n"
        f"      <td>{value}</td>\n      <td>5432</td>\n    </tr>\n  </tbody>\n</table>"
    )


def _text_table(name: str, value: str) -> str:
    """A DataFrame's ``text/plain``: columns right-aligned under their names."""
    width = max(len(name), len(value))
    return f"  host  {name:>{width}}  port\n0  db1  {value:>{width}}  5432\n1  db2  {'-':>{width}}  5433"


#: context name -> (text around a named value, whether the context names the value)
CONTEXTS: dict[str, Callable[[str, str], str]] = {
    "code assignment": lambda n, v: f'{n.lower()} = "{v}"\nclient = Client({n.lower()})',
    "annotated assignment": lambda n, v: f"{n.lower()}: str = '{v}'",
    "json config": lambda n, v: json.dumps(
        {"service": {"url": "https://api.example", n: v}}, indent=2
    ),
    "yaml config": lambda n, v: f"service:\n  host: api.example\n  {n.lower()}: {v}\n",
    "dotenv": lambda n, v: f"DEBUG=0\n{n.upper()}={v}\n",
    "os.environ dump": lambda n, v: repr({"HOME": "/home/ada", n.upper(): v, "LANG": "C.UTF-8"}),
    "cli flag": lambda n, v: f"python train.py --{n.lower().replace('_', '-')} {v} --epochs 3",
    "cli flag =": lambda n, v: f"train --{n.lower().replace('_', '-')}={v}",
    "http header": lambda n, v: f"curl -H 'Authorization: Token {v}' https://api.example/v1",
    "api key header": lambda n, v: f"GET /v1/models HTTP/1.1\nX-API-Key: {v}\nAccept: */*",
    "log line": lambda n, v: f"2026-12-06 10:00:01,123 INFO auth: using {n.lower()}={v} for upload",
    "prose": lambda n, v: f"note to self: the {n.lower().replace('_', ' ')} is {v} until Friday",
    "traceback (ANSI)": lambda n, v: (
        "\x1b[31m---------------------------------------------------------------------------\x1b[39m\n"
        "\x1b[31mValueError\x1b[39m    Traceback (most recent call last)\n"
        f"\x1b[32m----> 3\x1b[39m {_ansi(f'{n.lower()}={chr(34)}{v}{chr(34)}')}\n"
    ),
    "exception text": lambda n, v: f"ConnectionError: login failed for {n.lower()}={v!r}",
    "html table": lambda n, v: _html_row(n.lower(), v),
    "html table (column)": lambda n, v: _html_column(n.lower(), v),
    "text table (DataFrame)": lambda n, v: _text_table(n.lower(), v),
    "json output": lambda n, v: json.dumps({"config": {"smtp": {n.lower(): v}}}),
    "markdown": lambda n, v: f"| setting | value |\n|---|---|\n| `{n.lower()}` | `{v}` |",
    "bare value": lambda n, v: f"print(x)\n{v}\n",
}
#: contexts where only the value appears, with no name next to it: only formats that are
#: recognisable on their own can be found there
NAMELESS = {"bare value"}


def case(fmt: Format, context: str) -> tuple[str, str]:
    """(text, secret) for one format in one context."""
    value, secret = fmt.make()
    if fmt.name in MULTILINE and context not in ("json config", "json output", "bare value"):
        # a multi-line value goes where multi-line values go: a docstring-like literal
        return f"{RNG.choice(fmt.names).lower()} = '''{value}'''\n", secret
    return CONTEXTS[context](RNG.choice(fmt.names), value), secret


def applicable(fmt: Format, context: str) -> bool:
    """Whether the format is expected to be found in the context: a generic value needs
    its name next to it (any named context); a self-evident one is found anywhere."""
    return fmt.self_evident or context not in NAMELESS


#: Text a notebook is full of that must stay intact: ML code and logs that use the words
#: the credential rules look for, identifiers and digests that look random.
BENIGN: tuple[str, ...] = (
    "response = client.chat(model=m, max_tokens=512, temperature=0.2)",
    'tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")',
    "attn = MultiHeadAttention(key_dim=64, num_heads=8)",
    "for epoch in range(passes=3): pass",
    "from unittest import mock; monkey_patch(module)",
    "num_tokens = len(batch['input_ids'])",
    "out = model(input_ids, token_type_ids=token_type_ids, attention_mask=mask)",
    "policy = PasswordPolicy(password_min_length=8, password_max_age=90)",
    "json.dumps(record, sort_keys=True, indent=2)",
    "usage: {'prompt_tokens': 1543, 'completion_tokens': 211, 'total_tokens': 1754}",
    "tokenizer.pad_token = tokenizer.eos_token",
    'special = {"pad_token": "[PAD]", "eos_token": "</s>", "unk_token": "<unk>"}',
    "password = getpass.getpass('Password: ')",
    'token = os.environ["HF_TOKEN"]',
    "api_key = os.getenv('OPENAI_API_KEY')",
    "secret = vault.read(path)['data']",
    "DB_PASSWORD=${DB_PASSWORD}",
    "password: ${{ secrets.DB_PASSWORD }}",
    "TOKENIZERS_PARALLELISM=false",
    "sorted(rows, key=lambda r: r['score'])",
    "cache_key = f'{model_name}-{revision}'",
    "Epoch 3/10 - loss: 0.4121 - key: value_3 - token count 1536",
    "git checkout 3f2a9c1b7e4d5a6f8091a2b3c4d5e6f708192a3b",
    "run_id = 'b4f5e6a7-1c2d-4e3f-8a9b-0c1d2e3f4a5b'",
    "sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "the password is required; please enter your password",
    "Secret management is handled by the platform team.",
    "key_padding_mask = src == pad_idx",
    "auth_type = 'oauth'",
    "private = False",
    "session_id = 42",
    "use_auth_token=True",
    'hf_hub_download(repo_id="gpt2", filename="config.json", token=None)',
    "x_train, x_test = train_test_split(X, test_size=0.2)",
    "--max-tokens 256 --temperature 0.7 --seed 1234",
    "TOKEN_LIMIT=4096",
    "password_hash = bcrypt.hashpw(pw, salt)",
    'print(f"{len(tokens)} tokens, {len(keys)} keys")',
    "secret_name = 'prod/db'",
    "'PWD': '/home/ada/project', 'OLDPWD': '/home/ada'",
    "api_key_header = 'X-API-Key'",
    "data.keys(), dict.fromkeys(names)",
    "skip_special_tokens=True, add_special_tokens=False",
    "image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
)
