"""The shared store teams run: PostgreSQL for the rows, S3 for the blobs.

Fixtures (imported by ``tests/conftest.py``, so every suite can use them):

- ``s3_server`` (session): an S3 server on 127.0.0.1, moto's ``ThreadedMotoServer`` — what
  s3fs's own suite tests against. It does not check signatures, so any key pair works.
- ``team_store``: a :class:`TeamStore` — a fresh PostgreSQL database (the ``postgres_url``
  fixture) and a fresh bucket, with the process environment set the way a team member's
  would be: ``JUPYTER_MM_STORE``, ``JUPYTER_MM_ARTIFACTS=s3://<bucket>/mm``,
  ``AWS_ENDPOINT_URL`` and a random key pair in ``AWS_ACCESS_KEY_ID`` /
  ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN`` (``TeamStore.credentials``; tests can
  check that none of it is ever stored). ``~/.aws`` is never read.
  ``TeamStore.env()`` is that environment for subprocesses (kernels, the CLI, servers).

Tests using ``team_store`` carry the ``postgres`` and ``s3`` marks. Without moto or s3fs
installed they are skipped on a developer machine and fail in CI, like PostgreSQL's.
"""

from __future__ import annotations

import os
import secrets
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from mm_test_support import free_port, unavailable

from jupyter_mm.config import StoreLocation

#: the key prefix of the artifact root in each test's bucket
ARTIFACT_PREFIX = "mm"


def _require(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        reason = f"{module} is not installed (pip install -e '.[test]')"
        unavailable(reason, ci_must="test the S3 artifact root")


@dataclass(frozen=True)
class S3Server:
    """A running S3 server for the session."""

    endpoint: str

    def client(self) -> Any:
        """A boto3 S3 client on this server (any credentials: moto does not check them)."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="admin",
            aws_secret_access_key="admin-secret",
        )

    def new_bucket(self) -> str:
        name = f"mm-{secrets.token_hex(6)}"
        self.client().create_bucket(Bucket=name)
        return name

    def objects(self, bucket: str, prefix: str = "") -> dict[str, bytes]:
        """Every object in ``bucket`` under ``prefix``: key -> bytes."""
        client = self.client()
        found: dict[str, bytes] = {}
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"]
                found[item["Key"]] = body.read()
        return found


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server on a free port of 127.0.0.1, for the whole session."""
    _require("moto.server")
    _require("s3fs")
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3Server(endpoint=f"http://127.0.0.1:{port}")
    finally:
        server.stop()


def _random_credentials() -> dict[str, str]:
    """A key pair and session token shaped like AWS's (random each time)."""
    upper = string.ascii_uppercase + string.digits
    secret_chars = string.ascii_letters + string.digits + "+/"
    return {
        "AWS_ACCESS_KEY_ID": "AKIA" + "".join(secrets.choice(upper) for _ in range(16)),
        "AWS_SECRET_ACCESS_KEY": "".join(secrets.choice(secret_chars) for _ in range(40)),
        "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2VjE" + secrets.token_urlsafe(96),
    }


@dataclass(frozen=True)
class TeamStore:
    """A PostgreSQL database and an S3 artifact root, as a team shares them."""

    url: str
    bucket: str
    s3: S3Server
    credentials: dict[str, str] = field(repr=False)
    home: Path

    @property
    def artifact_root(self) -> str:
        return f"s3://{self.bucket}/{ARTIFACT_PREFIX}"

    @property
    def location(self) -> StoreLocation:
        return StoreLocation(url=self.url, artifact_root=self.artifact_root)

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """The environment of a team member's process: ``base`` (default: this process's)
        with the store and the S3 settings."""
        env = dict(os.environ if base is None else base)
        env.update(
            {
                "JUPYTER_MM_STORE": self.url,
                "JUPYTER_MM_ARTIFACTS": self.artifact_root,
                "AWS_ENDPOINT_URL": self.s3.endpoint,
                "AWS_DEFAULT_REGION": "us-east-1",
                # never the developer's own ~/.aws
                "AWS_SHARED_CREDENTIALS_FILE": str(self.home / "aws-credentials"),
                "AWS_CONFIG_FILE": str(self.home / "aws-config"),
                "AWS_EC2_METADATA_DISABLED": "true",
                **self.credentials,
            }
        )
        return env

    def open(self) -> Any:
        """A new store object on this database and root (close it after use)."""
        from jupyter_mm.store import open_store

        return open_store(self.location)

    def objects(self) -> dict[str, bytes]:
        """Every object under the artifact root: key -> bytes."""
        return self.s3.objects(self.bucket, ARTIFACT_PREFIX + "/")


@pytest.fixture
def team_store(
    postgres_url: str, s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TeamStore]:
    """A fresh PostgreSQL database + S3 bucket, the process environment pointing at them."""
    home = tmp_path / "team-home"
    home.mkdir()
    team = TeamStore(
        url=postgres_url,
        bucket=s3_server.new_bucket(),
        s3=s3_server,
        credentials=_random_credentials(),
        home=home,
    )
    for name, value in team.env({}).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the stat cache
    _forget_s3_clients()
    yield team
    _forget_s3_clients()


def _forget_s3_clients() -> None:
    """fsspec keeps one filesystem object per set of options, with the credentials it read
    from the environment then; each test has its own, so its own client."""
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
