"""Who may do what in the model registry: roles per model name pattern.

Roles (``docs/architecture.md#security-model-team-mode``):

============ ==========================================================================
``read``     see models, versions and the audit trail
``register`` register a run's artifact as a new version
``stage``    move a version to staging
``approve``  move a version to production, roll production back
``manage``   everything above, plus archiving and aliases
============ ==========================================================================

Configured like every other setting (:func:`jupyter_mm.config.load_config`)::

    c.Permissions.roles = {
        "*":       {"read": ["*"], "register": ["group:ds"], "stage": ["group:ds"]},
        "churn*":  {"approve": ["bob", "group:ml-leads"], "manage": ["group:mm-admins"]},
    }

A principal is ``name`` (or ``user:name``), ``group:name`` or ``*`` (every authenticated
user). Roles of every pattern that matches the model name add up. On a JupyterHub, a
user's custom scopes ``custom:jupyter-mm:<role>`` grant that role on every model.

With no roles configured and ``enabled`` off, a single-user store stays open: everyone
acting on it holds every role. The registry service (``jupyter mm registry-service``)
always enforces.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from traitlets import Bool, Dict, TraitError, validate
from traitlets.config import Config, Configurable

from .errors import Forbidden, InvalidInput

#: every role, in the order they are shown
ROLES = ("read", "register", "stage", "approve", "manage")
#: the prefix of the JupyterHub custom scopes that grant a role (``custom:jupyter-mm:approve``)
SCOPE_PREFIX = "custom:jupyter-mm:"

#: what each registry action is called in a refusal, by the role it needs
_ACTION_WORDS = {
    "read": "read",
    "register": "register versions of",
    "stage": "move versions to staging in",
    "approve": "promote to production or roll back",
    "manage": "archive versions of or set aliases on",
}


def role_for_transition(stage: str) -> str:
    """The role a move into ``stage`` needs."""
    return {"staging": "stage", "production": "approve"}.get(stage, "manage")


@dataclass(frozen=True)
class Principal:
    """An authenticated user as the permission check sees it."""

    name: str
    groups: frozenset[str] = field(default_factory=frozenset)
    scopes: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, name: str, groups: Iterable[str] = (), scopes: Iterable[str] = ()) -> Principal:
        return cls(name=name, groups=frozenset(groups), scopes=frozenset(scopes))

    def matches(self, entry: str) -> bool:
        """Whether a principal entry of the configuration names this user."""
        if entry == "*":
            return True
        if entry.startswith("group:"):
            return entry[len("group:") :] in self.groups
        return entry.removeprefix("user:") == self.name


def _check_roles(value: Any) -> dict[str, dict[str, list[str]]]:
    """The roles table, or TraitError naming what is wrong with it."""
    if not isinstance(value, dict):
        raise TraitError("Permissions.roles is {model pattern: {role: [principals]}}.")
    for pattern, grants in value.items():
        if not isinstance(pattern, str) or not pattern:
            raise TraitError(f"Permissions.roles: {pattern!r} is not a model name pattern.")
        if not isinstance(grants, dict):
            raise TraitError(f"Permissions.roles[{pattern!r}] must map roles to principals.")
        for role, principals in grants.items():
            if role not in ROLES:
                raise TraitError(
                    f"Permissions.roles[{pattern!r}]: unknown role {role!r} "
                    f"(roles: {', '.join(ROLES)})."
                )
            if not isinstance(principals, list) or not all(
                isinstance(p, str) and p for p in principals
            ):
                raise TraitError(
                    f"Permissions.roles[{pattern!r}][{role!r}] must be a list of names, "
                    "'group:NAME' entries or '*'."
                )
    return value


class Permissions(Configurable):
    """Roles on registry actions, ``c.Permissions.<name>``."""

    roles = Dict(
        default_value={},
        help="{model name pattern (fnmatch): {role: [principals]}}. Roles: read, register, "
        "stage, approve, manage. Principals: 'alice' or 'user:alice', 'group:NAME' (a "
        "JupyterHub group), '*' (every authenticated user).",
    ).tag(config=True)

    enabled = Bool(
        False,
        help="Enforce roles even when none are configured (then only hub scopes grant "
        "anything). Roles are enforced whenever `roles` is not empty.",
    ).tag(config=True)

    scope_roles = Bool(
        True,
        help="Let JupyterHub custom scopes custom:jupyter-mm:<role> grant that role on every "
        "model.",
    ).tag(config=True)

    @validate("roles")
    def _validate_roles(self, proposal: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
        return _check_roles(proposal["value"])

    @property
    def enforced(self) -> bool:
        return bool(self.enabled or self.roles)

    def roles_of(self, principal: Principal, model: str) -> set[str]:
        """Every role ``principal`` holds on ``model``."""
        if not self.enforced:
            return set(ROLES)
        held: set[str] = set()
        for pattern, grants in self.roles.items():
            if fnmatch.fnmatchcase(model, pattern):
                for role, principals in grants.items():
                    if any(principal.matches(p) for p in principals):
                        held.add(role)
        if self.scope_roles:
            for scope in principal.scopes:
                # a filtered scope (custom:jupyter-mm:approve!user=x) counts as the scope
                role = scope.partition("!")[0].removeprefix(SCOPE_PREFIX)
                if scope.startswith(SCOPE_PREFIX) and role in ROLES:
                    held.add(role)
        if "manage" in held:
            held.update(ROLES)
        if held:
            held.add("read")
        return held

    def check(self, principal: Principal, role: str, model: str) -> None:
        """Raise Forbidden, in one sentence naming the user, the model and the role
        missing, unless ``principal`` holds ``role`` on ``model``."""
        held = self.roles_of(principal, model)
        if role in held:
            return
        has = ", ".join(r for r in ROLES if r in held) or "no role"
        raise Forbidden(
            f"{principal.name} may not {_ACTION_WORDS[role]} model {model}: that needs the "
            f"'{role}' role on it ({principal.name} has: {has})."
        )


def load_permissions(config: Config | None = None) -> Permissions:
    """``Permissions`` from the one configuration loader (or from ``config``)."""
    from .config import load_config

    try:
        return Permissions(config=config if config is not None else load_config())
    except TraitError as exc:
        raise InvalidInput(str(exc)) from None


def describe_roles(permissions: Permissions, principal: Principal) -> dict[str, list[str]]:
    """Per configured pattern, the roles ``principal`` holds on models matching it (``*``
    stands for every model when nothing is configured)."""
    patterns = list(permissions.roles) or ["*"]
    return {
        pattern: [r for r in ROLES if r in permissions.roles_of(principal, pattern)]
        for pattern in patterns
    }


__all__ = [
    "ROLES",
    "SCOPE_PREFIX",
    "Permissions",
    "Principal",
    "describe_roles",
    "load_permissions",
    "role_for_transition",
]
