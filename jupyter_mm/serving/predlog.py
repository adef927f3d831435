"""The prediction log: batches of predictions as columnar blobs, indexed in SQL.

Why this shape: millions of predictions of a 20-feature model would be tens of millions of
SQL rows; as Parquet they are tens of bytes each (layout: :mod:`.batchfile`), a window is
found from the batch index without reading other batches, and the blob store (local or S3)
already gives durability, verify and gc.

A server adds each answered request with :meth:`PredictionLogWriter.add`: a tuple appended
to a list under a lock — no DataFrame, no disk, no database and no second model call on the
request path. A background thread, every ``interval`` seconds, stacks the pending requests
of each (version, arm) into one table, computes their class scores with one
``predict_proba`` call for the whole batch, and writes it; :meth:`close` writes what is left
(SIGTERM). A SIGKILL loses at most the last ``interval``. Failed requests have no
prediction: :meth:`PredictionLogWriter.add_failure` counts them, and each flush records the
count of each (version, arm) with its time span, for the error rate of a monitoring window
(:mod:`jupyter_mm.monitoring.error_rate`).
"""

from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from .batchfile import (
    FEATURE_PREFIX,
    SCORE_PREFIX,
    batch_table,
    new_id_prefix,
    read_batch,
    sequential_ids,
    write_batch,
)

if TYPE_CHECKING:
    from ..store.abstract import AbstractStore
    from .deployment import LoadedModel

__all__ = [
    "FEATURE_PREFIX",
    "SCORE_PREFIX",
    "PredictionLogWriter",
    "log_labels",
    "log_predictions",
    "read_batch",
]

#: rows per batch blob when a notebook logs a large frame at once
BATCH_ROWS = 200_000
#: rows per Parquet row group: monitoring reads a window's row groups, not whole batches
ROW_GROUP_ROWS = 16_384

# one answered request: (request id, time, latency in ms, features, predictions)
Logged = tuple[str, float, float, Any, Any]


class PredictionLogWriter:
    """Collects served requests and writes them in batches from a background thread."""

    def __init__(
        self,
        store: AbstractStore,
        *,
        interval: float = 1.0,
        source: str | None = None,
        compact_every: float | None = None,
    ):
        self.store = store
        self.interval = interval
        self.source = source
        #: every so many seconds the writer merges its own small batches (compaction.py)
        self.compact_every = compact_every
        self._written: set[tuple[str, int]] = set()  # (model, version) this writer wrote
        self._compacted_at = time.monotonic()
        self.written_rows = 0
        self.failures: list[str] = []
        self._pending: dict[tuple[str, int, str], tuple[LoadedModel, list[Logged]]] = {}
        #: failed requests per (model, version, arm): [count, first time, last time]
        self._failed: dict[tuple[str, int, str], list[float]] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="jupyter-mm-predlog", daemon=True)
        self._thread.start()

    def add(self, served: LoadedModel, arm: str, request: Logged) -> None:
        key = (served.version.model, served.version.version, arm)
        with self._lock:
            entry = self._pending.get(key)
            if entry is None:
                entry = self._pending[key] = (served, [])
            entry[1].append(request)

    def add_failure(self, served: LoadedModel, arm: str, when: float) -> None:
        """Count a request of ``served`` that failed (refused input, the model raised)."""
        key = (served.version.model, served.version.version, arm)
        with self._lock:
            entry = self._failed.get(key)
            if entry is None:
                self._failed[key] = [1, when, when]
            else:
                entry[0] += 1
                entry[2] = when

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()
            every = self.compact_every
            if every is not None and time.monotonic() - self._compacted_at >= every:
                self.compact()

    def compact(self) -> None:
        """Merge the small batches this writer wrote (see :mod:`.compaction`)."""
        from .compaction import compact_predictions

        self._compacted_at = time.monotonic()
        for model, version in sorted(self._written):
            try:
                compact_predictions(
                    self.store, model, version=version, source=self.source, any_source=False
                )
            except Exception as exc:  # the log stays as written; say why once
                self.failures.append(f"compaction: {type(exc).__name__}: {exc}")

    def flush(self) -> None:
        with self._write_lock:  # the thread and close() never write the same rows twice
            with self._lock:
                pending, self._pending = self._pending, {}
                failed, self._failed = self._failed, {}
            for (model, version, arm), (count, first, last) in failed.items():
                try:
                    self.store.add_request_failures(model, version, arm, first, last, int(count))
                except Exception as exc:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
            for (_model, _version, arm), (served, requests) in pending.items():
                try:
                    self._write(served, arm, requests)
                except Exception as exc:  # the server must go on serving; say why once
                    self.failures.append(f"{type(exc).__name__}: {exc}")

    def _write(self, served: LoadedModel, arm: str, requests: list[Logged]) -> None:
        import numpy as np

        # whole columns at once: a numpy call per request cost more than the rest of
        # the flush (this thread shares the interpreter with the request path)
        count = len(requests)
        outputs = [np.asarray(r[4]) for r in requests]
        rows = np.fromiter((len(p) for p in outputs), dtype=np.int64, count=count)
        ids: list[str] = []
        for (request_id, *_rest), n in zip(requests, rows.tolist(), strict=True):
            ids += [request_id] if n == 1 else [f"{request_id}/{i}" for i in range(n)]
        times = np.repeat(np.fromiter((r[1] for r in requests), np.float64, count), rows)
        latencies = np.repeat(np.fromiter((r[2] for r in requests), np.float32, count), rows)
        if all(p.ndim == 1 for p in outputs):
            predictions = np.concatenate(outputs)
        else:
            predictions = np.concatenate([p.reshape(len(p), -1)[:, 0] for p in outputs])
        features = [r[3] for r in requests]
        stacked = _stack(features, served.columns)
        scores, classes = served.class_scores(stacked)
        table = batch_table(
            ids,
            times,
            latencies,
            stacked,
            predictions,
            scores,
            classes,
            feature_names=served.columns,
        )
        version = served.version
        write_batch(self.store, version.model, version.version, arm, table, self.source)
        self._written.add((version.model, version.version))
        self.written_rows += table.num_rows

    def close(self) -> None:
        """Stop the thread and write everything still pending."""
        self._stop.set()
        self._thread.join(timeout=30)
        self.flush()


