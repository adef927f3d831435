"""Request bodies of MLflow's scoring protocol, checked against a version's signature.

``POST /invocations`` accepts JSON with one of ``dataframe_split`` (``{"columns", "data"}``),
``dataframe_records`` (a list of row objects), ``instances`` or ``inputs`` (rows, or a
mapping of column to values), or CSV (``Content-Type: text/csv``, a header row). Whatever is
wrong with a body is an :class:`InputProblem` with one line that says what, answered as 400.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

JSON_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
#: JSON nested deeper than this is refused before it is parsed into objects
MAX_DEPTH = 32


class InputProblem(ValueError):
    """A request body that cannot be scored; the message is the one-line reason."""


#: a JSON string literal, escapes included (what may hold brackets that nest nothing)
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')


def _depth_ok(body: bytes) -> bool:
    """Whether ``body`` nests at most MAX_DEPTH levels. Few brackets cannot nest deeply, so
    the usual small request is settled by two counts; otherwise the string literals are cut
    out and the running depth computed with numpy (a loop per character in Python cost
    more than the prediction on large requests)."""
    if body.count(b"[") + body.count(b"{") <= MAX_DEPTH:
        return True
    import numpy as np

    codes = np.frombuffer(_JSON_STRING.sub(b"", body), dtype=np.uint8)
    steps = np.isin(codes, _OPENERS).astype(np.int32) - np.isin(codes, _CLOSERS)
    return bool(np.cumsum(steps).max(initial=0) <= MAX_DEPTH)


_OPENERS = (ord("["), ord("{"))
_CLOSERS = (ord("]"), ord("}"))


def parse_body(body: bytes, content_type: str | None) -> Any:
    """A DataFrame (named columns) or a numpy array (positional inputs)."""
    import pandas as pd

    kind = (content_type or "application/json").split(";")[0].strip().lower()
    if kind == "text/csv":
        try:
            return pd.read_csv(io.BytesIO(body))
        except Exception as exc:
            raise InputProblem(f"The CSV body cannot be read: {_first_line(exc)}") from None
    if kind not in ("application/json", "application/x-www-form-urlencoded", ""):
        raise InputProblem(
            f"Content-Type {kind!r} is not supported; send application/json or text/csv."
        )
    return _payload_input(*json_payload(body))


def json_payload(body: bytes) -> tuple[str, Any]:
    """The one protocol key of a JSON body and its value."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InputProblem("The body is not UTF-8 text.") from None
    if not _depth_ok(body):
        raise InputProblem(f"The JSON body is nested deeper than {MAX_DEPTH} levels.")
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InputProblem(f"The body is not valid JSON: {exc}.") from None
    if not isinstance(payload, dict):
        raise InputProblem(f"The JSON body must be an object with one of {', '.join(JSON_KEYS)}.")
    present = [key for key in JSON_KEYS if key in payload]
    if len(present) != 1:
        raise InputProblem(f"The JSON body must have exactly one of {', '.join(JSON_KEYS)}.")
    return present[0], payload[present[0]]


def _payload_input(key: str, value: Any) -> Any:
    import numpy as np
    import pandas as pd

    try:
        if key == "dataframe_split":
            if not isinstance(value, dict) or "data" not in value:
                raise InputProblem('dataframe_split must be {"columns": [...], "data": [[...]]}.')
            return pd.DataFrame(value["data"], columns=value.get("columns"))
        if key == "dataframe_records":
            if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
                raise InputProblem("dataframe_records must be a list of objects (one per row).")
            return pd.DataFrame.from_records(value)
        if isinstance(value, dict):  # column -> values
            return pd.DataFrame(value)
        if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
            return pd.DataFrame.from_records(value)
        array = np.asarray(value)
    except InputProblem:
        raise
    except Exception as exc:  # ragged rows, mismatched column counts
        raise InputProblem(f"The {key} input cannot be read: {_first_line(exc)}") from None
    if array.dtype == object:
        raise InputProblem(f"The {key} input is ragged or mixes types; send rows of numbers.")
    return array


def read_input(
    body: bytes, content_type: str | None, signature: dict[str, Any] | None, as_array: bool
) -> Any:
    """The request's input checked against ``signature`` (:func:`parse_body` then
    :func:`check_signature`). With ``as_array`` (a model that takes the signature's numeric
    columns as a plain array) the result is that 2-D array, and rows sent as
    ``dataframe_split`` or ``dataframe_records`` are read straight into it: no DataFrame is
    built. Anything the fast path does not settle goes the general way, with its messages."""
    kind = (content_type or "application/json").split(";")[0].strip().lower()
    if as_array and kind in ("application/json", ""):
        key, value = json_payload(body)
        array = _numeric_rows(key, value, signature or {})
        if array is not None:
            return array
        data = check_signature(_payload_input(key, value), signature)
    else:
        data = check_signature(parse_body(body, content_type), signature)
    return data.to_numpy() if as_array and hasattr(data, "to_numpy") else data


