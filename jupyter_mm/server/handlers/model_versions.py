"""Routes of one registered version: ``POST /models/{name}/versions/{version}/transition``
and ``GET /models/{name}/versions/{version}/lineage``; and ``GET /models/{name}/endpoints``,
the serving processes of a model.

A transition the rules or the gates refuse is a 409 whose message is the registry's refusal
sentence; the registry has recorded the refusal in the audit trail before answering.
"""

from __future__ import annotations

from typing import cast

from jupyter_server.auth.decorator import authorized
from tornado import web

from ... import registry
from ...registry.lineage import lineage
from ...store.abstract import AbstractStore
from ...store.registry_contract import check_stage
from .. import schema
from ..wire import PathMapper, lineage_body, version_body
from .models import RegistryHandler, parse_version


class TransitionHandler(RegistryHandler):
    """Move a version to another stage (promote, demote, archive)."""

    @web.authenticated
    @authorized
    async def post(self, name: str, version: str) -> None:
        name, number = self.model_name(name), parse_version(version)
        body = self.json_body({"stage": str}, {"reason": str, "force": bool})
        # an unknown stage is a malformed request (400), not a refusal worth an audit event
        stage = check_stage(body["stage"])
        rules = await self.registry_rules()
        store = await self.get_store()
        moved = await self.call_store(
            registry.transition,
            name,
            number,
            stage,
            body.get("reason"),
            store=store,
            registry=rules,
            actor=self.actor,
            force=bool(body.get("force")),
        )
        self.write_json(version_body(moved))


def version_lineage(
    store: AbstractStore, name: str, version: int, paths: PathMapper
) -> schema.Lineage:
    return lineage_body(lineage(f"{name}/{version}", store=store), paths)


class LineageHandler(RegistryHandler):
    """Version -> run -> checkpoint -> data -> environment, as ``jupyter mm lineage``."""

    @web.authenticated
    @authorized
    async def get(self, name: str, version: str) -> None:
        name, number = self.model_name(name), parse_version(version)
        store = await self.get_store()
        self.write_json(await self.call_store(version_lineage, store, name, number, self.paths))


def model_endpoints(store: AbstractStore, name: str) -> schema.ServingEndpointList:
    from ...serving.endpoints import endpoints_of

    store.get_model(name)  # 404 for an unknown model, as every /models/{name} route
    return {
        "model": name,
        "endpoints": [
            {
                "id": endpoint.id,
                "reference": endpoint.reference,
                "url": str((endpoint.state or {}).get("url") or ""),
                "host": endpoint.host,
                "port": endpoint.port,
                "pid": endpoint.pid,
                "started": endpoint.started,
                "heartbeat": endpoint.heartbeat,
                "live": live,
                "requests": int((endpoint.state or {}).get("requests") or 0),
                "requests_per_second": float(
                    (endpoint.state or {}).get("requests_per_second") or 0.0
                ),
                "arms": cast("list[schema.ServingArm]", arms),
            }
            for endpoint, arms, live in endpoints_of(store, name)
        ],
    }


class EndpointsHandler(RegistryHandler):
    """Which `jupyter mm serve` processes serve this model, their split and request rate."""

    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        name = self.model_name(name)
        store = await self.get_store()
        self.write_json(await self.call_store(model_endpoints, store, name))
