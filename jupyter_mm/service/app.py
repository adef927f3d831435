"""``jupyter mm registry-service``: a small tornado app run by JupyterHub.

JupyterHub starts it as a managed service and passes ``JUPYTERHUB_API_URL``,
``JUPYTERHUB_API_TOKEN`` (the service's own token), ``JUPYTERHUB_SERVICE_URL`` (where to
listen) and ``JUPYTERHUB_SERVICE_PREFIX`` (the path the hub's proxy routes to it). The
store URL comes from the service's environment (``JUPYTER_MM_STORE``, with the registry's
write credentials) or ``c.MMConfig.store_url``, read by the one configuration loader.

Routes, under the prefix (each needs ``Authorization: token <hub token>``):

- ``GET  api/whoami``: the caller as the hub names them, their groups and roles;
- ``POST api/register``, ``api/transition``, ``api/alias``, ``api/unalias``, ``api/request``,
  ``api/decide`` (approval requests),
  ``api/rollback``: the registry writes of :mod:`jupyter_mm.registry`, recorded for the
  token's owner.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from tornado import httpserver, web

from .. import registry
from ..errors import Forbidden, InvalidInput, MMError
from ..permissions import Permissions, Principal, describe_roles, role_for_transition
from ..registry import approvals
from ..registry.rules import Registry
from ..store.abstract import AbstractStore
from ..store.registry_contract import check_alias, check_model_name, check_stage
from .hub import HubUsers

log = logging.getLogger("jupyter_mm.service")

#: largest request body: names and one reason sentence
MAX_BODY_BYTES = 64 * 1024


class Unauthenticated(MMError):
    http_status = 401


@dataclass
class ServiceState:
    """What every handler shares: the store, the rules and how callers are identified."""

    store: AbstractStore
    rules: Registry
    permissions: Permissions
    users: HubUsers


class ServiceHandler(web.RequestHandler):
    """JSON in, JSON out; every MMError becomes ``{"error": {"status", "message"}}``."""

    state: ServiceState

    def initialize(self, state: ServiceState) -> None:
        self.state = state

    def check_xsrf_cookie(self) -> None:
        # token-authenticated API only: no cookies are read, so there is nothing to forge
        return None

    async def caller(self) -> Principal:
        """The token's owner, asked of the hub; a token of no user is refused (401)."""
        header = self.request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() not in ("token", "bearer") or not token.strip():
            raise Unauthenticated("Send a JupyterHub token: Authorization: token <token>.")
        principal = await self.state.users.principal_for_token(token.strip())
        if principal is None:
            raise Unauthenticated("The hub does not know this token, or it is not a user's.")
        return principal

    def body(self, required: dict[str, type], optional: dict[str, type]) -> dict[str, Any]:
        if len(self.request.body) > MAX_BODY_BYTES:
            raise InvalidInput(f"The request body is over {MAX_BODY_BYTES} bytes.")
        try:
            body = json.loads(self.request.body or b"null")
        except ValueError:
            raise InvalidInput("The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise InvalidInput("The request body must be a JSON object.")
        unknown = sorted(set(body) - set(required) - set(optional) - {"acting_as"})
        if unknown:
            raise InvalidInput(f"Unknown field(s) in the request body: {', '.join(unknown)}.")
        for key, kind in [*required.items(), *optional.items()]:
            value = body.get(key)
            if value is None and key in optional:
                continue
            if not isinstance(value, kind) or isinstance(value, bool):
                raise InvalidInput(f"The field {key} must be a {kind.__name__}.")
        return body

    async def acting(self, body: dict[str, Any]) -> Principal:
        """The caller, refusing a body that claims to act as someone else."""
        principal = await self.caller()
        claimed = body.get("acting_as")
        if claimed is not None and claimed != principal.name:
            raise Forbidden(
                f"This token belongs to {principal.name}; it cannot act as {claimed!r}."
            )
        return principal

    async def authorized(self, body: dict[str, Any], role: str, model: str) -> Principal:
        """The caller (see :meth:`acting`), refused unless they hold ``role`` on ``model``."""
        principal = await self.acting(body)
        self.state.permissions.check(principal, role, model)
        return principal

    async def run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, lambda: fn(*args, **kwargs))

    async def write_as(self, principal: Principal, fn: Any, *args: Any) -> Any:
        """``fn(*args)``, a registry write of :mod:`jupyter_mm.registry`, on the service's
        store and rules, recorded for ``principal``."""
        return await self.run(
            fn, *args, store=self.state.store, registry=self.state.rules, actor=principal.name
        )

    def write_json(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(body, allow_nan=False))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, MMError):
            status, message = exc.http_status, exc.client_message()
        elif isinstance(exc, web.HTTPError):
            status, message = exc.status_code, exc.log_message or exc.reason or "error"
        else:
            status, message = 500, "The registry service failed; its log has details."
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps({"error": {"status": status, "message": message}}))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, MMError) and value.http_status < 500:
            log.warning("%s %s: %s", self.request.method, self.request.path, value)
            return
        super().log_exception(typ, value, tb)


class WhoamiHandler(ServiceHandler):
    async def get(self) -> None:
        principal = await self.caller()
        self.write_json(
            {
                "name": principal.name,
                "groups": sorted(principal.groups),
                "roles": describe_roles(self.state.permissions, principal),
            }
        )


class RegisterHandler(ServiceHandler):
    async def post(self) -> None:
        body = self.body({"run_id": str, "artifact": str, "name": str}, {"description": str})
        name = check_model_name(body["name"])
        principal = await self.authorized(body, "register", name)
        version = await self.write_as(
            principal,
            registry.register_model,
            body["run_id"],
            body["artifact"],
            name,
            body.get("description"),
        )
        self.write_json(version.to_dict(), status=201)


