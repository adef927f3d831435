"""What one tracked run writes does not grow with the kernel session: counted in rows and
bytes (not timed) after a few and after thousands of executions, in a real kernel with no
notebook file (checkpoint source ``history``) and in one whose notebook is a saved file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel
from sqlalchemy import func, select, text

from jupyter_mm.store import open_store
from jupyter_mm.store.sql.models import METADATA

from .conftest import execute, kernel_env

#: untracked executions between the early and the late measurement
LONG = 2000
TRACKED = "%%track -q\ny = x + 1"


def _footprint(url: str) -> dict[str, Any]:
    """Rows per table, blob files and bytes, and the bytes of the newest runs row."""
    with open_store(url) as store:
        counts: dict[str, Any] = {}
        with store._engine.connect() as conn:
            for table in METADATA.sorted_tables:
                counts[table.name] = conn.execute(
                    select(func.count()).select_from(table)
                ).scalar_one()
            newest = conn.execute(text("SELECT * FROM runs ORDER BY start_time DESC LIMIT 1"))
            row = newest.mappings().first()
        digests = list(store.blobs.iter_digests())
        counts["blobs"] = len(digests)
        counts["blob_bytes"] = sum(store.blobs.size(d) for d in digests)
        counts["run_row_bytes"] = sum(len(str(v)) for v in row.values()) if row else 0
    return counts


def _run_once(kc: Any, url: str, before_run: Any) -> dict[str, Any]:
    """What one tracked run adds, after one untracked execution (``before_run``)."""
    before_run()
    before = _footprint(url)
    reply = execute(kc, TRACKED, cell_id="tracked")
    assert reply.status == "ok", reply.reply
    assert "recorded partially" not in reply.stderr, reply.stderr
    after = _footprint(url)
    grown = {key: after[key] - before[key] for key in after if key != "run_row_bytes"}
    grown["run_row_bytes"] = after["run_row_bytes"]
    return grown


def _assert_flat(early: dict[str, Any], late: dict[str, Any]) -> None:
    rows = {k: v for k, v in early.items() if not k.endswith("bytes")}
    assert {k: late[k] for k in rows} == rows, (early, late)
    assert rows["run_blobs"] <= 1, "a run links one manifest, not every part"
    assert rows["session_executions"] == 2  # the untracked execution and the tracked one
    for key in ("blob_bytes", "run_row_bytes"):
        assert late[key] <= 1.3 * early[key], (key, early, late)


@pytest.fixture
def kernels(tmp_path: Path):
    started = []

    def start(url: str, notebook: Path | None = None) -> Any:
        env = kernel_env(url)
        if notebook is not None:
            env["JPY_SESSION_NAME"] = str(notebook)
        km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(tmp_path))
        started.append((km, kc))
        execute(kc, "%load_ext jupyter_mm")
        return kc

    yield start
    for km, kc in started:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_history_checkpoint_runs_cost_the_same_after_thousands_of_executions(kernels, tmp_path):
    url = f"sqlite:///{tmp_path / 'store' / 'mm.db'}"
    kc = kernels(url)
    counter = iter(range(10**6))

    def untracked() -> None:
        execute(kc, f"x = {next(counter)}")

    _run_once(kc, url, untracked)  # the store and the session's first run
    early = _run_once(kc, url, untracked)
    for _ in range(LONG):
        untracked()
    _run_once(kc, url, untracked)  # takes the thousands of new executions, once
    late = _run_once(kc, url, untracked)
    _assert_flat(early, late)
    with open_store(url) as store:
        run = store.resolve_run("latest")
        assert run.checkpoint_source == "history"
        assert len(run.execution_log) == LONG + 9  # load_ext, 4 runs, 4 untracked before
        from jupyter_mm.capture.checkpoint import load_checkpoint

        notebook = load_checkpoint(store.blobs, run.checkpoint_digest)
    sources = [cell.source for cell in notebook.cells]
    assert len(sources) == LONG + 9 and sources[-1] == TRACKED
    assert sources[-2] == f"x = {LONG + 3}" and sources[0] == "%load_ext jupyter_mm"


def test_saved_notebook_runs_cost_the_same_after_thousands_of_executions(kernels, tmp_path):
    cells = [nbformat.v4.new_code_cell(f"v{i} = {i}") for i in range(40)]
    cells += [nbformat.v4.new_code_cell("x = sum([v0, v1])"), nbformat.v4.new_code_cell(TRACKED)]
    for index, cell in enumerate(cells):
        cell["id"] = f"c{index}"
    cells[-1]["id"] = "tracked"
    path = tmp_path / "train.ipynb"
    path.write_text(json.dumps(nbformat.v4.new_notebook(cells=cells)), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'store' / 'mm.db'}"
    kc = kernels(url, path)
    for cell in cells[:-1]:
        execute(kc, cell.source, cell_id=cell.id)

    def rerun_x() -> None:
        execute(kc, cells[40].source, cell_id="c40")

    _run_once(kc, url, rerun_x)
    early = _run_once(kc, url, rerun_x)
    for i in range(LONG):  # re-running the notebook's cells, as a long session does
        execute(kc, cells[i % 40].source, cell_id=f"c{i % 40}")
    _run_once(kc, url, rerun_x)
    late = _run_once(kc, url, rerun_x)
    _assert_flat(early, late)
    with open_store(url) as store:
        run = store.resolve_run("latest")
        assert run.checkpoint_source == "file"
        assert run.flags == []  # every cell above ran: no false never_run_above
        assert len(run.execution_log) == LONG + 50 and run.execution_log[-1].cell_id == "tracked"
