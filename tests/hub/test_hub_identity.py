"""Who the team store records: the hub's answer for a token, never a variable or the OS
user (README "Identity and permissions")."""

from __future__ import annotations

import getpass
import json
import subprocess
import sys

import pytest

from .harness import Hub

pytestmark = pytest.mark.postgres


def whoami(hub: Hub, user: str, **env: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "jupyter_mm.cli", "whoami", "--json"],
        env={**hub.env(user), **env},
        cwd=hub.home(user),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout))


def test_the_service_names_the_token_owner_with_groups_and_roles(hub: Hub) -> None:
    alice = whoami(hub, "alice")
    assert alice["name"] == "alice"
    assert alice["groups"] == ["ds"]
    assert alice["roles"] == {"*": ["read", "register", "stage"]}
    bob = whoami(hub, "bob")
    assert (bob["name"], bob["groups"]) == ("bob", ["approvers"])
    assert bob["roles"] == {"*": ["read", "approve"]}  # approve: the hub's custom scope
    carol = whoami(hub, "carol")
    assert carol["roles"] == {"*": ["read"]}


def test_a_claimed_user_variable_changes_nothing(hub: Hub) -> None:
    # $JUPYTERHUB_USER is whatever the process says; the token says who it is
    assert whoami(hub, "carol", JUPYTERHUB_USER="bob")["name"] == "carol"


def test_without_the_service_the_hub_api_still_names_the_user(hub: Hub) -> None:
    env = {**hub.env("alice", service=False), "JUPYTERHUB_USER": "bob"}
    out = subprocess.run(
        [sys.executable, "-m", "jupyter_mm.cli", "whoami", "--json"],
        env=env,
        cwd=hub.home("alice"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    answer = json.loads(out.stdout)
    assert answer["name"] == "alice" != getpass.getuser()
    assert (answer["source"], answer["authenticated"], answer["groups"]) == (
        "hub API",
        True,
        ["ds"],
    )


CLAIM = """
import jupyter_mm as mm
try:
    mm.rollback("churn", reason="claimed", actor="bob")
except Exception as exc:
    print(type(exc).__name__, exc)
"""


def test_the_python_api_cannot_act_as_someone_else(hub: Hub) -> None:
    out = subprocess.run(
        [sys.executable, "-c", CLAIM],
        env=hub.env("alice"),
        cwd=hub.home("alice"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.stdout.strip() == "Forbidden This token belongs to alice; it cannot act as 'bob'."
