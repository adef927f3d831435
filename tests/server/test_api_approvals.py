"""Four eyes over REST with two (three) people on one server: the server authenticates each
request by its token as alice, bob or carol (an IdentityProvider like a team's own), and
``c.Registry.require_approval = ["production"]``. Alice asks, Bob approves or rejects;
Alice can neither promote directly nor approve her own request; every step is an event
naming who did it. Responses are validated against the wire schema by the schema test's
route table (``ROUTE_MODELS``) here too."""

from __future__ import annotations

import time
from pathlib import Path

import jsonschema
import pytest
from jupyter_server.auth.identity import IdentityProvider, User
from mm_api_data import fill_store, store_location
from mm_registry_data import PRODUCTION_GATE, register_versions, send_json
from traitlets.config import Config

from jupyter_mm import ids
from jupyter_mm.entities import Run
from jupyter_mm.server import schema
from jupyter_mm.server.schema_render import schema_for
from jupyter_mm.store import open_store

pytestmark = pytest.mark.usefixtures("jp_serverapp")

TEAM = {"tok-alice": "alice", "tok-bob": "bob", "tok-carol": "carol"}

#: routes whose real answers (and request bodies) these tests validate against the schema
APPROVAL_ROUTES_VALIDATED = (
    "GET /approvals",
    "POST /approvals",
    "GET /approvals/{id}",
    "POST /approvals/{id}/approve",
    "POST /approvals/{id}/reject",
)


class TeamTokens(IdentityProvider):
    """Each team member has a token; a request is the token holder's."""

    async def get_user_token(self, handler):  # type: ignore[override]
        name = TEAM.get(self.get_token(handler) or "")
        return User(username=name) if name else None


@pytest.fixture
def jp_server_config() -> Config:
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_mm": True},
                "identity_provider_class": TeamTokens,
            },
            "Registry": {"require_approval": ["production"]},
        }
    )


def as_user(name: str) -> dict[str, str]:
    return {"Authorization": f"token tok-{name}"}


async def call(jp_fetch, who: str, method: str, *path: str, body=None, **query):
    if method == "GET":
        import json

        response = await jp_fetch(
            "jupyter-mm",
            "api",
            *path,
            params=query or None,
            headers=as_user(who),
            raise_error=False,
        )
        answer = json.loads(response.body) if response.body else None
        return response.code, answer
    route = "POST /approvals" if path == ("approvals",) else f"POST /approvals/{{id}}/{path[-1]}"
    if isinstance(body, dict) and route in schema.REQUEST_MODELS and _complete(body):
        check_shape(route, body, schema.REQUEST_MODELS)
    return await send_json(jp_fetch, method, *path, body=body, headers=as_user(who))


def _complete(body: dict) -> bool:
    """A body meant to be valid (the bad-request cases leave a field out or blank)."""
    return bool(str(body.get("reason", "")).strip()) and body.get("stage") != "staging"


def check_shape(route: str, body, models=schema.ROUTE_MODELS) -> None:
    validator = jsonschema.Draft202012Validator(schema_for(models[route], schema.MODELS))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
    assert errors == [], route


@pytest.fixture
def versions(jp_root_dir: Path):
    """churn v1 in production, v2 in staging (registered by this process, not over REST)."""
    data = fill_store(jp_root_dir, plain_runs=2)
    register_versions(jp_root_dir, data)
    return data


def stage_of(root: Path, version: int) -> str:
    with open_store(store_location(root)) as store:
        return store.get_version("churn", version).stage


def events_since(root: Path, count: int) -> list[tuple[str, str | None, int | None]]:
    with open_store(store_location(root)) as store:
        return [(e.action, e.user, e.version) for e in store.model_events("churn")[count:]]


def event_count(root: Path) -> int:
    with open_store(store_location(root)) as store:
        return len(store.model_events("churn"))


