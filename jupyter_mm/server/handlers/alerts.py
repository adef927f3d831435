"""``GET /alerts?model=&after=&limit=``: monitor alerts (open and cleared), newest first.

The lab polls it with ``after`` = the last id it saw and shows a notification per new open
alert (``labextension/src/alertsPlugin.ts``)."""

from __future__ import annotations

import json
from typing import Any, cast

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...errors import InvalidInput
from ...store.abstract import AbstractStore
from .. import schema
from . import params
from .base import MMAPIHandler


def alert_body(event: Any) -> schema.Alert:
    try:
        evidence = json.loads(event.reason or "{}")
    except ValueError:
        evidence = {}
    if not isinstance(evidence, dict):
        evidence = {}
    actions = evidence.get("actions")
    return {
        "id": event.id,
        "time": event.time,
        "state": "open" if event.action == "alert" else "cleared",
        "model": event.model,
        "version": event.version,
        "rule": cast(Any, evidence.get("rule")),
        "summary": cast(Any, evidence.get("summary")),
        "actions": [str(a) for a in actions] if isinstance(actions, list) else [],
        "user": event.user,
        "evidence": evidence,
    }


def list_alerts(
    store: AbstractStore, *, model: str | None, after: int | None, limit: int
) -> schema.AlertList:
    events = store.alert_events(model=model, after=after, limit=limit)
    last = max((e.id for e in events), default=after)
    return {"alerts": [alert_body(e) for e in events], "last_id": last}


def _parse_after(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not value.strip().isdigit():
        raise InvalidInput(f"'after' must be an event id (a whole number), not {value[:40]!r}.")
    return int(value)


class AlertsHandler(MMAPIHandler):
    auth_resource = "jupyter_mm:events"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        arg = self.get_query_argument
        after = _parse_after(arg("after", None))
        options = {
            "model": params.parse_text("model", arg("model", None)),
            "after": after,
            "limit": params.parse_limit(arg("limit", None)),
        }
        store = await self.existing_store()
        if store is None:  # nothing recorded yet: a listing creates no store
            empty: schema.AlertList = {"alerts": [], "last_id": after}
            self.write_json(empty)
            return
        self.write_json(await self.call_store(list_alerts, store, **options))
