"""The monitoring report of one model version over one window of its prediction log
(the wire model ``MonitoringReport`` of ``jupyter_mm.server.schema``)."""

from __future__ import annotations

import json
import math
import time
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from ..registry.rules import make_registry
from . import performance as perf
from .drift import DEFAULT_FLOORS, DEFAULT_METHOD, histogram, statistics
from .error_rate import window_error_rate
from .model_outputs import calibrated_scores
from .settings import Monitor, load_monitor
from .stored import find_profile
from .thresholds import gate_thresholds
from .trust import WriterTrust, trust_summary, writer_trust
from .window import WindowSpec, read_window

if TYPE_CHECKING:
    from ..entities import ModelVersion, ReferenceProfileLink
    from ..server.schema import FeatureDrift, MonitoringReport, PerformanceWindow
    from ..store.abstract import AbstractStore

FEATURE, SCORE = "feature.", "score."
#: seconds before a window's first prediction from which arriving labels are considered
LABEL_CLOCK_SLACK = 3600.0


def resolve_monitored(ref: str, store: AbstractStore) -> ModelVersion:
    """``NAME`` (the production version, else the latest), ``NAME@stage|alias``, ``NAME/N``."""
    from ..errors import NotFound
    from ..registry import resolve_version

    if isinstance(ref, str) and "@" not in ref and "/" not in ref:
        try:
            return resolve_version(f"{ref}@production", store=store)
        except NotFound:
            return resolve_version(f"{ref}/latest", store=store)
    return resolve_version(ref, store=store)


def report(
    ref: str,
    window: int | None = None,
    *,
    since: float | None = None,
    until: float | None = None,
    step: int | None = None,
    every: float | None = None,
    store: AbstractStore | None = None,
    settings: Monitor | None = None,
    gates: list[str] | None = None,
) -> MonitoringReport:
    """The monitoring report of ``ref`` over the last ``window`` logged predictions (default
    ``c.Monitor.window``) or those logged since ``since`` (epoch seconds). The timeline is
    cut every ``step`` rows (default: the window split into ``c.Monitor.timeline_windows``)
    or every ``every`` seconds. ``report(...)["metrics"]`` is the flat dict rules are
    evaluated against. ``gates``: the production gates whose metric bounds the report
    lists (default ``c.Registry.gates``)."""
    from ..tracking import default_store

    store = store or default_store()
    settings = settings or load_monitor()
    if window is None and since is None:
        window = settings.window
    spec = WindowSpec(rows=window, since=since, until=until)
    _check_timeline(step, every)
    version = resolve_monitored(ref, store)
    profile, link = find_profile(store, version)
    trust = writer_trust(store, version.model, settings=settings)
    frame = read_window(store, version.model, version.version, spec, writers=trust.writers)
    step = 0 if every else (step or max(1, math.ceil(len(frame) / settings.timeline_windows)))
    labels, ignored_labels = _labels(store, version.model, frame, trust)
    timeline = [
        _performance_window(i, chunk, labels, profile, settings)
        for i, chunk in enumerate(_timeline_chunks(frame, step, every))
    ]
    whole = _performance_window(0, frame, labels, profile, settings) if len(frame) else None
    latency = {
        **perf.latency_summary(frame.get("latency_ms", [])),
        "error_rate": window_error_rate(
            store,
            version.model,
            version.version,
            frame,
            until=spec.until or time.time(),
            writers=trust.writers,
        ),
    }
    result: MonitoringReport = {
        "model": version.model,
        "version": version.version,
        "generated_time": time.time(),
        "profile": _profile_summary(profile, link),
        "window": _window_body(spec, frame, step, every),  # type: ignore[typeddict-item]
        "drift": drift_summary(profile, frame, settings),
        "performance": timeline,
        "latency": latency,  # type: ignore[typeddict-item]
        "metrics": {},
        "thresholds": gate_thresholds(
            make_registry().gates_for("production") if gates is None else gates
        ),
        "trust": trust_summary(
            trust, ignored_labels, _ignored_batches(store, version, spec, trust)
        ),
    }
    result["metrics"] = flat_metrics(result, whole)
    return result


def _check_timeline(step: int | None, every: float | None) -> None:
    if step is not None and every is not None:
        raise InvalidInput("A timeline is split by rows (step) or by time (every), not both.")
    if every is not None and not every > 0:
        raise InvalidInput(f"every must be a positive number of seconds, not {every!r}.")
    if step is not None and (isinstance(step, bool) or step < 1):
        raise InvalidInput(f"step must be at least 1, not {step!r}.")


