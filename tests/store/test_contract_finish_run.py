"""Contract of ``finish_run``: the end of a run written in one call, all or nothing.

Runs against every store implementation (the ``store`` fixture: SQLite and PostgreSQL).
"""

from __future__ import annotations

import time

import pytest

from jupyter_mm import ids
from jupyter_mm.entities import Artifact, DataRef, Metric, Param, Run
from jupyter_mm.errors import InvalidInput, NotFound


def _running(store) -> Run:
    return store.create_run(Run(id=ids.new_id(), start_time=time.time(), notebook_path="a.ipynb"))


def test_finish_run_writes_records_links_and_final_fields(store):
    run = _running(store)
    store.log_batch(run.id, params=[Param("lr", "0.1")])
    checkpoint = store.blobs.put_bytes(b"checkpoint")
    part = store.blobs.put_bytes(b"large output")
    model = store.blobs.put_bytes(b"model bytes")
    run.status, run.end_time, run.checkpoint_digest = "finished", run.start_time + 2, checkpoint
    run.warnings = ["hashing x: gone"]
    saved = store.finish_run(
        run,
        params=[Param("lr", "0.2"), Param("epochs", "3")],
        metrics=[Metric("acc", 0.5, 0, 1.0), Metric("acc", 0.9, 1, 2.0)],
        data=[DataRef("train.csv", "input", "file", 10, "blake3", "ab" * 32)],
        artifacts=[Artifact("model.pkl", model, 11)],
        blob_digests=[part, part, checkpoint],
    )
    assert (saved.status, saved.checkpoint_digest, saved.warnings) == (
        "finished",
        checkpoint,
        ["hashing x: gone"],
    )
    detail = store.get_run_detail(run.id)
    assert detail.run.status == "finished" and detail.run.end_time == run.start_time + 2
    assert {p.name: p.value for p in detail.params} == {"lr": "0.2", "epochs": "3"}
    assert [(m.step, m.value) for m in detail.metrics] == [(0, 0.5), (1, 0.9)]
    assert [d.name for d in detail.data] == ["train.csv"]
    assert [a.digest for a in detail.artifacts] == [model]
    assert {part, checkpoint, model} <= store.referenced_digests()


def test_finish_run_with_nothing_buffered_is_an_update(store):
    run = _running(store)
    run.status, run.end_time = "failed", run.start_time + 1
    run.error = "ZeroDivisionError: division by zero"
    assert store.finish_run(run).error == run.error
    assert store.get_run(run.id).status == "failed"


def test_finish_run_is_all_or_nothing(store):
    run = _running(store)
    missing = "0f" * 32
    ended = Run(**{**run.__dict__, "status": "finished", "end_time": run.start_time + 1})
    for bad in (
        {"blob_digests": [missing]},
        {"artifacts": [Artifact("m", missing, 1)]},
        {"metrics": [Metric("acc", "high")]},
    ):
        with pytest.raises(InvalidInput):
            store.finish_run(ended, params=[Param("lr", "1")], **bad)
    ended.environment_id = "env-that-was-never-stored"
    with pytest.raises(InvalidInput, match="Environment"):
        store.finish_run(ended, params=[Param("lr", "1")], metrics=[Metric("acc", 1.0, 0, 1.0)])
    detail = store.get_run_detail(run.id)
    assert detail.run.status == "running"
    assert (detail.params, detail.metrics) == ([], [])
    assert missing not in store.referenced_digests()
    with pytest.raises(NotFound):
        store.finish_run(Run(id=ids.new_id(), start_time=time.time(), status="finished"))


def test_finish_run_keeps_or_replaces_the_execution_log_and_flags(store):
    from jupyter_mm.entities import ExecutionEntry, ReproFlag

    log = [ExecutionEntry(1, "c1", "ab" * 16), ExecutionEntry(2, "c2", "cd" * 16)]
    flags = [ReproFlag("never_run_above", "Cell 1 never ran.", "c0")]
    kept = store.create_run(
        Run(id=ids.new_id(), start_time=time.time(), execution_log=log, flags=flags)
    )
    changed = store.create_run(
        Run(id=ids.new_id(), start_time=time.time(), execution_log=log, flags=flags)
    )
    kept.status = changed.status = "finished"
    changed.flags = [*flags, ReproFlag("out_of_order", "Cell 2 ran after cell 3.", "c1")]
    changed.execution_log = log[:1]
    for run in (kept, changed):
        saved = store.finish_run(run)
        assert (saved.execution_log, saved.flags) == (run.execution_log, run.flags)
        stored = store.get_run(run.id)
        assert (stored.status, stored.execution_log, stored.flags) == (
            "finished",
            run.execution_log,
            run.flags,
        )


def test_finish_run_stores_a_log_entry_changed_in_place(store):
    """The store remembers what it wrote at create_run; an entry mutated since must still
    reach the store (the comparison is by value, not by identity)."""
    from jupyter_mm.entities import ExecutionEntry

    run = store.create_run(
        Run(id=ids.new_id(), start_time=time.time(), execution_log=[ExecutionEntry(1, "c1", "ab")])
    )
    run.execution_log[0].count = 7
    run.status = "finished"
    store.finish_run(run)
    assert store.get_run(run.id).execution_log[0].count == 7


def test_finish_run_from_another_store_instance_returns_the_stored_fixed_fields(store):
    """A run created by one process and ended by another (the second store has nothing
    remembered): the fixed fields come back as stored, whatever the entity says."""
    from jupyter_mm.store.sql.store import SqlStore

    run = _running(store)
    other = SqlStore(store._engine, store.blobs, store.url)  # same database, nothing remembered
    run.status, run.end_time = "finished", run.start_time + 1
    run.notebook_path = "changed.ipynb"  # fixed once stored: not written, not returned
    saved = other.finish_run(run)
    assert (saved.status, saved.notebook_path) == ("finished", "a.ipynb")
    assert store.get_run(run.id).notebook_path == "a.ipynb"
