"""The serving view of the registry over REST, on a real server and a real SQLite store:
``GET /models/{name}/endpoints`` (what live `jupyter mm serve` processes serve, the split,
the rate) and the refusal to archive a served version unless forced. The heartbeat rows
are written as a serving process writes them (a real serve process writes them in
tests/serving)."""

from __future__ import annotations

from pathlib import Path

import pytest
from mm_api_data import fill_store, get_json, store_location
from mm_registry_data import beat_endpoint, register_versions, send_json

from jupyter_mm.store import open_store

pytestmark = pytest.mark.usefixtures("jp_serverapp")


def stage_of(root: Path, model: str, version: int) -> str:
    with open_store(store_location(root)) as store:
        return store.get_version(model, version).stage


async def test_endpoints_show_arms_split_rate_and_liveness(jp_fetch, jp_root_dir) -> None:
    data = fill_store(jp_root_dir, plain_runs=2)
    register_versions(jp_root_dir, data)
    assert await get_json(jp_fetch, "models", "churn", "endpoints") == (
        200,
        {"model": "churn", "endpoints": []},
    )
    beat_endpoint(jp_root_dir, "churn", {"champion": (1, 0.0), "canary": (2, 0.25)})
    beat_endpoint(jp_root_dir, "churn", {"champion": (1, 0.0)}, endpoint_id="e2", age=30)
    beat_endpoint(jp_root_dir, "churn", {"champion": (1, 0.0)}, endpoint_id="e3", age=600)
    beat_endpoint(jp_root_dir, "fraud", {"champion": (1, 0.0)}, endpoint_id="e4")

    status, body = await get_json(jp_fetch, "models", "churn", "endpoints")
    assert status == 200
    by_id = {e["id"]: e for e in body["endpoints"]}
    assert set(by_id) == {"e1", "e2"}  # e3 silent for ten minutes, e4 serves another model
    live = by_id["e1"]
    assert (live["live"], by_id["e2"]["live"]) == (True, False)
    assert live["url"] == "http://127.0.0.1:5001" and live["requests_per_second"] == 12.5
    arms = {a["arm"]: (a["version"], a["share"]) for a in live["arms"]}
    assert arms == {"champion": (1, 0.75), "canary": (2, 0.25)}

    status, body = await get_json(jp_fetch, "models", "nobody", "endpoints")
    assert status == 404


async def test_archiving_a_served_version_is_refused_unless_forced(jp_fetch, jp_root_dir) -> None:
    data = fill_store(jp_root_dir, plain_runs=2)
    register_versions(jp_root_dir, data)
    beat_endpoint(jp_root_dir, "churn", {"champion": (1, 0.0), "shadow": (2, 0.0)})

    for version in (1, 2):  # the champion, and a version only shadowed
        status, body = await send_json(
            jp_fetch, "POST", "models", "churn", "versions", str(version), "transition",
            body={"stage": "archived", "reason": "retire"},
        )  # fmt: skip
        assert status == 409, body
        message = body["error"]["message"]
        assert "http://127.0.0.1:5001" in message and "force" in message
        assert "\n" not in message
        assert stage_of(jp_root_dir, "churn", version) != "archived"

    status, body = await send_json(
        jp_fetch, "POST", "models", "churn", "versions", "1", "transition",
        body={"stage": "archived", "reason": "retire", "force": True},
    )  # fmt: skip
    assert status == 200 and body["stage"] == "archived"

    status, body = await send_json(
        jp_fetch, "POST", "models", "churn", "versions", "2", "transition",
        body={"stage": "archived", "force": "yes"},
    )  # fmt: skip
    assert status == 400 and "true or false" in body["error"]["message"]


async def test_a_silent_endpoint_does_not_block_archiving(jp_fetch, jp_root_dir) -> None:
    data = fill_store(jp_root_dir, plain_runs=2)
    register_versions(jp_root_dir, data)
    beat_endpoint(jp_root_dir, "churn", {"champion": (1, 0.0)}, age=30)  # killed, row left
    status, body = await send_json(
        jp_fetch, "POST", "models", "churn", "versions", "1", "transition",
        body={"stage": "archived"},
    )  # fmt: skip
    assert status == 200 and body["stage"] == "archived"