def _window_body(spec: WindowSpec, frame: Any, step: int, every: float | None) -> dict[str, Any]:
    found = len(frame)
    return {
        "kind": "count" if spec.rows is not None else "time",
        "size": spec.rows,
        "since": spec.since,
        "step": step,
        "every": every,
        "rows": found,
        "start_time": float(frame["time"].iloc[0]) if found else None,
        "end_time": float(frame["time"].iloc[-1]) if found else None,
    }


def _timeline_chunks(frame: Any, step: int, every: float | None) -> list[Any]:
    """The window's rows split by count (``step`` rows) or by time (``every`` seconds from
    the first prediction; periods without predictions are skipped)."""
    import numpy as np

    if not len(frame):
        return []
    if not every:
        return [frame.iloc[start : start + step] for start in range(0, len(frame), step)]
    period = np.floor((frame["time"].to_numpy() - float(frame["time"].iloc[0])) / every)
    cuts = np.flatnonzero(np.diff(period)) + 1
    return [frame.iloc[a:b] for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(frame)], strict=True)]


def flat_metrics(
    result: MonitoringReport, whole: PerformanceWindow | None
) -> dict[str, float | None]:
    """The report's values in one flat dict (see ``MonitoringReport.metrics``)."""
    drift = result["drift"]
    latency = result["latency"]
    metrics: dict[str, float | None] = {}
    if whole is not None:
        metrics.update(whole["metrics"])
    else:
        metrics.update({"rows": 0.0, "labelled": 0.0})
    metrics["drift_share"] = drift["drift_share"]
    metrics["drifted_features"] = float(drift["drifted"])
    for feature in drift["features"]:
        metrics[f"drift.{feature['feature']}"] = feature["value"]
    if drift["prediction"] is not None:
        metrics["drift.prediction"] = drift["prediction"]["value"]
    for p in ("p50", "p95", "p99"):
        metrics[f"{p}_latency_ms"] = latency[f"{p}_ms"]  # type: ignore[literal-required]
    metrics["error_rate"] = latency["error_rate"]
    return metrics


def _threshold(
    name: str, method: str, profile: dict[str, Any], settings: Monitor
) -> tuple[float, str]:
    for key in (name, "*"):
        configured = settings.thresholds.get(key)
        if isinstance(configured, dict) and method in configured:
            return float(configured[method]), "configured"
        if isinstance(configured, (int, float)):
            return float(configured), "configured"
    calibrated = profile.get("thresholds", {}).get(name, {}).get(method)
    if calibrated is not None:
        return float(calibrated), "calibrated"
    return DEFAULT_FLOORS[method], "default"


def feature_drift(
    name: str, feature: dict[str, Any], values: Any, profile: dict[str, Any], settings: Monitor
) -> FeatureDrift:
    method = settings.methods.get(name) or DEFAULT_METHOD[feature["kind"]]
    if method not in _methods_for(feature["kind"]):
        raise InvalidInput(
            f"c.Monitor.methods[{name!r}] is {method}, which does not apply to a {feature['kind']} feature."
        )
    found = statistics(feature, values)
    value = found.get(method)
    threshold, source = _threshold(name, method, profile, settings)
    rows = len(values)
    reference_rows = feature["count"] or 1
    return {
        "feature": name,
        "kind": feature["kind"],
        "method": method,  # type: ignore[typeddict-item]
        "value": _json_float(value),
        "threshold": threshold,
        "threshold_source": source,  # type: ignore[typeddict-item]
        "drifted": value is not None and value > threshold,
        "statistics": {m: _json_float(found.get(m)) for m in _methods_for(feature["kind"])},
        "missing_reference": feature["missing"] / reference_rows,
        "missing_current": found.get("missing", 0) / rows if rows else 0.0,
        "rows": rows,
        "histogram": histogram(feature, found["counts"]),  # type: ignore[typeddict-item]
    }


def _methods_for(kind: str) -> tuple[str, ...]:
    from .drift import CATEGORICAL_METHODS, NUMERIC_METHODS

    return NUMERIC_METHODS if kind == "numeric" else CATEGORICAL_METHODS


