"""The model registry over REST (``docs/architecture.md#the-rest-api-and-the-wire-schema``):
``/models``, ``/models/{name}``, rollback and aliases. Version routes (transition,
lineage) are in :mod:`.model_versions`.

Every write goes through the :mod:`jupyter_mm.registry` functions, the same code the Python
API and the CLI run, so the rules, the gates and the audit trail cannot differ between a
notebook, a terminal and the sidebar. Registry routes are their own authorization resource
(``jupyter_mm:registry``): ``@authorized`` maps GET to "read" and POST/PUT/DELETE to "write",
so an Authorizer refusing writes on it makes the registry read-only for a user.
"""

from __future__ import annotations

import json
from typing import Any, cast

from jupyter_server.auth.decorator import authorized
from tornado import web
from traitlets.config import Config

from ... import registry
from ...errors import InvalidInput, MMError
from ...store.abstract import AbstractStore
from ...store.registry_contract import check_alias, check_model_name, rollback_target
from .. import schema
from ..wire import model_summary_body, version_body, version_row_body
from .base import MMAPIHandler, parse_json_body

#: largest JSON body a registry write accepts: the fields are names and one reason sentence
MAX_BODY_BYTES = 64 * 1024


class UnsupportedMediaType(InvalidInput):
    http_status = 415


class PayloadTooLarge(InvalidInput):
    http_status = 413


class RegistryConfigError(MMError):
    """The server's registry configuration (gates) is broken: an operator's fault, 500."""


def parse_version(value: str) -> int:
    """A version number from a URL path segment."""
    if not value.isdigit() or int(value) < 1 or len(value) > 18:
        raise InvalidInput(f"A model version is a positive whole number, not {value[:40]!r}.")
    return int(value)


def server_registry(server_config: Config) -> registry.Registry:
    """The registry rules for this request, loaded as every process loads them
    (:func:`jupyter_mm.config.load_config`: ``jupyter_mm_config`` files, the server's own
    config on top), so a promotion from the browser meets the same gates as one from a
    notebook. Read per request: a changed gate applies without a server restart."""
    from ...config import load_config
    from ...registry.rules import make_registry

    try:
        return make_registry(load_config(server_config))
    except InvalidInput as exc:
        raise RegistryConfigError(
            f"The server's registry configuration is invalid, so registry changes are "
            f"refused until an operator fixes it: {exc}"
        ) from None


class RegistryHandler(MMAPIHandler):
    """Base of the registry routes: one authorization resource and JSON body parsing."""

    auth_resource = "jupyter_mm:registry"

    def model_name(self, value: str) -> str:
        # tornado has already URL-decoded the path segment once
        return check_model_name(value)

    def json_body(
        self, required: dict[str, type | tuple[type, ...]], optional: dict[str, Any]
    ) -> dict[str, Any]:
        """The request's JSON object with ``required`` keys (of the given types) and
        ``optional`` keys (type or None); anything else is a 4xx naming the problem."""
        content_type = self.request.headers.get("Content-Type", "application/json")
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise UnsupportedMediaType(
                f"A registry request body is JSON: send Content-Type application/json, "
                f"not {content_type[:60]!r}."
            )
        if len(self.request.body) > MAX_BODY_BYTES:
            raise PayloadTooLarge(
                f"The request body has {len(self.request.body)} bytes; registry requests "
                f"are limited to {MAX_BODY_BYTES} bytes."
            )
        body = parse_json_body(self.request.body)
        if not isinstance(body, dict):
            raise InvalidInput("The request body must be a JSON object.")
        missing = [key for key in required if body.get(key) is None]
        if missing:
            raise InvalidInput(f"The request body is missing {', '.join(missing)}.")
        unknown = sorted(set(body) - set(required) - set(optional))
        if unknown:
            expected = ", ".join([*required, *optional])
            raise InvalidInput(
                f"The request body has unknown field(s) {', '.join(unknown)} "
                f"(expected: {expected})."
            )
        for key, kind in [*required.items(), *optional.items()]:
            value = body.get(key)
            if value is None and key in optional:
                continue
            # bool is an int in Python, but never a version number
            if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
                names = (
                    kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
                )
                raise InvalidInput(
                    f"The field {key} must be {_JSON_NAMES.get(names, names)}, "
                    f"not {json.dumps(value)[:40]}."
                )
        return body

    async def registry_rules(self) -> registry.Registry:
        return await self.call_store(server_registry, self.config)


