"""``GET /runs``, ``GET /runs/metric-names`` and ``GET /runs/{id}``.

A listing page costs two queries whatever its position: the keyset-paged runs (an index on
(notebook_path, start_time, id) or (start_time, id) answers it; ordered by a metric, the
(name, value, run_id) index of ``latest_metrics``) and the latest values of the page's
metrics. Both run in one worker thread. ``metric_filter=acc>=0.9`` (repeatable, or
comma-separated) and ``order=metric:acc:desc`` filter and order by latest metric values.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...entities import MetricFilter, MetricOrder
from ...errors import InvalidInput
from ...store.abstract import AbstractStore
from .. import schema
from ..wire import PathMapper, detail_body, summary_body
from . import params
from .base import MMAPIHandler


def list_runs(
    store: AbstractStore,
    paths: PathMapper,
    *,
    notebook: str | None,
    status: str | None,
    text: str | None,
    metric_filters: list[MetricFilter],
    order: str | MetricOrder,
    limit: int,
    page_token: str | None,
    metric_names: list[str] | None,
    user: str | None = None,
) -> schema.RunPage:
    """One page of listing rows (blocking; call it in a worker thread)."""
    page = store.search_runs(
        notebook_path=None if notebook is None else paths.absolute(notebook),
        status=status,
        text=text,
        metric_filters=metric_filters,
        order=order,
        limit=limit,
        page_token=page_token,
        user=user,
    )
    ids = [run.id for run in page.runs]
    latest = store.latest_metrics(ids, names=metric_names) if ids and metric_names != [] else {}
    return {
        "runs": [summary_body(r, latest.get(r.id, {}), metric_names, paths) for r in page.runs],
        "next_token": page.next_token,
    }


def notebook_filter(value: str | None) -> str | None:
    """The ``notebook`` parameter: absent means every notebook; empty is a mistake."""
    if value is None:
        return None
    text = params.parse_text("notebook", value)
    if text is None:
        raise InvalidInput(
            "The notebook filter is empty; give a notebook path or leave the parameter out."
        )
    return text


class RunsHandler(MMAPIHandler):
    """The sidebar's listing, newest first by default."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        arg = self.get_query_argument
        options = {
            "notebook": notebook_filter(arg("notebook", None)),
            "status": params.parse_status(arg("status", None)),
            "text": params.parse_text("q", arg("q", None)),
            "metric_filters": params.parse_metric_filters(
                self.get_query_arguments("metric_filter")
            ),
            "order": params.parse_order(arg("order", None)),
            "limit": params.parse_limit(arg("limit", None)),
            "page_token": params.parse_token(arg("page_token", None)),
            "metric_names": params.parse_metric_names(arg("metrics", None)),
            # ``mine=1``: the runs recorded for the authenticated user ("my runs")
            "user": self.actor if params.parse_bool("mine", arg("mine", None)) else None,
        }
        store = await self.existing_store()
        if store is None:  # nothing recorded yet: a listing creates no store
            empty: schema.RunPage = {"runs": [], "next_token": None}
            self.write_json(empty)
            return
        body = await self.call_store(list_runs, store, self.paths, **options)
        self.write_json(body)


class MetricNamesHandler(MMAPIHandler):
    """Distinct metric names, for choosing the listing's columns."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        notebook = notebook_filter(self.get_query_argument("notebook", None))
        store = await self.existing_store()
        names = (
            []
            if store is None
            else await self.call_store(
                store.metric_names,
                notebook_path=None if notebook is None else self.paths.absolute(notebook),
            )
        )
        body: schema.MetricNames = {"names": names}
        self.write_json(body)


def run_detail(store: AbstractStore, ref: str, paths: PathMapper) -> schema.RunDetail:
    run = store.resolve_run(ref)
    return detail_body(store.get_run_detail(run.id), paths)


class RunHandler(MMAPIHandler):
    """One run with everything recorded for it; ``ref`` is an id, a unique prefix or
    ``latest``."""

    @web.authenticated
    @authorized
    async def get(self, ref: str) -> None:
        store = await self.get_store()
        self.write_json(await self.call_store(run_detail, store, ref, self.paths))
