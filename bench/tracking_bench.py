"""Per-run cost of tracking: ``%%track`` in a real kernel, the Python API, and MLflow.

Rows:
* trivial cell in a 200-cell notebook, tracked minus untracked, alternating (real kernel
  round trips; saved file, or live snapshots as JupyterLab sends them, see lab_frontend.py;
  the notebook file at the kernel's session path so checkpoint capture is realistic);
* a run with 10 params and 10 metrics through ``mm.start_run`` against MLflow's
  ``start_run`` + 10 ``log_param`` + 10 ``log_metric`` + ``end_run`` on SQLite, both in this
  process, each against its own fresh store.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import nbformat
from _common import Result, median_seconds, paired_medians

TRACKED_CELL = "%%track -q\nx = 1"


def _write_notebook(path: Path, cells: int) -> None:
    """A notebook of ``cells`` cells, the last one being the tracked cell the bench runs
    (as in real use: the checkpoint locates the cell, no 'cell not found' warning)."""
    nb = nbformat.v4.new_notebook()
    for index in range(cells - 1):
        nb.cells.append(nbformat.v4.new_code_cell(f"value_{index} = {index} * 2\nvalue_{index}"))
    nb.cells.append(nbformat.v4.new_code_cell(TRACKED_CELL))
    nbformat.write(nb, path)


def _execute(kc, code: str, cell_id: str | None = None) -> None:
    """Run ``code`` and wait for its reply and for the kernel to be idle again; with
    ``cell_id`` the request carries it in its metadata, as JupyterLab's requests do."""
    if cell_id is None:
        reply = kc.execute_interactive(code, timeout=120, output_hook=lambda msg: None)
    else:
        content = {"code": code, "silent": False, "store_history": True}
        request = kc.session.msg(
            "execute_request",
            {**content, "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
            metadata={"cellId": cell_id},
        )
        kc.shell_channel.send(request)
        msg_id = request["header"]["msg_id"]
        while True:
            out = kc.get_iopub_msg(timeout=120)
            mine = out["parent_header"].get("msg_id") == msg_id
            if mine and out["msg_type"] == "status" and out["content"]["execution_state"] == "idle":
                break
        reply = kc.get_shell_msg(timeout=120)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = kc.get_shell_msg(timeout=120)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"benchmark cell failed: {reply['content'].get('evalue')}")


def kernel_cell_overhead(
    repeat: int, live: str | None = None, run_above: bool = True
) -> tuple[float, float, float]:
    """(untracked, tracked, overhead) median seconds for ``x = 1`` in a 200-cell notebook;
    the two cells alternate and the overhead is the median of the per-pair differences.

    ``live``: before each tracked cell the client sends what JupyterLab's extension sends
    on the ``jupyter_mm`` comm (``lab_frontend.LabFrontend``; checkpoint source ``live``).
    In JupyterLab's model the tracked cell carries the previous run's count and output: it
    does here too. ``"unchanged"``: nothing else changes between runs (after the first full
    snapshot the frontend sends nothing); ``"edited"``: a cell above gets an unsaved edit
    before every run (one delta message with that cell, a new cell blob and manifest per
    run). None: the kernel reads the saved file at its session path (source ``file``).
    ``run_above``: the 199 cells above are executed first, as after "Run All" (the
    execution log then holds them); without it every run carries 199 "never run above"
    flags, the worst case for what a run writes."""
    from jupyter_client.manager import start_new_kernel
    from lab_frontend import LabFrontend

    with tempfile.TemporaryDirectory() as tmp:
        notebook = Path(tmp) / "bench.ipynb"
        _write_notebook(notebook, 200)
        snapshot = json.loads(notebook.read_text())
        cell_id = snapshot["cells"][-1]["id"]
        env = dict(os.environ)
        env["JUPYTER_MM_STORE"] = f"sqlite:///{tmp}/store/mm.db"
        env["JPY_SESSION_NAME"] = str(notebook)
        km, kc = start_new_kernel(env=env, cwd=tmp)
        comm_id = uuid.uuid4().hex
        frontend = LabFrontend(str(notebook))
        runs = {"n": 0}

        def send(msg_type: str, content: dict) -> None:
            kc.shell_channel.send(kc.session.msg(msg_type, content))

        def tracked_cell() -> None:
            if live:
                runs["n"] += 1
                cells = list(snapshot["cells"])
                # the model after the previous run: the tracked cell's count and result
                cells[-1] = {**cells[-1], "execution_count": runs["n"], "outputs": []}
                if live == "edited":
                    cells[0] = {**cells[0], "source": f"value_0 = {runs['n']} * 2\nvalue_0"}
                message = frontend.snapshot({**snapshot, "cells": cells}, cell_id)
                if message is not None:
                    send("comm_msg", {"comm_id": comm_id, "data": message})
            _execute(kc, TRACKED_CELL, cell_id)

        try:
            _execute(kc, "%load_ext jupyter_mm")
            if run_above:
                for cell in snapshot["cells"][:-1]:
                    _execute(kc, "".join(cell["source"]))
            if live:
                send("comm_open", {"comm_id": comm_id, "target_name": "jupyter_mm", "data": {}})
            untracked, tracked, overhead = paired_medians(
                lambda: _execute(kc, "x = 1"), tracked_cell, repeat, warmup=3
            )
            source = _last_checkpoint_source(kc)
            if source != ("live" if live else "file") + " 0":
                raise RuntimeError(f"benchmark runs used checkpoint source {source!r}")
            if live == "edited" and frontend.messages < runs["n"]:
                raise RuntimeError("benchmark runs with an edit sent no snapshot")
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    return untracked, tracked, overhead


