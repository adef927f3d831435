"""Contract of AbstractStore.run_columns (the bulk listing behind ``mm.runs()``), on every
backend, checked against the entity methods it must agree with."""

from __future__ import annotations

import math

import pytest

from jupyter_mm import ids
from jupyter_mm.entities import Metric, Param, Run
from jupyter_mm.errors import InvalidInput
from jupyter_mm.store.abstract import AbstractStore

T0 = 1_700_000_000.0
BASE = ["id", "name", "status", "start_time", "end_time", "notebook_path"]


def add_runs(store) -> list[Run]:
    """Six runs, oldest first: two notebooks, three statuses, a NaN and a re-logged metric."""
    made = []
    for i in range(6):
        run = store.create_run(
            Run(
                id=ids.new_id(),
                name=None if i == 2 else f"run {i}",
                status=("finished", "failed", "running")[i % 3],
                start_time=T0 + i,
                end_time=None if i % 3 == 2 else T0 + i + 0.5,
                notebook_path=f"/nb/{'a' if i % 2 else 'b'}.ipynb",
            )
        )
        params = [Param("lr", str(i / 10))] + ([Param(f"only{i}", "x")] if i in (0, 5) else [])
        metrics = [Metric("loss", 1.0 - i / 10, 0, T0), Metric("loss", 0.5 - i / 10, 2, T0)]
        if i == 1:
            metrics.append(Metric("acc", math.nan, 0, T0))
        if i == 4:
            metrics.append(Metric("loss", 9.0, 1, T0 + 9))  # a lower step: not the latest
        store.log_batch(run.id, params=params, metrics=metrics)
        made.append(run)
    return made


def same(left: dict, right: dict) -> bool:
    """Column dicts equal, NaN equal to NaN."""
    if set(left) != set(right):
        return False
    for key, values in left.items():
        for a, b in zip(values, right[key], strict=True):
            if not (
                a == b or (isinstance(a, float) and isinstance(b, float) and a != a and b != b)
            ):
                return False
    return True


def test_columns_newest_first_with_params_and_latest_metrics(store):
    runs = add_runs(store)
    columns = store.run_columns()
    assert list(columns)[: len(BASE)] == BASE
    assert set(columns) - set(BASE) == {
        "params.lr",
        "params.only0",
        "params.only5",
        "metrics.loss",
        "metrics.acc",
    }
    newest_first = list(reversed(runs))
    assert columns["id"] == [r.id for r in newest_first]
    assert columns["name"] == [r.name for r in newest_first]
    assert columns["status"] == [r.status for r in newest_first]
    assert columns["start_time"] == [r.start_time for r in newest_first]
    assert columns["end_time"] == [r.end_time for r in newest_first]
    assert columns["notebook_path"] == [r.notebook_path for r in newest_first]
    assert columns["params.lr"] == ["0.5", "0.4", "0.3", "0.2", "0.1", "0.0"]
    assert columns["params.only5"] == ["x", None, None, None, None, None]
    assert columns["metrics.loss"] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    acc = columns["metrics.acc"]
    assert acc[:4] == [None] * 4 and math.isnan(acc[4]) and acc[5] is None
    # the same answer the entity methods give
    assert same(columns, AbstractStore.run_columns(store))


def test_filters_and_limit_match_search_runs(store):
    add_runs(store)
    for filters in (
        {"notebook_path": "/nb/a.ipynb"},
        {"status": "failed"},
        {"status": "running", "notebook_path": "/nb/b.ipynb"},
        {"notebook_path": "/nowhere.ipynb"},
    ):
        columns = store.run_columns(**filters)
        listed = store.search_runs(**filters, limit=100).runs
        assert columns["id"] == [r.id for r in listed], filters
        assert same(columns, AbstractStore.run_columns(store, **filters)), filters
    newest_two = store.run_columns(limit=2)
    assert len(newest_two["id"]) == 2
    # only names the listed runs have become columns
    assert "params.only0" not in newest_two and newest_two["params.only5"] == ["x", None]
    assert store.run_columns(notebook_path="/nowhere.ipynb") == {name: [] for name in BASE}
    # a bulk read: no page-size ceiling
    assert len(store.run_columns(limit=5000)["id"]) == 6


@pytest.mark.parametrize("limit", [0, -1, True, 1.5, "10"])
def test_bad_limit_is_invalid_input(store, limit):
    with pytest.raises(InvalidInput, match="limit"):
        store.run_columns(limit=limit)


def test_unknown_status_is_invalid_input(store):
    with pytest.raises(InvalidInput, match="Unknown run status"):
        store.run_columns(status="done")
