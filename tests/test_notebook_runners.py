"""Every way a notebook is executed headless records its runs with their parameters:
papermill with jupyter-mm's engine, papermill's default engine, ``jupyter nbconvert
--execute`` and ``jupyter mm run`` — each as a user runs it (a subprocess, a real kernel that
loads jupyter_mm, a temporary SQLite store named by ``JUPYTER_MM_STORE``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from jupyter_mm.store import open_store

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.kernel


def _notebook(path: Path) -> Path:
    """A parameterised training notebook shaped as papermill's docs show one."""
    cells = [
        new_markdown_cell("# Training"),
        new_code_cell("%load_ext jupyter_mm"),
        new_code_cell('alpha = 0.1\nmodel_name = "ridge"\nlayers: list = [8, 4]'),
        new_code_cell("scale = alpha * 10"),
        new_code_cell("%%track --name fit --metric score\nscore = scale + len(layers)"),
    ]
    cells[2].metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, str(path))
    return path


def _run(argv: list[str], store: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, JUPYTER_MM_STORE=store)
    env.pop("JUPYTER_MM_ARTIFACTS", None)
    env.pop("JPY_SESSION_NAME", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _only_run(store_url: str) -> tuple:
    store = open_store(store_url, create=False)
    try:
        runs = store.search_runs(limit=10).runs
        assert len(runs) == 1, runs
        detail = store.get_run_detail(runs[0].id)
        return detail.run, {p.name: p.value for p in detail.params}, detail
    finally:
        store.close()


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, str]:
    notebook = _notebook(tmp_path / "train.ipynb")
    return notebook, f"sqlite:///{tmp_path / 'store' / 'mm.db'}"


def test_papermill_engine_sends_the_notebook_and_records_parameters(setup, tmp_path) -> None:
    notebook, store = setup
    _run(
        [sys.executable, "-m", "papermill", "--engine", "jupyter_mm", str(notebook),
         str(tmp_path / "out.ipynb"), "-p", "alpha", "0.5", "-p", "extra", "7"],
        store, tmp_path,
    )  # fmt: skip
    run, params, detail = _only_run(store)
    assert run.status == "finished"
    assert run.checkpoint_source == "papermill"  # the engine sent the notebook papermill ran
    assert run.notebook_path == str(notebook.resolve())
    tracked = nbformat.read(notebook, as_version=4).cells[4]
    assert run.cell_id == tracked.id  # the real cell id, not a stand-in
    # the injected values win over the defaults; the defaults papermill did not override
    # are params too, and so is a name only the injected cell assigns
    assert params["alpha"] == "0.5"
    assert params["extra"] == "7"
    assert params["model_name"] == "ridge"
    assert params["layers"] == "[8, 4]"
    assert "scale" not in params  # not a parameter cell
    assert {m.name: m.value for m in detail.metrics}["score"] == pytest.approx(7.0)


def test_papermill_default_engine_still_records_injected_parameters(setup, tmp_path) -> None:
    notebook, store = setup
    _run(
        [sys.executable, "-m", "papermill", str(notebook), str(tmp_path / "out.ipynb"),
         "-p", "alpha", "0.25", "-p", "extra", "3"],
        store, tmp_path,
    )  # fmt: skip
    run, params, _ = _only_run(store)
    assert run.status == "finished"
    # papermill's own engine tells the kernel nothing: the history is the checkpoint, and
    # its injected cell is recognised by the header papermill writes
    assert run.checkpoint_source == "history"
    assert params["alpha"] == "0.25"
    assert params["extra"] == "3"


def test_nbconvert_execute_records_the_run(setup, tmp_path) -> None:
    notebook, store = setup
    _run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
         "--output", str(tmp_path / "converted.ipynb"), str(notebook)],
        store, tmp_path,
    )  # fmt: skip
    run, _params, detail = _only_run(store)
    assert run.status == "finished"
    assert {m.name: m.value for m in detail.metrics}["score"] == pytest.approx(3.0)


def test_jupyter_mm_run_records_injected_and_default_parameters(setup, tmp_path) -> None:
    notebook, store = setup
    _run(
        [sys.executable, "-m", "jupyter_mm.cli", "run", str(notebook), "-p", "extra=7"],
        store, tmp_path,
    )  # fmt: skip
    run, params, _ = _only_run(store)
    assert run.checkpoint_source == "headless"
    assert params["extra"] == "7"
    assert params["alpha"] == "0.1"
    assert "scale" not in params
