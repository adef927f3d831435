"""The registry service's client: what the Python API, the CLI and a user's server use to
forward registry writes when ``c.Registry.service_url`` is set.

The request carries a token (the hub's ``$JUPYTERHUB_API_TOKEN`` in a hub's servers and
kernels); the service asks the hub whose it is. The ``actor`` a caller passes is sent as a
claim the service compares with the token's owner: it can never choose the user recorded.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

from ..entities import ApprovalRequest, ModelVersion, Rollback
from ..errors import Conflict, Forbidden, InvalidInput, MMError, NotFound, StoreError

if TYPE_CHECKING:
    from ..registry.rules import Registry

ENV_SERVICE_TOKEN = "JUPYTER_MM_SERVICE_TOKEN"
#: seconds a registry write waits for the service
TIMEOUT = 60.0

_ERRORS: dict[int, type[MMError]] = {
    400: InvalidInput,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
}


class ServiceUnavailable(StoreError):
    """The registry service cannot be reached or answered something unreadable."""


def service_token(configured: str = "") -> str:
    """The token for the service: configured, else $JUPYTER_MM_SERVICE_TOKEN, else the
    hub's $JUPYTERHUB_API_TOKEN."""
    return (
        configured
        or os.environ.get(ENV_SERVICE_TOKEN, "")
        or os.environ.get("JUPYTERHUB_API_TOKEN", "")
    )


class ServiceClient:
    """Registry writes and ``whoami`` over HTTP to one registry service."""

    def __init__(self, url: str, token: str):
        self.url = url.rstrip("/") + "/"
        self.token = token

    @classmethod
    def for_registry(cls, registry: Registry) -> ServiceClient:
        token = service_token(registry.service_token)
        if not token:
            raise Forbidden(
                f"Registry writes go through the registry service at {registry.service_url}, "
                f"and this process has no token for it: set ${ENV_SERVICE_TOKEN} to a "
                "JupyterHub API token (hub → Token page)."
            )
        return cls(registry.service_url, token)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One request; the service's error answers become the matching MMError."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise _error_from(exc, self.url) from None
        except (OSError, ValueError) as exc:
            raise ServiceUnavailable(
                f"The jupyter-mm registry service at {self.url} cannot be reached: {exc}."
            ) from None

    def whoami(self) -> dict[str, Any]:
        return dict(self.call("GET", "api/whoami"))

    def register(
        self, run_id: str, artifact: str, name: str, description: str | None, actor: str | None
    ) -> ModelVersion:
        body = {"run_id": run_id, "artifact": artifact, "name": name}
        return self._version("api/register", body, description=description, actor=actor)

    def transition(
        self, name: str, version: int, stage: str, reason: str | None, actor: str | None
    ) -> ModelVersion:
        body = {"name": name, "version": version, "stage": stage}
        return self._version("api/transition", body, reason=reason, actor=actor)

    def set_alias(
        self, name: str, version: int, alias: str, reason: str | None, actor: str | None
    ) -> ModelVersion:
        body = {"name": name, "version": version, "alias": alias}
        return self._version("api/alias", body, reason=reason, actor=actor)

    def remove_alias(self, name: str, alias: str, actor: str | None) -> ModelVersion:
        return self._version("api/unalias", {"name": name, "alias": alias}, actor=actor)

    def rollback(self, name: str, reason: str | None, actor: str | None) -> Rollback:
        answer = self.call("POST", "api/rollback", _body({"name": name}, reason, actor))
        return Rollback(
            restored=ModelVersion.from_dict(answer["restored"]),
            archived=ModelVersion.from_dict(answer["archived"]),
        )

    def request_transition(
        self, name: str, version: int, stage: str, reason: str, actor: str | None
    ) -> ApprovalRequest:
        body = {"name": name, "version": version, "stage": stage}
        return ApprovalRequest.from_dict(
            self.call("POST", "api/request", _body(body, reason, actor))
        )

    def decide(
        self, request_id: int, decision: str, reason: str, actor: str | None
    ) -> ApprovalRequest:
        body = {"request": request_id, "decision": decision}
        return ApprovalRequest.from_dict(
            self.call("POST", "api/decide", _body(body, reason, actor))
        )

    def _version(
        self,
        path: str,
        body: dict[str, Any],
        *,
        actor: str | None,
        reason: str | None = None,
        description: str | None = None,
    ) -> ModelVersion:
        if description is not None:
            body["description"] = description
        return ModelVersion.from_dict(self.call("POST", path, _body(body, reason, actor)))


def _body(body: dict[str, Any], reason: str | None, actor: str | None) -> dict[str, Any]:
    if reason is not None:
        body["reason"] = reason
    if actor is not None:
        body["acting_as"] = actor
    return body


def _error_from(exc: urllib.error.HTTPError, url: str) -> MMError:
    try:
        message = json.loads(exc.read())["error"]["message"]
    except (ValueError, KeyError, TypeError, OSError):
        message = f"The jupyter-mm registry service at {url} answered HTTP {exc.code}."
    return _ERRORS.get(exc.code, ServiceUnavailable)(str(message))
