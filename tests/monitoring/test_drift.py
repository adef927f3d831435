"""Drift statistics on synthetic shifts: each method flags a real shift, none flags two
samples of one distribution, even at 100k rows (effect sizes, not p-values)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jupyter_mm.monitoring.drift import statistics
from jupyter_mm.monitoring.profile import build_profile
from jupyter_mm.monitoring.report import drift_summary
from jupyter_mm.monitoring.settings import Monitor


def mixed_frame(
    rows: int, seed: int, *, shift: float = 0.0, scale: float = 1.0, tilt: float = 0.0
) -> pd.DataFrame:
    """15 numeric features of different shapes and 5 categorical ones; ``shift``/``scale``
    move the first numeric feature, ``tilt`` moves mass between the categories of the first
    categorical feature."""
    rng = np.random.default_rng(seed)
    data: dict[str, object] = {}
    for i in range(15):
        kind = i % 3
        if kind == 0:
            values = rng.normal(10 * i, 1 + i, size=rows)
        elif kind == 1:
            values = rng.lognormal(0, 0.75, size=rows)
        else:
            values = rng.gamma(2.0, 2.0, size=rows)
        data[f"num{i}"] = values
    for j in range(5):
        shares = np.linspace(1, 5 + j, 4 + j)
        data[f"cat{j}"] = rng.choice(
            [f"c{k}" for k in range(shares.size)], size=rows, p=shares / shares.sum()
        )
    frame = pd.DataFrame(data)
    frame["num0"] = (
        frame["num0"].mean()
        + (frame["num0"] - frame["num0"].mean()) * scale
        + shift * frame["num0"].std()
    )
    if tilt:
        flip = rng.random(rows) < tilt
        frame.loc[flip, "cat0"] = "c0"
    return frame


@pytest.fixture(scope="module")
def reference_profile() -> dict:
    return build_profile(mixed_frame(50_000, seed=1))


def drifted(profile: dict, frame: pd.DataFrame, **settings: object) -> dict[str, dict]:
    summary = drift_summary(profile, frame.add_prefix("feature."), Monitor(**settings))
    return {f["feature"]: f for f in summary["features"]}


def test_two_samples_of_one_distribution_never_drift_at_100k(reference_profile) -> None:
    current = mixed_frame(100_000, seed=2)
    for methods in (
        {},
        dict.fromkeys([f"num{i}" for i in range(15)], "psi")
        | dict.fromkeys([f"cat{j}" for j in range(5)], "chi2"),
    ):
        found = drifted(reference_profile, current, methods=methods)
        assert [name for name, f in found.items() if f["drifted"]] == []
        # and not by a hair: every value is well under its threshold
        assert max(f["value"] / f["threshold"] for f in found.values()) < 0.5


@pytest.mark.parametrize("method", ["wasserstein", "psi"])
@pytest.mark.parametrize(("shift", "scale"), [(0.5, 1.0), (0.0, 2.0)])
def test_numeric_shift_and_spread_are_flagged(reference_profile, method, shift, scale) -> None:
    current = mixed_frame(20_000, seed=3, shift=shift, scale=scale)
    found = drifted(reference_profile, current, methods={"num0": method})
    assert found["num0"]["method"] == method
    assert found["num0"]["drifted"], found["num0"]
    assert [n for n, f in found.items() if f["drifted"]] == ["num0"]


def test_wasserstein_is_the_shift_in_standard_deviations(reference_profile) -> None:
    for shift in (0.2, 0.5, 1.0):
        found = drifted(reference_profile, mixed_frame(100_000, seed=4, shift=shift))
        assert found["num0"]["value"] == pytest.approx(shift, abs=0.03)


@pytest.mark.parametrize("method", ["jensenshannon", "chi2"])
def test_categorical_shift_is_flagged(reference_profile, method) -> None:
    current = mixed_frame(20_000, seed=5, tilt=0.3)
    found = drifted(reference_profile, current, methods={"cat0": method})
    assert found["cat0"]["drifted"], found["cat0"]
    assert [n for n, f in found.items() if f["drifted"]] == ["cat0"]


def test_a_small_shift_is_measured_but_below_the_effect_size_floor(reference_profile) -> None:
    # at 100k rows a KS test rejects a 0.03 sd shift (p << 0.001); as an effect it is tiny
    from scipy.stats import ks_2samp

    base, moved = mixed_frame(100_000, seed=6), mixed_frame(100_000, seed=7, shift=0.03)
    assert ks_2samp(base["num0"], moved["num0"]).pvalue < 0.001
    found = drifted(reference_profile, moved)
    assert 0.01 < found["num0"]["value"] < found["num0"]["threshold"]
    assert not found["num0"]["drifted"]


def test_unseen_categories_go_to_other_and_count_as_drift(reference_profile) -> None:
    current = mixed_frame(10_000, seed=8)
    current.loc[: len(current) // 2, "cat1"] = "brand-new"
    found = drifted(reference_profile, current)
    hist = found["cat1"]["histogram"]
    assert hist["categories"][-1] == "__other__" and hist["current"][-1] > 0.45
    assert found["cat1"]["drifted"]


def test_calibration_raises_thresholds_for_a_small_reference() -> None:
    small = build_profile(mixed_frame(300, seed=9))
    large = build_profile(mixed_frame(50_000, seed=9))
    for name in ("num1", "cat4"):
        method = "wasserstein" if name.startswith("num") else "jensenshannon"
        assert small["thresholds"][name][method] > large["thresholds"][name][method]
    # and two samples of the small reference's distribution still do not drift against it
    found = drifted(small, mixed_frame(300, seed=10))
    assert [n for n, f in found.items() if f["drifted"]] == []


def test_configured_thresholds_override_calibrated_ones(reference_profile) -> None:
    current = mixed_frame(20_000, seed=11, shift=0.5)
    found = drifted(
        reference_profile, current, thresholds={"num0": 0.9, "*": {"jensenshannon": 0.05}}
    )
    assert found["num0"]["threshold"] == 0.9 and found["num0"]["threshold_source"] == "configured"
    assert not found["num0"]["drifted"]
    assert found["cat0"]["threshold"] == 0.05
    assert found["num1"]["threshold_source"] == "calibrated"


def test_missing_values_are_reported_not_counted_as_values(reference_profile) -> None:
    current = mixed_frame(10_000, seed=12)
    current.loc[:2_999, "num3"] = np.nan
    current.loc[:999, "cat2"] = None
    found = drifted(reference_profile, current)
    assert found["num3"]["missing_current"] == pytest.approx(0.3)
    assert found["cat2"]["missing_current"] == pytest.approx(0.1)
    assert found["num3"]["missing_reference"] == 0.0
    assert not found["num3"]["drifted"]  # the values present are distributed as before


def test_a_constant_reference_drifts_only_when_values_move() -> None:
    profile = build_profile(pd.DataFrame({"k": np.full(1000, 3.0), "x": np.arange(1000.0)}))
    same = statistics(profile["features"]["k"], np.full(500, 3.0))
    moved = statistics(profile["features"]["k"], np.full(500, 4.0))
    assert same["wasserstein"] == 0.0 and moved["wasserstein"] == float("inf")


def test_the_reference_named_by_no_one_is_the_largest_frame_with_the_models_columns() -> None:
    from sklearn.linear_model import LinearRegression

    from jupyter_mm.monitoring.capture import find_reference_frame

    X = pd.DataFrame({"a": np.arange(100.0), "b": np.arange(100.0) % 7})
    model = LinearRegression().fit(X, X["a"] * 2)
    namespace = {
        "X": X,
        "X_train": X.iloc[:80],
        "X_test": X.iloc[80:],
        "reordered": X[["b", "a"]],  # the same columns in another order: not the model's input
        "wider": X.assign(c=1.0),
        "_": X.assign(c=2.0),
    }
    assert find_reference_frame(model, namespace)[0] == "X"
    del namespace["X"]
    assert find_reference_frame(model, namespace)[0] == "X_train"
    assert find_reference_frame(model, {"wider": X.assign(c=1.0)}) is None
    # fitted on an array: no column names, no guess
    assert find_reference_frame(LinearRegression().fit(X.to_numpy(), X["a"]), namespace) is None
