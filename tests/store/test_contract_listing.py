"""Contract of the listing additions to AbstractStore (metric names, metric-restricted latest
values, the audit trail), on every backend."""

from __future__ import annotations

import math
import time

import pytest
from sqlalchemy import insert

from jupyter_mm import ids
from jupyter_mm.entities import METRIC_OPERATORS, Metric, MetricFilter, MetricOrder, Run
from jupyter_mm.errors import InvalidInput
from jupyter_mm.store.sql.models import EVENTS

T0 = 1_700_000_000.0


def make_run(**fields: object) -> Run:
    fields.setdefault("id", ids.new_id())
    fields.setdefault("start_time", time.time())
    return Run(**fields)  # type: ignore[arg-type]


def add_events(store, rows: list[dict]) -> None:
    # The registry methods that write events arrive with the registry issue; until then the
    # tests write the append-only table directly, as those methods will.
    with store._engine.begin() as conn:
        conn.execute(insert(EVENTS), rows)


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


# -- listings filtered and ordered by a metric (latest_metrics) ---------------------------


def collect(store, **query: object) -> list[str]:
    """Every run id of a listing, page by page (limit 3 puts ties across page boundaries)."""
    seen, token = [], None
    while True:
        page = store.search_runs(limit=3, page_token=token, **query)
        seen += [r.id for r in page.runs]
        token = page.next_token
        if token is None:
            return seen


def metric_runs(store) -> dict[str, object]:
    """Twelve runs with an ``acc`` full of ties, a NaN, missing metrics and histories whose
    earlier points would match filters their latest point does not."""
    accs = [0.5, 0.9, 0.5, None, 0.7, 0.9, math.nan, 0.5, 0.1, 0.9, 0.7, 0.5]
    runs = []
    for i, acc in enumerate(accs):
        run = store.create_run(
            make_run(
                start_time=T0 + i,
                notebook_path="/w/a.ipynb" if i % 2 else "/w/b.ipynb",
                status="failed" if i % 3 == 0 else "finished",
            )
        )
        points = [Metric("loss", float(12 - i), 1, T0)]
        if acc is not None:
            # a better value at an earlier step, logged after the latest point
            points += [Metric("acc", acc, 5, T0 + 5)]
        store.log_batch(run.id, metrics=points)
        if acc is not None:
            store.log_batch(run.id, metrics=[Metric("acc", 0.99, 2, T0 + 9)])
        runs.append(run)
    return {"runs": runs, "accs": accs}


def by_value(runs, values, *, descending: bool) -> list[str]:
    kept = [
        (v, r.id) for r, v in zip(runs, values, strict=True) if v is not None and not math.isnan(v)
    ]
    return [run_id for _, run_id in sorted(kept, reverse=descending)]


@pytest.mark.parametrize("index_at_most", [0, 2000])
def test_metric_filters_compare_the_latest_value(store, monkeypatch, index_at_most):
    # Both plans (through the metric index, or probing while walking the listing) must
    # give the same answers; _INDEX_AT_MOST 0 forces the probing one.
    from jupyter_mm.store.sql import run_listing

    monkeypatch.setattr(run_listing, "_INDEX_AT_MOST", index_at_most)
    data = metric_runs(store)
    runs, accs = data["runs"], data["accs"]

    def expect(test, **fields: object) -> list[str]:
        """Ids of the runs whose (acc, loss) pass ``test`` and whose fields match, newest
        first; a missing or NaN acc is None."""
        kept = []
        for i, (run, acc) in enumerate(zip(runs, accs, strict=True)):
            acc = None if acc is None or math.isnan(acc) else acc
            if test(acc, 12.0 - i) and all(getattr(run, k) == v for k, v in fields.items()):
                kept.append(run.id)
        return kept[::-1]

    cases = {
        "<": lambda a, _: a is not None and a < 0.7,
        "<=": lambda a, _: a is not None and a <= 0.7,
        ">": lambda a, _: a is not None and a > 0.7,
        ">=": lambda a, _: a is not None and a >= 0.7,
        "==": lambda a, _: a is not None and a == 0.7,
    }
    for op, test in cases.items():
        found = collect(store, metric_filters=[MetricFilter("acc", op, 0.7)])
        assert found == expect(test) and found, op
    # 0.99 was logged at an earlier step: it is history, not the latest value
    assert collect(store, metric_filters=[MetricFilter("acc", ">", 0.95)]) == []
    # AND-ed, with the notebook and status filters, in both time orders
    both = [MetricFilter("acc", ">=", 0.5), MetricFilter("loss", "<=", 8)]

    def both_test(a: float | None, loss: float) -> bool:
        return a is not None and a >= 0.5 and loss <= 8

    want = expect(both_test)
    assert len(want) == 6
    assert collect(store, metric_filters=both) == want
    assert collect(store, metric_filters=both, order="oldest") == want[::-1]
    for fields in ({"notebook_path": "/w/a.ipynb"}, {"status": "failed"}):
        narrowed = collect(store, metric_filters=both, **fields)
        assert narrowed == expect(both_test, **fields) and narrowed
    assert collect(store, metric_filters=[MetricFilter("absent", ">", 0)]) == []


