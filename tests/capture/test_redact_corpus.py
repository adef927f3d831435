"""Recall and false-positive rate of the redactor on a generated, labelled corpus.

Secrets are synthesised per format (random bodies in the documented shapes) and embedded
in varied contexts (code, shell, JSON, logs, URLs). Benign samples are the look-alikes a
notebook is full of: git SHAs, UUIDs, digests, base64 images, code using words like
``token`` and ``key``, paths and prose. The real rates are computed and asserted.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import string
import uuid
from collections.abc import Callable

from jupyter_mm.capture.redact import MARKER, RULES, Redactor

RNG = random.Random(20261126)
ALNUM = string.ascii_letters + string.digits
UPPER_DIGITS = string.ascii_uppercase + string.digits
HEX = "0123456789abcdef"
URLSAFE = ALNUM + "_-"
B64 = ALNUM + "+/"


def rand(alphabet: str, n: int) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def pem(kind: str) -> str:
    body = base64.b64encode(RNG.randbytes(RNG.randint(120, 600))).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    label = f"{kind} PRIVATE KEY" if kind != "PGP" else "PGP PRIVATE KEY BLOCK"
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"])


# (expected rule, generator of (text, secret)) — the secret must vanish from the output.
def token(body: Callable[[], str]) -> Callable[[], tuple[str, str]]:
    contexts = [
        'API = "{}"',
        "export SERVICE_CREDENTIAL_VALUE={}",
        "curl -H 'X-Api-Key: {}' https://api.example.com",
        "print('{}')",
        "{}",
        "config:\n  value: {}\n",
        '{{"value": "{}", "n": 3}}',
        "login ok with {} at 12:00",
    ]

    def make() -> tuple[str, str]:
        secret = body()
        return RNG.choice(contexts).format(secret), secret

    return make


def assignment(names: list[str], value: Callable[[], str]) -> Callable[[], tuple[str, str]]:
    forms = ['{} = "{}"', "{}='{}'", "export {}={}", '"{}": "{}"', "{}: {}", "{} := '{}'"]

    def make() -> tuple[str, str]:
        secret = value()
        return RNG.choice(forms).format(RNG.choice(names), secret), secret

    return make


def url_password() -> tuple[str, str]:
    password = rand(ALNUM + "!$*", RNG.randint(6, 20))
    scheme = RNG.choice(["postgresql", "mysql", "https", "redis", "mongodb+srv", "amqp"])
    user = rand(string.ascii_lowercase, 6)
    return f"engine = create_engine('{scheme}://{user}:{password}@db.internal:5432/x')", password


def jwt() -> str:
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps({"sub": rand(HEX, 8), "iat": RNG.randint(1, 10**9)}).encode())
    return f"{header}.{payload}.{b64url(RNG.randbytes(32))}"


def gcp_service_account() -> tuple[str, str]:
    key_id = rand(HEX, 40)
    document = {
        "type": "service_account",
        "project_id": "demo",
        "private_key_id": key_id,
        "private_key": pem("")
        .replace("BEGIN  PRIVATE", "BEGIN PRIVATE")
        .replace("END  PRIVATE", "END PRIVATE"),
        "client_email": "svc@demo.iam.gserviceaccount.com",
    }
    return json.dumps(document, indent=2), key_id


def private_key() -> tuple[str, str]:
    block = pem(RNG.choice(["RSA", "EC", "OPENSSH", "DSA", "ENCRYPTED", "PGP"]))
    body_line = block.splitlines()[1]
    if RNG.random() < 0.3:  # as it appears inside JSON or Python source: escaped newlines
        return f'key = "{block.replace(chr(10), chr(92) + "n")}"', body_line
    return f"Here is the key:\n{block}\nend", body_line


def azure_connection() -> tuple[str, str]:
    key = base64.b64encode(RNG.randbytes(64)).decode()
    return (
        f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={key};"
        "EndpointSuffix=core.windows.net",
        key,
    )


def azure_sas() -> tuple[str, str]:
    sig = base64.b64encode(RNG.randbytes(32)).decode().replace("+", "%2B").replace("/", "%2F")
    return (
        f"https://acct.blob.core.windows.net/c/b.csv?sv=2022-11-02&ss=b&sp=r&se=2030-01-01&sig={sig}",
        sig,
    )


def bearer() -> tuple[str, str]:
    secret = rand(ALNUM, 12) + "9" + rand(ALNUM + "._-", RNG.randint(20, 60))
    return f"headers = {{'Authorization': 'Bearer {secret}'}}", secret


def basic() -> tuple[str, str]:
    secret = base64.b64encode(f"user:{rand(ALNUM, 12)}".encode()).decode()
    return f"Authorization: Basic {secret}", secret


def heroku_uuid() -> tuple[str, str]:
    secret = str(uuid.UUID(int=RNG.getrandbits(128)))
    return f'HEROKU_API_KEY="{secret}"', secret


def generic_password() -> str:
    return rand(ALNUM, RNG.randint(8, 24)) + RNG.choice("0123456789")


def cli_password() -> tuple[str, str]:
    secret = rand(ALNUM + "!%^", RNG.randint(8, 16))
    forms = [
        "mysql -h db -u root -p{} app < dump.sql",
        "sshpass -p '{}' ssh deploy@10.0.0.5",
        "redis-cli -h cache -a {} ping",
        "curl -u admin:{} https://ci.example/api",
    ]
    return RNG.choice(forms).format(secret), secret


def azure_client_secret() -> tuple[str, str]:
    secret = rand(ALNUM, 3) + rand(string.digits, 1) + "Q~" + rand(URLSAFE + "~.", 34)
    return f"AZURE_CLIENT_SECRET value {secret} rotated", secret


GENERATORS: dict[str, list[Callable[[], tuple[str, str]]]] = {
    "private_key": [private_key],
    "cli_password": [cli_password],
    "azure_client_secret": [azure_client_secret],
    "gcp_service_account": [gcp_service_account],
    "aws_access_key_id": [token(lambda: RNG.choice(["AKIA", "ASIA"]) + rand(UPPER_DIGITS, 16))],
    "aws_secret_access_key": [
        assignment(
            ["aws_secret_access_key", "AWS_SECRET_ACCESS_KEY", "aws_session_token"],
            lambda: rand(B64, 40),
        )
    ],
    "github_token": [token(lambda: "gh" + RNG.choice("pousr") + "_" + rand(ALNUM, 36))],
    "github_fine_grained_token": [
        token(lambda: "github_pat_" + rand(ALNUM, 22) + "_" + rand(ALNUM, 59))
    ],
    "gitlab_token": [token(lambda: RNG.choice(["glpat-", "gldt-", "glrt-"]) + rand(URLSAFE, 20))],
    "slack_webhook": [
        token(
            lambda: (
                "https://hooks.slack.com/services/T"
                + rand(UPPER_DIGITS, 8)
                + "/B"
                + rand(UPPER_DIGITS, 10)
                + "/"
                + rand(ALNUM, 24)
            )
        )
    ],
    "slack_token": [
        token(
            lambda: (
                f"xox{RNG.choice('bpar')}-{rand(string.digits, 11)}-"
                f"{rand(string.digits, 12)}-{rand(ALNUM, 24)}"
            )
        )
    ],
    "stripe_key": [
        token(lambda: RNG.choice(["sk_live_", "sk_test_", "rk_live_"]) + rand(ALNUM, 24)),
        token(lambda: "whsec_" + rand(ALNUM, 32)),
    ],
    "google_api_key": [token(lambda: "AIza" + rand(URLSAFE, 35))],
    "google_oauth_token": [
        token(lambda: "ya29." + rand(URLSAFE, 80)),
        token(lambda: "GOCSPX-" + rand(URLSAFE, 28)),
    ],
    "azure_storage_key": [azure_connection],
    "azure_sas_token": [azure_sas],
    "anthropic_api_key": [token(lambda: "sk-ant-api03-" + rand(URLSAFE, 93) + "AA")],
    "openai_api_key": [
        token(lambda: "sk-proj-" + rand(URLSAFE, 120)),
        token(lambda: "sk-" + rand(ALNUM, 20) + "T3BlbkFJ" + rand(ALNUM, 20)),
    ],
    "huggingface_token": [token(lambda: "hf_" + rand(ALNUM, 34))],
    "npm_token": [token(lambda: "npm_" + rand(ALNUM, 36))],
    "pypi_token": [token(lambda: "pypi-AgEIcHlwaS5vcmc" + rand(URLSAFE, 70))],
    "twilio_api_key": [token(lambda: "SK" + rand(HEX, 32))],
    "sendgrid_api_key": [token(lambda: "SG." + rand(URLSAFE, 22) + "." + rand(URLSAFE, 43))],
    "mailgun_api_key": [token(lambda: "key-" + rand(HEX, 32))],
    "digitalocean_token": [
        token(lambda: RNG.choice(["dop", "doo", "dor"]) + "_v1_" + rand(HEX, 64))
    ],
    "shopify_token": [token(lambda: RNG.choice(["shpat_", "shpss_", "shpca_"]) + rand(HEX, 32))],
    "square_token": [
        token(lambda: "EAAA" + rand(URLSAFE, 60)),
        token(lambda: "sq0atp-" + rand(URLSAFE, 22)),
    ],
    "databricks_token": [token(lambda: "dapi" + rand(HEX, 32))],
    "heroku_api_key": [token(lambda: "HRKU-" + rand(URLSAFE, 60)), heroku_uuid],
    "jwt": [token(jwt)],
    "url_password": [url_password],
    "bearer_token": [bearer],
    "basic_auth": [basic],
    "credential": [
        assignment(
            ["password", "DB_PASSWORD", "db.passwd", "client_secret", "SECRET_KEY", "api_key"],
            generic_password,
        )
    ],
}


def png_chunk() -> str:
    data = b"\x89PNG\r\n\x1a\n" + RNG.randbytes(RNG.randint(200, 3000))
    encoded = base64.b64encode(data).decode()
    if RNG.random() < 0.5:
        return "data:image/png;base64," + encoded
    return "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))


WORDS = [
    "token",
    "key",
    "secret",
    "password",
    "model",
    "train",
    "test",
    "loss",
    "accuracy",
    "epoch",
    "batch",
    "dataset",
    "pandas",
    "frame",
    "column",
    "index",
    "value",
    "mask",
    "skip",
    "task",
    "desk",
    "ask",
    "sklearn",
    "scikit-learn",
    "auth",
    "author",
    "session",
    "cookie",
    "signature",
    "access",
    "private",
    "public",
    "api",
    "glossary",
    "highlight",
    "github",
    "gitlab",
]

BENIGN_CODE = [
    "tokens = tokenizer(text, return_tensors='pt')",
    'pad_token = "[PAD]"',
    'tokenizer.eos_token = "<|endoftext|>"',
    "password = getpass.getpass()",
    "api_key = os.environ['OPENAI_API_KEY']",
    'key = "id"',
    "for key, value in params.items():",
    "secret = vault.read(path)",
    "auth = HTTPBasicAuth(user, pw)",
    "token_count = len(tokens)",
    "aws_region = 'us-east-1'",
    "arn = 'arn:aws:iam::123456789012:role/Trainer'",
    "df.sort_values(key=lambda s: s.str.lower())",
    "SKU-2041 shipped",
    "see https://github.com/jupyter/notebook/issues/1234",
    "url = 'http://localhost:8888/lab/tree/work.ipynb'",
    "from sklearn.model_selection import train_test_split",
    "os.environ['TOKENIZERS_PARALLELISM'] = 'false'",
    "password_hash = bcrypt.hashpw(pw, salt)",
    "ssh git@github.com:org/repo.git",
]


def benign() -> str:
    kind = RNG.randrange(11)
    if kind == 0:
        return f"commit {rand(HEX, 40)}\nAuthor: A <a@example.com>"
    if kind == 1:
        return f"run {uuid.uuid4()} finished"
    if kind == 2:
        return f"sha256:{hashlib.sha256(RNG.randbytes(8)).hexdigest()}"
    if kind == 3:
        return png_chunk()
    if kind == 4:
        return " ".join(RNG.choice(WORDS) for _ in range(RNG.randint(5, 30)))
    if kind == 5:
        return RNG.choice(BENIGN_CODE)
    if kind == 6:
        return f"/home/{rand(string.ascii_lowercase, 5)}/data/{rand(ALNUM, 12)}_v2.parquet"
    if kind == 7:
        return f"{rand(HEX, 7)} Merge branch 'feature/{rand(string.ascii_lowercase, 8)}'"
    if kind == 8:
        return f"Epoch {RNG.randint(1, 99)} - loss: {RNG.random():.4f} - key_metric: {RNG.random():.3f}"
    if kind == 9:
        return f"blake3 {hashlib.blake2b(RNG.randbytes(8)).hexdigest()}"
    return f"01J{rand('0123456789ABCDEFGHJKMNPQRSTVWXYZ', 23)} {rand(B64, 30)}"


def test_every_rule_has_generated_secrets() -> None:
    assert {r.name for r in RULES} == set(GENERATORS)
    assert len({r.name for r in RULES}) >= 25


def test_recall_and_false_positive_rate() -> None:
    redactor = Redactor()
    per_format = 16
    secrets = [
        (rule, make())
        for rule, makers in GENERATORS.items()
        for i in range(per_format)
        for make in [makers[i % len(makers)]]
    ]
    assert len(secrets) >= 500
    missed = []
    for rule, (text, secret) in secrets:
        redacted, hits = redactor.redact_text(text)
        if secret in redacted or MARKER.format(rule) not in redacted or rule not in hits:
            missed.append((rule, text, redacted))
    recall = 1 - len(missed) / len(secrets)
    samples = [benign() for _ in range(1200)]
    flagged = [(s, redactor.redact_text(s)) for s in samples]
    flagged = [(s, r) for s, r in flagged if r[1] or r[0] != s]
    false_positive_rate = len(flagged) / len(samples)
    print(f"recall {recall:.4f} on {len(secrets)} secrets; FP {false_positive_rate:.4f}")
    assert recall >= 0.99, missed[:5]
    assert false_positive_rate <= 0.05, flagged[:5]


def test_large_documents_use_the_scan_plan_and_miss_nothing() -> None:
    """Texts over 32 KiB are scanned through a per-text plan (hopping between rare
    characters); the same secrets must be found as in short texts."""
    pieces: list[str] = []
    secrets: list[str] = []
    for makers in GENERATORS.values():
        for make in makers:
            text, secret = make()
            pieces.append(text)
            secrets.append(secret)
            pieces.extend(benign() for _ in range(3))
    pieces.extend(f"Epoch {i} - loss: {RNG.random():.4f}" for i in range(3000))
    RNG.shuffle(pieces)
    document = "\n".join(pieces)
    assert len(document) > 64 * 1024
    redacted, _ = Redactor().redact_text(document)
    assert [s for s in secrets if s in redacted] == []
