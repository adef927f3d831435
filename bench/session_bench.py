"""Cost of a tracked run as the kernel session grows (issue: flat cost in long sessions).

Rows (each a fresh kernel through jupyter_client, a fresh SQLite store):
* per-run added time (tracked minus untracked cell, paired medians) and bytes written per
  run (database pages + blob files, averaged over the measured runs) after 0, 1000 and 5000
  prior executions, for both checkpoint sources a headless kernel meets: ``history`` (no
  notebook file: console, jupyter_client, papermill) and ``file`` (a saved 42-cell notebook
  at the session path, run once top to bottom, then its cells re-run to make up the
  executions);
* bytes and ``run_blobs`` rows added by the second pass of ``jupyter mm run`` over an
  unchanged 2000-cell notebook with 20 tracked cells.

The ratio rows compare the session after 5000 executions with the fresh one; the target is
at most 1.3x.
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from _common import Result
from tracking_bench import _execute

TRACKED = "%%track -q\ny = x + 1"
PRIOR = (0, 1000, 5000)
NOTEBOOK_CELLS = 40


def _store_bytes(root: Path) -> int:
    """Bytes the database uses inside its pages (SQLite's dbstat: page size minus unused
    bytes, so page granularity does not blur a few hundred bytes per run) plus every blob
    file."""
    with sqlite3.connect(root / "mm.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        used = conn.execute("SELECT sum(pgsize - unused) FROM dbstat").fetchone()[0]
    objects = root / "objects"
    blobs = sum(p.stat().st_size for p in objects.rglob("*") if p.is_file())
    return int(used) + blobs


def _notebook(path: Path) -> list[dict]:
    cells = [nbformat.v4.new_code_cell(f"v{i} = {i} * 2") for i in range(NOTEBOOK_CELLS)]
    cells.append(nbformat.v4.new_code_cell("x = 1"))
    cells.append(nbformat.v4.new_code_cell(TRACKED))
    for index, cell in enumerate(cells):
        cell["id"] = f"c{index}"
    path.write_text(json.dumps(nbformat.v4.new_notebook(cells=cells)), encoding="utf-8")
    return cells


def session_curve(source: str, prior: int, runs: int) -> tuple[float, float]:
    """(median added ms per tracked run, bytes written per run) after ``prior`` executions."""
    from jupyter_client.manager import start_new_kernel

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "store"
        env = {k: v for k, v in os.environ.items() if k != "JPY_SESSION_NAME"}
        env["JUPYTER_MM_STORE"] = f"sqlite:///{root / 'mm.db'}"
        cells = None
        if source == "file":
            notebook = Path(tmp) / "train.ipynb"
            cells = _notebook(notebook)
            env["JPY_SESSION_NAME"] = str(notebook)
        km, kc = start_new_kernel(env=env, cwd=tmp)
        try:
            _execute(kc, "%load_ext jupyter_mm")
            for cell in cells or []:  # "Run All" first: no run is flagged for cells never run
                _execute(kc, cell["source"], cell["id"])
            for i in range(prior):
                if cells is None:
                    _execute(kc, f"x = {i}")
                else:
                    cell = cells[i % NOTEBOOK_CELLS]
                    _execute(kc, cell["source"], cell["id"])
            untracked = ("x = 1", "c40" if cells else None)
            _execute(kc, *untracked)
            tracked_id = "c41" if cells else None
            for _ in range(3):  # the first run takes the whole session's history, once
                _execute(kc, *untracked)
                _execute(kc, TRACKED, tracked_id)
            before = _store_bytes(root)
            added = []
            for _ in range(runs):
                start = time.perf_counter()
                _execute(kc, *untracked)
                middle = time.perf_counter()
                _execute(kc, TRACKED, tracked_id)
                end = time.perf_counter()
                added.append((end - middle) - (middle - start))
            per_run = (_store_bytes(root) - before) / runs
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    return statistics.median(added), per_run


def rerun_unchanged_notebook(cells: int = 2000, tracked: int = 20) -> tuple[float, int, int]:
    """(bytes, run_blobs rows, runs) added by the second ``jupyter mm run`` of an unchanged
    notebook of ``cells`` cells, ``tracked`` of them tracked."""
    with tempfile.TemporaryDirectory() as tmp:
        nb = nbformat.v4.new_notebook()
        nb.cells.append(nbformat.v4.new_code_cell("%load_ext jupyter_mm"))
        every = cells // tracked
        for index in range(cells - 1):
            if index % every == every - 1:
                source = f"%%track -q\nresult_{index} = value_{index - 1} + 1"
            else:
                source = f"value_{index} = {index} * 2\nvalue_{index}"
            nb.cells.append(nbformat.v4.new_code_cell(source))
        path = Path(tmp) / "long.ipynb"
        nbformat.write(nb, path)
        root = Path(tmp) / "store"
        env = {k: v for k, v in os.environ.items() if k != "JPY_SESSION_NAME"}
        env["JUPYTER_MM_STORE"] = f"sqlite:///{root / 'mm.db'}"
        command = [sys.executable, "-m", "jupyter_mm.cli", "run", str(path)]

        def counts() -> tuple[int, int, int]:
            with sqlite3.connect(root / "mm.db") as conn:
                links = conn.execute("SELECT count(*) FROM run_blobs").fetchone()[0]
                runs = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
            return _store_bytes(root), links, runs

        first = None
        for _ in range(2):
            done = subprocess.run(command, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"jupyter mm run failed: {done.stderr.strip()[-500:]}")
            if first is None:
                first = counts()
        second = counts()
    return second[0] - first[0], second[1] - first[1], second[2] - first[2]


def run(quick: bool) -> list[Result]:
    runs = 8 if quick else 20
    rows: list[Result] = []
    started = time.perf_counter()
    for source in ("history", "file"):
        curve = {}
        for prior in PRIOR:
            curve[prior] = session_curve(source, prior, runs)
            seconds, size = curve[prior]
            print(
                f"  {source} after {prior}: {seconds * 1000:.1f} ms, {size / 1024:.2f} KB per run"
            )
        for prior, (seconds, size) in curve.items():
            rows.append(
                Result(f"session {source}: added time after {prior} executions", seconds, None, "")
            )
            rows.append(
                Result(
                    f"session {source}: bytes per run after {prior} executions",
                    size / 1024,
                    None,
                    "",
                    unit="KB",
                )
            )
        fresh, late = curve[0], curve[PRIOR[-1]]
        rows.append(
            Result(
                f"session {source}: time 5000 vs 0 executions",
                late[0] / fresh[0] if fresh[0] > 0 else float("inf"),
                None,
                "",
                unit="x",
                max_ours=1.3,
            )
        )
        rows.append(
            Result(
                f"session {source}: bytes 5000 vs 0 executions",
                late[1] / fresh[1] if fresh[1] > 0 else float("inf"),
                None,
                "",
                unit="x",
                max_ours=1.3,
            )
        )
    size, links, count = rerun_unchanged_notebook()
    print(f"  second pass: {size / 1024:.1f} KB, {links} run_blobs rows, {count} runs")
    rows.append(
        Result(
            "re-run of an unchanged 2000-cell notebook (20 tracked): bytes per pass",
            size / 1024,
            None,
            "",
            unit="KB",
            note=f"{count} runs and {links} run_blobs rows added by the second pass",
        )
    )
    print(f"  (session benchmark took {time.perf_counter() - started:.0f} s)")
    return rows
