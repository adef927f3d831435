"""Request bodies of MLflow's scoring protocol, checked against a version's signature.

``POST /invocations`` accepts JSON with one of ``dataframe_split`` (``{"columns", "data"}``),
``dataframe_records`` (a list of row objects), ``instances`` or ``inputs`` (rows, or a
mapping of column to values), or CSV (``Content-Type: text/csv``, a header row). Whatever is
wrong with a body is an :class:`InputProblem` with one line that says what, answered as 400.
"""

from __future__ import annotations

import io
import json
from typing import Any

JSON_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")
#: JSON nested deeper than this is refused before it is parsed into objects
MAX_DEPTH = 32


class InputProblem(ValueError):
    """A request body that cannot be scored; the message is the one-line reason."""


def _depth_ok(text: str) -> bool:
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                return False
        elif char in "]}":
            depth -= 1
    return True


def parse_body(body: bytes, content_type: str | None) -> Any:
    """A DataFrame (named columns) or a numpy array (positional inputs)."""
    import numpy as np
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
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InputProblem("The body is not UTF-8 text.") from None
    if not _depth_ok(text):
        raise InputProblem(f"The JSON body is nested deeper than {MAX_DEPTH} levels.")
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise InputProblem(f"The body is not valid JSON: {exc}.") from None
    if not isinstance(payload, dict):
        raise InputProblem(f"The JSON body must be an object with one of {', '.join(JSON_KEYS)}.")
    present = [key for key in JSON_KEYS if key in payload]
    if len(present) != 1:
        raise InputProblem(f"The JSON body must have exactly one of {', '.join(JSON_KEYS)}.")
    key, value = present[0], payload[present[0]]
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
        if frame[name].dtype.kind not in "biuf":  # text, objects: say which value is wrong
            try:
                converted = pd.to_numeric(frame[name], errors="raise")
            except (ValueError, TypeError):
                bad = next((v for v in frame[name] if not _is_number(v)), None)
                raise InputProblem(f"Column {name} expects {dtype} values, got {bad!r}.") from None
            if dtype.startswith(("int", "uint")) and converted.isna().any():
                raise InputProblem(f"Column {name} expects {dtype} values, got a missing value.")
        elif dtype.startswith(("int", "uint")) and frame[name].isna().any():
            raise InputProblem(f"Column {name} expects {dtype} values, got a missing value.")
    try:
        return frame.astype(wanted)
    except (ValueError, TypeError) as exc:
        raise InputProblem(f"The input does not fit the signature: {_first_line(exc)}") from None


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