def _json_float(value: Any) -> float | None:
    """JSON has no infinity: an infinite effect (a constant reference that moved) is 1e300."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return min(float(value), 1e300)


def drift_summary(profile: dict[str, Any], frame: Any, settings: Monitor) -> Any:
    import numpy as np

    features = []
    for name, feature in profile["features"].items():
        column = f"{FEATURE}{name}"
        values = frame[column].to_numpy() if column in frame else np.array([])
        features.append(feature_drift(name, feature, values, profile, settings))
    prediction = None
    if profile.get("prediction") is not None and "prediction" in frame:
        prediction = feature_drift(
            "prediction", profile["prediction"], frame["prediction"].to_numpy(), profile, settings
        )
    drifted = sum(1 for f in features if f["drifted"])
    return {
        "features": features,
        "prediction": prediction,
        "drifted": drifted,
        "total": len(features),
        "drift_share": drifted / len(features) if features else 0.0,
    }


def _labels(
    store: AbstractStore, model: str, frame: Any, trust: WriterTrust
) -> tuple[dict[str, Any], dict[str, int]]:
    """Labels of the window's requests from trusted writers: those that arrived since the
    window's first prediction (less ``LABEL_CLOCK_SLACK``, for a labeller whose clock runs
    behind); and how many of the window's requests each untrusted writer labelled."""
    if "request_id" not in frame or not len(frame):
        return {}, {}
    since = float(frame["time"].iloc[0]) - LABEL_CLOCK_SLACK
    requests = set(frame["request_id"].astype(str))
    # the newest trusted label of each request (the store orders by arrival)
    arrived = store.labels_since(since, model=model, writers=trust.writers)
    labels = {rid: json.loads(arrived[rid]) for rid in requests & arrived.keys()}
    ignored: dict[str, int] = {}
    if trust.writers is not None:
        for writer, given in store.labels_by_writer_since(since, model=model).items():
            count = len(requests & given.keys())
            if count and not trust.admits(writer):
                ignored[writer or "(unknown)"] = count
    return labels, ignored


def _ignored_batches(
    store: AbstractStore, version: ModelVersion, spec: WindowSpec, trust: WriterTrust
) -> dict[str, int]:
    """Batches of the version (in the window's time range, when it has one) that untrusted
    writers logged, counted per writer."""
    if trust.writers is None:
        return {}
    found: dict[str, int] = {}
    for batch in store.prediction_batches(
        version.model, version=version.version, since=spec.since, until=spec.until
    ):
        if not trust.admits(batch.writer):
            key = batch.writer or "(unknown)"
            found[key] = found.get(key, 0) + 1
    return found


def _scores(frame: Any, classes: list[str] | None) -> Any:
    import numpy as np

    if not classes or any(f"{SCORE}{c}" not in frame for c in classes):
        return None
    return np.column_stack([frame[f"{SCORE}{c}"].to_numpy(dtype="float64") for c in classes])


def _performance_window(
    index: int, chunk: Any, labels: dict[str, Any], profile: dict[str, Any], settings: Monitor
) -> PerformanceWindow:
    import numpy as np

    task, classes = profile.get("task"), profile.get("classes")
    rows = len(chunk)
    ids = (
        chunk["request_id"].astype(str).to_numpy()
        if "request_id" in chunk
        else np.array([], dtype=str)
    )
    has_label = np.array([rid in labels for rid in ids], dtype=bool)
    labelled = int(has_label.sum())
    measured: dict[str, float | None] = {}
    estimated: dict[str, float | None] = {}
    if task == "classification" and rows:
        predicted = chunk["prediction"].astype(str).to_numpy()
        scores = _scores(chunk, classes)
        truth = np.array([str(labels[rid]) for rid in ids[has_label]], dtype=object)
        measured = perf.measured_classification(
            truth, predicted[has_label], None if scores is None else scores[has_label], classes
        )
        if scores is not None and classes:
            calibrated = calibrated_scores(scores, classes, profile.get("score_calibration"))
            estimated = perf.estimated_classification(predicted, scores, calibrated, classes)
    elif task == "regression" and rows:
        truth = np.array([_number(labels[rid]) for rid in ids[has_label]], dtype="float64")
        measured = perf.measured_regression(
            truth, chunk["prediction"].to_numpy(dtype="float64")[has_label]
        )
    source = (
        "measured"
        if labelled >= settings.min_labels and measured
        else ("estimated" if estimated else "none")
    )
    metrics: dict[str, float | None] = {"rows": float(rows), "labelled": float(labelled)}
    metrics.update(measured if labelled else dict.fromkeys(measured))
    metrics.update({f"estimated_{k}": v for k, v in estimated.items()})
    return {
        "index": index,
        "start_time": float(chunk["time"].iloc[0]) if rows else 0.0,
        "end_time": float(chunk["time"].iloc[-1]) if rows else 0.0,
        "rows": rows,
        "labelled": labelled,
        "source": source,  # type: ignore[typeddict-item]
        "measured": measured if labelled else dict.fromkeys(measured),
        "estimated": estimated,
        "metrics": metrics,
    }


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _profile_summary(profile: dict[str, Any], link: ReferenceProfileLink) -> Any:
    return {
        "digest": link.digest,
        "size": link.size,
        "rows": int(profile["rows"]),
        "features": len(profile["features"]),
        "task": profile.get("task"),
        "created_time": float(profile["created_time"]),
        "source": link.source,
    }
