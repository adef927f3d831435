"""The bypass matrix: every way a user of the hub can try a registry write × every user ×
register / stage / approve, then the tables are read as their owner and every change
there must be one the configured roles allow (README "Identity and permissions").

Roles (tests/hub/harness.py): alice registers and stages (group ds), bob approves (hub
scope custom:jupyter-mm:approve), carol only reads. Through the registry service the
outcome is what the roles say; every way around it (the Python API with the service
taken out of the config, SQL with the user's own database login) is refused by the
database for everyone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from jupyter_mm import registry
from jupyter_mm.config import StoreLocation
from jupyter_mm.store import open_store

from .harness import OWNER, USERS, Hub

pytestmark = pytest.mark.postgres

ACTIONS = ("register", "stage", "approve")
#: what c.Permissions and the hub's roles grant
GRANTED = {("alice", "register"), ("alice", "stage"), ("bob", "approve")}
#: paths that go through the registry service; the others go around it
SERVICE_PATHS = ("REST", "CLI", "Python API")
BYPASS_PATHS = ("Python API, no service", "direct SQL")
PATHS = (*SERVICE_PATHS, *BYPASS_PATHS)
#: what each action does to the model each (path, user) pair gets: register a third
#: version, stage version 1 (none), approve version 2 (staging)
TARGET = {"register": (3, "none"), "stage": (1, "staging"), "approve": (2, "production")}


def expected(path: str, user: str, action: str) -> bool:
    return path in SERVICE_PATHS and (user, action) in GRANTED


def model_name(path: str, user: str) -> str:
    return "m-" + "".join(c if c.isalnum() else "-" for c in path.lower()) + "-" + user


def as_user(hub: Hub, user: str, args: list[str], *, service: bool = True) -> Any:
    return subprocess.run(
        [sys.executable, *args],
        env=hub.env(user, service=service),
        cwd=hub.home(user),
        capture_output=True,
        text=True,
        timeout=300,
    )


SEED = """
import jupyter_mm as mm
with mm.start_run("seed") as run:
    mm.log_metric("auc", 0.91)
    assert mm.log_artifact(b"weights", "model") is not None
print(run.run.id)
"""

PYTHON_ATTEMPTS = """
import json, sys
import jupyter_mm as mm
run_id, name = sys.argv[1], sys.argv[2]
attempts = {
    "register": lambda: mm.register_model(run_id, "model", name),
    "stage": lambda: mm.transition(name, 1, "staging"),
    "approve": lambda: mm.transition(name, 2, "production"),
}
outcome = {}
for action, attempt in attempts.items():
    try:
        attempt()
        outcome[action] = [True, ""]
    except Exception as exc:
        outcome[action] = [False, type(exc).__name__ + ": " + str(exc)]
print(json.dumps(outcome))
"""


@pytest.fixture(scope="module")
def seeded(hub: Hub) -> dict[str, Any]:
    """alice's run with a model artifact (written with her own login), and per (path,
    user) a model with version 1 in none and version 2 in staging, set up by the owner."""
    out = as_user(hub, "alice", ["-c", SEED], service=False)
    assert out.returncode == 0, out.stderr
    run_id = out.stdout.strip().splitlines()[-1]
    hub.start_servers(USERS)
    location = StoreLocation(url=hub.db.url(OWNER), artifact_root=str(hub.db.artifacts))
    with open_store(location) as store:
        for path in PATHS:
            for user in USERS:
                name = model_name(path, user)
                for _ in range(2):
                    registry.register_model(run_id, "model", name, store=store, actor="setup")
                registry.transition(name, 2, "staging", store=store, actor="setup")
    last_event = hub.db.rows("SELECT coalesce(max(id), 0) FROM events")[0][0]
    return {"run_id": run_id, "last_setup_event": last_event}


def attempt_rest(hub: Hub, user: str, name: str, run_id: str) -> dict[str, tuple[bool, str]]:
    token = hub.token(user)
    base = f"/user/{user}/jupyter-mm/api/models"
    calls = {
        "register": ("POST", base, {"run_id": run_id, "artifact": "model", "name": name}),
        "stage": ("POST", f"{base}/{name}/versions/1/transition", {"stage": "staging"}),
        "approve": ("POST", f"{base}/{name}/versions/2/transition", {"stage": "production"}),
    }
    outcome = {}
    for action, (method, path, body) in calls.items():
        status, answer = hub.request(method, path, token, body)
        assert status in (200, 201, 403), (action, status, answer)
        outcome[action] = (status < 300, "" if status < 300 else answer["error"]["message"])
    return outcome


def attempt_cli(hub: Hub, user: str, name: str, run_id: str) -> dict[str, tuple[bool, str]]:
    cli = ["-m", "jupyter_mm.cli"]
    calls = {
        "register": [*cli, "register", run_id, "--artifact", "model", "--name", name],
        "stage": [*cli, "promote", name, "1", "staging"],
        "approve": [*cli, "promote", name, "2", "production"],
    }
    outcome = {}
    for action, args in calls.items():
        out = as_user(hub, user, args)
        outcome[action] = (out.returncode == 0, out.stderr.strip())
    return outcome


def attempt_python(service: bool) -> Callable[..., dict[str, tuple[bool, str]]]:
    def attempt(hub: Hub, user: str, name: str, run_id: str) -> dict[str, tuple[bool, str]]:
        out = as_user(hub, user, ["-c", PYTHON_ATTEMPTS, run_id, name], service=service)
        assert out.returncode == 0, out.stderr
        return {k: (ok, why) for k, (ok, why) in json.loads(out.stdout).items()}

    return attempt


def attempt_sql(hub: Hub, user: str, name: str, run_id: str) -> dict[str, tuple[bool, str]]:
    """The user's own database login, writing the registry tables as the service would."""
    statements = {
        "register": (
            "INSERT INTO model_versions (model, version, run_id, artifact, digest, flavor, "
            "stage, aliases, created_time) SELECT model, 3, run_id, artifact, digest, flavor, "
            "'none', aliases, created_time FROM model_versions WHERE model = %s AND version = 1"
        ),
        "stage": "UPDATE model_versions SET stage = 'staging' WHERE model = %s AND version = 1",
        "approve": (
            "UPDATE model_versions SET stage = 'production' WHERE model = %s AND version = 2"
        ),
    }
    outcome = {}
    with hub.db.connect(user) as conn:
        for action, sql in statements.items():
            try:
                changed = conn.execute(sql, (name,)).rowcount
                outcome[action] = (changed > 0, f"{changed} rows")
            except psycopg.errors.InsufficientPrivilege as exc:
                outcome[action] = (False, str(exc).splitlines()[0])
        try:
            conn.execute(
                "INSERT INTO events (time, \"user\", action, model) VALUES (0, %s, 'transition', %s)",
                (user, name),
            )
            outcome["event"] = (True, "event written")
        except psycopg.errors.InsufficientPrivilege as exc:
            outcome["event"] = (False, str(exc).splitlines()[0])
    return outcome


