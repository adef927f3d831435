"""The request path and the batch files without a server: the fast array path gives what
the DataFrame path gives, the log's layout is lossless, and the checks say what is wrong."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from jupyter_mm.serving.batchfile import (
    batch_table,
    compact_floats,
    encode,
    new_id_prefix,
    sequential_ids,
)
from jupyter_mm.serving.deployment import accepts_array
from jupyter_mm.serving.inputs import InputProblem, _depth_ok, read_input

from .conftest import COLUMNS, training_frame

SIGNATURE = {
    "type": "dataframe",
    "columns": [
        {"name": "age", "dtype": "float64"},
        {"name": "balance", "dtype": "float64"},
        {"name": "visits", "dtype": "int64"},
        {"name": "score", "dtype": "float32"},
    ],
}


def _bodies(X: pd.DataFrame) -> dict[str, bytes]:
    return {
        "split": json.dumps({"dataframe_split": X.to_dict(orient="split")}).encode(),
        "records": json.dumps({"dataframe_records": X.to_dict(orient="records")}).encode(),
        "columns": json.dumps({"inputs": {c: X[c].tolist() for c in X.columns}}).encode(),
    }


def test_the_array_path_gives_the_dataframe_paths_numbers() -> None:
    X = training_frame(seed=5, rows=7)[0].astype({"score": "float32"})
    for name, body in _bodies(X).items():
        fast = read_input(body, "application/json", SIGNATURE, as_array=True)
        general = read_input(body, "application/json", SIGNATURE, as_array=False)
        assert isinstance(fast, np.ndarray) and isinstance(general, pd.DataFrame), name
        np.testing.assert_array_equal(fast, general.to_numpy())


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        ([[1.0, 2.0, 2.5, 0.1]], "visits expects int64"),  # a fraction in an int column
        ([[1.0, 2.0, None, 0.1]], "missing value"),
        ([[1.0, "abc", 2, 0.1]], "balance expects float64"),
        ([[1.0, 2.0, 3]], "cannot be read"),
    ],
)
def test_what_the_fast_path_cannot_read_gets_the_general_message(rows, reason) -> None:
    body = json.dumps({"dataframe_split": {"columns": COLUMNS, "data": rows}}).encode()
    with pytest.raises(InputProblem, match=reason):
        read_input(body, "application/json", SIGNATURE, as_array=True)


def test_depth_check_ignores_brackets_inside_strings() -> None:
    text = json.dumps({"inputs": {"note": ["[[[[{{{{" * 50]}})
    assert _depth_ok(text.encode())
    assert not _depth_ok(b"[" * 40 + b"]" * 40)
    assert _depth_ok(b"[" * 30 + b"]" * 30 + b"[[]]" * 100)


def test_only_models_that_answer_arrays_alike_get_arrays() -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = training_frame()
    plain = LogisticRegression().fit(X, y)
    assert accepts_array(plain, SIGNATURE)
    by_name = make_pipeline(
        ColumnTransformer([("scaled", StandardScaler(), ["balance", "visits"])]),
        LogisticRegression(),
    ).fit(X, y)
    assert not accepts_array(by_name, SIGNATURE)  # selects columns by name
    reordered = LogisticRegression().fit(X[COLUMNS[::-1]], y)
    assert not accepts_array(reordered, SIGNATURE)  # fitted on another column order
    text = {"type": "dataframe", "columns": [{"name": "city", "dtype": "object"}]}
    assert not accepts_array(plain, text)


def test_batch_files_are_lossless_and_small() -> None:
    import io

    import pyarrow.parquet as pq

    rng = np.random.default_rng(1)
    exact = rng.normal(size=1000).astype(np.float32).astype(np.float64)  # float32 values
    decimal = np.round(rng.normal(size=1000), 3)  # JSON-like decimals: not float32
    assert compact_floats(exact).dtype == np.float32
    assert compact_floats(decimal).dtype == np.float64
    features = pd.DataFrame(
        {"exact": exact, "decimal": decimal, "city": rng.choice(["a", "b"], 1000)}
    )
    ids = sequential_ids(new_id_prefix(), 0, 1000)
    table = batch_table(
        ids, np.full(1000, 5.0), np.ones(1000), features, rng.integers(0, 2, 1000),
        rng.random((1000, 2)), classes=[0, 1],
    )  # fmt: skip
    back = pq.read_table(io.BytesIO(encode(table))).to_pandas()
    assert list(back["request_id"]) == ids and len(set(ids)) == 1000 and len(ids[0]) == 32
    np.testing.assert_array_equal(back["feature.exact"].astype(np.float64), exact)
    np.testing.assert_array_equal(back["feature.decimal"], decimal)
    assert list(back["feature.city"]) == list(features["city"])
    assert {"score.0", "score.1", "prediction", "time", "latency_ms"} <= set(back)
