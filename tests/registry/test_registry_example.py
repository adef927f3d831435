"""``examples/registry.ipynb`` runs headless in a real kernel and leaves the registry in the
state its text describes; the committed notebook is what the generator writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from example_notebooks import assert_matches_generator, output_text, run_example

from jupyter_mm.store import open_store

pytestmark = pytest.mark.kernel


def test_the_committed_notebook_matches_its_generator():
    assert_matches_generator("registry")


def test_registry_example_runs_and_tells_the_truth(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", "")
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "jupyter-config"))
    url, result = run_example("registry", tmp_path, monkeypatch, timeout=180)
    assert len(result.run_ids) == 3
    outputs = output_text(result.notebook)
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
