"""Where rules get their numbers: a :class:`MetricsSource`.

Rules only need, for a model version and a :class:`~jupyter_mm.alerts.rules.WindowSpec`, a
list of per-window metric dicts, newest last. That is the whole contract, so the
monitoring report (``jupyter_mm.monitoring``) plugs in through one adapter function and
rules do not depend on how it computes drift or estimates performance.

:class:`PredictionLogSource` is the built-in source: it reads the prediction log of the
version (served requests and ``mm.log_predictions`` batches), joins the labels that have
arrived, and computes with scikit-learn ``accuracy`` and, for binary classifiers with
scores, ``roc_auc`` and ``log_loss``; for numeric targets ``rmse`` and ``mae``; always
``p50_latency_ms``, ``p99_latency_ms``, ``predictions`` and ``labelled``; and
``error_rate``, the failed requests of the window's own time span (the newest window's
reaches to now) over those plus the requests it answered
(:mod:`jupyter_mm.monitoring.error_rate`). Each dict also
holds ``window``: its start and end time and row counts, for the alert's evidence. On a
team store it reads only the rows of writers the model's monitoring trusts
(:mod:`jupyter_mm.monitoring.trust`).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, Protocol

from .rules import WindowSpec

if TYPE_CHECKING:
    from ..monitoring.settings import Monitor
    from ..store.abstract import AbstractStore

#: arms whose predictions are the production version's own answers
LIVE_ARMS = ("champion", "batch")


class MetricsSource(Protocol):
    def __call__(self, model: str, version: int, window: WindowSpec) -> list[dict[str, Any]]:
        """Metric dicts of the newest ``window.count`` windows, newest last (fewer when
        the log holds less)."""
        ...


def _frames_newest_first(
    store: AbstractStore, model: str, version: int, writers: Collection[str] | None
) -> Any:
    from ..serving.predlog import read_batch

    batches = store.prediction_batches(
        model, version=version, arms=list(LIVE_ARMS), writers=writers
    )
    for batch in reversed(batches):
        yield read_batch(store, batch)


def _labels(store: AbstractStore, frame: Any, writers: Collection[str] | None) -> Any:
    known = store.labels_for(frame["request_id"].astype(str), writers=writers)
    return frame["request_id"].astype(str).map(lambda r: known.get(r))


def _collect(
    store: AbstractStore,
    model: str,
    version: int,
    rows: int,
    labelled: bool,
    writers: Collection[str] | None,
) -> Any:
    """The newest ``rows`` predictions (labelled ones only, if asked), oldest first, with
    a ``label`` column (JSON text or None); only batches and labels of ``writers`` (all
    when None)."""
    import pandas as pd

    parts: list[Any] = []
    have = 0
    for frame in _frames_newest_first(store, model, version, writers):
        frame = frame.assign(label=_labels(store, frame, writers))
        if labelled:
            frame = frame[frame["label"].notna()]
        parts.append(frame)
        have += len(frame)
        if have >= rows:
            break
    if not parts:
        return None
    whole = pd.concat(parts[::-1], ignore_index=True).sort_values("time", kind="stable")
    return whole.iloc[-rows:] if len(whole) > rows else whole


def window_metrics(frame: Any) -> dict[str, Any]:
    """Metrics of one window of the prediction log (see the module docstring)."""
    import numpy as np

    result: dict[str, Any] = {
        "predictions": len(frame),
        "window": {
            "start": float(frame["time"].min()),
            "end": float(frame["time"].max()),
            "rows": len(frame),
        },
    }
    latency = frame["latency_ms"].to_numpy(dtype="float64")
    if len(latency):
        result["p50_latency_ms"] = float(np.percentile(latency, 50))
        result["p99_latency_ms"] = float(np.percentile(latency, 99))
    labelled = frame[frame["label"].notna()]
    result["labelled"] = len(labelled)
    result["window"]["labelled"] = len(labelled)
    if len(labelled):
        result.update(_performance(labelled))
    return result


def _performance(labelled: Any) -> dict[str, float]:
    import numpy as np
    from sklearn import metrics

    truth = [json.loads(t) for t in labelled["label"]]
    predicted = labelled["prediction"].tolist()
    out: dict[str, float] = {}
    if all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in truth) and any(
        isinstance(t, float) and not float(t).is_integer() for t in truth
    ):
        y, p = np.asarray(truth, float), np.asarray(predicted, float)
        out["rmse"] = float(math.sqrt(metrics.mean_squared_error(y, p)))
        out["mae"] = float(metrics.mean_absolute_error(y, p))
        return out
    as_text = [str(t) for t in truth]
    out["accuracy"] = float(metrics.accuracy_score(as_text, [str(p) for p in predicted]))
    score_columns = [c for c in labelled.columns if c.startswith("score.")]
    classes = [c.removeprefix("score.") for c in score_columns]
    if len(classes) == 2 and len(set(as_text)) == 2 and set(as_text) <= set(classes):
        positive = classes[1]
        y = np.asarray([t == positive for t in as_text])
        scores = labelled[f"score.{positive}"].to_numpy(dtype="float64")
        out["roc_auc"] = float(metrics.roc_auc_score(y, scores))
        out["log_loss"] = float(metrics.log_loss(y, np.clip(scores, 1e-15, 1 - 1e-15)))
    return out


class PredictionLogSource:
    """The built-in :class:`MetricsSource` over a store's prediction log."""

    def __init__(self, store: AbstractStore, monitor: Monitor | None = None) -> None:
        self.store = store
        #: the settings whose ``trusted_writers`` apply (default: the configured ones)
        self.monitor = monitor

    def __call__(self, model: str, version: int, window: WindowSpec) -> list[dict[str, Any]]:
        from ..monitoring.trust import writer_trust

        # only the writers the model's monitoring trusts count: rules act on nothing else
        writers = writer_trust(self.store, model, settings=self.monitor).writers
        labelled = window.unit == "labelled"
        from ..monitoring.error_rate import failures_only_rate, window_error_rate

        rows = window.size * window.count
        frame = _collect(self.store, model, version, rows, labelled, writers)
        if frame is None or not len(frame):
            rate = failures_only_rate(self.store, model, version, writers)
            return [] if rate is None else [_failures_only(rate)]
        found = []
        until = time.time()  # the newest window reaches to now
        for stop in range(len(frame), 0, -window.size):
            part = frame.iloc[max(0, stop - window.size) : stop]
            metrics = window_metrics(part)
            rate = window_error_rate(self.store, model, version, part, until=until, writers=writers)
            if rate is not None:
                metrics["error_rate"] = rate
            found.append(metrics)
            until = float(part["time"].min())
            if len(found) == window.count:
                break
        return found[::-1]


def _failures_only(rate: float) -> dict[str, Any]:
    """The one window of a version that answered nothing: every request failed."""
    now = time.time()
    window = {"start": now, "end": now, "rows": 0, "labelled": 0}
    return {"predictions": 0, "labelled": 0, "error_rate": rate, "window": window}
