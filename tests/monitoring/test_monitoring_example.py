"""``examples/monitoring.ipynb`` runs headless in a real kernel and shows what its text says:
the recalibrated measurements drift, nothing else does, accuracy drops on day 2, a rule
rolls production back, and a retrain re-executes the notebook's own checkpoint."""

from __future__ import annotations

import re

import pytest
from example_notebooks import assert_matches_generator, output_text, run_example

pytestmark = pytest.mark.kernel


def test_the_committed_notebook_matches_its_generator() -> None:
    assert_matches_generator("monitoring")


def test_monitoring_example_shows_drift_and_the_drop(tmp_path, monkeypatch) -> None:
    _, result = run_example("monitoring", tmp_path, monkeypatch, timeout=300)
    text = output_text(result.notebook, plain=True)
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