def _numeric_rows(key: str, value: Any, signature: dict[str, Any]) -> Any:
    """The rows as a float array in the signature's column order, or None when the body is
    not a plain table of numbers that fits it (the general path then says what is wrong)."""
    import numpy as np

    columns = signature.get("columns") or []
    names = [c["name"] for c in columns]
    if key == "dataframe_split" and isinstance(value, dict) and "data" in value:
        if value.get("columns", names) != names:
            return None
        rows = value["data"]
    elif key == "dataframe_records" and isinstance(value, list):
        try:
            rows = [[record[n] for n in names] for record in value]
        except (KeyError, TypeError):
            return None
    else:
        return None
    try:
        array = np.array(rows, dtype=np.float64)
    except (ValueError, TypeError):
        return None
    if array.ndim != 2 or array.shape[1] != len(names) or not len(array):
        return None
    whole = [j for j, c in enumerate(columns) if c["dtype"].startswith(("int", "uint"))]
    if whole and not np.all(np.floor(array[:, whole]) == array[:, whole]):
        return None  # a fraction or a missing value in an integer column
    single = [j for j, c in enumerate(columns) if c["dtype"] == "float32"]
    if len(single) == len(columns):  # what DataFrame.to_numpy gives for float32 columns
        return array.astype(np.float32)
    if single:  # mixed columns come out as float64, the float32 ones rounded first
        array[:, single] = array[:, single].astype(np.float32)
    return array


def check_signature(data: Any, signature: dict[str, Any] | None) -> Any:
    """``data`` converted to what the model was trained on, or InputProblem naming the
    first column, type or shape that does not fit. Without a signature, as given."""
    import numpy as np
    import pandas as pd

    if not signature:
        return data
    kind = signature.get("type")
    if kind == "dataframe":
        if not isinstance(data, pd.DataFrame):
            columns = [c["name"] for c in signature.get("columns", [])]
            if np.ndim(data) == 2 and np.shape(data)[1] == len(columns):
                data = pd.DataFrame(data, columns=columns)
            else:
                raise InputProblem(f"The model expects named columns: {', '.join(columns)}.")
        return _checked_frame(data, signature.get("columns", []))
    if kind in ("ndarray", "tensor"):
        array = data.to_numpy() if isinstance(data, pd.DataFrame) else np.asarray(data)
        expected = signature.get("shape") or []
        if len(expected) != array.ndim or any(
            want is not None and want != got
            for want, got in zip(expected[1:], array.shape[1:], strict=False)
        ):
            raise InputProblem(
                f"The model expects inputs of shape {_shape(expected)}, got {_shape(array.shape)}."
            )
        dtype = signature.get("dtype")
        if dtype and kind == "ndarray":
            try:
                array = array.astype(
                    dtype, casting="same_kind" if array.dtype.kind != "i" else "unsafe"
                )
            except (TypeError, ValueError):
                raise InputProblem(
                    f"The model expects {dtype} values, got {array.dtype}."
                ) from None
        return array
    return data


def _checked_frame(frame: Any, columns: list[dict[str, str]]) -> Any:
    """The signature's columns, in its order, with its numeric dtypes. JSON numbers arrive
    numeric already: only columns whose dtype differs are converted, all in one ``astype``
    (a per-column loop costs milliseconds per request on a 30-column model)."""
    import pandas as pd

    names = [c["name"] for c in columns]
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise InputProblem(f"Missing column{'s' * (len(missing) > 1)}: {', '.join(missing)}.")
    if list(frame.columns) != names:
        frame = frame[names]  # extra columns are ignored, as MLflow's schema enforcement does
    have = {str(name): str(dtype) for name, dtype in frame.dtypes.items()}
    wanted = {
        c["name"]: c["dtype"]
        for c in columns
        if c["dtype"].startswith(("int", "uint", "float")) and have[c["name"]] != c["dtype"]
    }
    if not wanted:
        return frame
    for name, dtype in wanted.items():
        values = frame[name]
        if values.dtype.kind not in "biuf":  # text, objects: say which value is wrong
            try:
                values = pd.to_numeric(values, errors="raise")
            except (ValueError, TypeError):
                bad = next((v for v in frame[name] if not _is_number(v)), None)
                raise InputProblem(f"Column {name} expects {dtype} values, got {bad!r}.") from None
        if dtype.startswith(("int", "uint")):
            _check_whole(name, dtype, values)
    try:
        return frame.astype(wanted)
    except (ValueError, TypeError) as exc:
        raise InputProblem(f"The input does not fit the signature: {_first_line(exc)}") from None


def _check_whole(name: str, dtype: str, values: Any) -> None:
    """Integer columns take whole numbers: 2.5 is refused, not cut to 2 by ``astype``."""
    import numpy as np

    if values.isna().any():
        raise InputProblem(f"Column {name} expects {dtype} values, got a missing value.")
    if values.dtype.kind == "f":
        fractional = values[np.floor(values) != values]
        if len(fractional):
            raise InputProblem(
                f"Column {name} expects {dtype} values, got {float(fractional.iloc[0])!r}."
            )


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _shape(shape: Any) -> str:
    return "(" + ", ".join("any" if n is None else str(n) for n in shape) + ")"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__).rstrip(".") + "."
