"""``GET /runs/{a}/diff/{b}`` (nbdime on the server, size limit) and ``GET /events``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mm_api_data import T0, ApiData, add_events, fill_store, get_json, store_location

from jupyter_mm.diffing import diff_runs
from jupyter_mm.server.handlers.diffs import DEFAULT_MAX_DIFF_BYTES, MAX_DIFF_BYTES_SETTING
from jupyter_mm.store import open_store

pytestmark = pytest.mark.usefixtures("jp_serverapp")


@pytest.fixture
def api_data(jp_root_dir: Path) -> ApiData:
    return fill_store(jp_root_dir, plain_runs=6)


def expected_diff(data: ApiData, *, ignore_outputs: bool) -> dict:
    with open_store(store_location(data.root)) as store:
        diff = diff_runs(store, data.base_id, data.edited_id, ignore_outputs=ignore_outputs)
        return json.loads(json.dumps(diff.to_dict()))


@pytest.mark.parametrize("ignore", [False, True])
async def test_diff_is_diff_runs_to_dict(jp_fetch, api_data: ApiData, ignore: bool) -> None:
    status, body = await get_json(
        jp_fetch,
        "runs",
        api_data.base_id,
        "diff",
        api_data.edited_id,
        ignore_outputs="1" if ignore else "0",
    )
    assert status == 200
    assert body["a"].pop("notebook_relpath") == "nb/train.ipynb"
    assert body["b"].pop("notebook_relpath") == "nb/train.ipynb"
    assert body == expected_diff(api_data, ignore_outputs=ignore)
    # the edit is in the notebook diff (cell 1's source), and the tables name what changed
    [cells_patch] = body["notebook"]["diff"]
    [cell_patch] = cells_patch["diff"]
    assert cell_patch["key"] == 1
    patched = {p["key"] for p in cell_patch["diff"]}
    assert patched == ({"source"} if ignore else {"source", "outputs"})
    assert {r["name"]: r["change"] for r in body["params"]} == {"epochs": "same", "lr": "changed"}
    assert {r["name"]: (r["a"], r["b"]) for r in body["packages"]} == {
        "scikit-learn": ("1.5.0", "1.5.2")
    }
    nan_row = next(r for r in body["metrics"] if r["name"] == "grad_norm")
    assert nan_row["a"] == nan_row["b"] == "nan" and nan_row["change"] == "same"
    base_outputs = body["notebook"]["base"]["cells"][1]["outputs"]
    assert [o["text"] for o in base_outputs] == ([] if ignore else ["loss 0.4\n"])


async def test_diff_with_latest_and_a_run_without_checkpoint(jp_fetch, api_data: ApiData) -> None:
    status, body = await get_json(jp_fetch, "runs", api_data.bare_id, "diff", "latest")
    assert status == 200
    assert body["b"]["id"] == api_data.edited_id
    assert body["warnings"][0] == "Run A has no notebook checkpoint; it is shown as empty."


async def test_diff_errors(jp_fetch, api_data: ApiData) -> None:
    status, body = await get_json(
        jp_fetch, "runs", api_data.base_id, "diff", "latest", ignore_outputs="maybe"
    )
    assert status == 400 and "ignore_outputs" in body["error"]["message"]
    status, body = await get_json(jp_fetch, "runs", api_data.base_id, "diff", "Z" * 26)
    assert status == 404 and body["error"]["status"] == 404


async def test_checkpoints_above_the_limit_are_413(
    jp_fetch, jp_serverapp, api_data: ApiData
) -> None:
    settings = jp_serverapp.web_app.settings
    assert settings[MAX_DIFF_BYTES_SETTING] == DEFAULT_MAX_DIFF_BYTES  # the traitlet's default
    settings[MAX_DIFF_BYTES_SETTING] = 200  # the stored checkpoints are ~1 kB
    status, body = await get_json(jp_fetch, "runs", api_data.base_id, "diff", api_data.edited_id)
    assert status == 413
    message = body["error"]["message"]
    assert message.startswith(f"The checkpoint of run A ({api_data.base_id}) is ")
    assert "more than the 200 bytes the server diffs" in message
    assert "jupyter mm diff" in message
    # a run without checkpoint has nothing to diff and is never too large
    settings[MAX_DIFF_BYTES_SETTING] = 0
    status, _ = await get_json(jp_fetch, "runs", api_data.bare_id, "diff", api_data.bare_id)
    assert status == 200


async def test_events_page_to_the_end(jp_fetch, api_data: ApiData) -> None:
    assert await get_json(jp_fetch, "events") == (200, {"events": [], "next_token": None})
    add_events(api_data.root, 9)
    versions, token = [], None
    while True:
        params = {"limit": "4", "model": "churn"} | ({"page_token": token} if token else {})
        status, body = await get_json(jp_fetch, "events", **params)
        assert status == 200
        versions += [e["version"] for e in body["events"]]
        token = body["next_token"]
        if token is None:
            break
    assert versions == [9, 7, 5, 3, 1]

    _, body = await get_json(jp_fetch, "events")
    assert [e["version"] for e in body["events"]] == list(range(9, 0, -1))
    assert body["events"][0] == {
        "id": 9,
        "time": T0 + 9,
        "user": "ana",
        "action": "transition",
        "model": "churn",
        "version": 9,
        "from_stage": "staging",
        "to_stage": "production",
        "reason": None,
    }


@pytest.mark.parametrize(
    ("params", "fragment"),
    [({"limit": "0"}, "limit"), ({"limit": "x"}, "limit"), ({"page_token": "@@"}, "page token")],
)
async def test_events_bad_parameters(jp_fetch, api_data: ApiData, params, fragment) -> None:
    status, body = await get_json(jp_fetch, "events", **params)
    assert status == 400 and fragment in body["error"]["message"]
