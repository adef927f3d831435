"""``examples/serving.ipynb`` runs headless in a real kernel and does what its text says."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from jupyter_mm.runner import run_notebook
from jupyter_mm.store import open_store

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

pytestmark = pytest.mark.kernel


def test_the_committed_notebook_matches_its_generator() -> None:
    sys.path.insert(0, str(EXAMPLES))
    try:
        import make_serving
    finally:
        sys.path.remove(str(EXAMPLES))
    assert nbformat.read(EXAMPLES / "serving.ipynb", as_version=4) == make_serving.build()


def test_serving_example_swaps_and_logs(tmp_path, monkeypatch) -> None:
    url = f"sqlite:///{tmp_path / 'store' / 'mm.db'}"
    monkeypatch.setenv("JUPYTER_MM_STORE", url)
    monkeypatch.delenv("JUPYTER_MM_ARTIFACTS", raising=False)
    notebook = tmp_path / "serving.ipynb"
    shutil.copy(EXAMPLES / "serving.ipynb", notebook)
    result = run_notebook(notebook, timeout=240)
    assert result.failure is None, result.failure
    text = "\n".join(
        o.get("text", "") for c in result.notebook.cells if c.cell_type == "code" for o in c.outputs
    )
    assert "served cancer-serving/1 first, then cancer-serving/2 after" in text
    assert "{'labels': 1}" in text
    with open_store(url) as store:
        logged = sum(b.rows for b in store.prediction_batches("cancer-serving"))
        assert logged >= 4
        actions = [e.action for e in store.model_events("cancer-serving")]
        assert "serve_swap" in actions
