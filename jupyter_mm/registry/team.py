"""Where a registry write goes in team mode (``docs/architecture.md#security-model-team-mode``).

Every write function of :mod:`jupyter_mm.registry` asks :func:`route_write` first:

- with ``c.Registry.service_url`` set, the write is forwarded to the registry service
  (:mod:`jupyter_mm.service`), which asks the hub whose token the request carries, checks
  the roles and writes with credentials this process does not have; the answer comes back
  as entities;
- otherwise the write happens here, after the roles of ``c.Permissions`` are checked for
  the acting user (a plain Jupyter server's login, or this process's identity).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..identity import current_identity
from ..permissions import Permissions, Principal

if TYPE_CHECKING:
    from ..service.client import ServiceClient
    from .rules import Registry


def acting_principal(actor: str | None) -> Principal:
    """The principal a local write is checked for: the process's identity (with its hub
    groups and scopes) when no actor is passed or the actor is that same user, else the
    actor alone (a plain server's login: no groups)."""
    identity = current_identity()
    if actor is None or actor == identity.name:
        return Principal.of(identity.name or "unknown", identity.groups, identity.scopes)
    return Principal.of(actor)


def route_write(
    registry: Registry, role: str, model: str, actor: str | None
) -> ServiceClient | None:
    """The service client to forward this write to, or None after checking that the
    acting user holds ``role`` on ``model`` here. Raises Forbidden."""
    if registry.service_url:
        from ..service.client import ServiceClient

        return ServiceClient.for_registry(registry)
    if registry.check_permissions:
        Permissions(config=registry.config).check(acting_principal(actor), role, model)
    return None
