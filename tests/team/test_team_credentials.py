"""Credentials of the shared store never end up in it.

A real kernel runs with the team's credentials in its environment — an AWS key pair and
session token for S3, a PostgreSQL password in the store URL and in ``PGPASSWORD`` — and
does what people do: tracks runs that log artifacts and a model, prints its environment,
registers and promotes the model, hits errors. Then every row of every table, every object
in the bucket, the CLI's outputs and the error messages are searched byte for byte: none
holds any of the secrets.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from jupyter_client.manager import start_new_kernel
from kernel.conftest import REPO, execute

from jupyter_mm.errors import MMError
from jupyter_mm.store.fsspec_blobs import FsspecBlobStore

pytestmark = [pytest.mark.postgres, pytest.mark.s3, pytest.mark.kernel]

CELLS = [
    "%load_ext jupyter_mm",
    """%%track -n with-credentials-around
import os
import numpy as np
import jupyter_mm as mm
from sklearn.linear_model import LogisticRegression
print(dict(os.environ))
print("AWS_SECRET_ACCESS_KEY=" + os.environ["AWS_SECRET_ACCESS_KEY"])
X = np.arange(20.0).reshape(10, 2)
clf = LogisticRegression().fit(X, [0, 1] * 5)
mm.log_param("endpoint", os.environ["AWS_ENDPOINT_URL"])
mm.log_artifact(b"weights", name="weights.bin")
mm.log_model(clf, "clf", input_example=X[:2])
run_id = mm.active_run().id
""",
    "v = mm.register_model(run_id, 'clf', 'secretless')\n"
    "mm.transition('secretless', v.version, 'staging', reason='ready')",
    "mm.transition('secretless', v.version, 'production')",
    "%%track -n fails\nraise RuntimeError('training diverged')",
    "mm.load_model('secretless/7')",
]


def _database_text(url: str) -> str:
    """Every row of every table of the store's database, as text."""
    import psycopg

    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        parts = []
        for (table,) in tables:
            rows = conn.execute(f'SELECT t::text FROM "{table}" t').fetchall()
            parts.extend(row[0] for row in rows)
    return "\n".join(parts)


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_mm.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.stdout + done.stderr


def test_no_credential_is_stored_shown_or_reported(team_store, tmp_path):
    password = "pgpw-" + team_store.credentials["AWS_SECRET_ACCESS_KEY"][5:25]
    url = team_store.url.replace("postgres@", f"postgres:{password}@")
    env = team_store.env()
    env.update(JUPYTER_MM_STORE=url, PGPASSWORD=password)
    env["PYTHONPATH"] = REPO
    env.pop("JPY_SESSION_NAME", None)
    secrets = {**team_store.credentials, "postgres password": password}

    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(tmp_path))
    seen: list[str] = []
    try:
        for code in CELLS:
            result = execute(kc, code, timeout=180)
            seen.append(result.stderr + json.dumps(result.errors))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert "training diverged" in seen[4] and "secretless" in seen[5]

    listing = _cli(env, "runs", "--all", "--json")
    run_ids = [run["id"] for run in json.loads(listing)["runs"]]
    assert len(run_ids) == 2
    outputs = [
        listing,
        *(_cli(env, "show", run, "--json") for run in run_ids),
        _cli(env, "models", "--json"),
        _cli(env, "config", "--json"),
        _cli(env, "verify"),
        _cli(env, "gc"),
    ]
    assert any("with-credentials-around" in out for out in outputs)

    # an unreachable object store: the error says where, not with which keys
    env_error = ""
    try:
        FsspecBlobStore(
            team_store.artifact_root,
            endpoint_url="http://127.0.0.1:9",
            key=secrets["AWS_ACCESS_KEY_ID"],
            secret=secrets["AWS_SECRET_ACCESS_KEY"],
            token=secrets["AWS_SESSION_TOKEN"],
            retries=1,
        ).put_bytes(b"x")
    except MMError as exc:
        env_error = str(exc)
    assert team_store.artifact_root in env_error

    database = _database_text(team_store.url)
    assert "with-credentials-around" in database and "AWS_SECRET_ACCESS_KEY" in database
    objects = team_store.objects()
    assert len(objects) > 5
    places = {
        "database": database.encode(),
        **{f"s3 object {key}": body for key, body in objects.items()},
        **{f"CLI output {i}": out.encode() for i, out in enumerate(outputs)},
        **{f"kernel stderr/error {i}": text.encode() for i, text in enumerate(seen)},
        "S3 error message": env_error.encode(),
    }
    leaks = [
        f"{name} in {place}"
        for place, data in places.items()
        for name, value in secrets.items()
        if value.encode() in data
    ]
    assert leaks == []
