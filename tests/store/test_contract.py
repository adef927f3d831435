"""The AbstractStore contract, run against every backend (SQLite and PostgreSQL).

Each test reads like a line of the docstrings in ``jupyter_mm/store/abstract.py``.
"""

from __future__ import annotations

import math
import socket
import subprocess
import sys
import time

import pytest

from jupyter_mm import ids
from jupyter_mm.entities import (
    Artifact,
    DataRef,
    Environment,
    ExecutionEntry,
    Metric,
    Param,
    ReproFlag,
    Run,
)
from jupyter_mm.errors import AmbiguousReference, Conflict, InvalidInput, NotFound
from jupyter_mm.store import pid_alive
from jupyter_mm.store.sql.engine import SCHEMA_HEAD

T0 = 1_700_000_000.0


def make_run(**fields: object) -> Run:
    fields.setdefault("id", ids.new_id())
    fields.setdefault("start_time", time.time())
    return Run(**fields)  # type: ignore[arg-type]


def make_env(python: str = "3.11.9") -> Environment:
    return Environment(
        id=f"env-{python}",
        python=python,
        platform="Linux-x86_64",
        packages={"numpy": "2.1.0"},
        modules={"numpy": "2.1.0"},
        git={"commit": "abc123", "dirty": False},
        env_vars={"OMP_NUM_THREADS": "4", "AWS_SECRET_ACCESS_KEY": None},
        argv=["ipykernel_launcher", "-f", "k.json"],
    )


# -- runs ------------------------------------------------------------------------------------


def test_create_and_get_round_trip_every_field(store):
    parent = store.create_run(make_run(name="parent"))
    run = make_run(
        name="baseline",
        status="running",
        end_time=None,
        notebook_path="work/train.ipynb",
        cell_id="c-1",
        user="ada",
        host="box",
        pid=4242,
        parent_id=parent.id,
        tags={"team": "vision"},
        note="first try",
        checkpoint_source="live",
        execution_log=[ExecutionEntry(count=1, cell_id="c-0", source_hash="h0")],
        flags=[ReproFlag(kind="out_of_order", message="cell 2 ran before cell 1", cell_id="c-0")],
        warnings=["data hashing skipped"],
        error=None,
    )
    assert store.create_run(run) == run
    stored = store.get_run(run.id)
    assert stored == run
    assert isinstance(stored.execution_log[0], ExecutionEntry)
    assert isinstance(stored.flags[0], ReproFlag)


def test_returned_runs_are_copies(store):
    run = store.create_run(make_run(tags={"a": "1"}))
    fetched = store.get_run(run.id)
    fetched.tags["a"] = "changed"
    fetched.warnings.append("local only")
    assert store.get_run(run.id).tags == {"a": "1"}
    assert store.get_run(run.id).warnings == []


def test_create_run_refuses_duplicates_bad_status_and_missing_parent(store):
    run = store.create_run(make_run())
    with pytest.raises(InvalidInput, match="exists already"):
        store.create_run(make_run(id=run.id))
    with pytest.raises(InvalidInput, match="Unknown run status"):
        store.create_run(make_run(status="paused"))
    with pytest.raises(NotFound, match="parent"):
        store.create_run(make_run(parent_id=ids.new_id()))
    with pytest.raises(InvalidInput, match="not a run id"):
        store.create_run(make_run(id="../etc"))
    with pytest.raises(InvalidInput, match="Environment"):
        store.create_run(make_run(environment_id="no-such-env"))
    assert [r.id for r in store.search_runs().runs] == [run.id]


def test_get_run_unknown_is_not_found(store):
    with pytest.raises(NotFound, match="No run"):
        store.get_run(ids.new_id())


