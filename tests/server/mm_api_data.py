"""Runs for the REST API tests, written through the store API into the store the test
server opens (``<root_dir>/.jupyter_mm``), the way tracking writes them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output
from sqlalchemy import insert

from jupyter_mm.capture.checkpoint import store_checkpoint, store_outputs
from jupyter_mm.config import DB_FILE, OBJECTS_DIR, STORE_DIR_NAME, StoreLocation, ensure_store_dir
from jupyter_mm.entities import (
    Artifact,
    DataRef,
    Environment,
    ExecutionEntry,
    Metric,
    Param,
    ReproFlag,
    Run,
)
from jupyter_mm.ids import new_id
from jupyter_mm.store import open_store
from jupyter_mm.store.sql.models import EVENTS

T0 = 1_750_000_000.0

#: artifact payload with bytes that survive no text decoding, so a mangled download shows
ARTIFACT_BYTES = bytes(range(256)) * 1500  # 384 kB: more than one streamed chunk


def train_notebook(lr: str, output: str) -> nbformat.NotebookNode:
    load = new_code_cell("df = load('train.csv')", execution_count=1)
    load["id"] = "load"
    train = new_code_cell(f"%%track\nlr = {lr}\nfit(df, lr)", execution_count=2)
    train["id"] = "train"
    train.outputs = [new_output("stream", name="stdout", text=output)]
    return new_notebook(cells=[load, train])


@dataclass
class ApiData:
    """What was written, for the tests to compare answers against."""

    root: Path
    #: notebook (root-relative) -> run ids, oldest first
    runs_by_notebook: dict[str, list[str]] = field(default_factory=dict)
    #: ids of all runs, oldest first
    all_ids: list[str] = field(default_factory=list)
    status_of: dict[str, str] = field(default_factory=dict)
    #: two runs with checkpoints, params, metrics, data, artifacts and environments
    base_id: str = ""
    edited_id: str = ""
    #: a run without checkpoint
    bare_id: str = ""
    #: a run of a notebook outside the server's root
    outside_id: str = ""


def TRAIN_OUTPUTS(loss: float) -> list[dict[str, Any]]:
    """What the tracked training cell printed and showed (the HTML is a large output)."""
    return [
        {"output_type": "stream", "name": "stdout", "text": f"final loss {loss}\n"},
        {
            "output_type": "display_data",
            "data": {"text/html": "<table>" + "<tr><td>0.1</td></tr>" * 20 + "</table>"},
            "metadata": {},
        },
    ]


def _rich_run(store: Any, notebook_path: str, start: float, lr: str, loss: float) -> Run:
    run = store.create_run(
        Run(
            id=new_id(),
            name=f"lr={lr}",
            start_time=start,
            notebook_path=notebook_path,
            cell_id="train",
            user="ana",
            host="box",
            pid=4242,
            tags={"team": "vision"},
            note="first try" if lr == "0.1" else None,
        )
    )
    digest, digests, _ = store_checkpoint(store.blobs, train_notebook(lr, f"loss {loss}\n"))
    store.link_blobs(run.id, digests)
    env = Environment(
        id=f"env-{lr}",
        python="3.11.9",
        platform="Linux-x86_64",
        packages={"numpy": "2.1.0", "scikit-learn": "1.5.0" if lr == "0.1" else "1.5.2"},
        modules={"sklearn": "1.5.0" if lr == "0.1" else "1.5.2"},
        git={"commit": "abc123", "dirty": lr != "0.1"},
        env_vars={"OMP_NUM_THREADS": "4", "AWS_SECRET_ACCESS_KEY": None},
    )
    model_digest = store.blobs.put_bytes(ARTIFACT_BYTES + lr.encode())
    report_digest = store.blobs.put_bytes(b"<h1>report</h1>")
    store.log_batch(
        run.id,
        params=[Param("lr", lr), Param("epochs", "3")],
        metrics=[
            Metric("loss", 1.0, 0, start),
            Metric("loss", loss, 1, start + 1),
            Metric("acc", 0.5 + loss / 10, 0, start),
            Metric("grad_norm", float("nan"), 0, start),
        ],
        data=[
            DataRef("/data/train.csv", "input", "file", 1200, "blake3", "aa" * 32),
            DataRef("model", "output", "object", None, "blake3", lr.encode().hex() * 8, "sk"),
        ],
        artifacts=[
            Artifact("model.pkl", model_digest, len(ARTIFACT_BYTES) + len(lr)),
            Artifact("reports/ünïcode report.html", report_digest, 15, "text/html"),
        ],
    )
    run.status, run.end_time = "finished", start + 12.5
    run.checkpoint_digest, run.checkpoint_source = digest, "live"
    run.environment_id = store.put_environment(env)
    run.execution_log = [ExecutionEntry(1, "load", "h1"), ExecutionEntry(2, "train", "h2")]
    outputs, parts, _ = store_outputs(store.blobs, TRAIN_OUTPUTS(loss), large_output_bytes=64)
    run.outputs_digest = outputs
    store.link_blobs(run.id, parts)
    run.flags = [ReproFlag("out_of_order", "Cell 'load' ran after 'train'.", "load")]
    run.warnings = ["2 data files were not hashed: too large."]
    return store.update_run(run)


def store_location(root: Path) -> StoreLocation:
    """The store a server with this root_dir finds (and creates) by default."""
    directory = ensure_store_dir(root / STORE_DIR_NAME)
    return StoreLocation(
        url=f"sqlite:///{directory / DB_FILE}",
        artifact_root=str(directory / OBJECTS_DIR),
        directory=directory,
    )


def fill_store(
    root: Path, *, plain_runs: int = 30, location: StoreLocation | None = None
) -> ApiData:
    """Runs of ``nb/train.ipynb`` (two rich ones at the end), of ``other.ipynb`` and one of a
    notebook outside ``root``; statuses cycle so status filters have something to find.
    ``location`` defaults to the store a server with this root finds by itself."""
    data = ApiData(root=root)
    train_nb = str(root / "nb" / "train.ipynb")
    other_nb = str(root / "other.ipynb")
    statuses = ["finished", "failed", "finished", "crashed"]
    with open_store(location or store_location(root)) as store:
        for i in range(plain_runs):
            relpath, path = ("nb/train.ipynb", train_nb) if i % 3 else ("other.ipynb", other_nb)
            run = store.create_run(
                Run(id=new_id(), name=f"run {i}", start_time=T0 + i, notebook_path=path)
            )
            run.status, run.end_time = statuses[i % 4], T0 + i + 1
            store.update_run(run)
            store.log_batch(run.id, metrics=[Metric("loss", 1.0 / (i + 1), 0, T0)])
            data.runs_by_notebook.setdefault(relpath, []).append(run.id)
            data.all_ids.append(run.id)
            data.status_of[run.id] = run.status
        bare = store.create_run(
            Run(id=new_id(), name="bare", start_time=T0 + 500, notebook_path=train_nb)
        )
        outside = store.create_run(
            Run(
                id=new_id(),
                name="outside",
                start_time=T0 + 501,
                notebook_path="/elsewhere/c.ipynb",
            )
        )
        base = _rich_run(store, train_nb, T0 + 1000, "0.1", 0.4)
        edited = _rich_run(store, train_nb, T0 + 2000, "0.05", 0.3)
    data.bare_id, data.outside_id = bare.id, outside.id
    data.base_id, data.edited_id = base.id, edited.id
    data.runs_by_notebook["nb/train.ipynb"] += [bare.id, base.id, edited.id]
    data.all_ids += [bare.id, outside.id, base.id, edited.id]
    data.status_of.update(
        {bare.id: "running", outside.id: "running", base.id: "finished", edited.id: "finished"}
    )
    return data


def add_events(root: Path, count: int, *, location: StoreLocation | None = None) -> None:
    # The registry's writers arrive with the registry issue; the audit table is written the
    # way they will write it.
    with open_store(location or store_location(root)) as store, store._engine.begin() as conn:
        conn.execute(
            insert(EVENTS),
            [
                {
                    "time": T0 + i,
                    "user": "ana",
                    "action": "transition",
                    "model": "churn" if i % 2 else "fraud",
                    "version": i,
                    "from_stage": "staging",
                    "to_stage": "production",
                    "reason": None,
                }
                for i in range(1, count + 1)
            ],
        )


async def get_json(jp_fetch: Any, *path: str, **params: Any) -> tuple[int, Any]:
    """(status, parsed body) of ``GET /jupyter-mm/api/<path>``, errors included."""
    response = await jp_fetch("jupyter-mm", "api", *path, params=params or None, raise_error=False)
    return response.code, json.loads(response.body) if response.body else None