_JSON_NAMES = {"str": "a string", "int": "a whole number", "bool": "true or false"}


# -- reading --------------------------------------------------------------------------------


def list_models(store: AbstractStore) -> schema.ModelList:
    return {
        "models": [
            model_summary_body(model, store.list_versions(model.name))
            for model in store.list_models()
        ]
    }


def model_detail(store: AbstractStore, name: str) -> schema.ModelDetail:
    detail = registry.get_model(name, store=store)
    run_ids = sorted({v.run_id for v in detail.versions})
    latest = store.latest_metrics(run_ids) if run_ids else {}
    run_names: dict[str, str | None] = {}
    for run_id in run_ids:
        run_names[run_id] = store.get_run(run_id).name
    production = next((v.version for v in detail.versions if v.stage == "production"), None)
    return {
        "model": cast("schema.Model", detail.model.to_dict()),
        "versions": [
            version_row_body(v, run_names[v.run_id], latest.get(v.run_id, {}))
            for v in detail.versions
        ],
        "events": [cast("schema.Event", e.to_dict()) for e in detail.events],
        "rollback_to": rollback_target(detail.events, production),
    }


# -- handlers -------------------------------------------------------------------------------


class ModelsHandler(RegistryHandler):
    """``GET /models`` (every model with its stages and aliases) and ``POST /models``
    (register a run's artifact as the next version)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        store = await self.existing_store()
        if store is None:  # nothing recorded yet: a listing creates no store
            empty: schema.ModelList = {"models": []}
            self.write_json(empty)
            return
        self.write_json(await self.call_store(list_models, store))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body({"run_id": str, "artifact": str, "name": str}, {"description": str})
        name = check_model_name(body["name"])
        store = await self.get_store()
        version = await self.call_store(
            registry.register_model,
            body["run_id"],
            body["artifact"],
            name,
            body.get("description"),
            store=store,
            actor=self.actor,
            registry=await self.registry_rules(),
        )
        self.write_json(version_body(version), status=201)


class ModelHandler(RegistryHandler):
    """``GET /models/{name}``: versions with their run's name and latest metrics, and the
    audit trail."""

    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        name = self.model_name(name)
        store = await self.get_store()
        self.write_json(await self.call_store(model_detail, store, name))


def rollback_model(
    store: AbstractStore, name: str, reason: str | None, actor: str, rules: registry.Registry
) -> schema.RollbackResult:
    done = registry.rollback_versions(name, reason, store=store, actor=actor, registry=rules)
    return {
        "model": name,
        "production": version_body(done.restored),
        "archived": version_body(done.archived),
    }


class RollbackHandler(RegistryHandler):
    """``POST /models/{name}/rollback``: the previous production version comes back."""

    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        name = self.model_name(name)
        body = self.json_body({}, {"reason": str})
        rules = await self.registry_rules()
        store = await self.get_store()
        self.write_json(
            await self.call_store(
                rollback_model, store, name, body.get("reason"), self.actor, rules
            )
        )


class AliasHandler(RegistryHandler):
    """``PUT /models/{name}/aliases/{alias}`` points the alias at a version (moving it off
    the version that had it); ``DELETE`` removes it (204)."""

    @web.authenticated
    @authorized
    async def put(self, name: str, alias: str) -> None:
        name, alias = self.model_name(name), check_alias(alias)
        body = self.json_body({"version": int}, {"reason": str})
        if body["version"] < 1:
            raise InvalidInput(
                f"A model version is a positive whole number, not {body['version']}."
            )
        store = await self.get_store()
        version = await self.call_store(
            registry.set_alias,
            name,
            body["version"],
            alias,
            body.get("reason"),
            store=store,
            actor=self.actor,
            registry=await self.registry_rules(),
        )
        self.write_json(version_body(version))

    @web.authenticated
    @authorized
    async def delete(self, name: str, alias: str) -> None:
        name, alias = self.model_name(name), check_alias(alias)
        store = await self.get_store()
        rules = await self.registry_rules()
        await self.call_store(
            registry.remove_alias, name, alias, store=store, actor=self.actor, registry=rules
        )
        self.set_status(204)
        self.finish()
