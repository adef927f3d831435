"""The prediction log: batches of predictions as columnar blobs, indexed in SQL.

Why this shape: millions of predictions of a 20-feature model would be tens of millions of
SQL rows; as Parquet (zstd) they are tens of bytes each, a window is found from the batch
index without reading other batches, and the blob store (local or S3) already gives
durability, verify and gc. A batch frame has the columns ``request_id``, ``time``,
``latency_ms``, ``prediction``, ``score.<class>`` (class scores, when the model has them)
and ``feature.<name>`` (the inputs as the model received them).

A server adds requests with :meth:`PredictionLogWriter.add` (a list append under a lock:
nothing on the request path touches disk or the database); a background thread writes a
batch per (version, arm) every ``interval`` seconds, and :meth:`close` writes what is left
(SIGTERM). A SIGKILL loses at most the last ``interval``.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..entities import PredictionBatch
from ..errors import InvalidInput

if TYPE_CHECKING:
    from ..store.abstract import AbstractStore

FEATURE_PREFIX = "feature."
SCORE_PREFIX = "score."
#: rows per batch blob when a notebook logs a large frame at once
BATCH_ROWS = 200_000
#: rows per Parquet row group: monitoring reads a window's row groups, not whole batches
ROW_GROUP_ROWS = 16_384


@dataclass
class LoggedRequest:
    request_id: str
    time: float
    latency_ms: float
    features: Any  # DataFrame or 2-D array, n rows
    predictions: Any  # n predictions
    scores: Any = None  # n x classes, or None
    classes: Any = None


def _features_frame(features: Any) -> Any:
    import pandas as pd

    if isinstance(features, pd.DataFrame):
        frame = features.reset_index(drop=True)
    else:
        import numpy as np

        array = np.asarray(features)
        if array.ndim == 1:
            array = array.reshape(-1, 1)
        frame = pd.DataFrame(array.reshape(len(array), -1))
    return frame.rename(columns=lambda c: f"{FEATURE_PREFIX}{c}")


def batch_frame(
    request_ids: Any,
    times: Any,
    latencies: Any,
    features: Any,
    predictions: Any,
    scores: Any = None,
    classes: Any = None,
) -> Any:
    """The columnar frame of one batch (see the module docstring)."""
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame(
        {
            "request_id": pd.Series(request_ids, dtype="string"),
            "time": np.asarray(times, dtype="float64"),
            "latency_ms": np.asarray(latencies, dtype="float32"),
        }
    )
    values = np.asarray(predictions)
    frame["prediction"] = values if values.dtype.kind in "biuf" else values.astype(str)
    if scores is not None:
        scores = np.asarray(scores, dtype="float32")
        names = list(classes) if classes is not None else list(range(scores.shape[1]))
        for index, name in enumerate(names):
            frame[f"{SCORE_PREFIX}{name}"] = scores[:, index]
    return pd.concat([frame, _features_frame(features)], axis=1)


def write_batch(
    store: AbstractStore,
    model: str,
    version: int,
    arm: str,
    frame: Any,
    source: str | None = None,
) -> PredictionBatch:
    """Store ``frame`` as one batch blob and index it."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, compression="zstd", index=False, row_group_size=ROW_GROUP_ROWS)
    data = buffer.getvalue()
    digest = store.blobs.put_bytes(data)
    times = frame["time"]
    return store.add_prediction_batch(
        PredictionBatch(
            model=model,
            version=version,
            arm=arm,
            start_time=float(times.min()),
            end_time=float(times.max()),
            rows=len(frame),
            digest=digest,
            size=len(data),
            source=source,
        )
    )


def read_batch(store: AbstractStore, batch: PredictionBatch) -> Any:
    import pandas as pd

    return pd.read_parquet(io.BytesIO(store.blobs.get_bytes(batch.digest)))


