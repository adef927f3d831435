"""The monitoring report over a real store's prediction log (SQLite and PostgreSQL):
profiles stored with the version, windows read from the log, drift and performance."""

from __future__ import annotations

import time

import jsonschema
import numpy as np
import pytest

import jupyter_mm as mm
from jupyter_mm.errors import InvalidInput
from jupyter_mm.monitoring import profile_version, report
from jupyter_mm.monitoring.profile import (
    build_profile,
    decode_profile,
    encode_profile,
    merge_profiles,
)
from jupyter_mm.monitoring.stored import find_profile
from jupyter_mm.monitoring.window import WindowSpec, _read_batch, read_window
from jupyter_mm.server import schema, schema_render
from jupyter_mm.serving.batchfile import ROW_GROUP_ROWS, batch_table, write_batch

from .conftest import customers

REPORT_SCHEMA = schema_render.schema_for(schema.MonitoringReport)


def log_scored(registered, X, *, when: float | None = None, latency: float = 0.0) -> list[str]:
    """Log ``X`` scored by the model as one batch at time ``when`` (default now)."""
    model = registered.model
    rows = len(X)
    ids = [f"r{time.time_ns()}-{i}" for i in range(rows)]
    frame = batch_table(
        ids,
        np.full(rows, when or time.time()) + np.arange(rows) * 1e-6,
        np.full(rows, latency),
        X,
        model.predict(X),
        model.predict_proba(X),
        model.classes_,
    )
    write_batch(registered.store, "churn", 1, "champion", frame)
    return ids


def test_the_profile_is_kilobytes_and_round_trips(registered) -> None:
    profile, link = find_profile(registered.store, registered.version)
    assert link.size < 20_000, link.size  # 5 000 rows x 4 features: a few kilobytes
    assert decode_profile(encode_profile(profile)) == profile
    assert profile["task"] == "classification" and profile["classes"] == ["0", "1"]
    assert profile["features"]["region"]["kind"] == "categorical"
    assert profile["features"]["visits"]["kind"] == "numeric"
    assert profile["score_calibration"]["method"] == "isotonic"
    assert set(profile["thresholds"]) == {"age", "balance", "visits", "region", "prediction"}
    assert link.digest in registered.store.referenced_digests()  # gc keeps it


def test_profiles_of_two_halves_merge_into_the_whole(registered) -> None:
    whole = build_profile(registered.X, calibrate=False)
    first, second = registered.X.iloc[:2_000], registered.X.iloc[2_000:]
    a, b = build_profile(first, calibrate=False), build_profile(second, calibrate=False)
    # the halves are binned on the whole's edges, as a merged profile's chunks are
    for part, frame in ((a, first), (b, second)):
        for name, feature in part["features"].items():
            if feature["kind"] == "numeric":
                from jupyter_mm.monitoring.profile import numeric_counts

                feature["edges"] = whole["features"][name]["edges"]
                feature["counts"] = numeric_counts(
                    frame[name].to_numpy(dtype="float64"), feature["edges"]
                )
    merged = merge_profiles(a, b)
    for name, feature in whole["features"].items():
        mine = merged["features"][name]
        if feature["kind"] == "numeric":
            assert mine["counts"] == feature["counts"]
        else:
            assert dict(zip(mine["categories"], mine["counts"], strict=True)) == dict(
                zip(feature["categories"], feature["counts"], strict=True)
            )


def test_profile_command_links_a_profile_to_an_older_version(registered, tmp_path) -> None:
    store = registered.store
    with mm.start_run("old") as run:
        mm.log_model(registered.model, "model", reference=False)
    old = mm.register_model(run.id, "model", "churn", store=store)
    with pytest.raises(InvalidInput, match="jupyter mm profile churn/2"):
        find_profile(store, old)
    link = profile_version("churn/2", registered.X, target=registered.y, store=store)
    profile, found = find_profile(store, old)
    assert found == link and profile["rows"] == 5_000


def test_a_reference_that_does_not_fit_the_model_stores_nothing(registered) -> None:
    before = len(registered.store.get_run_detail(registered.version.run_id).artifacts)
    with mm.start_run("bad") as run, pytest.raises(InvalidInput, match="cannot be profiled"):
        mm.log_model(registered.model, "model", reference=registered.X.drop(columns=["age"]))
    assert registered.store.get_run_detail(run.id).artifacts == []
    assert len(registered.store.get_run_detail(registered.version.run_id).artifacts) == before


