"""``examples/monitoring.ipynb`` runs headless in a real kernel and shows what its text says:
the recalibrated measurements drift, nothing else does, accuracy drops on day 2, a rule
rolls production back, and a retrain re-executes the notebook's own checkpoint."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from jupyter_mm.runner import run_notebook

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

pytestmark = pytest.mark.kernel


def test_the_committed_notebook_matches_its_generator() -> None:
    sys.path.insert(0, str(EXAMPLES))
    try:
        import make_monitoring
    finally:
        sys.path.remove(str(EXAMPLES))
    assert nbformat.read(EXAMPLES / "monitoring.ipynb", as_version=4) == make_monitoring.build()


def test_monitoring_example_shows_drift_and_the_drop(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("JUPYTER_MM_STORE", f"sqlite:///{tmp_path / 'store' / 'mm.db'}")
    monkeypatch.delenv("JUPYTER_MM_ARTIFACTS", raising=False)
    notebook = tmp_path / "monitoring.ipynb"
    shutil.copy(EXAMPLES / "monitoring.ipynb", notebook)
    result = run_notebook(notebook, timeout=300)
    assert result.failure is None, result.failure
    text = "\n".join(
        o.get("text", "") or o.get("data", {}).get("text/plain", "")
        for c in result.notebook.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    assert "6 of 30 features drifted" in text
    drifted = set(
        re.findall(
            r"^(\w[\w ]*?)\s+numeric\s+wasserstein\s+\S+\s+\S+ \(calibrated\)\s+DRIFT", text, re.M
        )
    )
    assert drifted == {
        "worst radius", "worst perimeter", "worst area", "mean concave points", "worst texture", "mean texture",
    }  # fmt: skip
    day1, day2 = map(float, re.search(r"accuracy day 1 ([\d.]+), day 2 ([\d.]+)", text).groups())
    assert day1 > 0.9 and day1 - day2 > 0.1
    assert "est." in text  # the unlabelled end of day 2 is estimated
    # the rule fired on v2's labelled predictions of day 2 and rolled production back to v1
    assert "in production: version 2" in text
    assert re.search(r"fired.*accuracy < 0\.9 over 500 labelled", text), text[-2000:]
    assert "in production after the alert: version 1" in text
    # the retrain re-ran v1's checkpoint in a fresh kernel and staged what it logged
    assert re.search(
        r"cancer-monitored version 3 \(run \w+\) retrained from version 1, now in staging", text
    ), text[-2000:]
    assert re.search(r"version 3 \(staging\): retrained for alert #\d+", text), text[-2000:]
    assert "['started', 'registered', 'staged']" in text
