"""The error rate of a monitoring window, from a real ``jupyter mm serve``: failed requests
are logged with their time, and each window counts its own failures — not the endpoint's
counters since it started — so a rule on ``error_rate`` sees the current window."""

from __future__ import annotations

import pytest
from serving.conftest import serving

from jupyter_mm.alerts.rules import WindowSpec
from jupyter_mm.alerts.source import PredictionLogSource
from jupyter_mm.monitoring import report

from .conftest import classifier_data, register_production
from .test_alert_rollback_serve import wait_for

pytestmark = pytest.mark.kernel  # a serving process of its own

GOOD = 40


def register_profiled(store):
    """As conftest's register_production, with a reference profile (the report needs one)."""
    from sklearn.linear_model import LogisticRegression

    import jupyter_mm as mm

    X, y = classifier_data(0)
    with mm.start_run("fraud-profiled") as run:
        model = LogisticRegression().fit(X, y)
        mm.log_model(model, "model", input_example=X.head(3), reference=X)
    version = mm.register_model(run.id, "model", "fraud", store=store)
    mm.transition("fraud", version.version, "staging", store=store)
    mm.transition("fraud", version.version, "production", store=store)
    return version


def send(served, X, *, bad: bool) -> None:
    for index in range(GOOD if not bad else 10):
        columns = list(X.columns) if not bad else ["nope", "b", "c"]
        row = X.iloc[[index]].values.tolist()
        status, _, _ = served.post(
            "/invocations", {"dataframe_split": {"columns": columns, "data": row}}
        )
        assert status == (400 if bad else 200)


def test_each_window_counts_its_own_failures(mm_store, tmp_path) -> None:
    version = register_profiled(mm_store)
    url = f"sqlite:///{tmp_path / 'store' / 'mm.db'}"
    X, _ = classifier_data(seed=3, rows=GOOD)
    source = PredictionLogSource(mm_store)
    spec = WindowSpec("predictions", GOOD, 2)

    def logged(rows: int, failed: int):
        def done() -> bool:
            have = sum(b.rows for b in mm_store.prediction_batches("fraud"))
            return (
                have >= rows
                and mm_store.request_failures("fraud", version.version, since=0.0) >= failed
            )

        return done

    with serving(url, tmp_path, "fraud@production") as served:
        send(served, X, bad=False)
        send(served, X, bad=True)  # between the two windows: the older one's span
        send(served, X, bad=False)
        wait_for(logged(2 * GOOD, 10), "the serving process logged the requests")
        older, newer = source("fraud", version.version, spec)
        assert older["error_rate"] == pytest.approx(10 / (10 + GOOD))
        assert newer["error_rate"] == 0.0  # its endpoint failed 10 of 90 since it started
        whole = report("fraud@production", GOOD, store=mm_store)
        assert whole["latency"]["error_rate"] == 0.0 and whole["metrics"]["error_rate"] == 0.0

        # now every request fails: no new prediction, yet the current window shows it
        send(served, X, bad=True)
        wait_for(logged(2 * GOOD, 20), "the serving process logged the failures")
        _, current = source("fraud", version.version, spec)
        assert current["error_rate"] == pytest.approx(10 / (10 + GOOD))
        assert current["predictions"] == GOOD
        again = report("fraud@production", GOOD, store=mm_store)
        assert again["metrics"]["error_rate"] == pytest.approx(10 / (10 + GOOD))


def test_batch_logged_predictions_have_no_error_rate(mm_store) -> None:
    from .conftest import log_scored

    version = register_profiled(mm_store)
    log_scored(mm_store, "fraud@production", seed=1, rows=50, flip=False)
    (window,) = PredictionLogSource(mm_store)(
        "fraud", version.version, WindowSpec("predictions", 50, 1)
    )
    assert "error_rate" not in window  # nobody served them: nothing could fail
    assert report("fraud@production", 50, store=mm_store)["metrics"]["error_rate"] is None


def test_a_version_that_answered_nothing_has_error_rate_one(mm_store) -> None:
    version = register_production(mm_store)
    mm_store.add_request_failures("fraud", version.version, "champion", 1.0, 2.0, 7)
    (window,) = PredictionLogSource(mm_store)(
        "fraud", version.version, WindowSpec("predictions", 50, 1)
    )
    assert window["error_rate"] == 1.0 and window["predictions"] == 0
