"""``jupyter mm run`` and ``jupyter mm reproduce`` on the shared store: the run's
checkpoint, environment and data digests come back from PostgreSQL and S3, and the
re-run gives the recorded metric."""

from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_mm.runner import run_notebook

pytestmark = [pytest.mark.postgres, pytest.mark.s3, pytest.mark.kernel]

TRAIN = """\
%%track --name fit --metric acc
import pandas as pd
from sklearn.linear_model import LogisticRegression
frame = pd.read_csv("data/train.csv")
model = LogisticRegression(random_state=0).fit(frame[["x"]], frame["y"])
acc = float(model.score(frame[["x"]], frame["y"]))
"""


def test_reproduce_a_run_recorded_on_the_shared_store(team_store, tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    rows = "\n".join(f"{x},{int(x >= 5)}" for x in range(10))
    (project / "data" / "train.csv").write_text("x,y\n" + rows + "\n")
    nb = new_notebook(cells=[new_code_cell("%load_ext jupyter_mm"), new_code_cell(TRAIN)])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, str(project / "train.ipynb"))
    monkeypatch.chdir(project)

    first = run_notebook(project / "train.ipynb", timeout=180)
    assert first.failure is None and len(first.run_ids) == 1
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_mm.cli", "reproduce", first.run_ids[0], "--json"],
        env=team_store.env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(done.stdout)
    assert done.returncode == 0, (report, done.stderr)
    assert report["ok"] and report["executed"]
    assert [(m["name"], m["recorded"], m["reproduced"]) for m in report["metrics"]] == [
        ("acc", 1.0, 1.0)
    ]
    with team_store.open() as store:
        run = store.get_run(first.run_ids[0])
        digest = run.checkpoint_digest
        assert f"mm/{digest[:2]}/{digest[2:]}" in team_store.objects()