def test_update_run_changes_mutable_fields_only(store):
    env_id = store.put_environment(make_env())
    digest = store.blobs.put_bytes(b'{"cells": []}')
    run = store.create_run(make_run(name="a", user="ada", host="box", pid=10, start_time=T0))
    changed = Run.from_dict(run.to_dict())
    changed.name = "b"
    changed.status = "finished"
    changed.end_time = T0 + 5
    changed.note = "good"
    changed.checkpoint_digest = digest
    changed.checkpoint_source = "file"
    changed.environment_id = env_id
    changed.warnings = ["w"]
    changed.error = None
    # immutable fields are ignored, not applied
    changed.start_time = T0 + 100
    changed.user = "mallory"
    changed.host = "elsewhere"
    changed.pid = 99
    returned = store.update_run(changed)
    stored = store.get_run(run.id)
    assert returned == stored
    assert (stored.name, stored.status, stored.end_time, stored.note) == (
        "b",
        "finished",
        T0 + 5,
        "good",
    )
    assert (stored.checkpoint_digest, stored.environment_id) == (digest, env_id)
    assert (stored.start_time, stored.user, stored.host, stored.pid) == (T0, "ada", "box", 10)
    assert stored.duration == 5


def test_update_run_refusals(store):
    with pytest.raises(NotFound):
        store.update_run(make_run())
    run = store.create_run(make_run())
    missing_blob = Run.from_dict({**run.to_dict(), "checkpoint_digest": "ab" * 32})
    with pytest.raises(InvalidInput, match="not in the store"):
        store.update_run(missing_blob)
    with pytest.raises(InvalidInput, match="Environment"):
        store.update_run(Run.from_dict({**run.to_dict(), "environment_id": "nope"}))
    with pytest.raises(InvalidInput, match="Unknown run status"):
        store.update_run(Run.from_dict({**run.to_dict(), "status": "done"}))
    assert store.get_run(run.id) == run


def test_resolve_run_by_id_prefix_and_latest(store):
    with pytest.raises(NotFound, match="no runs"):
        store.resolve_run("latest")
    older = store.create_run(make_run(id="01AAAAAAAAAAAAAAAAAAAAAAAA", start_time=T0))
    newer = store.create_run(make_run(id="01AAAAAAAAAAAAAAAAAAAAAAAB", start_time=T0 + 1))
    other = store.create_run(make_run(id="01BBBBBBBBBBBBBBBBBBBBBBBB", start_time=T0 - 1))
    assert store.resolve_run("latest") == newer
    assert store.resolve_run(older.id) == older
    assert store.resolve_run(older.id.lower()) == older
    assert store.resolve_run("01bbb") == other
    with pytest.raises(AmbiguousReference, match="01AAAAAAAAAAAAAAAAAAAAAAAB"):
        store.resolve_run("01aaaa")
    with pytest.raises(InvalidInput, match="at least 4"):
        store.resolve_run("01B")
    with pytest.raises(NotFound):
        store.resolve_run("01CC")
    # LIKE wildcards in a reference are literal characters, not patterns
    with pytest.raises(NotFound):
        store.resolve_run("01%%")


