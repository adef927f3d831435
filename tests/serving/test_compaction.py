"""Compaction of the prediction log: small batch files merged into one, on SQLite and
PostgreSQL, while a monitoring reader keeps reading windows; and a real server merging
its own small files."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import jupyter_mm as mm
from jupyter_mm.errors import Conflict
from jupyter_mm.monitoring.window import WindowSpec, read_window
from jupyter_mm.serving.compaction import compact_predictions
from jupyter_mm.serving.predlog import read_batch

from .conftest import COLUMNS, serving, training_frame


def _log_small_batches(store, count: int, rows: int) -> list[str]:
    """``count`` separate mm.log_predictions calls of ``rows`` rows each (one batch each)."""
    model = mm.load_model("churn@production", store=store)
    ids: list[str] = []
    for seed in range(count):
        X = training_frame(seed=100 + seed, rows=rows)[0]
        ids += mm.log_predictions(
            "churn@production", X, model.predict(X), scores=model.predict_proba(X), store=store
        )
    return ids


def _logged(store) -> dict[str, tuple]:
    rows = {}
    for batch in store.prediction_batches("churn"):
        frame = read_batch(store, batch)
        for record in frame.to_dict(orient="records"):
            rows[record["request_id"]] = (
                record["prediction"],
                round(record["score.1"], 6),
                record["feature.balance"],
            )
    return rows


def test_small_batches_merge_into_one_while_windows_are_read(backend_store) -> None:
    _url, store = backend_store
    ids = _log_small_batches(store, count=40, rows=25)
    before = _logged(store)
    old = store.prediction_batches("churn")
    assert len(old) == 40 and len(before) == 1000
    seen: list[int] = []
    problems: list[BaseException] = []
    done = threading.Event()

    def reader() -> None:  # a monitoring window over the whole log, again and again
        try:
            while not done.is_set():
                frame = read_window(store, "churn", 1, WindowSpec(since=0.0))
                seen.append(len(frame))
                assert frame["time"].is_monotonic_increasing
        except BaseException as exc:  # reported below, in the test's thread
            problems.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        while len(seen) < 2:
            time.sleep(0.01)
        result = compact_predictions(store, "churn")
        count = len(seen)
        while len(seen) < count + 2:  # windows read after the swap too
            time.sleep(0.01)
    finally:
        done.set()
        thread.join()
    assert not problems, problems
    assert set(seen) == {1000}  # never a row missing or counted twice
    (merged,) = store.prediction_batches("churn")
    assert (result.merged, result.written, result.rows) == (40, 1, 1000)
    assert merged.rows == 1000 and merged.arm == "batch" and merged.version == 1
    assert merged.start_time == min(b.start_time for b in old)
    assert merged.end_time == max(b.end_time for b in old)
    assert result.bytes_after < result.bytes_before / 2  # 40 footers become one
    assert _logged(store) == before  # every row, value for value
    assert store.labels_for(ids[:3]) == {}  # labels join by request id, untouched
    mm.log_labels(ids[:3], [1, 0, 1], store=store)
    assert set(store.labels_for(ids[:3])) == set(ids[:3])
    referenced = store.referenced_digests()
    assert merged.digest in referenced  # gc keeps the merged file
    assert not {b.digest for b in old} & referenced  # and may collect the small ones
    again = compact_predictions(store, "churn")
    assert again.merged == 0  # one batch: nothing left to merge


def test_a_second_compaction_of_the_same_batches_changes_nothing(backend_store) -> None:
    _url, store = backend_store
    _log_small_batches(store, count=3, rows=10)
    old = store.prediction_batches("churn")
    first = old[0]
    store.replace_prediction_batches([b.id for b in old[:2]], first)  # someone else won
    after = sorted(b.id for b in store.prediction_batches("churn"))
    assert len(after) == 2 and old[2].id in after
    with pytest.raises(Conflict, match="no longer indexed"):
        store.replace_prediction_batches([b.id for b in old], first)
    assert sorted(b.id for b in store.prediction_batches("churn")) == after


@pytest.mark.kernel
def test_a_server_merges_its_own_small_files(registry_store, tmp_path) -> None:
    """A lightly loaded server writes a file per flush; with --compact-every it merges
    them: fewer batches than flushes, every answered request still logged once."""
    url, store = registry_store
    X = training_frame(seed=9, rows=12)[0]
    ids = []
    with serving(url, tmp_path, "churn@production", "--compact-every", "1") as served:
        for i in range(len(X)):
            _s, headers, _a = served.post(
                "/invocations",
                {"dataframe_split": {"columns": COLUMNS, "data": [X.iloc[i].tolist()]}},
            )
            ids.append(headers["X-Request-Id"])
            time.sleep(0.3)  # more than --log-interval (0.2 s): a file per request or two
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            batches = store.prediction_batches("churn")
            if sum(b.rows for b in batches) == len(ids) and len(batches) <= 2:
                break
            time.sleep(0.2)
        assert served.stop() == 0
    batches = store.prediction_batches("churn")
    logged = [rid for b in batches for rid in read_batch(store, b)["request_id"]]
    assert sorted(logged) == sorted(ids)  # once each
    assert len(batches) <= 2 < len(ids) // 2
    assert all(b.source == batches[0].source for b in batches)
    frame = read_window(store, "churn", 1, WindowSpec(rows=len(ids)))
    assert np.isfinite(frame["time"]).all() and len(frame) == len(ids)


def test_a_window_read_as_gc_collects_compacted_files_lists_again(registry_store) -> None:
    """The one moment a reader can miss a blob: it listed the small batches, then they
    were compacted and `jupyter mm gc` removed them before it read them. It lists again
    and reads the merged batch."""
    from jupyter_mm.cli.maintenance import collect_garbage

    _url, store = registry_store
    _log_small_batches(store, count=5, rows=10)
    listing = store.prediction_batches
    collected: list[int] = []

    def list_then_compact_and_collect(*args, **kwargs):
        found = listing(*args, **kwargs)
        if not collected:  # only after the reader's first listing
            collected.append(0)
            compact_predictions(store, "churn")
            collected[0] = len(collect_garbage(store, grace_hours=0, delete=True)["unreferenced"])
        return found

    store.prediction_batches = list_then_compact_and_collect
    try:
        frame = read_window(store, "churn", 1, WindowSpec(since=0.0))
    finally:
        del store.prediction_batches
    assert collected[0] >= 5  # the small files were really gone
    assert len(frame) == 50 and frame["time"].is_monotonic_increasing