def _stack(features: list[Any], columns: tuple[str, ...] | None) -> Any:
    """The inputs of many requests as one 2-D array when they all are arrays of one width
    (the usual case: the server's fast path), else as one DataFrame."""
    import numpy as np
    import pandas as pd

    if all(isinstance(f, np.ndarray) and f.ndim == 2 for f in features) and (
        len({f.shape[1] for f in features}) == 1
    ):
        return np.concatenate(features)
    frames = [
        f.reset_index(drop=True)
        if isinstance(f, pd.DataFrame)
        else pd.DataFrame(np.asarray(f).reshape(len(f), -1), columns=_names(f, columns))
        for f in features
    ]
    return pd.concat(frames, ignore_index=True)


def _names(array: Any, columns: tuple[str, ...] | None) -> list[Any] | None:
    import numpy as np

    width = int(np.prod(np.shape(array)[1:])) if np.ndim(array) > 1 else 1
    return list(columns) if columns and len(columns) == width else None


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
    request ids, for labels that arrive later) default to new ids (32 hex digits, sharing a
    random prefix so they compress); they are returned."""
    import numpy as np

    from ..registry import resolve_version
    from ..tracking import default_store

    store = store or default_store()
    version = resolve_version(ref, store=store)
    rows = len(y_pred)
    if len(X) != rows:
        raise InvalidInput(f"X has {len(X)} rows but y_pred has {rows}.")
    ids = sequential_ids(new_id_prefix(), 0, rows) if ids is None else [str(i) for i in ids]
    if len(ids) != rows:
        raise InvalidInput(f"ids has {len(ids)} entries but y_pred has {rows}.")
    now = time.time()
    for start in range(0, rows, BATCH_ROWS):
        stop = min(rows, start + BATCH_ROWS)
        part = X.iloc[start:stop] if hasattr(X, "iloc") else np.asarray(X)[start:stop]
        table = batch_table(
            ids[start:stop],
            np.full(stop - start, now),
            np.zeros(stop - start),
            part,
            np.asarray(y_pred)[start:stop],
            None if scores is None else np.asarray(scores)[start:stop],
            classes,
        )
        write_batch(store, version.model, version.version, "batch", table)
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
