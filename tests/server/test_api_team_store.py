"""The sidebar's REST reads and the registry's writes on the shared store: the server's
store on PostgreSQL with its blobs in S3 (``team_store``), configured through the
environment as on a team's hub. Checkpoints, diffs and artifact downloads are read from the
bucket (there is no local path to send)."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
from mm_api_data import ARTIFACT_BYTES, fill_store, get_json
from mm_registry_data import register_versions, send_json

from jupyter_mm.config import ENV_ARTIFACTS, ENV_STORE
from jupyter_mm.server import schema, schema_render

pytestmark = [pytest.mark.postgres, pytest.mark.s3, pytest.mark.usefixtures("jp_serverapp")]


async def test_sidebar_reads_and_registry_writes_through_s3(
    jp_fetch, jp_root_dir: Path, team_store, monkeypatch
) -> None:
    # the server opens its store on the first request, so the variables are read then
    monkeypatch.setenv(ENV_STORE, team_store.url)
    monkeypatch.setenv(ENV_ARTIFACTS, team_store.artifact_root)
    data = fill_store(jp_root_dir, plain_runs=3, location=team_store.location)
    register_versions(jp_root_dir, data, location=team_store.location)

    def valid(route: str, body: object) -> None:
        jsonschema.validate(body, schema_render.schema_for(schema.ROUTE_MODELS[route]))

    status, info = await get_json(jp_fetch, "info")
    assert status == 200 and info["store"].startswith("postgresql")

    _, page = await get_json(jp_fetch, "runs", limit="50")
    valid("GET /runs", page)
    assert {data.base_id, data.edited_id} <= {r["id"] for r in page["runs"]}

    _, detail = await get_json(jp_fetch, "runs", data.base_id)
    valid("GET /runs/{id}", detail)
    _, notebook = await get_json(jp_fetch, "runs", data.base_id, "checkpoint")
    assert notebook["cells"][1]["source"].startswith("%%track")
    _, diff = await get_json(jp_fetch, "runs", data.base_id, "diff", data.edited_id)
    valid("GET /runs/{a}/diff/{b}", diff)
    assert {r["name"]: r["change"] for r in diff["params"]}["lr"] == "changed"
    response = await jp_fetch("jupyter-mm", "api", "runs", data.base_id, "artifacts", "model.pkl")
    assert response.body == ARTIFACT_BYTES + b"0.1"

    _, models = await get_json(jp_fetch, "models")
    valid("GET /models", models)
    assert {m["name"] for m in models["models"]} == {"churn", "fraud"}
    status, moved = await send_json(
        jp_fetch,
        "POST",
        "models",
        "churn",
        "versions",
        "2",
        "transition",
        body={"stage": "production", "reason": "better"},
    )
    assert status == 200, moved
    _, churn = await get_json(jp_fetch, "models", "churn")
    stages = {v["version"]: v["stage"] for v in churn["versions"]}
    assert stages == {1: "archived", 2: "production"}
