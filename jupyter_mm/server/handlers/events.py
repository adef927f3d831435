"""``GET /events?model=&limit=&page_token=``: the registry's audit trail, newest first."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...store.abstract import AbstractStore
from .. import schema
from ..wire import event_page_body
from . import params
from .base import MMAPIHandler


def list_events(
    store: AbstractStore, *, model: str | None, limit: int, page_token: str | None
) -> schema.EventPage:
    events, token = store.list_events(model=model, limit=limit, page_token=page_token)
    return event_page_body(events, token)


class EventsHandler(MMAPIHandler):
    auth_resource = "jupyter_mm:events"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        arg = self.get_query_argument
        options = {
            "model": params.parse_text("model", arg("model", None)),
            "limit": params.parse_limit(arg("limit", None)),
            "page_token": params.parse_token(arg("page_token", None)),
        }
        store = await self.existing_store()
        if store is None:  # nothing recorded yet: a listing creates no store
            empty: schema.EventPage = {"events": [], "next_token": None}
            self.write_json(empty)
            return
        self.write_json(await self.call_store(list_events, store, **options))
