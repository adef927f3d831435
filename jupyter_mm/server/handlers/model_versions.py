"""Routes of one registered version: ``POST /models/{name}/versions/{version}/transition``
and ``GET /models/{name}/versions/{version}/lineage``.

A transition the rules or the gates refuse is a 409 whose message is the registry's refusal
sentence; the registry has recorded the refusal in the audit trail before answering.
"""

from __future__ import annotations

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
        body = self.json_body({"stage": str}, {"reason": str})
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
