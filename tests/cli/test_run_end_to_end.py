"""``jupyter mm run`` as a user runs it: a subprocess, a real kernel with the jupyter_mm
extension, a temporary store named by ``JUPYTER_MM_STORE``, then the reading commands."""

from __future__ import annotations

import json
import platform
import shutil
from pathlib import Path

import nbformat
import pytest
from mm_test_support import run_cli
from nbformat.v4 import new_code_cell, new_notebook

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "examples" / "quickstart.ipynb"

pytestmark = pytest.mark.kernel


def test_quickstart_runs_headless_and_is_fully_recorded(tmp_path: Path) -> None:
    work = tmp_path / "project"
    work.mkdir()
    notebook = work / "quickstart.ipynb"
    shutil.copy(QUICKSTART, notebook)  # the notebook writes data/ next to itself
    store = f"sqlite:///{tmp_path / 'store' / 'mm.db'}"

    ran = run_cli(
        "run", str(notebook), "-p", "n_estimators=30", "-o", "executed.ipynb",
        store=store, cwd=tmp_path,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0].startswith("[1/8] cell ")  # 7 code cells + the injected parameters
    assert sum(1 for line in lines if "-> run " in line) == 3
    assert "3 runs recorded:" in ran.stdout
    assert "Traceback" not in ran.stderr
    assert nbformat.read(notebook, as_version=4) == nbformat.read(QUICKSTART, as_version=4)
    executed = nbformat.read(tmp_path / "executed.ipynb", as_version=4)
    nbformat.validate(executed)

    listing = run_cli("runs", "--json", store=store, cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    runs = json.loads(listing.stdout)["runs"]
    assert [r["name"] for r in runs] == ["random-forest", "logreg-c005", "logreg-c1"]
    for run in runs:
        assert run["status"] == "finished"
        assert run["notebook_path"] == str(notebook.resolve())
        # the runner's snapshot (not the file), labelled as headless: nobody edited it
        assert run["checkpoint_source"] == "headless"
        assert {"accuracy", "roc_auc"} <= set(run["metrics"])
        assert 0.8 < run["metrics"]["accuracy"] <= 1.0
    assert runs[2]["params"]["C"] == "1.0" and runs[1]["params"]["C"] == "0.05"
    assert runs[0]["params"]["n_estimators"] == "30"  # the injected value, not the default

    shown = run_cli("show", "latest", "--json", store=store, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    detail = json.loads(shown.stdout)
    assert detail["run"]["name"] == "random-forest"
    assert detail["metrics"]["step_accuracy"]["points"] == 3  # steps 10, 20, 30
    assert detail["metrics"]["step_accuracy"]["step"] == 30
    inputs = {Path(d["name"]).name: d for d in detail["data"] if d["role"] == "input"}
    outputs = {Path(d["name"]).name: d for d in detail["data"] if d["role"] == "output"}
    assert {"train.csv", "test.csv"} <= set(inputs)
    assert "predictions-random-forest.csv" in outputs
    assert all(len(d["digest"]) >= 32 for d in detail["data"])
    # the model was fitted on the notebook's training frame: its reference profile is kept
    assert [a["name"] for a in detail["artifacts"]] == ["model", "model.profile"]
    assert detail["checkpoint"]["digest"]
    assert detail["checkpoint"]["source"] == "headless"
    text = run_cli("show", "latest", store=store, cwd=tmp_path)
    assert "(source: notebook file as executed headless by jupyter mm run)" in text.stdout
    assert "unsaved edits" not in text.stdout
    assert detail["environment"] is not None
    assert detail["environment"]["packages"] > 10
    assert platform.python_version() in detail["environment"]["python"]

    # the checkpoint is the notebook as it ran, with the injected parameter cell
    restored = tmp_path / "restored.ipynb"
    assert (
        run_cli("checkout", "latest", "-o", str(restored), store=store, cwd=tmp_path).returncode
        == 0
    )
    sources = [c.source for c in nbformat.read(restored, as_version=4).cells]
    assert any("n_estimators = 30" in s for s in sources)

    verified = run_cli("verify", store=store, cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.strip().endswith("3 runs: OK")


def test_run_exits_1_on_a_failing_cell(tmp_path: Path) -> None:
    nb = new_notebook(
        cells=[
            new_code_cell("print('first')"),
            new_code_cell("raise KeyError('no such column: price')"),
            new_code_cell("print('never')"),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    path = tmp_path / "fails.ipynb"
    nbformat.write(nb, path)
    store = f"sqlite:///{tmp_path / 'mm.db'}"

    result = run_cli("run", str(path), store=store, cwd=tmp_path)
    assert result.returncode == 1
    # The kernel's own stderr is inherited (as with nbclient and papermill); on a loaded
    # machine ipykernel may log shutdown noise there. Our report is one line, and the last.
    lines = result.stderr.strip().splitlines()
    expected = "jupyter mm: error: cell 1 failed with KeyError: 'no such column: price'"
    assert lines[-1] == expected
    assert [line for line in lines if line.startswith("jupyter mm:")] == [expected]
    assert "[2/3] cell 1  raise KeyError('no such column: price')" in result.stdout
    assert "FAILED" in result.stdout and "never" not in result.stdout

    missing = run_cli("run", str(tmp_path / "nope.ipynb"), store=store, cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == [
        f"jupyter mm: error: Notebook {tmp_path / 'nope.ipynb'} does not exist."
    ]
