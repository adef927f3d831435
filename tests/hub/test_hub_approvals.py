"""Four eyes on a team store, through the hub: alice (stage role) asks for a version to
move into a stage that needs approval, bob (approve role, from a hub scope) approves from
his own server, carol (read only) is refused asking and deciding, and nobody's own
database login can write a request or a decision. The service holds the registry's write
login; the events name who did what, from the hub's answer for each token.

The service requires approval for ``archived`` (tests/hub/harness.py ``REQUIRE_APPROVAL``),
so the bypass matrix's direct promotions are not affected.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from jupyter_mm import registry
from jupyter_mm.config import StoreLocation
from jupyter_mm.store import open_store

from .harness import OWNER, Hub
from .test_bypass_matrix import SEED, as_user

pytestmark = pytest.mark.postgres

MODEL = "m-four-eyes"


@pytest.fixture(scope="module")
def version(hub: Hub) -> int:
    """A version of MODEL in staging, set up with the owner's login."""
    out = as_user(hub, "alice", ["-c", SEED], service=False)
    assert out.returncode == 0, out.stderr
    run_id = out.stdout.strip().splitlines()[-1]
    hub.start_servers(["alice", "bob", "carol"])
    location = StoreLocation(url=hub.db.url(OWNER), artifact_root=str(hub.db.artifacts))
    with open_store(location) as store:
        done = registry.register_model(run_id, "model", MODEL, store=store, actor="setup")
        registry.transition(MODEL, done.version, "staging", store=store, actor="setup")
    return done.version


def api(hub: Hub, user: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    return hub.request(method, f"/user/{user}/jupyter-mm/api/{path}", hub.token(user), body)


def ask(hub: Hub, user: str, version: int) -> tuple[int, Any]:
    body = {"model": MODEL, "version": version, "stage": "archived", "reason": "superseded"}
    return api(hub, user, "POST", "approvals", body)


def test_a_direct_move_is_refused_and_carol_may_not_ask(hub: Hub, version: int) -> None:
    status, body = api(
        hub,
        "alice",
        "POST",
        f"models/{MODEL}/versions/{version}/transition",
        {"stage": "archived", "reason": "skip the queue"},
    )
    # refused twice over: archiving needs the manage role, and an approved request
    assert status == 403 and "'manage' role" in body["error"]["message"], body
    status, body = ask(hub, "carol", version)
    assert status == 403, body
    assert hub.db.rows("SELECT count(*) FROM approval_requests")[0][0] == 0


def test_alice_asks_bob_approves_and_the_events_name_them(hub: Hub, version: int) -> None:
    status, request = ask(hub, "alice", version)
    assert status == 201, request
    assert request["requester"] == "alice" and request["status"] == "pending"
    number = request["id"]
    # alice cannot decide (no approve role), carol neither
    for user in ("alice", "carol"):
        status, body = api(hub, user, "POST", f"approvals/{number}/approve", {"reason": "ok"})
        assert status == 403, (user, body)
    # bob sees it among the requests awaiting someone else, then approves it
    status, listing = api(hub, "bob", "GET", "approvals?awaiting=1")
    assert status == 200, listing
    assert [r["id"] for r in listing["requests"]] == [number]
    status, decided = api(hub, "bob", "POST", f"approvals/{number}/approve", {"reason": "fine"})
    assert status == 200, decided
    assert decided["status"] == "approved" and decided["decided_by"] == "bob"
    stage = hub.db.rows(
        "SELECT stage FROM model_versions WHERE model = %s AND version = %s", MODEL, version
    )
    assert stage == [("archived",)]
    events = hub.db.rows('SELECT action, "user" FROM events WHERE model = %s ORDER BY id', MODEL)
    assert ("transition_requested", "alice") in events
    assert ("transition_approved", "bob") in events
    assert ("transition", "bob") in events


def test_nobody_writes_requests_with_their_own_login(hub: Hub, version: int) -> None:
    before = hub.db.rows("SELECT count(*), max(status) FROM approval_requests")
    for user in ("alice", "bob", "carol"):
        refused = pytest.raises(psycopg.errors.InsufficientPrivilege)
        with hub.db.connect(user) as conn, refused:
            conn.execute("UPDATE approval_requests SET status = 'approved'")
        refused = pytest.raises(psycopg.errors.InsufficientPrivilege)
        with hub.db.connect(user) as conn, refused:
            conn.execute(
                "INSERT INTO approval_requests (model, version, from_stage, to_stage, "
                "requester, reason, created_time, expires_time, status) VALUES "
                "(%s, %s, 'staging', 'production', %s, 'x', 0, 1e12, 'approved')",
                (MODEL, version, user),
            )
    assert hub.db.rows("SELECT count(*), max(status) FROM approval_requests") == before
