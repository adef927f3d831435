"""Contract of the listing additions to AbstractStore (metric names, metric-restricted latest
values, the audit trail), on every backend."""

from __future__ import annotations

import math
import time

import pytest
from sqlalchemy import insert

from jupyter_mm import ids
from jupyter_mm.entities import Metric, Run
from jupyter_mm.errors import InvalidInput
from jupyter_mm.store.sql.models import EventRow

T0 = 1_700_000_000.0


def make_run(**fields: object) -> Run:
    fields.setdefault("id", ids.new_id())
    fields.setdefault("start_time", time.time())
    return Run(**fields)  # type: ignore[arg-type]


def add_events(store, rows: list[dict]) -> None:
    # The registry methods that write events arrive with the registry issue; until then the
    # tests write the append-only table directly, as those methods will.
    with store._engine.begin() as conn:
        conn.execute(insert(EventRow.__table__), rows)


def event_row(i: int, model: str | None = "clf") -> dict:
    return {
        "time": T0 + i,
        "user": "ana",
        "action": "register",
        "model": model,
        "version": i,
        "from_stage": None,
        "to_stage": "none",
        "reason": None,
    }


def test_latest_metrics_restricted_to_names(store):
    run = store.create_run(make_run())
    other = store.create_run(make_run())
    store.log_batch(
        run.id,
        metrics=[Metric("loss", 0.9, 0, T0), Metric("loss", 0.4, 3, T0), Metric("acc", 0.8)],
    )
    store.log_batch(other.id, metrics=[Metric("f1", float("nan"), 1, T0), Metric("acc", 0.6)])
    latest = store.latest_metrics([run.id, other.id], names=["loss", "f1", "absent"])
    assert latest[run.id] == {"loss": 0.4}
    assert list(latest[other.id]) == ["f1"] and math.isnan(latest[other.id]["f1"])
    assert store.latest_metrics([run.id], names=[]) == {run.id: {}}
    # without names: every metric, exactly as before
    assert store.latest_metrics([run.id]) == {run.id: {"loss": 0.4, "acc": 0.8}}


def test_metric_names_all_and_per_notebook(store):
    a = store.create_run(make_run(notebook_path="/w/a.ipynb"))
    b = store.create_run(make_run(notebook_path="/w/b.ipynb"))
    store.create_run(make_run(notebook_path="/w/empty.ipynb"))
    store.log_batch(a.id, metrics=[Metric("loss", 1.0), Metric("loss", 0.5, 1), Metric("acc", 1)])
    store.log_batch(b.id, metrics=[Metric("rmse", 2.0), Metric("acc", 0.1)])
    assert store.metric_names() == ["acc", "loss", "rmse"]
    assert store.metric_names(notebook_path="/w/a.ipynb") == ["acc", "loss"]
    assert store.metric_names(notebook_path="/w/empty.ipynb") == []
    assert store.metric_names(notebook_path="/elsewhere.ipynb") == []


def test_events_page_newest_first_to_the_end(store):
    add_events(store, [event_row(i, "clf" if i % 3 else "reg") for i in range(1, 26)])
    seen, token, pages = [], None, 0
    while True:
        events, token = store.list_events(limit=7, page_token=token)
        pages += 1
        seen += events
        if token is None:
            break
    assert pages == 4
    assert [e.version for e in seen] == list(range(25, 0, -1))
    assert seen[0].time == T0 + 25 and seen[0].user == "ana" and seen[0].to_stage == "none"

    reg, token = store.list_events(model="reg", limit=100)
    assert token is None
    assert [e.version for e in reg] == [24, 21, 18, 15, 12, 9, 6, 3]
    first, token = store.list_events(model="reg", limit=5)
    rest, end = store.list_events(model="reg", limit=5, page_token=token)
    assert [e.version for e in first + rest] == [e.version for e in reg] and end is None


def test_events_empty_and_bad_arguments(store):
    assert store.list_events() == ([], None)
    for limit in (0, 1001, "5", True):
        with pytest.raises(InvalidInput, match="page size"):
            store.list_events(limit=limit)
    # a run-listing token is not an event token
    add_events(store, [event_row(i) for i in range(1, 4)])
    for _ in range(3):
        store.create_run(make_run())
    run_token = store.search_runs(limit=1).next_token
    for token in ("garbage!", run_token, "WyJldmVudHMiLCJ4Il0"):  # last: ["events","x"]
        with pytest.raises(InvalidInput, match="page token"):
            store.list_events(page_token=token)


def test_latest_metrics_over_long_histories_and_many_names(store):
    run = store.create_run(make_run())
    points = [Metric("loss", 1.0 / (s + 1), s, T0 + s) for s in range(3000)]
    # the same highest step twice: the later timestamp wins
    points += [Metric("acc", 0.1, 7, T0), Metric("acc", 0.2, 7, T0 + 1), Metric("acc", 0.9, 6)]
    points += [Metric(f"m{i:03d}", float(i)) for i in range(250)]
    store.log_batch(run.id, metrics=points)
    latest = store.latest_metrics([run.id])[run.id]
    assert latest["loss"] == 1.0 / 3000 and latest["acc"] == 0.2
    assert len(latest) == 252 and latest["m249"] == 249.0
    # more names than one statement takes: the request is split and the answers merged
    wanted = ["acc", *(f"absent{i}" for i in range(300)), "m249"]
    assert store.latest_metrics([run.id], names=wanted) == {run.id: {"acc": 0.2, "m249": 249.0}}
    # more run ids than one statement takes (ids without runs simply have no metrics)
    many = [ids.new_id() for _ in range(450)] + [run.id]
    by_run = store.latest_metrics(many, names=["acc"])
    assert by_run[run.id] == {"acc": 0.2} and sum(map(bool, by_run.values())) == 1
    assert len(by_run) == 451


@pytest.mark.parametrize("sort_at_most", [3, 2000])
def test_status_filter_pages_alike_whichever_plan_is_chosen(store, monkeypatch, sort_at_most):
    # A common status is filtered while walking the listing index, a rare one through the
    # status index (listing.status_condition); a small threshold makes "finished" common.
    from jupyter_mm.store.sql import listing

    monkeypatch.setattr(listing, "_SORT_AT_MOST", sort_at_most)
    made: dict[str, list[str]] = {"finished": [], "failed": []}
    for i in range(14):
        status = "failed" if i % 5 == 0 else "finished"
        run = store.create_run(make_run(start_time=T0 + i, status=status))
        made[status].append(run.id)
    for status, expected in made.items():
        for order in ("newest", "oldest"):
            seen, token = [], None
            while True:
                page = store.search_runs(status=status, order=order, limit=4, page_token=token)
                seen += [r.id for r in page.runs]
                token = page.next_token
                if token is None:
                    break
            assert seen == (expected[::-1] if order == "newest" else expected)
