"""Compaction of the prediction log: many small batch files become one.

A server with light traffic writes one small Parquet file per flush interval and per arm:
a day at a few requests a minute is 86 400 files of a few rows, each with its own footer
(most of its bytes), its own index row, and one blob read per file for every monitoring
window. :func:`compact_predictions` merges runs of small batches of one model version, arm
and source (in time order) into files of up to :data:`TARGET_ROWS` rows, written with the
log's own layout (``batchfile.encode``) and sorted by time, so row-group statistics still
let a window skip what it does not need.

Safe while readers read: the merged blob is stored first; then one transaction replaces
the old index rows by the new one (``store.replace_prediction_batches``), so a listing sees
the old batches or the merged one, never both or neither. A reader that listed the old
batches still finds their blobs: they are only removed by ``jupyter mm gc`` (and only after
its grace period). Two compactions of the same batches cannot both win: the second finds
its old rows gone and changes nothing (its merged blob is garbage for gc).

The serving process compacts its own batches (``--compact-every``, default every
:data:`DEFAULT_EVERY` seconds); ``compact_predictions`` can also be called on any store.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..entities import PredictionBatch
from ..errors import Conflict, NotFound
from .batchfile import encode

if TYPE_CHECKING:
    from ..store.abstract import AbstractStore

#: a batch with fewer rows is small: one Parquet row group (batchfile.ROW_GROUP_ROWS)
SMALL_ROWS = 16_384
#: rows of a merged file at most (as ``mm.log_predictions`` writes its large batches)
TARGET_ROWS = 200_000
#: batches replaced by one merge at most (the store's limit for one transaction)
MAX_MERGED = 500
DEFAULT_EVERY = 300.0


@dataclass
class CompactionResult:
    merged: int = 0  # small batches replaced
    written: int = 0  # merged batches written
    rows: int = 0  # rows moved
    bytes_before: int = 0
    bytes_after: int = 0
    skipped: list[str] = field(default_factory=list)  # why a run was left as it was


def _runs(batches: list[PredictionBatch]) -> list[list[PredictionBatch]]:
    """Consecutive small batches (in time order) grouped up to the target size; a large
    batch ends a run. Runs of one batch are nothing to merge."""
    runs: list[list[PredictionBatch]] = []
    current: list[PredictionBatch] = []
    rows = 0
    for batch in batches:
        small = batch.rows < SMALL_ROWS
        if not small or rows + batch.rows > TARGET_ROWS or len(current) >= MAX_MERGED:
            if len(current) > 1:
                runs.append(current)
            current, rows = [], 0
        if small:
            current.append(batch)
            rows += batch.rows
    if len(current) > 1:
        runs.append(current)
    return runs


def compact_predictions(
    store: AbstractStore,
    model: str,
    *,
    version: int | None = None,
    source: str | None = None,
    any_source: bool = True,
    before: float | None = None,
) -> CompactionResult:
    """Merge the small batches of ``model`` (one ``version``, or all), per version, arm
    and source. With ``any_source=False`` only batches written by ``source`` (a serving
    endpoint compacting its own). ``before``: only batches that ended before this time."""
    result = CompactionResult()
    # one writer's batches only: a merged batch is the compacting login's, and on a team
    # store nobody may drop another login's rows (see store.sql.writers)
    groups: dict[tuple[int, str, str | None, str | None], list[PredictionBatch]] = {}
    for batch in store.prediction_batches(model, version=version, until=before):
        if before is not None and batch.end_time >= before:
            continue
        if not any_source and batch.source != source:
            continue
        key = (batch.version, batch.arm, batch.source, batch.writer)
        groups.setdefault(key, []).append(batch)
    for batches in groups.values():
        batches.sort(key=lambda b: (b.start_time, b.id or 0))
        for run in _runs(batches):
            _merge(store, run, result)
    return result


def _merge(store: AbstractStore, run: list[PredictionBatch], result: CompactionResult) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        tables = [pq.read_table(io.BytesIO(store.blobs.get_bytes(b.digest))) for b in run]
        table = pa.concat_tables(tables, promote_options="permissive")
    except (NotFound, pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        result.skipped.append(f"{len(run)} batches from id {run[0].id}: {exc}")
        return
    table = table.sort_by([("time", "ascending")])
    data = encode(table)
    first = run[0]
    merged = PredictionBatch(
        model=first.model,
        version=first.version,
        arm=first.arm,
        start_time=min(b.start_time for b in run),
        end_time=max(b.end_time for b in run),
        rows=table.num_rows,
        digest=store.blobs.put_bytes(data),
        size=len(data),
        source=first.source,
    )
    try:
        store.replace_prediction_batches([b.id for b in run if b.id is not None], merged)
    except Conflict as exc:
        result.skipped.append(str(exc))
        return
    result.merged += len(run)
    result.written += 1
    result.rows += table.num_rows
    result.bytes_before += sum(b.size for b in run)
    result.bytes_after += len(data)
