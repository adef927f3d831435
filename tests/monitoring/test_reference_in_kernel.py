"""In a real kernel, a tracked cell that logs a DataFrame-fitted model without naming a
reference gets the profile of the namespace's frame with the model's columns, and a guess
that cannot be profiled never costs the logged model."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_mm.monitoring.profile import decode_profile
from jupyter_mm.runner import run_notebook
from jupyter_mm.store import open_store

pytestmark = pytest.mark.kernel

SETUP = """%load_ext jupyter_mm
import numpy as np
import pandas as pd
import jupyter_mm as mm
from sklearn.linear_model import LogisticRegression

rng = np.random.default_rng(0)
X = pd.DataFrame({"a": rng.normal(size=900), "b": rng.choice(["u", "v"], size=900)})
X["b_code"] = (X["b"] == "u").astype(int)
y = (X["a"] + X["b_code"] > 0.5).astype(int)
X_train, X_test = X[["a", "b_code"]].iloc[:700], X[["a", "b_code"]].iloc[700:]"""

TRAIN = """%%track --name guessed
model = LogisticRegression().fit(X_train, y.iloc[:700])
mm.log_model(model, "model")"""

# a frame with the model's columns whose values the model cannot score: the guess fails
UNSCORABLE = """%%track --name unscorable
other = LogisticRegression().fit(X_train, y.iloc[:700])
X_train = pd.DataFrame({"a": ["x"] * 800, "b_code": [1] * 800})
mm.log_model(other, "model")"""


def test_the_tracked_cells_training_frame_is_the_reference(tmp_path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'store' / 'mm.db'}"
    monkeypatch.setenv("JUPYTER_MM_STORE", url)
    monkeypatch.delenv("JUPYTER_MM_ARTIFACTS", raising=False)
    notebook = tmp_path / "train.ipynb"
    nbformat.write(
        new_notebook(cells=[new_code_cell(c) for c in (SETUP, TRAIN, UNSCORABLE)]), notebook
    )
    result = run_notebook(notebook, timeout=240)
    assert result.failure is None, result.failure
    errors = "\n".join(
        o.get("text", "")
        for c in result.notebook.cells
        for o in c.get("outputs", [])
        if o.get("name") == "stderr"
    )
    assert "reference profile of model from X_train (700 rows)" in errors
    assert "no reference profile for model (X_train could not be profiled" in errors
    with open_store(url) as store:
        runs = {r.name: r for r in store.search_runs().runs}
        guessed = {a.name: a for a in store.get_run_detail(runs["guessed"].id).artifacts}
        profile = decode_profile(store.blobs.get_bytes(guessed["model.profile"].digest))
        assert profile["rows"] == 700 and "X_train" in profile["source"]
        assert set(profile["features"]) == {"a", "b_code"}
        unscorable = {a.name for a in store.get_run_detail(runs["unscorable"].id).artifacts}
        assert "model" in unscorable and "model.profile" not in unscorable
