"""The REST API on the team backend: the same server, its store on the suite's real
PostgreSQL server (configured through ``JUPYTER_MM_STORE`` like a team would)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from mm_api_data import ARTIFACT_BYTES, add_events, fill_store, get_json

from jupyter_mm.config import ENV_ARTIFACTS, ENV_STORE, StoreLocation
from jupyter_mm.server import schema, schema_render

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("jp_serverapp")]


async def test_every_route_on_postgresql(
    jp_fetch, jp_root_dir: Path, postgres_url: str, tmp_path: Path, monkeypatch
) -> None:
    objects = tmp_path / "objects"
    # the server opens its store on the first request, so the variables are read then
    monkeypatch.setenv(ENV_STORE, postgres_url)
    monkeypatch.setenv(ENV_ARTIFACTS, str(objects))
    data = fill_store(
        jp_root_dir,
        plain_runs=9,
        location=StoreLocation(url=postgres_url, artifact_root=str(objects)),
    )

    def valid(route: str, body: object) -> None:
        jsonschema.validate(body, schema_render.schema_for(schema.ROUTE_MODELS[route]))

    status, info = await get_json(jp_fetch, "info")
    assert status == 200 and info["store"].startswith("postgresql")

    async def every_page(**params: str) -> list[dict]:
        """The rows of every page of ``GET /runs`` with ``params``, each page validated."""
        rows, token = [], None
        while True:
            more = {"page_token": token} if token else {}
            _, page = await get_json(jp_fetch, "runs", **params, **more)
            valid("GET /runs", page)
            rows += page["runs"]
            token = page["next_token"]
            if token is None:
                return rows

    rows = await every_page(limit="2", notebook="nb/train.ipynb", metrics="loss")
    assert [r["id"] for r in rows] == list(reversed(data.runs_by_notebook["nb/train.ipynb"]))
    assert rows[0]["metrics"] == {"loss": 0.3}

    # ordered by a metric and filtered by thresholds, paged through latest_metrics
    rows = await every_page(limit="2", order="metric:loss:asc", metric_filter="loss<0.5,loss>0.1")
    losses = [r["metrics"]["loss"] for r in rows]
    assert losses == sorted(losses) and losses[0] > 0.1 and losses[-1] < 0.5
    assert len(rows) == 9  # 1/3 .. 1/9 of the plain runs, 0.4 and 0.3 of the rich ones

    _, names = await get_json(jp_fetch, "runs", "metric-names")
    assert names == {"names": ["acc", "grad_norm", "loss"]}

    _, detail = await get_json(jp_fetch, "runs", data.base_id)
    valid("GET /runs/{id}", detail)
    assert {m["name"]: m["value"] for m in detail["metrics"] if m["step"] == 0}[
        "grad_norm"
    ] == "nan"

    _, notebook = await get_json(jp_fetch, "runs", data.base_id, "checkpoint")
    assert notebook["cells"][1]["source"].startswith("%%track")

    _, diff = await get_json(jp_fetch, "runs", data.base_id, "diff", data.edited_id)
    valid("GET /runs/{a}/diff/{b}", diff)
    assert {r["name"]: r["change"] for r in diff["params"]}["lr"] == "changed"

    response = await jp_fetch("jupyter-mm", "api", "runs", data.base_id, "artifacts", "model.pkl")
    assert response.body == ARTIFACT_BYTES + b"0.1"

    add_events(jp_root_dir, 3, location=StoreLocation(url=postgres_url, artifact_root=str(objects)))
    _, events = await get_json(jp_fetch, "events", limit="2")
    valid("GET /events", events)
    assert [e["version"] for e in events["events"]] == [3, 2] and events["next_token"]

    status, body = await get_json(jp_fetch, "runs", status="bogus")
    assert status == 400 and "Traceback" not in json.dumps(body)
