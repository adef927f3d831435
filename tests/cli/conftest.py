"""Fixtures for the CLI tests: a real SQLite store populated through the store API, and a
helper that runs ``jupyter mm`` in-process and captures its output and exit status."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import blake3
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from jupyter_mm.capture.checkpoint import store_checkpoint
from jupyter_mm.cli import main
from jupyter_mm.config import ENV_ARTIFACTS, ENV_STORE
from jupyter_mm.entities import (
    Artifact,
    DataRef,
    Environment,
    Metric,
    Param,
    ReproFlag,
    Run,
)
from jupyter_mm.ids import new_id
from jupyter_mm.store import open_store


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)


@dataclass
class Populated:
    """What the ``populated`` fixture put in the store."""

    url: str
    root: Path
    first: str = ""  # finished, checkpoint, params, metrics, data, artifact, environment
    second: str = ""  # the same notebook with another C and another model
    failed: str = ""  # failed, no checkpoint, no environment
    artifact_digest: str = ""
    checkpoint_digest: str = ""
    environment_id: str = ""


@pytest.fixture(autouse=True)
def _isolated_store_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A developer's own store must never leak into (or be written by) the tests; `main`
    # copies --store into the environment, and monkeypatch undoes that afterwards.
    monkeypatch.delenv(ENV_STORE, raising=False)
    monkeypatch.delenv(ENV_ARTIFACTS, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    def run(*argv: str) -> CliResult:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def _environment(packages: dict[str, str]) -> Environment:
    fields = {
        "python": "3.11.9",
        "platform": "Linux-6.1-x86_64",
        "packages": packages,
        "modules": {"sklearn": packages.get("scikit-learn", "")},
        "git": {"commit": "0123456789abcdef0123456789abcdef01234567", "branch": "main"},
        "hardware": {"cpus": 2},
        "env_vars": {"LANG": "C.UTF-8", "SECRET_TOKEN": None},
        "argv": ["ipykernel_launcher"],
        "executable": "/usr/bin/python3",
    }
    digest = blake3.blake3(json.dumps(fields, sort_keys=True).encode()).hexdigest()
    return Environment(id=digest, **fields)


def _notebook(c_value: float) -> nbformat.NotebookNode:
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Training"),
            new_code_cell("import pandas as pd", execution_count=1),
            new_code_cell(
                f"%%track --param C\nC = {c_value}\nprint('fitting')",
                outputs=[new_output("stream", name="stdout", text="fitting\n")],
                execution_count=2,
            ),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    return nb


def _record(store, name: str, c_value: float, model_bytes: bytes, env: Environment) -> Run:
    now = time.time()
    run = store.create_run(
        Run(
            id=new_id(),
            name=name,
            start_time=now,
            notebook_path="/work/project/train.ipynb",
            cell_id="cell-3",
            user="ada",
            host="lab-1",
            pid=4242,
        )
    )
    digest, parts, _flags = store_checkpoint(store.blobs, _notebook(c_value))
    store.link_blobs(run.id, parts)
    store.put_environment(env)
    artifact = store.blobs.put_bytes(model_bytes)
    store.log_batch(
        run.id,
        params=[Param("C", repr(c_value)), Param("max_iter", "200")],
        metrics=[
            *(Metric("loss", 1.0 / (step + 1), step=step, timestamp=now) for step in range(3)),
            Metric("accuracy", 0.9 + c_value / 100, step=0, timestamp=now),
        ],
        data=[
            DataRef("/work/project/data/train.csv", "input", "file", 1234, "blake3", "ab" * 32),
            DataRef("/work/project/preds.csv", "output", "file", 99, "blake3", "cd" * 32),
        ],
        artifacts=[Artifact("model", artifact, len(model_bytes), "application/x-pickle")],
    )
    run.status = "finished"
    run.end_time = now + 2.5
    run.checkpoint_digest = digest
    run.checkpoint_source = "live"
    run.environment_id = env.id
    run.flags = [ReproFlag("out_of_order", "Cell 2 ran before cell 1.", "cell-2")]
    run.warnings = ["data hashing skipped one unreadable file"]
    return store.update_run(run)


def populate(url: str, root: Path) -> Populated:
    """Record three runs in the store at ``url`` through the store API."""
    info = Populated(url=url, root=root)
    with open_store(url) as store:
        env_a = _environment({"numpy": "2.1.0", "scikit-learn": "1.5.2", "pandas": "2.2.3"})
        env_b = _environment({"numpy": "2.2.0", "scikit-learn": "1.5.2", "polars": "1.0"})
        first = _record(store, "logreg-c1", 1.0, b"model one", env_a)
        second = _record(store, "logreg-c005", 0.05, b"model two", env_b)
        failed = store.create_run(Run(id=new_id(), name="broken", start_time=time.time()))
        failed.status, failed.end_time = "failed", time.time() + 0.1
        failed.error = "ValueError: bad input"
        store.update_run(failed)
        info.first, info.second, info.failed = first.id, second.id, failed.id
        info.artifact_digest = store.get_run_detail(first.id).artifacts[0].digest
        info.checkpoint_digest = first.checkpoint_digest or ""
        info.environment_id = env_a.id
    return info


@pytest.fixture
def populated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Populated:
    """Three runs in a SQLite store named by ``JUPYTER_MM_STORE``."""
    root = tmp_path / "store"
    root.mkdir()
    url = f"sqlite:///{root / 'mm.db'}"
    monkeypatch.setenv(ENV_STORE, url)
    return populate(url, root)


@pytest.fixture
def populated_postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> Populated:
    """The same three runs in a fresh PostgreSQL database (blobs in a local directory)."""
    root = tmp_path / "objects"
    monkeypatch.setenv(ENV_STORE, postgres_url)
    monkeypatch.setenv(ENV_ARTIFACTS, str(root))
    return populate(postgres_url, root)
