"""The one wire schema: the generated TypeScript is up to date, every route's real answers
validate against the JSON Schema, and no entity field is missing on the wire."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from mm_api_data import add_events, fill_store, get_json, store_location
from mm_monitoring_data import add_monitoring
from mm_registry_data import beat_endpoint, register_versions, send_json
from test_api_approvals import APPROVAL_ROUTES_VALIDATED

from jupyter_mm import entities
from jupyter_mm.diffing import RunDiff as DiffResult
from jupyter_mm.server import schema, schema_render
from jupyter_mm.store import open_store

#: fields the server adds to an entity on the wire, per wire model
WIRE_ONLY = {
    schema.Run: {"notebook_relpath"},
    schema.RunSummary: {"notebook_relpath", "metrics", "flag_count", "warning_count"},
}


def test_committed_typescript_matches_the_models() -> None:
    committed = schema_render.TS_PATH.read_text(encoding="utf-8")
    assert committed == schema_render.typescript(), (
        "labextension/src/api/schema.ts is out of date: run "
        "`python -m jupyter_mm.server.schema --ts` and commit the result"
    )


def test_generator_command_writes_typescript_and_json_schema(tmp_path: Path) -> None:
    target = tmp_path / "schema.ts"
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_mm.server.schema", "--ts", str(target), "--json-schema"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert target.read_text(encoding="utf-8") == schema_render.typescript()
    assert target.read_text(encoding="utf-8").startswith("/*\n * GENERATED")
    document = json.loads(done.stdout)
    jsonschema.Draft202012Validator.check_schema(document)
    assert set(document["$defs"]) >= {m.__name__ for m in schema.MODELS}


@pytest.mark.parametrize("entity", list(schema.ENTITY_MODELS), ids=lambda e: e.__name__)
def test_every_entity_field_is_on_the_wire(entity: type) -> None:
    model = schema.ENTITY_MODELS[entity]
    entity_fields = {f.name for f in dataclasses.fields(entity)}
    wire_fields = set(schema_render.fields_of(model))
    assert entity_fields <= wire_fields, f"missing on the wire: {entity_fields - wire_fields}"
    assert wire_fields - entity_fields == WIRE_ONLY.get(model, set())


def test_listing_row_is_a_run_without_its_execution_log() -> None:
    run_fields = {f.name for f in dataclasses.fields(entities.Run)}
    summary = set(schema_render.fields_of(schema.RunSummary))
    assert summary == (run_fields - {"execution_log"}) | WIRE_ONLY[schema.RunSummary]


def test_run_diff_model_has_every_key_of_run_diff_to_dict() -> None:
    diff = DiffResult(a=entities.Run(id="A"), b=entities.Run(id="B"), base={}, notebook_diff=[])
    assert set(diff.to_dict()) == set(schema_render.fields_of(schema.RunDiff))


def test_models_reject_undeclared_fields() -> None:
    # the validation below only catches drift because the models are closed
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"names": [], "surprise": 1}, schema_render.schema_for(schema.MetricNames)
        )


@pytest.mark.usefixtures("jp_serverapp")
def add_alert(root: Path) -> None:
    """An alert as a monitor pass writes it (evidence as JSON in the reason)."""
    evidence = {"rule": "roc_auc < 0.78", "summary": "churn v1: roc_auc < 0.78 (roc_auc = 0.6)",
                "actions": ["notify"], "windows": [{"values": {"roc_auc": 0.6}}]}  # fmt: skip
    with open_store(store_location(root)) as store:
        store.append_event(
            "alert", model="churn", version=1, user="monitor", reason=json.dumps(evidence)
        )


async def test_real_answers_of_every_route_validate(jp_fetch, jp_root_dir: Path) -> None:
    data = fill_store(jp_root_dir, plain_runs=5)
    add_events(jp_root_dir, 3)
    requests = {
        "GET /info": [("info",)],
        "GET /runs": [
            ("runs",),
            ("runs", {"metrics": "loss", "limit": "2", "notebook": "nb/train.ipynb"}),
        ],
        "GET /runs/metric-names": [("runs", "metric-names")],
        "GET /runs/{id}": [("runs", data.base_id), ("runs", data.bare_id)],
        "GET /runs/{id}/checkpoint": [("runs", data.base_id, "checkpoint")],
        "GET /runs/{a}/diff/{b}": [
            ("runs", data.base_id, "diff", data.edited_id),
            ("runs", data.bare_id, "diff", data.base_id, {"ignore_outputs": "1"}),
        ],
        "GET /events": [("events", {"limit": "2"})],
        "GET /alerts": [("alerts",), ("alerts", {"model": "churn", "after": "0"})],
        "GET /models": [("models",)],
        "GET /models/{name}": [("models", "churn"), ("models", "fraud")],
        "GET /models/{name}/versions/{version}/lineage": [
            ("models", "churn", "versions", "1", "lineage"),
        ],
        "GET /models/{name}/endpoints": [("models", "churn", "endpoints")],
        "GET /models/{name}/monitoring": [("models", "fraud", "monitoring", {"step": "200"})],
    }
    # writes, in an order the registry accepts: (route, method, path, body)
    writes = [
        (
            "POST /models",
            "POST",
            ("models",),
            {"run_id": data.base_id, "artifact": "model.pkl", "name": "churn", "description": None},
        ),
        (
            "POST /models/{name}/versions/{version}/transition",
            "POST",
            ("models", "churn", "versions", "3", "transition"),
            {"stage": "staging", "reason": "ok", "force": None},
        ),
        (
            "POST /models/{name}/versions/{version}/transition",
            "POST",
            ("models", "churn", "versions", "3", "transition"),
            {"stage": "production", "reason": None, "force": False},
        ),
        (
            "POST /models/{name}/rollback",
            "POST",
            ("models", "churn", "rollback"),
            {"reason": "slow"},
        ),
        (
            "PUT /models/{name}/aliases/{alias}",
            "PUT",
            ("models", "churn", "aliases", "best"),
            {"version": 3, "reason": "fast"},
        ),
    ]
    # the approval routes need two users: validated in test_api_approvals.py
    validated_elsewhere = set(APPROVAL_ROUTES_VALIDATED)
    assert set(requests) | {w[0] for w in writes} | validated_elsewhere == set(
        schema.ROUTE_MODELS
    ), "a route has no validated request"
    register_versions(jp_root_dir, data)
    beat_endpoint(jp_root_dir, "churn", {"champion": (1, 0.9), "canary": (2, 0.1)})
    add_monitoring(jp_root_dir)
    add_alert(jp_root_dir)
    for route, calls in requests.items():
        validator = jsonschema.Draft202012Validator(
            schema_render.schema_for(schema.ROUTE_MODELS[route])
        )
        for call in calls:
            *path, params = call if isinstance(call[-1], dict) else (*call, {})
            status, body = await get_json(jp_fetch, *path, **params)
            assert status == 200, (route, body)
            errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
            assert not errors, f"{route} {path}: {errors[:5]}"
    for route, method, path, request in writes:
        validator = jsonschema.Draft202012Validator(
            schema_render.schema_for(schema.ROUTE_MODELS[route])
        )
        request_validator = jsonschema.Draft202012Validator(
            schema_render.schema_for(schema.REQUEST_MODELS[route])
        )
        # the bodies sent are full request models (optional fields included), so the
        # generated request types are checked against what the server accepts
        request_validator.validate(request)
        status, body = await send_json(jp_fetch, method, *path, body=request)
        assert status in (200, 201), (route, body)
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
        assert not errors, f"{route} {path}: {errors[:5]}"

    error_validator = jsonschema.Draft202012Validator(schema_render.schema_for(schema.ErrorBody))
    for path, params in [
        (("runs",), {"limit": "0"}),
        (("runs", "0" * 26), {}),
        (("runs", data.bare_id, "checkpoint"), {}),
        (("nothing", "here"), {}),
        (("models", "nobody"), {}),
        (("models", "churn", "versions", "x", "lineage"), {}),
    ]:
        status, body = await get_json(jp_fetch, *path, **params)
        assert status in (400, 404)
        error_validator.validate(body)
