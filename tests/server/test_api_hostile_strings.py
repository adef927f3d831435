"""Hostile stored strings over REST, on a real server and a real SQLite store: every newer
free-text field (approval reasons and comments, alert evidence, webhook deliveries, serving
endpoints, model and version descriptions, audit reasons) written with the suite's corpus
(tests/hostile_strings.py) comes back exactly, byte for byte, as JSON; a write carrying
what the store cannot hold is a 4xx that says why, never a 500."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hostile_strings import EVERYTHING, HUGE, fill_registry, tag
from mm_api_data import get_json, store_location
from mm_registry_data import send_json

from jupyter_mm.store import open_store

pytestmark = pytest.mark.usefixtures("jp_serverapp")


@pytest.fixture
def hostile_root(jp_root_dir: Path) -> Path:
    with open_store(store_location(jp_root_dir)) as store:
        fill_registry(store)
    return jp_root_dir


async def test_every_newer_field_round_trips_exactly(jp_fetch, hostile_root: Path) -> None:
    status, body = await get_json(jp_fetch, "approvals")
    assert status == 200
    requests = body["requests"]
    assert {r["reason"] for r in requests} == {tag("request reason")}
    assert {r["requester"] for r in requests} == {tag("requester")}
    assert {r["decision_reason"] for r in requests} == {tag("comment"), None}
    assert {r["decided_by"] for r in requests} == {tag("approver"), None}

    status, body = await get_json(jp_fetch, "alerts")
    (alert,) = body["alerts"]
    assert (alert["rule"], alert["summary"], alert["user"]) == (
        tag("rule"),
        tag("summary"),
        tag("alert user"),
    )
    assert alert["evidence"]["why"] == tag("why") and alert["actions"] == [tag("action")]

    status, body = await get_json(jp_fetch, "models", "churn")
    assert status == 200
    assert body["model"]["description"] == tag("model description")
    (version,) = body["versions"]
    assert version["description"] == tag("version description")
    reasons = {e["reason"] for e in body["events"]}
    assert tag("moved") in reasons
    assert any(tag("request reason") in (r or "") for r in reasons)
    assert tag("registrant") in {e["user"] for e in body["events"]}

    status, body = await get_json(jp_fetch, "models", "churn", "endpoints")
    (endpoint,) = body["endpoints"]
    assert (endpoint["host"], endpoint["reference"], endpoint["url"]) == (
        tag("host", HUGE),
        tag("reference"),
        tag("url"),
    )
    assert [a["arm"] for a in endpoint["arms"]] == [tag("arm")]


@pytest.mark.parametrize(
    "reason",
    [
        "\ud800 a lone surrogate: valid JSON, not storable UTF-8",
        "a\x00b: NUL, which PostgreSQL text cannot hold",
        HUGE,  # over the store's limit on reasons
    ],
)
async def test_unstorable_reasons_are_one_line_4xx(jp_fetch, hostile_root: Path, reason) -> None:
    for path, body in [
        (("models", "churn", "versions", "1", "transition"), {"stage": "none", "reason": reason}),
        (("models", "churn", "rollback"), {"reason": reason}),
    ]:
        status, answer = await send_json(jp_fetch, "POST", *path, body=body)
        assert 400 <= status < 500, (path, status, answer)
        assert "\n" not in answer["error"]["message"]


async def test_a_hostile_reason_written_over_rest_reads_back_exactly(
    jp_fetch, hostile_root: Path
) -> None:
    reason = tag("archived because", EVERYTHING)
    status, body = await send_json(
        jp_fetch,
        "POST",
        "models",
        "churn",
        "versions",
        "1",
        "transition",
        body={"stage": "archived", "reason": reason, "force": True},
    )
    assert status == 200, body
    status, body = await get_json(jp_fetch, "models", "churn")
    assert reason in {e["reason"] for e in body["events"]}
    assert json.loads(json.dumps(body)) == body
