"""The registry's REST routes on a real server and a real SQLite store: reading models,
registering, transitions with server-configured gates, rollback, aliases and lineage."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
from mm_api_data import fill_store, get_json, store_location
from mm_registry_data import PRODUCTION_GATE, register_versions, send_json
from traitlets.config import Config

from jupyter_mm.store import open_store

pytestmark = pytest.mark.usefixtures("jp_serverapp")


@pytest.fixture
def jp_server_config() -> Config:
    # gates come from the server's own config, as an operator would set them
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"jupyter_mm": True}},
            "Registry": {"gates": {"production": [PRODUCTION_GATE]}},
        }
    )


def events_of(root: Path, model: str) -> list[tuple[str, int | None, str | None, str | None]]:
    with open_store(store_location(root)) as store:
        return [(e.action, e.version, e.to_stage, e.reason) for e in store.model_events(model)]


async def test_models_listing_shows_stages_aliases_and_counts(jp_fetch, jp_root_dir) -> None:
    assert await get_json(jp_fetch, "models") == (200, {"models": []})
    data = fill_store(jp_root_dir, plain_runs=2)
    register_versions(jp_root_dir, data)

    status, body = await get_json(jp_fetch, "models")
    assert status == 200
    churn, fraud = body["models"]
    assert churn["name"] == "churn" and fraud["name"] == "fraud"
    assert churn["latest_version"] == 2 and churn["version_count"] == 2
    assert (churn["production"], churn["staging"], churn["aliases"]) == (1, [2], {"champion": 1})
    assert (fraud["production"], fraud["staging"], fraud["aliases"]) == (None, [], {})
    assert churn["created_time"] > 0


async def test_model_detail_has_run_names_latest_metrics_and_the_audit_trail(
    jp_fetch, jp_root_dir
) -> None:
    data = fill_store(jp_root_dir, plain_runs=2)
    register_versions(jp_root_dir, data)

    status, body = await get_json(jp_fetch, "models", "churn")
    assert status == 200
    assert body["model"]["name"] == "churn"
    v1, v2 = body["versions"]
    assert (v1["description"], v2["description"]) == ("forest", None)
    assert (v1["version"], v1["stage"], v1["aliases"], v1["run_id"]) == (
        1,
        "production",
        ["champion"],
        data.base_id,
    )
    assert (v2["run_name"], v2["stage"], v2["run_id"]) == ("lr=0.05", "staging", data.edited_id)
    # latest value per metric (loss at step 1), NaN as a string the browser can parse
    assert v1["metrics"] == {"acc": pytest.approx(0.54), "grad_norm": "nan", "loss": 0.4}
    actions = [(e["action"], e["version"], e["to_stage"]) for e in body["events"]]
    assert actions == [
        ("register", 1, "none"),
        ("register", 2, "none"),
        ("transition", 1, "staging"),
        ("transition", 1, "production"),
        ("transition", 2, "staging"),
        ("alias", 1, None),
    ]
    status, body = await get_json(jp_fetch, "models", "nothing")
    assert status == 404 and body["error"]["message"] == "No model named nothing."


async def test_register_a_runs_artifact(jp_fetch, jp_root_dir) -> None:
    data = fill_store(jp_root_dir, plain_runs=2)
    # a unique id prefix (ids made within one millisecond share most of their characters)
    others = [i for i in data.all_ids if i != data.base_id]
    prefix = next(
        data.base_id[:n]
        for n in range(10, 27)
        if not any(i.startswith(data.base_id[:n]) for i in others)
    )
    request = {"run_id": prefix, "artifact": "model.pkl", "name": "churn"}
    status, body = await send_json(jp_fetch, "POST", "models", body=request)
    assert status == 201, body
    assert (body["model"], body["version"], body["run_id"], body["stage"]) == (
        "churn",
        1,
        data.base_id,
        "none",
    )
    assert body["flavor"] == "file" and body["description"] is None

    request.update(run_id=data.edited_id, description="lower lr")
    status, body = await send_json(jp_fetch, "POST", "models", body=request)
    assert (status, body["version"], body["description"]) == (201, 2, "lower lr")
    assert [a for a, *_ in events_of(jp_root_dir, "churn")] == ["register", "register"]


@pytest.mark.parametrize(
    ("body", "headers", "status", "message"),
    [
        ({"artifact": "model.pkl"}, {}, 400, "The request body is missing run_id, name."),
        ("{not json", {}, 400, "The request body is not valid JSON."),
        ("[1, 2]", {}, 400, "The request body must be a JSON object."),
        (
            {"run_id": "latest", "artifact": "model.pkl", "name": 3},
            {},
            400,
            "The field name must be a string, not 3.",
        ),
        (
            {"run_id": "latest", "artifact": "model.pkl", "name": "x", "stage": "production"},
            {},
            400,
            "The request body has unknown field(s) stage",
        ),
        (
            {"run_id": "latest", "artifact": "model.pkl", "name": "no/slash"},
            {},
            400,
            "'no/slash' is not a model name",
        ),
        (
            {"run_id": "latest", "artifact": "weights.bin", "name": "churn"},
            {},
            404,
            "has no artifact named 'weights.bin' (its artifacts: model.pkl, reports/",
        ),
        (
            {"run_id": "0" * 26, "artifact": "model.pkl", "name": "churn"},
            {},
            404,
            "",
        ),
        (
            {"run_id": "latest", "artifact": "model.pkl", "name": "churn"},
            {"Content-Type": "text/plain"},
            415,
            "send Content-Type application/json, not 'text/plain'.",
        ),
        ('{"name": "' + "x" * 70_000 + '"}', {}, 413, "registry requests are limited to 65536"),
    ],
    ids=[
        "missing",
        "malformed",
        "not-object",
        "wrong-type",
        "unknown-field",
        "bad-name",
        "no-artifact",
        "no-run",
        "media-type",
        "too-large",
    ],
)
async def test_bad_register_requests_answer_a_sentence_and_register_nothing(
    jp_fetch, jp_root_dir, body, headers, status, message
) -> None:
    fill_store(jp_root_dir, plain_runs=2)
    answer_status, answer = await send_json(jp_fetch, "POST", "models", body=body, headers=headers)
    assert answer_status == status, answer
    assert answer["error"]["status"] == status
    assert message in answer["error"]["message"]
    assert answer["error"]["message"].endswith(".")
    assert await get_json(jp_fetch, "models") == (200, {"models": []})


async def test_promotion_meets_the_servers_gate_and_a_refusal_is_a_recorded_409(
    jp_fetch, jp_root_dir
) -> None:
    data = fill_store(jp_root_dir, plain_runs=2)
    register_versions(jp_root_dir, data, promote=False)
    transition = ("models", "churn", "versions", "2", "transition")

    status, body = await send_json(
        jp_fetch, "POST", *transition, body={"stage": "staging", "reason": "retrained"}
    )
    assert (status, body["stage"], body["version"]) == (200, "staging", 2)
    status, body = await send_json(
        jp_fetch, "POST", *transition, body={"stage": "production", "reason": "ship it"}
    )
    assert status == 409
    assert body["error"]["message"] == (
        f"churn version 2 -> production refused: gate '{PRODUCTION_GATE}' not met "
        "(metrics.acc = 0.53)."
    )
    refused = events_of(jp_root_dir, "churn")[-1]
    assert refused[:3] == ("transition_refused", 2, "production")
    assert "ship it" in refused[3]
    status, body = await get_json(jp_fetch, "models", "churn")
    assert body["versions"][1]["stage"] == "staging"
    assert body["events"][-1]["action"] == "transition_refused"

    # the base run passes the same gate; a reason may be left out
    path = ("models", "churn", "versions", "1", "transition")
    assert (await send_json(jp_fetch, "POST", *path, body={"stage": "staging"}))[0] == 200
    status, body = await send_json(jp_fetch, "POST", *path, body={"stage": "production"})
    assert (status, body["stage"]) == (200, "production")

    # a move the rules forbid is a refusal too, with the rule in the sentence
    status, body = await send_json(jp_fetch, "POST", *transition, body={"stage": "none"})
    assert status == 409 and "staging -> none is not allowed" in body["error"]["message"]


async def test_malformed_transition_requests_are_400_and_record_nothing(
    jp_fetch, jp_root_dir
) -> None:
    data = fill_store(jp_root_dir, plain_runs=2)
    register_versions(jp_root_dir, data, promote=False)
    before = events_of(jp_root_dir, "churn")
    cases = [
        (("churn", "1"), {"stage": "prod"}, "Unknown stage 'prod'"),
        (("churn", "1"), {"reason": "x"}, "The request body is missing stage."),
        (("churn", "1"), {"stage": "staging", "reason": 5}, "The field reason must be a string"),
        (("churn", "0"), {"stage": "staging"}, "is a positive whole number, not '0'."),
        (("churn", "v1"), {"stage": "staging"}, "is a positive whole number, not 'v1'."),
        (("bad name", "1"), {"stage": "staging"}, "'bad name' is not a model name"),
    ]
    for (name, version), body, message in cases:
        path = ("models", name, "versions", version, "transition")
        status, answer = await send_json(jp_fetch, "POST", *path, body=body)
        assert status == 400, (path, answer)
        assert message in answer["error"]["message"]
    status, answer = await send_json(
        jp_fetch, "POST", "models", "churn", "versions", "9", "transition", body={"stage": "none"}
    )
    assert status == 404 and "no version 9" in answer["error"]["message"].lower()
    assert events_of(jp_root_dir, "churn") == before


async def test_rollback_restores_the_previous_production_version(jp_fetch, jp_root_dir) -> None:
    data = fill_store(jp_root_dir, plain_runs=2)
    register_versions(jp_root_dir, data)
    # the model view disables "Roll back" when the server says there is nothing to restore
    assert (await get_json(jp_fetch, "models", "churn"))[1]["rollback_to"] is None
    status, body = await send_json(jp_fetch, "POST", "models", "churn", "rollback", body={})
    assert status == 409
    assert "no earlier production version" in body["error"]["message"]

    # register a third version from the base run (passes the gate) and release it
    request = {"run_id": data.base_id, "artifact": "model.pkl", "name": "churn"}
    assert (await send_json(jp_fetch, "POST", "models", body=request))[0] == 201
    path = ("models", "churn", "versions", "3", "transition")
    assert (await send_json(jp_fetch, "POST", *path, body={"stage": "staging"}))[0] == 200
    assert (await send_json(jp_fetch, "POST", *path, body={"stage": "production"}))[0] == 200
    # what the detail announces is what the rollback then does
    assert (await get_json(jp_fetch, "models", "churn"))[1]["rollback_to"] == 1

    status, body = await send_json(
        jp_fetch, "POST", "models", "churn", "rollback", body={"reason": "latency"}
    )
    assert status == 200, body
    assert body["model"] == "churn"
    assert (body["production"]["version"], body["production"]["stage"]) == (1, "production")
    assert (body["archived"]["version"], body["archived"]["stage"]) == (3, "archived")
    assert events_of(jp_root_dir, "churn")[-2:] == [
        ("rollback", 3, "archived", "rolled back to version 1 (latency)"),
        ("rollback", 1, "production", "restored in place of version 3 (latency)"),
    ]
    status, body = await get_json(jp_fetch, "models")
    assert body["models"][0]["production"] == 1
    # version 1 was the first in production: nothing earlier to go back to
    assert (await get_json(jp_fetch, "models", "churn"))[1]["rollback_to"] is None
    assert (await get_json(jp_fetch, "models", "fraud"))[1]["rollback_to"] is None

    status, body = await send_json(jp_fetch, "POST", "models", "fraud", "rollback", body={})
    assert status == 409 and "no version in production" in body["error"]["message"]
    status, body = await send_json(jp_fetch, "POST", "models", "ghost", "rollback", body={})
    assert status == 404


async def test_aliases_move_and_go(jp_fetch, jp_root_dir) -> None:
    data = fill_store(jp_root_dir, plain_runs=2)
    register_versions(jp_root_dir, data)
    alias = ("models", "churn", "aliases", "champion")

    status, body = await send_json(jp_fetch, "PUT", *alias, body={"version": 2, "reason": "wins"})
    assert (status, body["version"], body["aliases"]) == (200, 2, ["champion"])
    _, listing = await get_json(jp_fetch, "models")
    assert listing["models"][0]["aliases"] == {"champion": 2}
    assert events_of(jp_root_dir, "churn")[-1] == (
        "alias",
        2,
        None,
        "champion (moved from version 1): wins",
    )

    status, body = await send_json(jp_fetch, "DELETE", *alias)
    assert (status, body) == (204, None)
    _, listing = await get_json(jp_fetch, "models")
    assert listing["models"][0]["aliases"] == {}
    status, body = await send_json(jp_fetch, "DELETE", *alias)
    assert status == 404, body

    for path, request, code in [
        (("models", "churn", "aliases", "production"), {"version": 1}, 400),
        (("models", "churn", "aliases", "best"), {"version": "1"}, 400),
        (("models", "churn", "aliases", "best"), {"version": True}, 400),
        (("models", "churn", "aliases", "best"), {"version": 0}, 400),
        (("models", "churn", "aliases", "best"), {"version": 7}, 404),
    ]:
        status, body = await send_json(jp_fetch, "PUT", *path, body=request)
        assert status == code, (path, request, body)


async def test_lineage_links_the_version_to_its_run_and_checkpoint(jp_fetch, jp_root_dir) -> None:
    data = fill_store(jp_root_dir, plain_runs=2)
    register_versions(jp_root_dir, data)

    status, body = await get_json(jp_fetch, "models", "churn", "versions", "1", "lineage")
    assert status == 200
    assert (body["version"]["model"], body["version"]["version"]) == ("churn", 1)
    assert body["run"]["id"] == data.base_id
    assert body["run"]["notebook_relpath"] == "nb/train.ipynb"
    assert body["run"]["params"] == {"epochs": "3", "lr": "0.1"}
    assert body["run"]["metrics"]["grad_norm"] == "nan"
    assert body["checkpoint"]["source"] == "live" and body["checkpoint"]["digest"]
    assert body["environment"]["id"] == "env-0.1"
    # the modules the run imported are listed apart from every installed package
    assert body["environment"]["modules"] == {"sklearn": "1.5.0"}
    assert body["environment"]["packages"] == {"numpy": "2.1.0", "scikit-learn": "1.5.0"}
    assert [e["action"] for e in body["events"]] == [
        "register",
        "transition",
        "transition",
        "alias",
    ]
    # the checkpoint the lineage names is the one the run's route serves
    status, notebook = await get_json(jp_fetch, "runs", body["run"]["id"], "checkpoint")
    assert status == 200 and notebook["cells"][1]["id"] == "train"

    assert (await get_json(jp_fetch, "models", "churn", "versions", "9", "lineage"))[0] == 404
    assert (await get_json(jp_fetch, "models", "churn", "versions", "x", "lineage"))[0] == 400


async def test_model_names_in_urls_are_decoded_once_and_checked(
    jp_fetch, jp_root_dir, http_server_client, jp_base_url, jp_auth_header
) -> None:
    data = fill_store(jp_root_dir, plain_runs=2)
    request = {"run_id": data.base_id, "artifact": "model.pkl", "name": "churn.v2-beta"}
    assert (await send_json(jp_fetch, "POST", "models", body=request))[0] == 201

    async def raw_get(path: str) -> tuple[int, dict]:
        # jp_fetch escapes its path; these paths are sent exactly as a browser encodes them
        response = await http_server_client.fetch(
            f"{jp_base_url}jupyter-mm/api/{path}", headers=jp_auth_header, raise_error=False
        )
        return response.code, json.loads(response.body)

    status, body = await raw_get("models/churn%2Ev2%2Dbeta")
    assert (status, body["model"]["name"]) == (200, "churn.v2-beta")
    # an encoded slash stays inside the segment and is refused by the name rules
    status, body = await raw_get("models/a%2Fb")
    assert status == 400 and "'a/b' is not a model name" in body["error"]["message"]
    status, body = await raw_get("models/a%2Fb/versions/1/lineage")
    assert status == 400 and "'a/b' is not a model name" in body["error"]["message"]


class _Tripwire:
    """Unpickling this writes a file: proof that something loaded the model."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (Path.write_text, (Path(self.path), "unpickled"))


