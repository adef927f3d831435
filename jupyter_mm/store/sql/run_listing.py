"""``search_runs``: the keyset-paged run listing, filtered by notebook, status, text and
metric thresholds, ordered newest/oldest or by a metric.

Metric filters and metric orders read ``latest_metrics`` (one row per run and metric, kept
up to date by every write of metric points), never the metric history, so their cost does
not grow with the number of points:

* ordered by a metric: a walk of the (name, value, run_id) index from the page token on;
* filtered by a metric: either through that index (few runs match: fetch them all, then
  sort the page) or a primary-key probe per run while walking the listing index (many
  runs match: the first page is found after a few dozen probes). A bounded count picks
  one, as for the status filter (:func:`.listing.status_condition`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from ...entities import METRIC_OPERATORS, MetricFilter, MetricOrder, RunPage
from ...errors import InvalidInput
from ..validation import check_order, check_status
from . import convert, listing
from .models import LATEST_METRICS as LATEST
from .models import RUNS
from .paging import BAD_TOKEN, decode_token, encode_token, like_escape, pack, unpack

#: a metric filter matched by more runs than this is checked while walking the listing
#: index instead of being answered through the metric index first
_INDEX_AT_MOST = 2000

_METRIC_TOKEN_KIND = "metric"


def check_filters(filters: object) -> list[MetricFilter]:
    """The metric filters as a list; each must name a metric, an operator among
    METRIC_OPERATORS and a finite number."""
    if isinstance(filters, (str, bytes, MetricFilter)) or not isinstance(filters, Sequence):
        raise InvalidInput("Metric filters must be a list of MetricFilter.")
    checked = []
    for item in filters:
        if not isinstance(item, MetricFilter):
            raise InvalidInput(f"Expected MetricFilter records, not {type(item).__name__}.")
        if not isinstance(item.name, str) or not item.name:
            raise InvalidInput("A metric filter needs a metric name.")
        if item.op not in METRIC_OPERATORS:
            raise InvalidInput(
                f"Unknown metric filter operator {item.op!r}; use one of "
                f"{' '.join(METRIC_OPERATORS)}."
            )
        value = item.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidInput(f"The metric filter on {item.name!r} needs a number.")
        if not math.isfinite(value):
            raise InvalidInput(
                f"The metric filter on {item.name!r} needs a finite number, not {value!r}."
            )
        checked.append(MetricFilter(item.name, item.op, float(value)))
    return checked


def _compare(column: Any, op: str, value: float) -> Any:
    return {
        "<": column < value,
        "<=": column <= value,
        ">": column > value,
        ">=": column >= value,
        "==": column == value,
    }[op]


def _filter_condition(conn: Connection, wanted: MetricFilter) -> Any:
    """The WHERE term for one metric filter on the runs table (see the module docstring).
    NULL (NaN) values fail every comparison, so NaN never matches."""
    point = LATEST.alias("filter_metric")
    matching = select(point.c.run_id).where(
        point.c.name == wanted.name, _compare(point.c.value, wanted.op, wanted.value)
    )
    if not listing.more_than(conn, matching, _INDEX_AT_MOST):
        return RUNS.c.id.in_(matching)
    return matching.where(point.c.run_id == RUNS.c.id).exists()


def _encode_metric_token(order: MetricOrder, value: float, run_id: str) -> str:
    return pack(_METRIC_TOKEN_KIND, order.name, order.descending, value, run_id)


def _decode_metric_token(token: str, order: MetricOrder) -> tuple[float, str]:
    kind, name, descending, value, run_id = unpack(token, 5)
    try:
        if (
            kind != _METRIC_TOKEN_KIND
            or name != order.name
            or descending is not order.descending
            or isinstance(value, bool)
            or not isinstance(value, (int, float))
            or math.isnan(value)
            or not isinstance(run_id, str)
        ):
            raise ValueError
        return float(value), convert.check_run_id(run_id)
    except (ValueError, InvalidInput):
        raise InvalidInput(BAD_TOKEN) from None


def _text_condition(text: str) -> Any:
    needle = like_escape(text.lower())
    return or_(
        func.lower(RUNS.c.name).like(f"%{needle}%", escape="\\"),
        func.lower(RUNS.c.note).like(f"%{needle}%", escape="\\"),
        func.lower(RUNS.c.notebook_path).like(f"%{needle}%", escape="\\"),
        func.lower(RUNS.c.id).like(f"{needle}%", escape="\\"),
    )


def _after(key: Any, run_id: Any, after_key: Any, after_id: str, descending: bool) -> tuple:
    """Keyset conditions for the rows after (``key``, ``run_id``) = (``after_key``,
    ``after_id``) in that order. The redundant bound on ``key`` alone lets the index seek;
    the OR alone would scan from the top."""
    if descending:
        return key <= after_key, or_(key < after_key, and_(key == after_key, run_id < after_id))
    return key >= after_key, or_(key > after_key, and_(key == after_key, run_id > after_id))


def _time_ordered(query: Any, order: str, page_token: str | None) -> Any:
    if page_token is not None:
        after_time, after_id = decode_token(page_token, order)
        query = query.where(
            *_after(RUNS.c.start_time, RUNS.c.id, after_time, after_id, order == "newest")
        )
    if order == "newest":
        return query.order_by(RUNS.c.start_time.desc(), RUNS.c.id.desc())
    return query.order_by(RUNS.c.start_time, RUNS.c.id)


def _metric_ordered(
    order: MetricOrder, page_token: str | None, same_metric: list[MetricFilter]
) -> Any:
    """The listing query driven by the (name, value, run_id) index. Filters on the sorted metric become bounds of that same index range."""
    point = LATEST.alias("sort_metric")
    query = (
        select(RUNS, point.c.value.label("sort_value"))
        .select_from(point.join(RUNS, RUNS.c.id == point.c.run_id))
        .where(point.c.name == order.name, point.c.value.is_not(None))
    )
    for wanted in same_metric:
        query = query.where(_compare(point.c.value, wanted.op, wanted.value))
    if page_token is not None:
        after_value, after_id = _decode_metric_token(page_token, order)
        query = query.where(
            *_after(point.c.value, point.c.run_id, after_value, after_id, order.descending)
        )
    if order.descending:
        query = query.order_by(point.c.value.desc(), point.c.run_id.desc())
    else:
        query = query.order_by(point.c.value, point.c.run_id)
    return query


def search_runs(
    conn: Connection,
    *,
    notebook_path: str | None,
    status: str | None,
    text: str | None,
    metric_filters: Sequence[MetricFilter],
    order: object,
    limit: int,
    page_token: str | None,
    user: str | None = None,
) -> RunPage:
    """One page of matching runs; see AbstractStore.search_runs for the contract."""
    checked_order = check_order(order)
    filters = check_filters(metric_filters)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise InvalidInput(f"The page size must be between 1 and 1000, not {limit!r}.")
    check_status(status)
    if page_token is not None and not isinstance(page_token, str):
        raise InvalidInput(BAD_TOKEN)

    if isinstance(checked_order, MetricOrder):
        same = [f for f in filters if f.name == checked_order.name]
        others = [f for f in filters if f.name != checked_order.name]
        query = _metric_ordered(checked_order, page_token, same)
    else:
        others = filters
        query = _time_ordered(select(RUNS), checked_order, page_token)
    if notebook_path is not None:
        query = query.where(RUNS.c.notebook_path == notebook_path)
    if text:
        query = query.where(_text_condition(text))
    if user is not None:
        if not isinstance(user, str):
            raise InvalidInput(f"A user filter is a user name, not {user!r}.")
        query = query.where(RUNS.c.user == user)
    if status is not None:
        query = query.where(
            listing.status_condition(conn, status, narrowed=notebook_path is not None)
        )
    for wanted in others:
        query = query.where(_filter_condition(conn, wanted))
    # one extra row tells whether another page exists without a COUNT
    rows = conn.execute(query.limit(limit + 1)).mappings().all()
    runs = [convert.row_to_run(r) for r in rows[:limit]]
    token = None
    if len(rows) > limit:
        last = rows[limit - 1]
        if isinstance(checked_order, MetricOrder):
            token = _encode_metric_token(checked_order, last["sort_value"], last["id"])
        else:
            token = encode_token(checked_order, last["start_time"], last["id"])
    return RunPage(runs=runs, next_token=token)