async def test_alice_requests_bob_approves_alice_cannot_approve_her_own(
    jp_fetch, jp_root_dir: Path, versions
) -> None:
    before = event_count(jp_root_dir)
    transition = ("models", "churn", "versions", "2", "transition")
    status, body = await call(jp_fetch, "alice", "POST", *transition, body={"stage": "production"})
    assert status == 409
    assert "production needs an approved request" in body["error"]["message"]

    status, made = await call(
        jp_fetch,
        "alice",
        "POST",
        "approvals",
        body={"model": "churn", "version": 2, "stage": "production", "reason": "A/B won"},
    )
    assert status == 201, made
    check_shape("POST /approvals", made)
    assert (made["requester"], made["status"], made["to_stage"]) == (
        "alice",
        "pending",
        "production",
    )
    rid = str(made["id"])

    status, body = await call(
        jp_fetch, "alice", "POST", "approvals", rid, "approve", body={"reason": "me"}
    )
    assert status == 409
    message = body["error"]["message"]
    assert "\n" not in message and "requested by alice; someone else has to approve" in message

    # who sees what: Bob is awaited, Alice is not; Alice's own list has it
    _, awaiting_bob = await call(jp_fetch, "bob", "GET", "approvals", awaiting="1")
    _, awaiting_alice = await call(jp_fetch, "alice", "GET", "approvals", awaiting="1")
    _, mine_alice = await call(jp_fetch, "alice", "GET", "approvals", mine="1")
    check_shape("GET /approvals", awaiting_bob)
    assert [r["id"] for r in awaiting_bob["requests"]] == [made["id"]]
    assert (awaiting_bob["user"], awaiting_bob["require_approval"]) == ("bob", ["production"])
    assert awaiting_alice["requests"] == []
    assert [r["id"] for r in mine_alice["requests"]] == [made["id"]]

    # the review: the requested version beside the one in production now
    status, review = await call(jp_fetch, "bob", "GET", "approvals", rid)
    assert status == 200, review
    check_shape("GET /approvals/{id}", review)
    assert (review["candidate"]["version"], review["current"]["version"]) == (2, 1)
    assert review["candidate"]["run_id"] == versions.edited_id
    assert review["current"]["run_id"] == versions.base_id
    assert review["can_decide"] is True
    _, own_review = await call(jp_fetch, "alice", "GET", "approvals", rid)
    assert own_review["can_decide"] is False

    status, decided = await call(
        jp_fetch, "bob", "POST", "approvals", rid, "approve", body={"reason": "diff reviewed"}
    )
    assert status == 200, decided
    check_shape("POST /approvals/{id}/approve", decided)
    assert (decided["status"], decided["decided_by"]) == ("approved", "bob")
    assert (stage_of(jp_root_dir, 2), stage_of(jp_root_dir, 1)) == ("production", "archived")
    assert events_since(jp_root_dir, before) == [
        ("transition_refused", "alice", 2),
        ("transition_requested", "alice", 2),
        ("transition_approved", "bob", 2),
        ("transition", "bob", 2),
        ("superseded", "bob", 1),
    ]

    status, body = await call(
        jp_fetch, "carol", "POST", "approvals", rid, "reject", body={"reason": "late"}
    )
    assert status == 409
    assert "is approved by bob already" in body["error"]["message"]


async def test_bob_rejects_and_nothing_moves(jp_fetch, jp_root_dir: Path, versions) -> None:
    _, made = await call(
        jp_fetch,
        "alice",
        "POST",
        "approvals",
        body={"model": "churn", "version": 2, "stage": "production", "reason": "ship it"},
    )
    status, decided = await call(
        jp_fetch,
        "bob",
        "POST",
        "approvals",
        str(made["id"]),
        "reject",
        body={"reason": "needs the fairness report"},
    )
    assert status == 200, decided
    check_shape("POST /approvals/{id}/reject", decided)
    assert (decided["status"], decided["decision_reason"]) == (
        "rejected",
        "needs the fairness report",
    )
    assert stage_of(jp_root_dir, 2) == "staging"
    _, listed = await call(jp_fetch, "carol", "GET", "approvals", status="rejected")
    assert [r["decided_by"] for r in listed["requests"]] == ["bob"]


