"""Reading one window of the prediction log, and nothing else.

The batch index (SQL) says which batches overlap the window; inside a batch blob (Parquet,
written in row groups of :data:`jupyter_mm.serving.batchfile.ROW_GROUP_ROWS` rows in time
order) the row groups' own statistics say which groups to read, and only the columns asked
for are decoded. A 100k-row window of a log of millions of predictions reads about 100k
rows, whatever the log's length.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput

if TYPE_CHECKING:
    from ..entities import PredictionBatch
    from ..store.abstract import AbstractStore


@dataclass(frozen=True)
class WindowSpec:
    """The last ``rows`` predictions, or those logged at or after ``since`` (epoch seconds);
    ``until`` bounds both from above."""

    rows: int | None = None
    since: float | None = None
    until: float | None = None

    def __post_init__(self) -> None:
        if (self.rows is None) == (self.since is None):
            raise InvalidInput("A window is a number of rows or a start time, not both or neither.")
        if self.rows is not None and (isinstance(self.rows, bool) or self.rows < 1):
            raise InvalidInput(f"A window needs at least one row, not {self.rows!r}.")


def _row_groups(parquet: Any, spec: WindowSpec, time_index: int) -> list[int]:
    """Row groups whose time range can hold rows of the window (by the groups' statistics;
    a group without statistics is kept)."""
    wanted = []
    for group in range(parquet.metadata.num_row_groups):
        stats = parquet.metadata.row_group(group).column(time_index).statistics
        if stats is not None and stats.has_min_max:
            if spec.since is not None and stats.max < spec.since:
                continue
            if spec.until is not None and stats.min > spec.until:
                continue
        wanted.append(group)
    return wanted


def _read_batch(
    store: AbstractStore,
    batch: PredictionBatch,
    spec: WindowSpec,
    needed_rows: int | None,
    columns: list[str] | None,
) -> Any:
    import pyarrow.parquet as pq

    with store.blobs.open(batch.digest) as handle:
        parquet = pq.ParquetFile(handle)
        names = parquet.schema_arrow.names
        chosen = names if columns is None else [c for c in names if _wanted(c, columns)]
        if "time" not in chosen:
            chosen = [*chosen, "time"]
        groups = _row_groups(parquet, spec, names.index("time"))
        if needed_rows is not None:  # the last groups holding needed_rows rows
            kept, total = [], 0
            for group in reversed(groups):
                kept.append(group)
                total += parquet.metadata.row_group(group).num_rows
                if total >= needed_rows:
                    break
            groups = sorted(kept)
        return parquet.read_row_groups(groups, columns=chosen).to_pandas()


def _wanted(column: str, columns: list[str]) -> bool:
    """``columns`` names columns or prefixes ending with a dot (``feature.``, ``score.``)."""
    return any(column == c or (c.endswith(".") and column.startswith(c)) for c in columns)


def read_window(
    store: AbstractStore,
    model: str,
    version: int,
    spec: WindowSpec,
    *,
    columns: list[str] | None = None,
    writers: Collection[str] | None = None,
) -> Any:
    """The window's rows of the version's prediction log (every arm), oldest first, as a
    DataFrame of the requested ``columns`` (plus ``time``); empty when nothing was logged.
    With ``writers``, only the batches these writers logged (see ``monitoring.trust``)."""
    from ..errors import NotFound

    try:
        return _read_window(store, model, version, spec, columns, writers)
    except NotFound:
        # a batch listed a moment ago was compacted and its blob collected by gc since:
        # the listing now names the merged batch instead
        return _read_window(store, model, version, spec, columns, writers)


def _read_window(
    store: AbstractStore,
    model: str,
    version: int,
    spec: WindowSpec,
    columns: list[str] | None,
    writers: Collection[str] | None,
) -> Any:
    import pandas as pd

    batches = store.prediction_batches(
        model, version=version, since=spec.since, until=spec.until, writers=writers
    )
    batches.sort(key=lambda b: (b.end_time, b.id or 0))
    chosen: list[tuple[PredictionBatch, int | None]] = []
    if spec.rows is not None:
        remaining = spec.rows
        for batch in reversed(batches):
            chosen.append((batch, remaining))
            remaining -= batch.rows
            if remaining <= 0:
                break
        chosen.reverse()
    else:
        chosen = [(batch, None) for batch in batches]
    parts = [_read_batch(store, batch, spec, needed, columns) for batch, needed in chosen]
    if not parts:
        return pd.DataFrame({"time": pd.Series(dtype="float64")})
    frame = pd.concat(parts, ignore_index=True)
    if spec.since is not None:
        frame = frame[frame["time"] >= spec.since]
    if spec.until is not None:
        frame = frame[frame["time"] <= spec.until]
    frame = frame.sort_values("time", kind="stable")
    if spec.rows is not None:
        frame = frame.iloc[-spec.rows :]
    return frame.reset_index(drop=True)