def test_count_and_time_windows_read_only_their_rows(registered) -> None:
    X, _ = customers(3_000, seed=1)
    start = time.time() - 3_000
    for hour in range(3):
        log_scored(registered, X.iloc[hour * 1_000 : (hour + 1) * 1_000], when=start + hour * 1_000)
    store = registered.store
    last = read_window(store, "churn", 1, WindowSpec(rows=1_500), columns=["prediction"])
    assert len(last) == 1_500 and list(last.columns) == ["prediction", "time"]
    assert last["time"].min() >= start + 1_000  # the first batch was not needed
    recent = read_window(store, "churn", 1, WindowSpec(since=start + 1_500))
    assert len(recent) == 1_000 and recent["time"].is_monotonic_increasing


def test_a_window_decodes_only_the_row_groups_it_needs(registered) -> None:
    X, _ = customers(60_000, seed=2)
    log_scored(registered, X)
    (batch,) = registered.store.prediction_batches("churn")
    assert batch.rows == 60_000
    decoded = _read_batch(registered.store, batch, WindowSpec(rows=100), 100, ["prediction"])
    assert len(decoded) <= ROW_GROUP_ROWS < 60_000


def test_drift_and_the_performance_drop_on_a_shifted_slice(registered) -> None:
    store = registered.store
    same, same_y = customers(4_000, seed=3)
    moved, moved_y = customers(4_000, seed=4, older=1.5)
    ids = log_scored(registered, same, when=time.time() - 100, latency=5.0) + log_scored(
        registered, moved, latency=7.0
    )
    labels = np.r_[same_y.to_numpy(), moved_y.to_numpy()]
    # labels for the first 3 000 of each slice: the rest is estimated
    known = list(range(3_000)) + list(range(4_000, 7_000))
    mm.log_labels([ids[i] for i in known], labels[known], store=store)
    found = report("churn", 8_000, step=1_000, store=store)
    jsonschema.validate(found, REPORT_SCHEMA)
    drift = {f["feature"]: f for f in found["drift"]["features"]}
    assert (
        drift["age"]["drifted"]
        and not drift["balance"]["drifted"]
        and not drift["region"]["drifted"]
    )
    assert found["drift"]["drift_share"] == pytest.approx(0.25)
    timeline = found["performance"]
    assert [w["source"] for w in timeline] == ["measured"] * 3 + ["estimated"] + [
        "measured"
    ] * 3 + ["estimated"]
    before = np.mean([w["measured"]["roc_auc"] for w in timeline[:3]])
    after = np.mean([w["measured"]["roc_auc"] for w in timeline[4:7]])
    assert before - after > 0.2  # the shift hurts the model
    # without labels, the estimate of the unshifted slice matches what labels measured
    assert timeline[3]["estimated"]["roc_auc"] == pytest.approx(before, abs=0.04)
    metrics = found["metrics"]
    assert (
        metrics["drift_share"] == pytest.approx(0.25)
        and metrics["drift.age"] > metrics["drift.balance"]
    )
    assert metrics["labelled"] == 6_000 and metrics["rows"] == 8_000
    assert metrics["roc_auc"] is not None and metrics["estimated_roc_auc"] is not None
    assert 5.0 <= metrics["p50_latency_ms"] <= metrics["p99_latency_ms"] <= 7.0
    # served rows (arm champion) and no failed request logged in the window's span
    assert metrics["error_rate"] == 0.0


def test_a_model_without_predictions_gives_an_empty_but_valid_report(registered) -> None:
    found = report("churn/1", store=registered.store)
    jsonschema.validate(found, REPORT_SCHEMA)
    assert found["window"]["rows"] == 0 and found["performance"] == []
    assert found["drift"]["drifted"] == 0 and found["metrics"]["rows"] == 0


def test_bad_windows_are_one_line_errors(registered) -> None:
    for kwargs in ({"window": 0}, {"window": 10, "since": 5.0}):
        with pytest.raises(InvalidInput):
            report("churn", store=registered.store, **kwargs)


def test_a_timeline_by_time_has_one_point_per_period_with_predictions(registered) -> None:
    X, _ = customers(900, seed=7)
    start = time.time() - 7_200
    for hour in (0, 1, 3):  # nothing logged in hour 2
        log_scored(registered, X.iloc[hour * 200 : hour * 200 + 300], when=start + hour * 1_800)
    found = report("churn", since=start - 1, every=1_800.0, store=registered.store)
    jsonschema.validate(found, REPORT_SCHEMA)
    assert found["window"]["every"] == 1_800.0 and found["window"]["step"] == 0
    assert [w["rows"] for w in found["performance"]] == [300, 300, 300]
    starts = [w["start_time"] for w in found["performance"]]
    assert starts[2] - starts[1] > 1_800  # the empty period is skipped, not a zero point
    with pytest.raises(InvalidInput):
        report("churn", 100, step=10, every=60.0, store=registered.store)
