"""How a run ends: one store transaction normally, record by record when that is refused."""

from __future__ import annotations

import pytest

import jupyter_mm as mm
from jupyter_mm import tracking


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_MM_STORE", f"sqlite:///{tmp_path / 'store' / 'mm.db'}")
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.chdir(tmp_path)
    tracking.set_default_store(None)
    yield tracking.default_store()
    tracking.set_default_store(None)


def test_a_refused_end_transaction_still_saves_everything_else(store):
    part = store.blobs.put_bytes(b"a large output")
    missing = "0f" * 32  # a link the store refuses, so the single transaction fails
    with mm.start_run("partial") as run:
        mm.log_param("lr", 0.1)
        mm.log_metric("loss", 0.5)
        run.link_blobs({part, missing})
    detail = mm.get_run(run.id)
    assert detail.run.status == "finished"
    assert [(p.name, p.value) for p in detail.params] == [("lr", "0.1")]
    assert [m.value for m in detail.metrics] == [0.5]
    assert any("linking the checkpoint's parts" in w for w in detail.run.warnings)
    assert run.reported_line and "recorded partially" in run.reported_line


def test_a_normal_end_links_blobs_and_writes_buffered_records(store):
    part = store.blobs.put_bytes(b"another large output")
    with mm.start_run("whole") as run:
        mm.log_params({"lr": 0.1, "epochs": 3})
        mm.log_metric("loss", 0.5)
        run.link_blobs([part])
    detail = mm.get_run(run.id)
    assert detail.run.status == "finished" and detail.run.warnings == []
    assert {p.name for p in detail.params} == {"lr", "epochs"}
    assert part in store.referenced_digests()
    assert run.reported_line is None
