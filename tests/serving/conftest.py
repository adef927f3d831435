"""A store with a registered classifier, and real `jupyter mm serve` processes on it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mm_test_support import free_port

import jupyter_mm as mm
from jupyter_mm import tracking
from jupyter_mm.store import open_store

REPO = Path(__file__).resolve().parents[2]
COLUMNS = ["age", "balance", "visits", "score"]


def training_frame(seed: int = 0, rows: int = 200) -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 4)), columns=COLUMNS)
    frame["visits"] = rng.integers(0, 10, size=rows)
    target = (frame["balance"] + 0.1 * frame["visits"] > 0.4).astype(int)
    return frame, target


def register_classifier(store: Any, name: str, C: float, stage: str | None) -> Any:
    from sklearn.linear_model import LogisticRegression

    X, y = training_frame()
    with mm.start_run(f"{name}-C{C}") as run:
        mm.log_model(LogisticRegression(C=C).fit(X, y), "model", input_example=X.head(5))
    version = mm.register_model(run.id, "model", name, store=store)
    if stage in ("staging", "production"):
        mm.transition(name, version.version, "staging", store=store)
    if stage == "production":
        mm.transition(name, version.version, "production", store=store)
    return version


@dataclass
class Served:
    url: str
    process: subprocess.Popen
    log: Path

    def post(
        self, path: str, body: Any, headers: dict[str, str] | None = None
    ) -> tuple[int, dict, Any]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            headers={"Content-Type": "application/json", **(headers or {})},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return (
                    response.status,
                    dict(response.headers),
                    json.loads(response.read() or b"null"),
                )
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), json.loads(exc.read() or b"null")

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=60)


def serve_env(url: str) -> dict[str, str]:
    env = dict(os.environ, JUPYTER_MM_STORE=url)
    if not url.startswith("postgresql"):  # a SQLite store keeps its blobs beside it
        env.pop("JUPYTER_MM_ARTIFACTS", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


@contextlib.contextmanager
def serving(
    url: str, tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[Served]:
    """A ``jupyter mm serve`` process on the store ``url`` (``env``: its whole environment,
    for a store that needs more than the URL, e.g. an S3 artifact root)."""
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyter_mm.cli", "serve", *args, "--port", str(port),
             "--poll", "0.2", "--log-interval", "0.2"],
            env=env or serve_env(url), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    served = Served(f"http://127.0.0.1:{port}", process, log)
    # a loaded 2-core machine takes a while to import scikit-learn, pandas and the store
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"serve exited {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(OSError):
            if served.get("/ping")[0] == 200:
                break
        time.sleep(0.2)
    else:
        process.kill()
        raise TimeoutError(f"serve did not answer /ping within 180 s:\n{log.read_text()}")
    try:
        yield served
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@contextlib.contextmanager
def _registry_store(
    url: str, artifacts: Path | None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Any]]:
    """A store at ``url`` (the default store of this process and of the serve processes it
    starts) holding ``churn`` version 1 in production."""
    from jupyter_mm.config import StoreLocation

    monkeypatch.setenv("JUPYTER_MM_STORE", url)
    if artifacts is None:
        monkeypatch.delenv("JUPYTER_MM_ARTIFACTS", raising=False)
        store = open_store(url)
    else:
        monkeypatch.setenv("JUPYTER_MM_ARTIFACTS", str(artifacts))
        store = open_store(StoreLocation(url=url, artifact_root=str(artifacts)))
    tracking.set_default_store(store)
    try:
        register_classifier(store, "churn", 1.0, "production")
        yield url, store
    finally:
        tracking.set_default_store(None)
        store.close()


@pytest.fixture
def registry_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Any]]:
    with _registry_store(f"sqlite:///{tmp_path / 'store' / 'mm.db'}", None, monkeypatch) as it:
        yield it


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend_store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Any]]:
    """:func:`registry_store` on SQLite and on a real PostgreSQL (blobs in a directory)."""
    if request.param == "sqlite":
        url, artifacts = f"sqlite:///{tmp_path / 'store' / 'mm.db'}", None
    else:
        url, artifacts = request.getfixturevalue("postgres_url"), tmp_path / "objects"
    with _registry_store(url, artifacts, monkeypatch) as it:
        yield it
