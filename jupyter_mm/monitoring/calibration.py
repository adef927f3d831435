"""Drift thresholds calibrated on the reference itself.

Why: a fixed threshold is too tight for a noisy feature (heavy tails, a small reference) and
too loose for a calm one. At profile time we draw ``WINDOWS`` bootstrap windows of the
reference (rows with replacement, each as large as the reference, at most ``MAX_WINDOW_ROWS``)
and compute every drift statistic of each window against the profile: that is the value the
statistic takes when nothing changed. The threshold of a feature and method is the larger of
``NOISE_FACTOR`` times the largest bootstrap value and the method's effect-size floor
(:data:`.drift.DEFAULT_FLOORS`): an alert needs an effect that matters *and* that sampling
noise cannot explain. The factor covers that a live window and the reference are both
samples (the variance of their difference is about twice a window's) with a margin.

Windows smaller than the calibration window are noisier than it: monitor windows of at
least a few thousand rows, or configure thresholds (``c.Monitor.thresholds``).
"""

from __future__ import annotations

from typing import Any

from .drift import (
    CATEGORICAL_METHODS,
    DEFAULT_FLOORS,
    NUMERIC_METHODS,
    counts_statistics,
    numeric_statistics,
)

WINDOWS = 20
MAX_WINDOW_ROWS = 20_000
NOISE_FACTOR = 2.0


def calibrate_thresholds(
    profile: dict[str, Any], frame: Any, extra: dict[str, Any], *, seed: int = 0
) -> None:
    """Fill ``profile["thresholds"]`` and ``profile["calibration"]`` from the reference
    ``frame`` (and ``extra`` columns, e.g. ``prediction``, profiled under ``profile[name]``)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = int(profile["rows"])
    window = max(1, min(rows, MAX_WINDOW_ROWS))
    targets = dict(profile["features"])
    columns = {name: frame[name] for name in targets}
    for name, values in extra.items():
        if profile.get(name) is not None:
            columns[name] = values
            targets[name] = profile[name]
    # each column once in the form its statistic needs: floats, or category codes
    prepared = {name: _prepare(targets[name], columns[name]) for name in targets}
    noise: dict[str, dict[str, float]] = {name: {} for name in targets}
    for _ in range(WINDOWS):
        picks = rng.integers(0, rows, size=window)
        for name, feature in targets.items():
            found = _window_statistics(feature, prepared[name], picks)
            for method in _methods(feature):
                value = found.get(method)
                if value is not None and np.isfinite(value):
                    noise[name][method] = max(noise[name].get(method, 0.0), float(value))
    profile["calibration"] = {
        "windows": WINDOWS,
        "window_rows": window,
        "noise_factor": NOISE_FACTOR,
        "noise": {
            name: {m: round(v, 6) for m, v in found.items()} for name, found in noise.items()
        },
    }
    profile["thresholds"] = {
        name: {
            method: round(max(DEFAULT_FLOORS[method], NOISE_FACTOR * found.get(method, 0.0)), 6)
            for method in _methods(targets[name])
        }
        for name, found in noise.items()
    }


def _prepare(feature: dict[str, Any], values: Any) -> Any:
    from .profile import _as_float, category_codes

    if feature["kind"] == "numeric":
        return _as_float(values)
    return category_codes(values, feature["categories"])


def _window_statistics(feature: dict[str, Any], prepared: Any, picks: Any) -> dict[str, Any]:
    import numpy as np

    sample = prepared[picks]
    if feature["kind"] == "numeric":
        return numeric_statistics(feature, sample[np.isfinite(sample)])
    counts = np.bincount(sample[sample >= 0], minlength=len(feature["categories"]) + 1)
    return counts_statistics(feature, [int(c) for c in counts])


def _methods(feature: dict[str, Any]) -> tuple[str, ...]:
    return NUMERIC_METHODS if feature["kind"] == "numeric" else CATEGORICAL_METHODS