async def test_a_gate_failing_at_approval_closes_the_request_as_failed(
    jp_fetch, jp_root_dir: Path, jp_config_dir: Path, versions
) -> None:
    _, made = await call(
        jp_fetch,
        "alice",
        "POST",
        "approvals",
        body={"model": "churn", "version": 2, "stage": "production", "reason": "ship it"},
    )
    # the operator adds a production gate while the request waits (v2's run has acc 0.53)
    (jp_config_dir / "jupyter_mm_config.py").write_text(
        f"c.Registry.gates = {{'production': [{PRODUCTION_GATE!r}]}}\n", encoding="utf-8"
    )
    rid = str(made["id"])
    _, review = await call(jp_fetch, "bob", "GET", "approvals", rid)
    assert [(g["gate"], g["passed"]) for g in review["candidate_gates"]] == [
        (PRODUCTION_GATE, False)
    ]
    assert [(g["gate"], g["passed"]) for g in review["current_gates"]] == [(PRODUCTION_GATE, True)]

    status, body = await call(
        jp_fetch, "bob", "POST", "approvals", rid, "approve", body={"reason": "ok"}
    )
    assert status == 409
    assert "was refused: gate 'metrics.acc >= 0.535' not met" in body["error"]["message"]
    assert stage_of(jp_root_dir, 2) == "staging"
    _, listed = await call(jp_fetch, "bob", "GET", "approvals")
    assert [(r["status"], r["decided_by"]) for r in listed["requests"]] == [("failed", "bob")]


async def test_bad_requests_are_one_line_4xx(jp_fetch, versions) -> None:
    cases = [
        (
            "POST",
            ("approvals",),
            {"model": "churn", "version": 2, "stage": "staging", "reason": "x"},
            400,
        ),
        ("POST", ("approvals",), {"model": "churn", "version": 2, "stage": "production"}, 400),
        (
            "POST",
            ("approvals",),
            {"model": "churn", "version": 2, "stage": "production", "reason": " "},
            400,
        ),
        (
            "POST",
            ("approvals",),
            {"model": "churn", "version": 9, "stage": "production", "reason": "x"},
            404,
        ),
        ("POST", ("approvals", "abc", "approve"), {"reason": "x"}, 400),
        ("POST", ("approvals", "77", "approve"), {"reason": "x"}, 404),
        ("POST", ("approvals", "77", "approve"), {}, 400),
        ("GET", ("approvals", "0"), None, 400),
    ]
    for method, path, body, expected in cases:
        status, answer = await call(jp_fetch, "bob", method, *path, body=body)
        assert status == expected, (path, body, answer)
        assert "\n" not in answer["error"]["message"]
    status, answer = await call(jp_fetch, "bob", "GET", "approvals", mine="1", awaiting="1")
    assert status == 400


async def test_my_runs_are_the_authenticated_users_runs(jp_fetch, jp_root_dir: Path) -> None:
    with open_store(store_location(jp_root_dir)) as store:
        owned = {
            name: [
                store.create_run(
                    Run(id=ids.new_id(), name=f"{name} {i}", start_time=time.time(), user=name)
                ).id
                for i in range(2)
            ]
            for name in ("alice", "bob")
        }
    for name in ("alice", "bob"):
        _, page = await call(jp_fetch, name, "GET", "runs", mine="1")
        assert sorted(r["id"] for r in page["runs"]) == sorted(owned[name])
        assert {r["user"] for r in page["runs"]} == {name}
    _, everyone = await call(jp_fetch, "carol", "GET", "runs")
    assert len(everyone["runs"]) == 4
    _, nobody = await call(jp_fetch, "carol", "GET", "runs", mine="1")
    assert nobody["runs"] == []
