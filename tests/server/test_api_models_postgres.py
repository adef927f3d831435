"""The registry's REST routes on the team backend: the same server with its store on the
suite's real PostgreSQL server, every registry route once, answers checked against the
wire schema."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
from mm_api_data import fill_store, get_json
from mm_registry_data import register_versions, send_json

from jupyter_mm.config import ENV_ARTIFACTS, ENV_STORE, StoreLocation
from jupyter_mm.server import schema, schema_render

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("jp_serverapp")]


def valid(route: str, body: object) -> None:
    jsonschema.validate(body, schema_render.schema_for(schema.ROUTE_MODELS[route]))


async def test_every_registry_route_on_postgresql(
    jp_fetch, jp_root_dir: Path, postgres_url: str, tmp_path: Path, monkeypatch
) -> None:
    location = StoreLocation(url=postgres_url, artifact_root=str(tmp_path / "objects"))
    monkeypatch.setenv(ENV_STORE, location.url)
    monkeypatch.setenv(ENV_ARTIFACTS, location.artifact_root)
    data = fill_store(jp_root_dir, plain_runs=2, location=location)
    register_versions(jp_root_dir, data, location=location)

    status, listing = await get_json(jp_fetch, "models")
    valid("GET /models", listing)
    assert [(m["name"], m["production"], m["staging"]) for m in listing["models"]] == [
        ("churn", 1, [2]),
        ("fraud", None, []),
    ]

    request = {"run_id": data.base_id, "artifact": "model.pkl", "name": "churn"}
    status, created = await send_json(jp_fetch, "POST", "models", body=request)
    assert status == 201
    valid("POST /models", created)
    assert created["version"] == 3

    path = ("models", "churn", "versions", "3", "transition")
    for stage in ("staging", "production"):
        status, moved = await send_json(jp_fetch, "POST", *path, body={"stage": stage})
        assert status == 200, moved
        valid("POST /models/{name}/versions/{version}/transition", moved)
    status, refused = await send_json(jp_fetch, "POST", *path, body={"stage": "production"})
    assert status == 409 and "already in production" in refused["error"]["message"]

    status, rolled = await send_json(jp_fetch, "POST", "models", "churn", "rollback", body={})
    assert status == 200, rolled
    valid("POST /models/{name}/rollback", rolled)
    assert (rolled["production"]["version"], rolled["archived"]["version"]) == (1, 3)

    alias = ("models", "churn", "aliases", "challenger")
    status, aliased = await send_json(jp_fetch, "PUT", *alias, body={"version": 2})
    assert status == 200
    valid("PUT /models/{name}/aliases/{alias}", aliased)
    assert (await send_json(jp_fetch, "DELETE", *alias))[0] == 204

    status, detail = await get_json(jp_fetch, "models", "churn")
    valid("GET /models/{name}", detail)
    assert [v["stage"] for v in detail["versions"]] == ["production", "staging", "archived"]
    assert [e["action"] for e in detail["events"]][-4:] == [
        "rollback",
        "rollback",
        "alias",
        "unalias",
    ]
    assert "transition_refused" in [e["action"] for e in detail["events"]]

    status, lineage = await get_json(jp_fetch, "models", "churn", "versions", "3", "lineage")
    valid("GET /models/{name}/versions/{version}/lineage", lineage)
    assert lineage["run"]["id"] == data.base_id
    assert lineage["checkpoint"]["digest"]