async def test_the_server_never_unpickles_a_model(jp_fetch, jp_root_dir) -> None:
    from jupyter_mm.entities import Artifact
    from jupyter_mm.flavors import MEDIA_TYPE_PICKLE

    data = fill_store(jp_root_dir, plain_runs=2)
    tripwire = jp_root_dir / "tripwire"
    with open_store(store_location(jp_root_dir)) as store:
        digest = store.blobs.put_bytes(pickle.dumps(_Tripwire(str(tripwire))))
        store.log_batch(data.base_id, artifacts=[Artifact("trap", digest, 1, MEDIA_TYPE_PICKLE)])
    request = {"run_id": data.base_id, "artifact": "trap", "name": "trap"}
    status, body = await send_json(jp_fetch, "POST", "models", body=request)
    assert (status, body["flavor"]) == (201, "pickle")
    for stage in ("staging", "production"):
        path = ("models", "trap", "versions", "1", "transition")
        assert (await send_json(jp_fetch, "POST", *path, body={"stage": stage}))[0] == 200
    for path in [("models",), ("models", "trap"), ("models", "trap", "versions", "1", "lineage")]:
        assert (await get_json(jp_fetch, *path))[0] == 200
    assert not tripwire.exists()
    # the payload is live: loading it the way a trusting user would trips the wire
    pickle.loads(pickle.dumps(_Tripwire(str(tripwire))))
    assert tripwire.read_text() == "unpickled"
