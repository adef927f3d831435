"""What a model says about its reference data: task, classes, predictions, class scores,
and the isotonic map that calibrates its scores (for confidence-based estimation)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class ModelOutputs:
    task: str  # classification or regression
    predictions: Any  # 1-D array
    scores: Any = None  # n x classes, or None
    classes: list[str] | None = None


def _is_classifier(model: Any, predictions: Any) -> bool:
    try:
        from sklearn.base import is_classifier

        if is_classifier(model):
            return True
    except ImportError:  # pragma: no cover - scikit-learn is a dependency
        pass
    return hasattr(model, "classes_") or predictions.dtype.kind in "bOSU"


def predictions_and_scores(model: Any, data: Any) -> tuple[Any, Any, Any]:
    """The model's predictions, class scores (``predict_proba``, or None) and class labels
    (or None) on ``data``. Scores are a bonus: a model whose ``predict_proba`` fails on
    this data still gives its predictions."""
    import numpy as np

    predictions = np.asarray(model.predict(data))
    if not hasattr(model, "predict_proba"):
        return predictions, None, None
    try:
        scores = np.asarray(model.predict_proba(data))
    except Exception:
        return predictions, None, None
    return predictions, scores, getattr(model, "classes_", None)


def model_outputs(model: Any, frame: Any) -> ModelOutputs:
    """The model's predictions (and class scores when it has ``predict_proba``) on
    ``frame``, as serving computes them."""
    import numpy as np

    predictions, scores, classes = predictions_and_scores(model, frame)
    predictions = np.asarray(predictions).reshape(len(frame), -1)[:, 0]
    if not _is_classifier(model, predictions):
        return ModelOutputs("regression", predictions.astype("float64"))
    if scores is not None:
        scores = np.asarray(scores, dtype="float64")
        names = list(classes) if classes is not None else list(range(scores.shape[1]))
        return ModelOutputs("classification", predictions, scores, [str(c) for c in names])
    return ModelOutputs("classification", predictions)


def score_calibration(outputs: ModelOutputs, target: Any) -> dict[str, Any] | None:
    """Per class, the isotonic map from the model's score to the observed share of that
    class on the reference (one-vs-rest), kept as breakpoints (``x``, ``y``) for
    ``numpy.interp``. Scores of a well-calibrated model map to themselves."""
    import numpy as np
    from sklearn.isotonic import IsotonicRegression

    if outputs.scores is None or outputs.classes is None:
        return None
    truth = np.asarray([str(v) for v in _plain_labels(target)])
    if truth.size != len(outputs.scores):
        from ..errors import InvalidInput

        raise InvalidInput(
            f"reference_target has {truth.size} labels but the reference has {len(outputs.scores)} rows."
        )
    maps: dict[str, Any] = {}
    for index, name in enumerate(outputs.classes):
        regression = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        regression.fit(outputs.scores[:, index], (truth == name).astype("float64"))
        maps[name] = {
            "x": [float(v) for v in regression.X_thresholds_],
            "y": [float(v) for v in regression.y_thresholds_],
        }
    return {"method": "isotonic", "classes": maps}


def _plain_labels(values: Any) -> list[Any]:
    return [v.item() if hasattr(v, "item") else v for v in list(values)]


def calibrated_scores(scores: Any, classes: list[str], calibration: dict[str, Any] | None) -> Any:
    """``scores`` through the profile's calibration map (rows renormalized to sum to 1);
    unchanged without a map."""
    import numpy as np

    scores = np.asarray(scores, dtype="float64")
    if not calibration:
        return scores
    out = np.empty_like(scores)
    for index, name in enumerate(classes):
        points = calibration["classes"].get(name)
        out[:, index] = (
            scores[:, index]
            if points is None
            else np.interp(scores[:, index], points["x"], points["y"])
        )
    totals = out.sum(axis=1, keepdims=True)
    return np.divide(out, totals, out=np.full_like(out, 1.0 / out.shape[1]), where=totals > 0)