class PredictionLogWriter:
    """Collects served requests and writes them in batches from a background thread."""

    def __init__(self, store: AbstractStore, *, interval: float = 1.0, source: str | None = None):
        self.store = store
        self.interval = interval
        self.source = source
        self.written_rows = 0
        self.failures: list[str] = []
        self._pending: dict[tuple[str, int, str], list[LoggedRequest]] = defaultdict(list)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="jupyter-mm-predlog", daemon=True)
        self._thread.start()

    def add(self, model: str, version: int, arm: str, request: LoggedRequest) -> None:
        with self._lock:
            self._pending[(model, version, arm)].append(request)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, defaultdict(list)
        for (model, version, arm), requests in pending.items():
            try:
                self._write(model, version, arm, requests)
            except Exception as exc:  # the server must go on serving; say why once
                self.failures.append(f"{type(exc).__name__}: {exc}")

    def _write(self, model: str, version: int, arm: str, requests: list[LoggedRequest]) -> None:
        import numpy as np
        import pandas as pd

        ids, times, latencies, predictions = [], [], [], []
        for request in requests:
            n = len(request.predictions)
            suffix = [""] if n == 1 else [f"/{i}" for i in range(n)]
            ids += [request.request_id + s for s in suffix]
            times += [request.time] * n
            latencies += [request.latency_ms] * n
            predictions.append(np.asarray(request.predictions).reshape(n, -1)[:, 0])
        features = pd.concat([_features_frame(r.features) for r in requests], ignore_index=True)
        with_scores = all(r.scores is not None for r in requests)
        scores = np.concatenate([np.asarray(r.scores) for r in requests]) if with_scores else None
        frame = batch_frame(
            ids,
            times,
            latencies,
            features.rename(columns=lambda c: c[len(FEATURE_PREFIX) :]),
            np.concatenate(predictions),
            scores,
            requests[0].classes if with_scores else None,
        )
        write_batch(self.store, model, version, arm, frame, self.source)
        self.written_rows += len(frame)

    def close(self) -> None:
        """Stop the thread and write everything still pending."""
        self._stop.set()
        self._thread.join(timeout=30)
        self.flush()


def log_predictions(
    ref: str,
    X: Any,
    y_pred: Any,
    *,
    ids: Any = None,
    scores: Any = None,
    classes: Any = None,
    store: AbstractStore | None = None,
) -> list[str]:
    """``mm.log_predictions("fraud@production", X, y_pred, ids=…, scores=…)``: log a batch
    scored in a notebook, as the server logs requests (arm ``batch``). ``ids`` (unique
    request ids, for labels that arrive later) default to new UUIDs; they are returned."""
    import uuid

    import numpy as np

    from ..registry import resolve_version
    from ..tracking import default_store

    store = store or default_store()
    version = resolve_version(ref, store=store)
    rows = len(y_pred)
    if len(X) != rows:
        raise InvalidInput(f"X has {len(X)} rows but y_pred has {rows}.")
    ids = [uuid.uuid4().hex for _ in range(rows)] if ids is None else [str(i) for i in ids]
    if len(ids) != rows:
        raise InvalidInput(f"ids has {len(ids)} entries but y_pred has {rows}.")
    now = time.time()
    for start in range(0, rows, BATCH_ROWS):
        stop = min(rows, start + BATCH_ROWS)
        part = X.iloc[start:stop] if hasattr(X, "iloc") else np.asarray(X)[start:stop]
        frame = batch_frame(
            ids[start:stop],
            np.full(stop - start, now),
            np.zeros(stop - start),
            part,
            np.asarray(y_pred)[start:stop],
            None if scores is None else np.asarray(scores)[start:stop],
            classes,
        )
        write_batch(store, version.model, version.version, "batch", frame)
    return ids


def log_labels(
    ids: Any, y_true: Any, *, model: str | None = None, store: AbstractStore | None = None
) -> int:
    """``mm.log_labels(ids, y_true)``: ground truth for earlier predictions, by request id."""
    from ..tracking import default_store

    ids = [str(i) for i in ids]
    values = list(y_true)
    if len(ids) != len(values):
        raise InvalidInput(f"{len(ids)} ids but {len(values)} labels.")
    labels = [(rid, json.dumps(_plain(v))) for rid, v in zip(ids, values, strict=True)]
    return (store or default_store()).log_labels(labels, time.time(), model=model)


def _plain(value: Any) -> Any:
    """numpy scalars as Python ones, for JSON."""
    return value.item() if hasattr(value, "item") else value
