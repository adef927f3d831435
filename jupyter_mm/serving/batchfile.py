"""The prediction log's batch file: one Parquet file per batch, laid out to be small.

Columns: ``request_id``, ``time``, ``latency_ms``, ``prediction``, ``score.<class>`` (class
scores, when the model has them) and ``feature.<name>`` (the inputs as the model received
them). Why each choice is made, and what it costs, is in
``docs/architecture.md#serving-and-the-prediction-log``; in short:

- features and scores that are float32, or float64 values that are all exactly float32, are
  stored as float32 (lossless); floats use BYTE_STREAM_SPLIT, which puts the sign/exponent
  bytes of all values together so zstd finds their repetition;
- request ids share a prefix within a process (see :func:`new_id_prefix`) and are stored
  with DELTA_BYTE_ARRAY, so a sequence of ids costs a few bytes each, not 32;
- text and integer columns are dictionary-encoded (few distinct values: labels, classes);
- row groups of :data:`ROW_GROUP_ROWS` rows in time order, so that monitoring reads only
  the groups a window needs (``monitoring/window.py``), zstd, no embedded Arrow schema (a
  batch is read back through :func:`read_batch`, which restores the column types).
"""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING, Any

from ..entities import PredictionBatch

if TYPE_CHECKING:
    from ..store.abstract import AbstractStore

FEATURE_PREFIX = "feature."
SCORE_PREFIX = "score."
ZSTD_LEVEL = 3
#: rows per Parquet row group: small enough that a window of a large batch decodes little
#: more than it needs, large enough that the per-group overhead stays under 1 %
ROW_GROUP_ROWS = 16_384


def new_id_prefix() -> str:
    """16 random hex digits. Ids are ``prefix + 16-hex counter`` (32 hex digits, like a
    UUID's): unique across processes by the random half, compressible by the shared one."""
    return os.urandom(8).hex()


def sequential_ids(prefix: str, start: int, count: int) -> list[str]:
    return [f"{prefix}{n:016x}" for n in range(start, start + count)]


def compact_floats(values: Any) -> Any:
    """float32 when it loses nothing (float32 input, or float64 values all exactly float32),
    else the values as they are."""
    import numpy as np

    array = np.asarray(values)
    if array.dtype == np.float64 and array.size:
        narrow = array.astype(np.float32)
        if np.array_equal(narrow.astype(np.float64), array, equal_nan=True):
            return narrow
    return array


def _arrow_column(values: Any) -> Any:
    import numpy as np
    import pyarrow as pa

    array = np.asarray(values)
    if array.dtype.kind == "f":
        return pa.array(compact_floats(array))
    if array.dtype.kind in "biu":
        return pa.array(array)
    try:
        return pa.array(array.tolist(), type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in array.tolist()], type=pa.string())


def _feature_columns(features: Any, names: Any) -> dict[str, Any]:
    """``feature.<name>`` -> values, from a DataFrame or a 2-D array (column j named by
    ``names[j]`` when given, else ``j``)."""
    import numpy as np
    import pandas as pd

    if isinstance(features, pd.DataFrame):
        return {f"{FEATURE_PREFIX}{c}": features[c].to_numpy() for c in features.columns}
    array = np.asarray(features)
    array = array.reshape(len(array), -1) if array.ndim != 2 else array
    labels = list(names) if names is not None and len(names) == array.shape[1] else None
    return {
        f"{FEATURE_PREFIX}{labels[j] if labels else j}": array[:, j] for j in range(array.shape[1])
    }


def batch_table(
    request_ids: Any,
    times: Any,
    latencies: Any,
    features: Any,
    predictions: Any,
    scores: Any = None,
    classes: Any = None,
    feature_names: Any = None,
) -> Any:
    """The Arrow table of one batch (see the module docstring)."""
    import numpy as np
    import pyarrow as pa

    columns: dict[str, Any] = {
        "request_id": pa.array(list(request_ids), type=pa.string()),
        "time": pa.array(np.asarray(times, dtype="float64")),
        "latency_ms": pa.array(np.asarray(latencies, dtype="float32")),
        "prediction": _arrow_column(predictions),
    }
    if scores is not None:
        scores = np.asarray(scores, dtype="float32")
        names = list(classes) if classes is not None else list(range(scores.shape[1]))
        for index, name in enumerate(names):
            columns[f"{SCORE_PREFIX}{name}"] = pa.array(scores[:, index])
    for name, values in _feature_columns(features, feature_names).items():
        columns[name] = _arrow_column(values)
    return pa.table(columns)


def encode(table: Any) -> bytes:
    """The table as Parquet bytes, with the encodings chosen per column type."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    floats = [f.name for f in table.schema if pa.types.is_floating(f.type)]
    dictionary = [
        f.name
        for f in table.schema
        if f.name != "request_id" and (pa.types.is_string(f.type) or pa.types.is_integer(f.type))
    ]
    encodings = {name: "BYTE_STREAM_SPLIT" for name in floats}
    encodings["request_id"] = "DELTA_BYTE_ARRAY"
    buffer = io.BytesIO()
    pq.write_table(
        table,
        buffer,
        compression="zstd",
        compression_level=ZSTD_LEVEL,
        use_dictionary=dictionary,
        column_encoding=encodings,
        row_group_size=min(ROW_GROUP_ROWS, max(1, table.num_rows)),
        store_schema=False,
        write_statistics=["time"],
    )
    return buffer.getvalue()


def write_batch(
    store: AbstractStore,
    model: str,
    version: int,
    arm: str,
    table: Any,
    source: str | None = None,
) -> PredictionBatch:
    """Store ``table`` as one batch blob and index it."""
    import pyarrow.compute as pc

    data = encode(table)
    digest = store.blobs.put_bytes(data)
    bounds = pc.min_max(table["time"])
    return store.add_prediction_batch(
        PredictionBatch(
            model=model,
            version=version,
            arm=arm,
            start_time=float(bounds["min"].as_py()),
            end_time=float(bounds["max"].as_py()),
            rows=table.num_rows,
            digest=digest,
            size=len(data),
            source=source,
        )
    )


def read_batch(store: AbstractStore, batch: PredictionBatch) -> Any:
    """One batch as a DataFrame (the columns of the module docstring)."""
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(store.blobs.get_bytes(batch.digest))).to_pandas()