def _last_checkpoint_source(kc) -> str:
    """The checkpoint source of the kernel's last tracked run and its number of warnings,
    as "<source> <count>" (checks the bench measured the path it names, without a fallback
    such as a refused delta)."""
    found: list[str] = []

    def hook(msg: dict) -> None:
        if msg["msg_type"] == "stream":
            found.append(msg["content"]["text"].strip())

    kc.execute_interactive(
        "_mm_run = get_ipython().magics_manager.registry['TrackMagics'].last_run.run\n"
        "print(_mm_run.checkpoint_source, len(_mm_run.warnings))",
        timeout=60,
        output_hook=hook,
    )
    return found[-1] if found else ""


@contextlib.contextmanager
def _working_directory(path: str) -> Iterator[None]:
    """Run a peer's loop in ``path``: inside a git checkout (like this repository) each
    tool also records git state, which is not what this row compares."""
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def ours_run_10x10(repeat: int, cwd: str | None = None) -> float:
    """Median seconds of a run with 10 params and 10 metrics through the Python API, in a
    temporary directory (or ``cwd``)."""
    with tempfile.TemporaryDirectory() as tmp, _working_directory(cwd or tmp):
        # the process-wide default store is opened lazily from the environment, once
        os.environ["JUPYTER_MM_STORE"] = f"sqlite:///{tmp}/mm.db"
        import jupyter_mm as mm
        from jupyter_mm.tracking import set_default_store

        set_default_store(None)  # a store of an earlier call is gone with its directory

        def one_run() -> None:
            with mm.start_run(name="bench"):
                for i in range(10):
                    mm.log_param(f"p{i}", i)
                for i in range(10):
                    mm.log_metric(f"m{i}", i * 0.5)

        return median_seconds(one_run, repeat, warmup=2)


def mlflow_run_10x10(repeat: int) -> float:
    """Median seconds of MLflow's start_run + 10 log_param + 10 log_metric + end_run."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    with tempfile.TemporaryDirectory() as tmp, _working_directory(tmp):
        mlflow.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")
        mlflow.set_experiment("bench")

        def one_run() -> None:
            mlflow.start_run()
            for i in range(10):
                mlflow.log_param(f"p{i}", i)
            for i in range(10):
                mlflow.log_metric(f"m{i}", i * 0.5)
            mlflow.end_run()

        return median_seconds(one_run, repeat, warmup=2)


def run(quick: bool) -> list[Result]:
    repeat = 7 if quick else 41
    rows: list[Result] = []
    start = time.perf_counter()
    cases = (
        (None, True, "saved file, cells above run", 0.010),
        (
            "unchanged",
            True,
            "live as JupyterLab sends, cells above run, re-run of an unchanged notebook",
            0.010,
        ),
        (
            "edited",
            True,
            "live as JupyterLab sends, cells above run, a cell above edited before each run",
            None,  # not the target's trivial re-run: a delta message and two new blobs per run
        ),
        (None, False, "saved file, 199 cells above never run", None),
    )
    for live, run_above, label, goal in cases:
        untracked, tracked, overhead = kernel_cell_overhead(repeat, live=live, run_above=run_above)
        rows.append(
            Result(
                target=f"%%track overhead, trivial cell, 200-cell notebook ({label})",
                ours=overhead,
                peer=None,
                peer_name="",
                max_ours=goal,
                note=f"untracked cell {untracked * 1000:.2f} ms, tracked "
                f"{tracked * 1000:.2f} ms (medians of alternating round trips through a real "
                "kernel; the overhead is the median per-pair difference)",
            )
        )
    ours = ours_run_10x10(repeat)
    try:
        peer: float | None = mlflow_run_10x10(max(3, repeat // 3))
        note = ""
    except ImportError:
        peer, note = None, "mlflow not installed: pip install -e '.[bench]'"
    rows.append(
        Result(
            target="run with 10 params + 10 metrics",
            ours=ours,
            peer=peer,
            peer_name="MLflow, SQLite",
            min_ratio=15.0,
            note=note,
        )
    )
    in_git = ours_run_10x10(repeat, cwd=str(Path(__file__).resolve().parent))
    rows.append(
        Result(
            target="run with 10 params + 10 metrics, inside this git checkout",
            ours=in_git,
            peer=None,
            peer_name="",
            note="git rev-parse + git diff HEAD per run, concurrent with the run's own work",
        )
    )
    print(f"  (tracking benchmarks took {time.perf_counter() - start:.0f} s)")
    return rows
