"""``examples/registry.ipynb`` runs headless in a real kernel and leaves the registry in the
state its text describes; the committed notebook is what the generator writes."""

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


def test_the_committed_notebook_matches_its_generator():
    sys.path.insert(0, str(EXAMPLES))
    try:
        import make_registry
    finally:
        sys.path.remove(str(EXAMPLES))
    committed = nbformat.read(EXAMPLES / "registry.ipynb", as_version=4)
    assert committed == make_registry.build()


def test_registry_example_runs_and_tells_the_truth(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'store' / 'mm.db'}"
    monkeypatch.setenv("JUPYTER_MM_STORE", url)
    monkeypatch.delenv("JUPYTER_MM_ARTIFACTS", raising=False)
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", "")
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "jupyter-config"))
    notebook = tmp_path / "registry.ipynb"
    shutil.copy(EXAMPLES / "registry.ipynb", notebook)
    result = run_notebook(notebook, timeout=180)
    assert result.failure is None, result.failure
    assert len(result.run_ids) == 3
    outputs = "\n".join(
        output.get("text", "")
        for cell in result.notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert (
        "cancer version 1 -> production refused: gate 'metrics.roc_auc >= 0.95' not met "
        "(metrics.roc_auc = 0.5)." in outputs
    )
    assert "production is version 2 again" in outputs
    with open_store(url) as store:
        versions = store.list_versions("cancer")
        assert [(v.version, v.stage, v.aliases) for v in versions] == [
            (1, "staging", []),
            (2, "production", ["champion"]),
            (3, "archived", []),
        ]
        assert all(v.signature and v.signature["type"] == "dataframe" for v in versions)
        actions = [e.action for e in store.model_events("cancer")]
        assert actions.count("transition_refused") == 1 and actions[-2:] == ["rollback"] * 2
        inputs = {Path(d.name).name for d in store.get_run_detail(versions[1].run_id).data}
        assert inputs == {"train.csv", "test.csv"}