def test_search_pages_through_hundreds_of_runs_in_order(store):
    # ties on start_time are broken by id, across page boundaries too
    created = [
        store.create_run(make_run(start_time=T0 + (i // 3), name=f"run {i}")) for i in range(250)
    ]
    expected = sorted(created, key=lambda r: (r.start_time, r.id))
    for order, want in (("oldest", expected), ("newest", expected[::-1])):
        seen, token, pages = [], None, 0
        while True:
            page = store.search_runs(order=order, limit=40, page_token=token)
            pages += 1
            seen.extend(r.id for r in page.runs)
            token = page.next_token
            if token is None:
                break
        assert seen == [r.id for r in want]
        assert pages == 7  # 6 full pages of 40 and a last one of 10
    exact = store.search_runs(limit=250)
    assert len(exact.runs) == 250 and exact.next_token is None


def test_search_filters(store):
    a = store.create_run(make_run(name="Baseline", notebook_path="nb/a.ipynb", start_time=T0))
    b = store.create_run(
        make_run(name="tuned", note="LR sweep 100%", notebook_path="nb/b.ipynb", start_time=T0 + 1)
    )
    c = store.create_run(make_run(name="x_y", status="finished", start_time=T0 + 2))

    def found(**filters: object) -> list[str]:
        return [r.id for r in store.search_runs(**filters).runs]

    assert found(notebook_path="nb/a.ipynb") == [a.id]
    assert found(status="finished") == [c.id]
    assert found(text="BASELINE") == [a.id]
    assert found(text="sweep") == [b.id]
    assert found(text="NB/B") == [b.id]
    assert found(text=a.id[:8].lower()) == [a.id] or a.id[:8] == b.id[:8]
    assert found(text="100%") == [b.id]
    assert found(text="x_y") == [c.id]
    assert found(text="%") == [b.id]  # a literal percent sign, not a wildcard
    assert found(status="running", text="nb/") == [b.id, a.id]


def test_search_refuses_bad_arguments(store):
    store.create_run(make_run())
    for limit in (0, 1001, "10"):
        with pytest.raises(InvalidInput, match="page size"):
            store.search_runs(limit=limit)
    with pytest.raises(InvalidInput, match="order"):
        store.search_runs(order="random")
    with pytest.raises(InvalidInput, match="status"):
        store.search_runs(status="paused")
    for token in ("not-a-token", "e30", ""):
        with pytest.raises(InvalidInput, match="page token"):
            store.search_runs(page_token=token)
    store.create_run(make_run())
    newest_token = store.search_runs(limit=1).next_token
    with pytest.raises(InvalidInput, match="page token"):
        store.search_runs(order="oldest", page_token=newest_token)


# -- records ---------------------------------------------------------------------------------


def test_params_overwrite_by_name(store):
    run = store.create_run(make_run())
    store.log_batch(run.id, params=[Param("lr", "0.1"), Param("epochs", "3")])
    store.log_batch(run.id, params=[Param("lr", "0.1")])  # same value: no-op
    store.log_batch(run.id, params=[Param("lr", "0.01"), Param("lr", "0.001")])  # last wins
    assert store.params_of([run.id]) == {run.id: {"lr": "0.001", "epochs": "3"}}
    detail = store.get_run_detail(run.id)
    assert detail.params == [Param("epochs", "3"), Param("lr", "0.001")]


def test_metric_history_latest_and_nan(store):
    run = store.create_run(make_run())
    other = store.create_run(make_run())
    store.log_batch(
        run.id,
        metrics=[Metric("loss", 0.5, 2, T0 + 2), Metric("loss", 0.9, 0, T0), Metric("acc", 0.7)],
    )
    store.log_batch(
        run.id,
        metrics=[Metric("loss", 0.7, 1, T0 + 1), Metric("loss", 0.5, 2, T0 + 2)],  # duplicate
    )
    store.log_batch(other.id, metrics=[Metric("loss", float("nan"), 0, T0)])
    history = store.get_run_detail(run.id).metrics
    assert [(m.name, m.step, m.value) for m in history] == [
        ("acc", 0, 0.7),
        ("loss", 0, 0.9),
        ("loss", 1, 0.7),
        ("loss", 2, 0.5),
    ]
    latest = store.latest_metrics([run.id, other.id, run.id])
    assert latest[run.id] == {"loss": 0.5, "acc": 0.7}
    assert math.isnan(latest[other.id]["loss"])
    assert store.latest_metrics([]) == {}


def test_log_batch_takes_ten_thousand_points_in_one_call(store):
    run = store.create_run(make_run())
    points = [Metric("loss", 1.0 / (i + 1), i, T0 + i) for i in range(10_000)]
    store.log_batch(run.id, metrics=points)
    assert len(store.get_run_detail(run.id).metrics) == 10_000
    assert store.latest_metrics([run.id])[run.id]["loss"] == pytest.approx(1 / 10_000)


def test_metric_points_as_tuples_are_stored_and_checked_like_metrics(store):
    as_records, as_tuples = store.create_run(make_run()), store.create_run(make_run())
    points = [("loss", 0.5, 2, T0 + 2), ("loss", float("nan"), 0, T0), ("acc", 1, 0, T0)]
    store.log_batch(as_records.id, metrics=[Metric(*p) for p in points])
    store.log_batch(as_tuples.id, metrics=points)
    detail = store.get_run_detail(as_tuples.id)
    assert [(m.name, m.step, str(m.value)) for m in detail.metrics] == [
        (m.name, m.step, str(m.value)) for m in store.get_run_detail(as_records.id).metrics
    ]
    assert store.latest_metrics([as_tuples.id])[as_tuples.id]["loss"] == 0.5
    for bad in [("loss", 0.1, 3), ("loss", "high", 3, T0), ("", 0.1, 3, T0), ("x", 1.0, "a", T0)]:
        with pytest.raises(InvalidInput):
            store.log_batch(as_tuples.id, metrics=[bad])
    assert len(store.get_run_detail(as_tuples.id).metrics) == 3


def test_data_refs_and_artifacts_replace_by_key(store):
    run = store.create_run(make_run())
    d1 = store.blobs.put_bytes(b"model v1")
    d2 = store.blobs.put_bytes(b"model v2")
    ref = DataRef("/data/train.csv", "input", "file", 10, "blake3", "aa" * 32)
    store.log_batch(
        run.id,
        data=[ref, DataRef("/data/train.csv", "output", "file", 11, "blake3", "bb" * 32)],
        artifacts=[Artifact("model.pkl", d1, 8)],
    )
    # read by an earlier cell of the session: a third role of the same path
    upstream = DataRef(
        "/data/train.csv", "upstream", "file", 9, "blake3", "dd" * 32, "read by In [2] (cell c1)"
    )
    store.log_batch(
        run.id,
        data=[DataRef("/data/train.csv", "input", "file", 12, "blake3", "cc" * 32), upstream],
        artifacts=[Artifact("model.pkl", d2, 8, "application/x-pickle")],
    )
    detail = store.get_run_detail(run.id)
    assert [(d.role, d.size, d.digest) for d in detail.data] == [
        ("input", 12, "cc" * 32),
        ("output", 11, "bb" * 32),
        ("upstream", 9, "dd" * 32),
    ]
    assert detail.data[2] == upstream
    assert detail.artifacts == [Artifact("model.pkl", d2, 8, "application/x-pickle")]


def test_log_batch_is_atomic_and_validated(store):
    run = store.create_run(make_run())
    with pytest.raises(InvalidInput, match="not in the store"):
        store.log_batch(
            run.id,
            params=[Param("lr", "1")],
            metrics=[Metric("acc", 1.0)],
            artifacts=[Artifact("m", "ef" * 32, 1)],
        )
    with pytest.raises(InvalidInput, match="must be a number"):
        store.log_batch(run.id, params=[Param("lr", "1")], metrics=[Metric("acc", "high")])
    with pytest.raises(InvalidInput, match="Data role"):
        store.log_batch(run.id, data=[DataRef("x", "both", "file", 1, "blake3", "ab")])
    with pytest.raises(InvalidInput, match="blob digest"):
        store.log_batch(run.id, artifacts=[Artifact("m", "../../etc/passwd", 1)])
    detail = store.get_run_detail(run.id)
    assert (detail.params, detail.metrics, detail.artifacts) == ([], [], [])
    with pytest.raises(NotFound):
        store.log_batch(ids.new_id(), params=[Param("lr", "1")])


def test_link_blobs(store):
    run = store.create_run(make_run())
    digest = store.blobs.put_bytes(b"large output")
    store.link_blobs(run.id, [digest])
    store.link_blobs(run.id, [digest, digest])  # idempotent
    assert digest in store.referenced_digests()
    with pytest.raises(InvalidInput, match="not in the store"):
        store.link_blobs(run.id, ["0f" * 32])
    with pytest.raises(NotFound):
        store.link_blobs(ids.new_id(), [digest])


def test_referenced_digests_covers_checkpoints_links_and_artifacts(store):
    checkpoint, linked, artifact, unused = (
        store.blobs.put_bytes(data) for data in (b"ckpt", b"link", b"art", b"unused")
    )
    run = store.create_run(make_run(checkpoint_digest=checkpoint))
    store.link_blobs(run.id, [linked])
    store.log_batch(run.id, artifacts=[Artifact("a", artifact, 3)])
    assert store.referenced_digests() == {checkpoint, linked, artifact}
    assert unused not in store.referenced_digests()


# -- environments ----------------------------------------------------------------------------


def test_environments_are_idempotent_and_round_trip(store):
    env = make_env()
    assert store.put_environment(env) == env.id
    assert store.put_environment(env) == env.id
    assert store.get_environment(env.id) == env
    run = store.create_run(make_run(environment_id=env.id))
    assert store.get_run_detail(run.id).environment == env
    with pytest.raises(NotFound):
        store.get_environment("env-unknown")
    with pytest.raises(InvalidInput):
        store.put_environment(Environment(id="", python="3", platform="x"))


# -- deletion and crash recovery -------------------------------------------------------------


def test_delete_run_removes_its_rows(store):
    digest = store.blobs.put_bytes(b"artifact")
    parent = store.create_run(make_run())
    child = store.create_run(make_run(parent_id=parent.id))
    store.log_batch(
        parent.id,
        params=[Param("a", "1")],
        metrics=[Metric("m", 1.0)],
        data=[DataRef("x", "input", "object", None, "blake3", "ab")],
        artifacts=[Artifact("a", digest, 8)],
    )
    store.link_blobs(parent.id, [digest])
    store.delete_run(parent.id)
    with pytest.raises(NotFound):
        store.get_run(parent.id)
    with pytest.raises(NotFound):
        store.delete_run(parent.id)
    assert store.get_run(child.id).parent_id is None
    assert store.params_of([parent.id]) == {parent.id: {}}
    assert store.referenced_digests() == set()
    assert store.blobs.exists(digest)  # blobs are left for gc
    assert store.check_integrity() == []


def test_mark_crashed_uses_a_really_dead_process(store):
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(finished.stdout)
    assert not pid_alive(dead_pid)
    host = socket.gethostname()
    dead = store.create_run(make_run(host=host, pid=dead_pid))
    alive = store.create_run(make_run(host=host, pid=subprocess.os.getpid()))
    elsewhere = store.create_run(make_run(host="another-host", pid=dead_pid))
    done = store.create_run(make_run(host=host, pid=dead_pid, status="finished"))
    assert store.mark_crashed(host, pid_alive) == [dead.id]
    assert store.get_run(dead.id).status == "crashed"
    assert "ended" in store.get_run(dead.id).warnings[0]
    for run in (alive, elsewhere, done):
        assert store.get_run(run.id).status == run.status
    assert store.mark_crashed(host, pid_alive) == []


# -- maintenance -----------------------------------------------------------------------------


def test_healthy_store_has_no_integrity_problems_and_knows_its_schema(store):
    run = store.create_run(make_run())
    store.log_batch(run.id, params=[Param("a", "1")], metrics=[Metric("m", 1.0)])
    assert store.check_integrity() == []
    assert store.schema_version() == SCHEMA_HEAD


def test_incomplete_execution_log_entries_are_refused(store):
    with pytest.raises(InvalidInput, match="incomplete"):
        store.create_run(make_run(execution_log=[{"count": 1}]))
    run = store.create_run(
        make_run(execution_log=[{"count": 1, "cell_id": None, "source_hash": "h"}])
    )
    assert store.get_run(run.id).execution_log == [ExecutionEntry(1, None, "h")]


def test_a_run_that_produced_a_registered_model_cannot_be_deleted(store):
    from jupyter_mm.store.sql.models import MODEL_VERSIONS, MODELS

    digest = store.blobs.put_bytes(b"pickled model")
    run = store.create_run(make_run())
    store.log_batch(run.id, artifacts=[Artifact("model.pkl", digest, 13)])
    # registry methods arrive later; its tables exist already, so write a version directly
    with store._writer.begin() as conn:
        conn.execute(MODELS.insert(), {"name": "churn", "created_time": T0})
        conn.execute(
            MODEL_VERSIONS.insert(),
            {
                "model": "churn",
                "version": 1,
                "run_id": run.id,
                "artifact": "model.pkl",
                "digest": digest,
                "flavor": "sklearn",
                "stage": "production",
                "aliases": ["champion"],
                "created_time": T0,
            },
        )
    with pytest.raises(Conflict, match="model churn version 1"):
        store.delete_run(run.id)
    assert store.get_run(run.id) == run
    assert digest in store.referenced_digests()
    assert store.check_integrity() == []


def test_values_that_are_not_json_are_refused(store):
    env = make_env()
    env.hardware = {"gpu": object()}
    with pytest.raises(InvalidInput, match="cannot be stored"):
        store.put_environment(env)
    with pytest.raises(NotFound):
        store.get_environment(env.id)
    env.hardware = {"gpu_memory": float("nan")}
    with pytest.raises(InvalidInput, match="cannot be stored"):
        store.put_environment(env)
    with pytest.raises(InvalidInput, match="execution log cannot be stored"):
        store.create_run(make_run(execution_log=[ExecutionEntry(object(), None, "h")]))
