"""The latest value of a metric means one thing everywhere: the point at the highest step,
among equal steps the later timestamp, among points equal in both the first recorded. The
points below are logged out of order, with explicit timestamps that disagree with the
logging order, so every place that picks a latest value is asked the hard cases."""

from __future__ import annotations

import pytest

import jupyter_mm as mm
from jupyter_mm import tracking
from jupyter_mm.cli.inspect import show_dict
from jupyter_mm.diffing import diff_runs
from jupyter_mm.entities import latest_metric_values

#: (name, value, step, timestamp) in logging order
POINTS = [
    ("acc", 0.1, 0, 100.0),
    ("acc", 0.5, 2, 50.0),  # the highest step, but not its latest timestamp
    ("acc", 0.4, 1, 200.0),  # the latest timestamp, at a lower step
    ("acc", 0.6, 2, 60.0),  # highest step, latest timestamp there: the latest value
    ("acc", 0.7, 2, 55.0),  # logged last, but earlier than 0.6 at the same step
    ("loss", 0.3, 1, 10.0),
    ("loss", 0.9, 1, 10.0),  # equal in step and timestamp: the first recorded stays
]
EXPECTED = {"acc": 0.6, "loss": 0.3}


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_MM_STORE", f"sqlite:///{tmp_path / 'store' / 'mm.db'}")
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.chdir(tmp_path)
    tracking.set_default_store(None)
    yield tracking.default_store()
    tracking.set_default_store(None)


def test_every_place_agrees_on_the_latest_value(store) -> None:
    with mm.start_run("points") as run:
        for name, value, step, timestamp in POINTS:
            run.log_metric(name, value, step=step, timestamp=timestamp)
        in_memory = dict(run.latest_metrics)  # what the run card shows
    with mm.start_run("other") as other:
        mm.log_metric("acc", 0.0)

    detail = store.get_run_detail(run.run.id)
    assert in_memory == EXPECTED
    assert store.latest_metrics([run.run.id]) == {run.run.id: EXPECTED}  # listings, gates
    assert latest_metric_values(detail.metrics) == EXPECTED  # lineage, reproduce
    shown = show_dict(detail)["metrics"]
    assert {name: entry["value"] for name, entry in shown.items()} == EXPECTED
    assert (shown["acc"]["step"], shown["acc"]["points"]) == (2, 5)
    rows = diff_runs(store, run.run.id, other.run.id).metrics
    assert {row["name"]: row["a"] for row in rows} == EXPECTED
