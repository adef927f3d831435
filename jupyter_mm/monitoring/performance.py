"""Live performance: measured from labels when they have arrived, estimated without them.

Measured (scikit-learn): accuracy, F1 (binary: the second class of the model's
``classes_`` is positive; multiclass: macro), ROC-AUC (binary, or one-vs-rest macro),
log-loss for classifiers; RMSE and MAE for regressors.

Estimated, for classifiers with class scores — confidence-based performance estimation
(CBPE): with calibrated probabilities ``p`` (the model's scores through the isotonic map
fitted on the labelled reference, see ``model_outputs.score_calibration``; the scores
themselves when the reference had no labels), the expected confusion matrix is
``TP = Σ p·[ŷ=1]``, ``FP = Σ (1-p)·[ŷ=1]``, ``FN = Σ p·[ŷ=0]``, ``TN = Σ (1-p)·[ŷ=0]``;
accuracy and F1 follow; ROC-AUC integrates the expected TPR/FPR at every score threshold;
log-loss is the expectation of the model's loss when the label is drawn from ``p``.
Multiclass: one-vs-rest per class, macro averaged; accuracy is the mean calibrated
probability of the predicted class. It holds under covariate shift, not under concept
drift (when P(y|x) changes only labels tell).
"""

from __future__ import annotations

import math
from typing import Any

CLASSIFIER_METRICS = ("accuracy", "f1", "roc_auc", "log_loss")
REGRESSOR_METRICS = ("rmse", "mae")
SCORE_FLOOR = 1e-15


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def measured_classification(
    truth: Any, predicted: Any, scores: Any, classes: list[str] | None
) -> dict[str, float | None]:
    """Metrics of labelled rows; ``truth`` and ``predicted`` as strings; ``scores`` rows x
    classes or None."""
    import numpy as np
    from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

    result: dict[str, float | None] = dict.fromkeys(CLASSIFIER_METRICS)
    if len(truth) == 0:
        return result
    result["accuracy"] = _finite(accuracy_score(truth, predicted))
    binary = classes is not None and len(classes) == 2
    if binary:
        assert classes is not None
        result["f1"] = _finite(
            f1_score(truth, predicted, pos_label=classes[1], average="binary", zero_division=0)
        )
    else:
        result["f1"] = _finite(f1_score(truth, predicted, average="macro", zero_division=0))
    if scores is None or classes is None or not set(np.unique(truth)) <= set(classes):
        return result
    clipped = np.clip(scores, SCORE_FLOOR, 1 - SCORE_FLOOR)
    result["log_loss"] = _finite(
        log_loss(truth, clipped / clipped.sum(axis=1, keepdims=True), labels=classes)
    )
    if len(np.unique(truth)) > 1:
        if binary:
            result["roc_auc"] = _finite(roc_auc_score(truth == classes[1], scores[:, 1]))
        elif len(np.unique(truth)) == len(classes):
            result["roc_auc"] = _finite(
                roc_auc_score(truth, scores, multi_class="ovr", labels=classes)
            )
    return result


def measured_regression(truth: Any, predicted: Any) -> dict[str, float | None]:
    import numpy as np

    if len(truth) == 0:
        return dict.fromkeys(REGRESSOR_METRICS)
    errors = np.asarray(predicted, dtype="float64") - np.asarray(truth, dtype="float64")
    return {"rmse": _finite(np.sqrt(np.mean(errors**2))), "mae": _finite(np.mean(np.abs(errors)))}


def expected_roc_auc(raw: Any, probability: Any) -> float | None:
    """ROC-AUC expected when each row is positive with ``probability``, ranking by ``raw``."""
    import numpy as np

    positives = probability.sum()
    negatives = (1 - probability).sum()
    if positives <= 0 or negatives <= 0:
        return None
    order = np.argsort(-raw, kind="stable")
    ranked, p = raw[order], probability[order]
    true_pos, false_pos = np.cumsum(p), np.cumsum(1 - p)
    # one point per distinct threshold: the last row of each run of equal scores
    last = np.r_[np.nonzero(np.diff(ranked))[0], ranked.size - 1]
    tpr = np.r_[0.0, true_pos[last] / positives]
    fpr = np.r_[0.0, false_pos[last] / negatives]
    return _finite(np.trapezoid(tpr, fpr))


def _expected_binary(predicted_positive: Any, raw: Any, p: Any) -> dict[str, float | None]:
    true_pos = float((p * predicted_positive).sum())
    false_pos = float(((1 - p) * predicted_positive).sum())
    false_neg = float((p * ~predicted_positive).sum())
    denominator = 2 * true_pos + false_pos + false_neg
    return {
        "f1": _finite(2 * true_pos / denominator) if denominator > 0 else None,
        "roc_auc": expected_roc_auc(raw, p),
    }


def estimated_classification(
    predicted: Any, scores: Any, calibrated: Any, classes: list[str]
) -> dict[str, float | None]:
    """CBPE (module docstring). ``scores`` are the model's, ``calibrated`` the same through
    the reference's calibration map."""
    import numpy as np

    if len(predicted) == 0:
        return dict.fromkeys(CLASSIFIER_METRICS)
    column = {name: i for i, name in enumerate(classes)}
    predicted_index = np.array([column.get(p, -1) for p in predicted])
    rows = np.arange(len(predicted))
    correct = np.where(predicted_index >= 0, calibrated[rows, np.maximum(predicted_index, 0)], 0.0)
    clipped = np.clip(scores, SCORE_FLOOR, 1 - SCORE_FLOOR)
    clipped = clipped / clipped.sum(axis=1, keepdims=True)
    result: dict[str, float | None] = {
        "accuracy": _finite(correct.mean()),
        "log_loss": _finite(-(calibrated * np.log(clipped)).sum(axis=1).mean()),
    }
    if len(classes) == 2:
        result.update(_expected_binary(predicted_index == 1, scores[:, 1], calibrated[:, 1]))
        return result
    per_class = [
        _expected_binary(predicted_index == k, scores[:, k], calibrated[:, k])
        for k in range(len(classes))
    ]
    for name in ("f1", "roc_auc"):
        values = [c[name] for c in per_class]
        known = [v for v in values if v is not None]
        result[name] = _finite(np.mean(known)) if len(known) == len(values) else None
    return result


def latency_summary(latencies: Any) -> dict[str, Any]:
    """Percentiles of served rows (rows logged by ``mm.log_predictions`` carry no latency)."""
    import numpy as np

    served = np.asarray(latencies, dtype="float64")
    served = served[np.isfinite(served) & (served > 0)]
    if served.size == 0:
        return {"requests": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None}
    p50, p95, p99 = np.percentile(served, [50, 95, 99])
    return {
        "requests": int(served.size),
        "p50_ms": float(p50),
        "p95_ms": float(p95),
        "p99_ms": float(p99),
    }
