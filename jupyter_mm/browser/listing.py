"""``%mm runs``: the runs DataFrame made readable for people (the DataFrame ``mm.runs()``
returns stays exact, for code)."""

from __future__ import annotations

import math
import os
from typing import Any

from . import html as h


def _relative(path: Any) -> str:
    if not isinstance(path, str) or not path:
        return "—"
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if relative.startswith(os.pardir + os.sep) else relative


def _metric(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return h.number(value)


def readable_runs(frame: Any) -> Any:
    """A copy of ``mm.runs()``'s frame for display: short ids, start to the second,
    durations as ``4 min 05 s``, notebooks relative to the working directory, no NaN."""
    import pandas as pd

    shown = pd.DataFrame(index=frame.index)
    shown["id"] = frame["id"].str[:10]
    shown["name"] = frame["name"].map(lambda n: h.plain(n) if isinstance(n, str) else "—")
    shown["status"] = frame["status"]
    shown["start"] = frame["start"].map(
        lambda t: "—" if pd.isna(t) else t.tz_convert(None).strftime("%Y-%m-%d %H:%M:%S")
    )
    shown["duration"] = frame["duration"].map(lambda d: "—" if pd.isna(d) else h.duration(float(d)))
    shown["notebook"] = frame["notebook"].map(_relative)
    for column in frame.columns:
        if column.startswith("metrics."):
            shown[column[len("metrics.") :]] = frame[column].map(_metric)
        elif column.startswith("params."):
            shown[column] = frame[column].map(lambda v: "—" if v is None or v != v else h.plain(v))
    return shown
