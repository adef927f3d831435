"""Performance: CBPE's estimate matches the measured value on a calibrated model under
covariate shift; measured metrics match scikit-learn's; latency percentiles."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

from jupyter_mm.monitoring.model_outputs import ModelOutputs, calibrated_scores, score_calibration
from jupyter_mm.monitoring.performance import (
    estimated_classification,
    latency_summary,
    measured_classification,
    measured_regression,
)

WEIGHTS = np.array([1.5, -2.0, 0.7])


def draw(
    rows: int, seed: int, shift: float = 0.0, spread: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from a logistic model (so a fitted logistic regression is calibrated);
    ``shift`` and ``spread`` move the inputs (covariate shift: P(y|x) unchanged)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 3)) * spread + shift
    p = 1 / (1 + np.exp(-(X @ WEIGHTS - 0.3)))
    return X, (rng.random(rows) < p).astype(int)


@pytest.fixture(scope="module")
def model() -> LogisticRegression:
    X, y = draw(40_000, seed=0)
    return LogisticRegression().fit(X, y)


@pytest.mark.parametrize("shift", [0.0, 0.6])
def test_cbpe_estimates_the_measured_performance_of_a_calibrated_model(model, shift) -> None:
    X, y = draw(30_000, seed=1, shift=shift)
    scores, predicted = model.predict_proba(X), model.predict(X).astype(str)
    classes = ["0", "1"]
    estimate = estimated_classification(predicted, scores, scores, classes)
    measured = measured_classification(y.astype(str), predicted, scores, classes)
    for name, tolerance in (
        ("accuracy", 0.01),
        ("f1", 0.015),
        ("roc_auc", 0.01),
        ("log_loss", 0.015),
    ):
        assert estimate[name] == pytest.approx(measured[name], abs=tolerance), name


def test_the_shift_changes_performance_and_the_estimate_follows(model) -> None:
    # inputs crowded near the decision boundary make the task harder: the estimate must
    # fall with the truth, by about as much
    results = []
    for spread in (1.0, 0.3):
        X, y = draw(30_000, seed=2, spread=spread)
        scores, predicted = model.predict_proba(X), model.predict(X).astype(str)
        results.append(
            (
                estimated_classification(predicted, scores, scores, ["0", "1"])["roc_auc"],
                roc_auc_score(y, scores[:, 1]),
            )
        )
    (est0, true0), (est1, true1) = results
    assert true0 - true1 > 0.05
    assert est0 - est1 == pytest.approx(true0 - true1, abs=0.02)


def test_isotonic_calibration_repairs_overconfident_scores(model) -> None:
    X, y = draw(30_000, seed=3)
    raw = model.predict_proba(X)
    # an overconfident model: the same ranking, scores pushed towards 0 and 1
    sharp = raw**3 / (raw**3 + (1 - raw) ** 3)
    predicted = model.predict(X).astype(str)
    outputs = ModelOutputs("classification", predicted, sharp, ["0", "1"])
    calibration = score_calibration(outputs, y[:])
    X2, y2 = draw(30_000, seed=4)
    sharp2 = model.predict_proba(X2) ** 3
    sharp2 = sharp2 / sharp2.sum(axis=1, keepdims=True)
    predicted2 = model.predict(X2).astype(str)
    truth = accuracy_score(y2.astype(str), predicted2)
    naive = estimated_classification(predicted2, sharp2, sharp2, ["0", "1"])["accuracy"]
    repaired = estimated_classification(
        predicted2, sharp2, calibrated_scores(sharp2, ["0", "1"], calibration), ["0", "1"]
    )["accuracy"]
    assert abs(naive - truth) > 0.03  # uncalibrated scores mislead CBPE
    assert repaired == pytest.approx(truth, abs=0.01)


def test_multiclass_estimate_and_measure() -> None:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(30_000, 4))
    logits = X @ rng.normal(size=(4, 3))
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(3, p=row) for row in p])
    model = LogisticRegression().fit(X[:15_000], y[:15_000])
    scores, predicted = model.predict_proba(X[15_000:]), model.predict(X[15_000:]).astype(str)
    truth = y[15_000:].astype(str)
    classes = ["0", "1", "2"]
    measured = measured_classification(truth, predicted, scores, classes)
    assert measured["f1"] == pytest.approx(f1_score(truth, predicted, average="macro"))
    assert measured["log_loss"] == pytest.approx(log_loss(truth, scores, labels=classes))
    estimate = estimated_classification(predicted, scores, scores, classes)
    assert estimate["accuracy"] == pytest.approx(measured["accuracy"], abs=0.015)
    assert estimate["roc_auc"] == pytest.approx(measured["roc_auc"], abs=0.015)


def test_measured_metrics_are_scikit_learns(model) -> None:
    X, y = draw(2_000, seed=6)
    scores, predicted = model.predict_proba(X), model.predict(X).astype(str)
    found = measured_classification(y.astype(str), predicted, scores, ["0", "1"])
    assert found["accuracy"] == pytest.approx(accuracy_score(y.astype(str), predicted))
    assert found["f1"] == pytest.approx(f1_score(y, predicted.astype(int)))
    assert found["roc_auc"] == pytest.approx(roc_auc_score(y, scores[:, 1]))
    assert found["log_loss"] == pytest.approx(log_loss(y, scores))
    regression = measured_regression(np.array([1.0, 2.0, 4.0]), np.array([1.0, 3.0, 2.0]))
    assert regression["mae"] == pytest.approx(1.0) and regression["rmse"] == pytest.approx(
        np.sqrt(5 / 3)
    )


def test_one_class_of_labels_gives_no_roc_auc_rather_than_an_error(model) -> None:
    X, _ = draw(100, seed=7)
    found = measured_classification(
        np.array(["1"] * 100), model.predict(X).astype(str), model.predict_proba(X), ["0", "1"]
    )
    assert found["roc_auc"] is None and found["accuracy"] is not None


def test_latency_percentiles_ignore_rows_without_latency() -> None:
    latencies = np.r_[np.zeros(500), np.arange(1.0, 101.0)]
    found = latency_summary(latencies)
    assert found["requests"] == 100
    assert found["p50_ms"] == pytest.approx(np.percentile(np.arange(1.0, 101.0), 50))
    assert found["p99_ms"] == pytest.approx(np.percentile(np.arange(1.0, 101.0), 99))
    assert latency_summary(np.zeros(3))["p50_ms"] is None
