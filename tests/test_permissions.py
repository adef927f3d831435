"""Roles per model pattern (``c.Permissions``): what a principal holds, and the checks."""

from __future__ import annotations

import pytest
from traitlets.config import Config

from jupyter_mm.errors import Forbidden, InvalidInput
from jupyter_mm.permissions import (
    ROLES,
    Permissions,
    Principal,
    load_permissions,
    role_for_transition,
)

ROLES_TABLE = {
    "*": {"read": ["*"], "register": ["group:ds"]},
    "churn*": {"stage": ["alice"], "approve": ["user:bob"]},
    "fraud": {"manage": ["group:admins"]},
}


def permissions(**traits: object) -> Permissions:
    return load_permissions(Config({"Permissions": traits}))


def test_roles_add_up_over_matching_patterns() -> None:
    perms = permissions(roles=ROLES_TABLE)
    alice = Principal.of("alice", ["ds"])
    assert perms.roles_of(alice, "churn-eu") == {"read", "register", "stage"}
    assert perms.roles_of(alice, "fraud") == {"read", "register"}
    assert perms.roles_of(Principal.of("bob"), "churn") == {"read", "approve"}
    assert perms.roles_of(Principal.of("bob"), "fraud") == {"read"}
    # manage implies every role, on the models it is granted for only
    assert perms.roles_of(Principal.of("eve", ["admins"]), "fraud") == set(ROLES)
    assert perms.roles_of(Principal.of("eve", ["admins"]), "churn") == {"read"}


def test_a_hub_scope_grants_its_role_on_every_model() -> None:
    perms = permissions(roles=ROLES_TABLE)
    carol = Principal.of("carol", scopes=["custom:jupyter-mm:approve", "custom:other:manage"])
    assert perms.roles_of(carol, "fraud") == {"read", "approve"}
    assert permissions(roles=ROLES_TABLE, scope_roles=False).roles_of(carol, "fraud") == {"read"}


def test_nothing_configured_is_open_and_enabled_closes_it() -> None:
    assert permissions().roles_of(Principal.of("anyone"), "m") == set(ROLES)
    assert permissions(enabled=True).roles_of(Principal.of("anyone"), "m") == set()


def test_a_refusal_names_the_user_the_model_and_the_missing_role() -> None:
    perms = permissions(roles=ROLES_TABLE)
    perms.check(Principal.of("bob"), "approve", "churn")
    with pytest.raises(
        Forbidden,
        match=r"^carol may not promote to production .* model churn: "
        r"that needs the 'approve' role on it \(carol has: read\)\.$",
    ):
        perms.check(Principal.of("carol"), "approve", "churn")


def test_each_move_needs_its_role() -> None:
    assert [role_for_transition(s) for s in ("staging", "production", "archived", "none")] == [
        "stage",
        "approve",
        "manage",
        "manage",
    ]


@pytest.mark.parametrize(
    ("roles", "problem"),
    [
        ({"*": {"admin": ["x"]}}, "unknown role 'admin'"),
        ({"*": {"read": "everyone"}}, "must be a list"),
        ({"*": ["read"]}, "must map roles"),
        ({"": {"read": ["*"]}}, "is not a model name pattern"),
    ],
)
def test_a_malformed_roles_table_is_one_clear_error(roles: object, problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem):
        permissions(roles=roles)
