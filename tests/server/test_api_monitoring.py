"""``GET /jupyter-mm/api/models/{name}/monitoring``: the typed report over a real store,
query parameters checked, and its own authorization resource (``jupyter_mm:monitoring``;
every route's refusal is also covered by test_server_authorizer)."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
from mm_api_data import fill_store, get_json
from mm_monitoring_data import add_monitoring
from mm_registry_data import register_versions

from jupyter_mm.server import schema, schema_render
from jupyter_mm.server.handlers.monitoring import MonitoringHandler


@pytest.fixture
def monitored(jp_root_dir: Path) -> list[str]:
    data = fill_store(jp_root_dir, plain_runs=3)
    register_versions(jp_root_dir, data)
    return add_monitoring(jp_root_dir)


@pytest.mark.usefixtures("jp_serverapp")
async def test_the_report_validates_and_shows_the_shift(jp_fetch, monitored) -> None:
    status, body = await get_json(
        jp_fetch, "models", "fraud", "monitoring", window="600", step="300"
    )
    assert status == 200, body
    jsonschema.validate(body, schema_render.schema_for(schema.MonitoringReport))
    assert body["model"] == "fraud" and body["version"] == 1 and body["window"]["rows"] == 600
    assert [w["source"] for w in body["performance"]] == ["measured", "estimated"]
    drift = {f["feature"]: f for f in body["drift"]["features"]}
    assert drift["amount"]["drifted"] and not drift["hour"]["drifted"]
    assert body["metrics"]["drift_share"] == 0.5 and body["metrics"]["p50_latency_ms"] == 2.5


@pytest.mark.usefixtures("jp_serverapp")
async def test_version_ref_and_since_select_what_is_reported(jp_fetch, monitored) -> None:
    for params in ({"version": "1"}, {"ref": "champion"}, {"since": "1h", "every": "1h"}):
        status, body = await get_json(jp_fetch, "models", "fraud", "monitoring", **params)
        if "ref" in params:  # the alias names churn's version, fraud has none
            assert status == 404, body
            continue
        assert status == 200, (params, body)
        assert body["window"]["rows"] == 600


@pytest.mark.usefixtures("jp_serverapp")
@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("fraud", {"window": "0"}, 400),
        ("fraud", {"window": "x"}, 400),
        ("fraud", {"window": "10", "since": "1h"}, 400),
        ("fraud", {"since": "soon"}, 400),
        ("fraud", {"step": "10", "every": "1h"}, 400),
        ("fraud", {"version": "1", "ref": "production"}, 400),
        ("nope", {}, 404),
        ("churn", {}, 400),  # registered, never profiled: says how to profile it
    ],
)
async def test_bad_queries_are_clear_errors(jp_fetch, monitored, path, params, status) -> None:
    code, body = await get_json(jp_fetch, "models", path, "monitoring", **params)
    assert code == status, body
    assert body["error"]["message"]


def test_monitoring_has_its_own_authorization_resource() -> None:
    assert MonitoringHandler.auth_resource == "jupyter_mm:monitoring"