class TransitionHandler(ServiceHandler):
    async def post(self) -> None:
        body = self.body({"name": str, "version": int, "stage": str}, {"reason": str})
        name, stage = check_model_name(body["name"]), check_stage(body["stage"])
        principal = await self.acting(body)
        try:
            self.state.permissions.check(principal, role_for_transition(stage), name)
        except Forbidden as exc:
            # in the audit trail like every refused transition, for the token's owner
            await self.run(
                registry.record_forbidden,
                self.state.store,
                name,
                body["version"],
                stage,
                exc,
                body.get("reason"),
                principal.name,
            )
            raise
        version = await self.write_as(
            principal, registry.transition, name, body["version"], stage, body.get("reason")
        )
        self.write_json(version.to_dict())


class AliasHandler(ServiceHandler):
    async def post(self) -> None:
        body = self.body({"name": str, "version": int, "alias": str}, {"reason": str})
        name, alias = check_model_name(body["name"]), check_alias(body["alias"])
        principal = await self.authorized(body, "manage", name)
        version = await self.write_as(
            principal, registry.set_alias, name, body["version"], alias, body.get("reason")
        )
        self.write_json(version.to_dict())


class UnaliasHandler(ServiceHandler):
    async def post(self) -> None:
        body = self.body({"name": str, "alias": str}, {})
        name, alias = check_model_name(body["name"]), check_alias(body["alias"])
        principal = await self.authorized(body, "manage", name)
        version = await self.write_as(principal, registry.remove_alias, name, alias)
        self.write_json(version.to_dict())


class RollbackHandler(ServiceHandler):
    async def post(self) -> None:
        body = self.body({"name": str}, {"reason": str})
        name = check_model_name(body["name"])
        principal = await self.authorized(body, "approve", name)
        done = await self.write_as(principal, registry.rollback_versions, name, body.get("reason"))
        self.write_json({"restored": done.restored.to_dict(), "archived": done.archived.to_dict()})


class RequestHandler(ServiceHandler):
    """A request for a transition that needs approval: asking takes the role of moving to
    staging (``stage``); the approver needs ``approve``."""

    async def post(self) -> None:
        body = self.body({"name": str, "version": int, "stage": str, "reason": str}, {})
        name, stage = check_model_name(body["name"]), check_stage(body["stage"])
        principal = await self.authorized(body, "stage", name)
        request = await self.write_as(
            principal, approvals.request_transition, name, body["version"], stage, body["reason"]
        )
        self.write_json(request.to_dict(), status=201)


class DecideHandler(ServiceHandler):
    """Approve or reject a request: the ``approve`` role on the request's model."""

    async def post(self) -> None:
        body = self.body({"request": int, "decision": str, "reason": str}, {})
        if body["decision"] not in ("approve", "reject"):
            raise InvalidInput("decision is approve or reject.")
        principal = await self.acting(body)
        pending = await self.run(self.state.store.get_approval_request, body["request"])
        self.state.permissions.check(principal, "approve", pending.model)
        decide = approvals.approve if body["decision"] == "approve" else approvals.reject
        request = await self.write_as(principal, decide, body["request"], body["reason"])
        self.write_json(request.to_dict())


def make_app(state: ServiceState, prefix: str = "/") -> web.Application:
    prefix = "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"
    routes: list[Any] = [
        (prefix + "api/whoami", WhoamiHandler, {"state": state}),
        (prefix + "api/register", RegisterHandler, {"state": state}),
        (prefix + "api/transition", TransitionHandler, {"state": state}),
        (prefix + "api/alias", AliasHandler, {"state": state}),
        (prefix + "api/unalias", UnaliasHandler, {"state": state}),
        (prefix + "api/rollback", RollbackHandler, {"state": state}),
        (prefix + "api/request", RequestHandler, {"state": state}),
        (prefix + "api/decide", DecideHandler, {"state": state}),
    ]
    return web.Application(routes)


def build_state() -> ServiceState:
    """The service's store, rules and permissions from the one configuration loader. The
    rules never forward (this is where forwarded writes end)."""
    from ..config import load_config, load_mm_config, resolve_store
    from ..permissions import load_permissions
    from ..registry.rules import make_registry
    from ..store import open_store

    config = load_config()
    rules = make_registry(config)
    rules.service_url = ""
    rules.check_permissions = False  # each handler checks the hub's principal first
    permissions = load_permissions(config)
    permissions.enabled = True  # the service always enforces, configured or not
    store = open_store(resolve_store(load_mm_config(), create=False))
    return ServiceState(
        store=store, rules=rules, permissions=permissions, users=HubUsers.from_env()
    )


def serve(host: str | None = None, port: int | None = None) -> int:
    """Listen where the hub says (``$JUPYTERHUB_SERVICE_URL``) until SIGTERM/SIGINT."""
    logging.basicConfig(level=logging.INFO, format="[jupyter-mm service] %(message)s")
    url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101"))
    state = build_state()
    app = make_app(state, os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/"))

    async def main() -> None:
        server = httpserver.HTTPServer(app)
        server.listen(port or url.port or 10101, host or url.hostname or "127.0.0.1")
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopped.set)
        log.info("registry service for %s listening on %s", state.store.url, url.geturl())
        await stopped.wait()
        server.stop()

    try:
        asyncio.run(main())
    finally:
        state.store.close()
    return 0