ATTEMPTS = {
    "REST": attempt_rest,
    "CLI": attempt_cli,
    "Python API": attempt_python(service=True),
    "Python API, no service": attempt_python(service=False),
    "direct SQL": attempt_sql,
}


def test_bypass_matrix(hub: Hub, seeded: dict[str, Any]) -> None:
    results: dict[tuple[str, str], dict[str, tuple[bool, str]]] = {}
    for path in PATHS:
        for user in USERS:
            results[path, user] = ATTEMPTS[path](
                hub, user, model_name(path, user), seeded["run_id"]
            )
    print_matrix(results)
    for (path, user), outcome in results.items():
        for action in ACTIONS:
            done, why = outcome[action]
            assert done == expected(path, user, action), (path, user, action, why)
            if not done and path in SERVICE_PATHS:
                # the roles are named as the actions: the refusal names the one missing
                assert f"'{action}' role" in why, (path, user, action, why)
            if not done and path in BYPASS_PATHS:
                assert "permission denied" in why, (path, user, action, why)
        if path == "direct SQL":
            assert outcome["event"][0] is False
    check_tables(hub, seeded["last_setup_event"])


def check_tables(hub: Hub, last_setup_event: int) -> None:
    """What is stored, read as the owner: each allowed attempt made exactly its change, no
    refused one left a trace, and every event names a user holding the role."""
    versions = {
        (model, version): stage
        for model, version, stage in hub.db.rows("SELECT model, version, stage FROM model_versions")
    }
    for path in PATHS:
        for user in USERS:
            name = model_name(path, user)
            for action in ACTIONS:
                number, stage = TARGET[action]
                want = stage if expected(path, user, action) else _untouched(action)
                assert versions.get((name, number)) == want, (path, user, action)
    events = hub.db.rows(
        'SELECT "user", action, to_stage, model FROM events WHERE id > %s', last_setup_event
    )
    role_of = {"register": "register", "staging": "stage", "production": "approve"}
    changes = [e for e in events if e[1] != "transition_refused"]
    unauthorized = [e for e in changes if (e[0], role_of.get(e[2] or e[1], e[1])) not in GRANTED]
    assert unauthorized == []
    # 2 allowed actions of alice and 1 of bob, on each of the three service paths
    assert sorted((e[0], e[1]) for e in changes) == sorted(
        [("alice", "register"), ("alice", "transition"), ("bob", "transition")] * 3
    )
    # refused moves are in the audit trail under who tried: alice's promotion, bob's
    # staging, carol's two, on each service path (a refused register changes no model)
    refused = sorted((e[0], e[2]) for e in events if e[1] == "transition_refused")
    assert refused == sorted(
        [("alice", "production"), ("bob", "staging"), ("carol", "staging"), ("carol", "production")]
        * 3
    )


def _untouched(action: str) -> str | None:
    return {"register": None, "stage": "none", "approve": "staging"}[action]


def print_matrix(results: dict[tuple[str, str], dict[str, tuple[bool, str]]]) -> None:
    lines = ["", "| path | user | register | stage | approve |", "|---|---|---|---|---|"]
    for (path, user), outcome in results.items():
        cells = ["allowed" if outcome[a][0] else "refused" for a in ACTIONS]
        lines.append(f"| {path} | {user} | {' | '.join(cells)} |")
    print("\n".join(lines))
    print(textwrap.shorten(repr(results[("CLI", "carol")]["approve"]), 300))
