"""Fixtures of the alert tests: an isolated default store, a configuration file written by
the test, and a real local HTTP receiver that checks webhook signatures as a receiver
would (recomputing the HMAC from the raw body, not with jupyter-mm's own helper)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from jupyter_mm import tracking
from jupyter_mm.config import ENV_ARTIFACTS, ENV_STORE

SECRET = "s3cr3t-for-the-receiver"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    signature_ok: bool | None

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    secret: str
    requests: list[Received] = field(default_factory=list)
    #: statuses to answer, in order; 200 once they run out
    script: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self, kind: str | None = None) -> list[Any]:
        return [r.json for r in self.requests if kind is None or r.json["event"] == kind]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            signature = self.headers.get("X-MM-Signature-256")
            ok = None
            if signature is not None:
                message = self.headers["X-MM-Timestamp"].encode() + b"." + body
                expected = hmac.new(receiver.secret.encode(), message, hashlib.sha256)
                ok = hmac.compare_digest("sha256=" + expected.hexdigest(), signature)
            with receiver.lock:
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.requests.append(Received(headers, body, ok))
                status = receiver.script.pop(0) if receiver.script else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver("", SECRET)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(found))
    found.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/mm?token=t0k3n"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def mm_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The default store in ``tmp_path/store``; cwd ``tmp_path``; only the test's own
    jupyter_mm_config.py is read."""
    monkeypatch.setenv(ENV_STORE, f"sqlite:///{tmp_path / 'store' / 'mm.db'}")
    monkeypatch.delenv(ENV_ARTIFACTS, raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "jupyter-config"))
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", "")
    monkeypatch.setenv("MM_HOOK_SECRET", SECRET)
    monkeypatch.chdir(tmp_path)
    tracking.set_default_store(None)
    yield tracking.default_store()
    tracking.set_default_store(None)


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write ``jupyter_mm_config.py`` in the working directory (every process reads it)."""

    def write(text: str) -> Path:
        path = tmp_path / "jupyter_mm_config.py"
        path.write_text(text)
        return path

    return write


def classifier_data(seed: int = 0, rows: int = 400) -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 3)), columns=["a", "b", "c"])
    target = ((frame["a"] + 0.5 * frame["b"] + rng.normal(scale=0.3, size=rows)) > 0).astype(int)
    return frame, target


def register_production(store: Any, name: str = "fraud", seed: int = 0) -> Any:
    """Train, log, register and promote a LogisticRegression; returns the version."""
    from sklearn.linear_model import LogisticRegression

    import jupyter_mm as mm

    X, y = classifier_data(seed)
    with mm.start_run(f"{name}-{seed}") as run:
        mm.log_model(LogisticRegression().fit(X, y), "model", input_example=X.head(3))
    version = mm.register_model(run.id, "model", name, store=store)
    mm.transition(name, version.version, "staging", store=store)
    mm.transition(name, version.version, "production", store=store)
    return version


def log_scored(store: Any, ref: str, *, seed: int, rows: int, flip: bool) -> list[str]:
    """Score fresh data with the model at ``ref`` and log predictions and labels (flipped:
    the world changed and the model is now wrong); returns the request ids."""
    import jupyter_mm as mm

    X, y = classifier_data(seed, rows)
    model = mm.load_model(ref, store=store)
    ids = mm.log_predictions(
        ref, X, model.predict(X), scores=model.predict_proba(X), classes=model.classes_,
        store=store,
    )  # fmt: skip
    mm.log_labels(ids, (1 - y) if flip else y, store=store)
    return ids


def two_versions_failing(store: Any) -> tuple[Any, Any]:
    """Two versions of fraud registered in turn (the second in production) and 100 scored,
    labelled predictions the second gets mostly wrong."""
    tracking.set_default_store(store)
    try:
        first = register_production(store, seed=0)
        second = register_production(store, seed=1)
        log_scored(store, "fraud@production", seed=2, rows=100, flip=True)
    finally:
        tracking.set_default_store(None)
    return first, second
