"""Drift statistics between a reference profile and current values (scipy/numpy).

Every measure is an effect size, so a verdict does not flip to "drifted" just because the
window is large (a p-value at 100k rows flags every column):

* numeric, ``wasserstein``: the Wasserstein-1 distance between the reference and current
  distributions divided by the reference's standard deviation (so 0.1 means "the mass moved
  by a tenth of a standard deviation on average"). Both sides are represented by the same
  grid of quantiles (the reference's are in the profile), so a window from the same
  distribution scores near zero with no discretisation bias;
* numeric, ``psi``: the population stability index on the reference's percentile bins;
* categorical, ``jensenshannon``: the Jensen–Shannon distance (base 2, between 0 and 1) of
  the category shares, OTHER included;
* categorical, ``chi2``: Cohen's w, ``sqrt(chi2 / n)`` of the goodness-of-fit chi-squared
  of the current counts against the reference shares.
"""

from __future__ import annotations

import math
from typing import Any

from .profile import OTHER, category_counts, sorted_counts, sorted_quantiles

NUMERIC_METHODS = ("wasserstein", "psi")
CATEGORICAL_METHODS = ("jensenshannon", "chi2")
DEFAULT_METHOD = {"numeric": "wasserstein", "categorical": "jensenshannon"}
#: the smallest effect called drift when calibration allows a smaller one (effect-size
#: conventions: a tenth of a standard deviation, PSI 0.1, JS distance 0.1, Cohen's w 0.1)
DEFAULT_FLOORS = {"wasserstein": 0.1, "psi": 0.1, "jensenshannon": 0.1, "chi2": 0.1}
#: smoothing added to every bin's share before PSI / chi-squared (empty bins)
EPSILON = 1e-4


def quantile_levels(points: int) -> Any:
    import numpy as np

    return (np.arange(points) + 0.5) / points


def numeric_statistics(feature: dict[str, Any], values: Any) -> dict[str, Any]:
    """Statistics of current ``values`` (finite floats, missing already removed) against a
    numeric feature profile; also the current histogram on the profile's edges."""
    import numpy as np
    from scipy.stats import wasserstein_distance

    ordered = np.sort(values)
    counts = sorted_counts(ordered, feature["edges"])
    result: dict[str, Any] = {"counts": counts, "wasserstein": None, "psi": None}
    if values.size == 0:
        return result
    reference_grid = np.asarray(feature["grid"], dtype="float64")
    current_grid = sorted_quantiles(ordered, quantile_levels(reference_grid.size))
    distance = wasserstein_distance(reference_grid, current_grid)
    scale = feature.get("std") or 0.0
    if scale <= 0:  # a constant reference: any movement is drift, none is not
        result["wasserstein"] = 0.0 if distance == 0 else math.inf
    else:
        result["wasserstein"] = float(distance / scale)
    result["psi"] = psi(feature["counts"], counts)
    return result


def psi(reference_counts: Any, current_counts: Any) -> float:
    import numpy as np

    expected = _shares(reference_counts)
    actual = _shares(current_counts)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def _shares(counts: Any) -> Any:
    import numpy as np

    array = np.asarray(counts, dtype="float64")
    total = array.sum()
    shares = array / total if total > 0 else np.full(array.size, 1.0 / array.size)
    shares = shares + EPSILON
    return shares / shares.sum()


def categorical_statistics(feature: dict[str, Any], values: Any) -> dict[str, Any]:
    """Statistics of current ``values`` (labels) against a categorical feature profile."""
    known, other, missing = category_counts(values, feature["categories"])
    return {**counts_statistics(feature, [*known, other]), "missing": missing}


def counts_statistics(feature: dict[str, Any], counts: list[int]) -> dict[str, Any]:
    """Jensen–Shannon distance and Cohen's w of current category ``counts`` (the profile's
    categories, then OTHER) against the reference's."""
    import numpy as np
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import chisquare

    result: dict[str, Any] = {"counts": counts, "jensenshannon": None, "chi2": None}
    total = sum(counts)
    if total == 0:
        return result
    reference = np.asarray([*feature["counts"], feature["other"]], dtype="float64")
    current = np.asarray(counts, dtype="float64")
    result["jensenshannon"] = float(jensenshannon(reference, current, base=2))
    expected = _shares(reference) * total
    chi2 = chisquare(current, expected).statistic
    result["chi2"] = float(math.sqrt(chi2 / total))
    return result


def histogram(feature: dict[str, Any], current_counts: list[int]) -> dict[str, Any]:
    """Reference and current shares on the profile's bins (the wire FeatureHistogram)."""
    if feature["kind"] == "numeric":
        reference = feature["counts"]
        edges, categories = feature["edges"], None
    else:
        reference = [*feature["counts"], feature["other"]]
        edges, categories = None, [*feature["categories"], OTHER]
    return {
        "edges": edges,
        "categories": categories,
        "reference": _plain_shares(reference),
        "current": _plain_shares(current_counts),
    }


def _plain_shares(counts: list[int]) -> list[float]:
    total = sum(counts)
    return [round(c / total, 6) if total else 0.0 for c in counts]


def statistics(feature: dict[str, Any], values: Any) -> dict[str, Any]:
    """Statistics for one feature: ``counts`` (current histogram), ``missing``, and one
    entry per method of the feature's kind."""
    import numpy as np

    if feature["kind"] == "numeric":
        from .profile import _as_float

        array = _as_float(values)
        finite = array[np.isfinite(array)]
        result = numeric_statistics(feature, finite)
        result["missing"] = int(array.size - finite.size)
        return result
    return categorical_statistics(feature, values)