@pytest.mark.parametrize("descending", [True, False])
def test_metric_order_pages_through_ties_and_leaves_out_missing(store, descending):
    data = metric_runs(store)
    runs, accs = data["runs"], data["accs"]
    order = MetricOrder("acc", descending=descending)
    want = by_value(runs, accs, descending=descending)
    assert len(want) == 10  # the run without acc and the NaN one are not listed
    assert collect(store, order=order) == want
    # the text form is the same order
    text = f"metric:acc:{'desc' if descending else 'asc'}"
    assert collect(store, order=text) == want
    # with a filter on the sorted metric (an index range) and on another metric
    assert collect(store, order=order, metric_filters=[MetricFilter("acc", "<", 0.9)]) == [
        i for i in want if accs[[r.id for r in runs].index(i)] < 0.9
    ]
    losses = {r.id: float(12 - n) for n, r in enumerate(runs)}
    assert collect(store, order=order, metric_filters=[MetricFilter("loss", ">", 5)]) == [
        i for i in want if losses[i] > 5
    ]
    nb = [i for i in want if store.get_run(i).notebook_path == "/w/a.ipynb"]
    assert collect(store, order=order, notebook_path="/w/a.ipynb") == nb
    failed = [i for i in want if store.get_run(i).status == "failed"]
    assert collect(store, order=order, status="failed") == failed
    assert store.search_runs(order=MetricOrder("absent")).runs == []


def test_latest_metrics_follows_every_write_of_points(store):
    run = store.create_run(make_run())
    store.log_batch(run.id, metrics=[Metric("acc", 0.5, 5, T0), Metric("acc", 0.6, 5, T0 + 1)])
    # an older step logged later, and a replay of the latest point, change nothing
    store.log_batch(run.id, metrics=[Metric("acc", 0.99, 3, T0 + 9)])
    store.log_batch(run.id, metrics=[Metric("acc", 0.1, 5, T0 + 1)])
    assert store.latest_metrics([run.id]) == {run.id: {"acc": 0.6}}
    assert collect(store, metric_filters=[MetricFilter("acc", "==", 0.6)]) == [run.id]
    # finish_run writes points too
    store.finish_run(run, metrics=[Metric("acc", 0.7, 6, T0), Metric("f1", math.nan, 0, T0)])
    latest = store.latest_metrics([run.id])[run.id]
    assert latest["acc"] == 0.7 and math.isnan(latest["f1"])
    assert collect(store, metric_filters=[MetricFilter("acc", ">=", 0.7)]) == [run.id]
    # NaN matches no comparison
    for op in METRIC_OPERATORS:
        assert collect(store, metric_filters=[MetricFilter("f1", op, 0)]) == []
    # a later NaN replaces a number: the run leaves the listing ordered by that metric
    store.log_batch(run.id, metrics=[Metric("acc", math.nan, 7, T0)])
    assert collect(store, order=MetricOrder("acc")) == []
    store.delete_run(run.id)
    assert store.check_integrity() == []
    assert store.latest_metrics([run.id]) == {run.id: {}}


def test_metric_listing_refuses_bad_arguments(store):
    for i in range(3):
        run = store.create_run(make_run())
        store.log_batch(run.id, metrics=[Metric("acc", i / 10), Metric("loss", 1.0)])
    bad_filters = [
        [MetricFilter("acc", "=>", 1)],
        [MetricFilter("acc", ">", math.nan)],
        [MetricFilter("acc", ">", math.inf)],
        [MetricFilter("acc", ">", "1")],
        [MetricFilter("", ">", 1)],
        ["acc>1"],
        "acc>1",
    ]
    for filters in bad_filters:
        with pytest.raises(InvalidInput):
            store.search_runs(metric_filters=filters)
    for order in ("metric:", "metric", MetricOrder("")):
        with pytest.raises(InvalidInput, match="order"):
            store.search_runs(order=order)
    # a token belongs to its order: time vs metric, another metric, another direction
    acc_token = store.search_runs(order=MetricOrder("acc"), limit=1).next_token
    newest_token = store.search_runs(limit=1).next_token
    assert acc_token and newest_token
    mismatched = [
        ({"order": MetricOrder("acc")}, newest_token),
        ({"order": "newest"}, acc_token),
        ({"order": MetricOrder("loss")}, acc_token),
        ({"order": MetricOrder("acc", descending=False)}, acc_token),
        ({"order": MetricOrder("acc")}, "not-a-token"),
    ]
    for query, token in mismatched:
        with pytest.raises(InvalidInput, match="page token"):
            store.search_runs(page_token=token, **query)


def test_metric_filter_and_order_text_forms():
    assert MetricFilter.parse("acc>=0.9") == MetricFilter("acc", ">=", 0.9)
    assert MetricFilter.parse(" val/loss < -1e-3 ") == MetricFilter("val/loss", "<", -0.001)
    assert MetricFilter.parse("a>b==2") == MetricFilter("a>b", "==", 2.0)
    for text in ("acc", "acc>=", ">=1", "acc=1", "acc>=x", "acc>=1 2", "acc=>1"):
        with pytest.raises(ValueError):
            MetricFilter.parse(text)
    assert MetricOrder.parse("metric:acc") == MetricOrder("acc", descending=True)
    assert MetricOrder.parse("metric:acc:asc") == MetricOrder("acc", descending=False)
    assert MetricOrder.parse("metric:a:b:desc") == MetricOrder("a:b", descending=True)
    assert str(MetricOrder("acc", descending=False)) == "metric:acc:asc"
    for text in ("metric:", "acc", "newest"):
        with pytest.raises(ValueError):
            MetricOrder.parse(text)
