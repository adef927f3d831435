"""``examples/serving.ipynb`` runs headless in a real kernel and does what its text says."""

from __future__ import annotations

import pytest
from example_notebooks import assert_matches_generator, output_text, run_example

from jupyter_mm.store import open_store

pytestmark = pytest.mark.kernel


def test_the_committed_notebook_matches_its_generator() -> None:
    assert_matches_generator("serving")


def test_serving_example_swaps_and_logs(tmp_path, monkeypatch) -> None:
    url, result = run_example("serving", tmp_path, monkeypatch, timeout=240)
    text = output_text(result.notebook)
    assert "served cancer-serving/1 first, then cancer-serving/2 after" in text
    assert "{'labels': 1}" in text
    with open_store(url) as store:
        logged = sum(b.rows for b in store.prediction_batches("cancer-serving"))
        assert logged >= 4
        actions = [e.action for e in store.model_events("cancer-serving")]
        assert "serve_swap" in actions
