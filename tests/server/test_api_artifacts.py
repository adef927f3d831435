"""``GET /runs/{id}/checkpoint`` and ``GET /runs/{id}/artifacts/{name}``: the checkpoint as
stored, artifact bytes and headers, and hostile artifact names that must never reach a file
outside the run's recorded blobs."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest
from mm_api_data import ARTIFACT_BYTES, ApiData, fill_store, get_json, store_location

from jupyter_mm.capture.checkpoint import load_checkpoint
from jupyter_mm.store import open_store

pytestmark = pytest.mark.usefixtures("jp_serverapp")

SECRET = b"TOP-SECRET-CONTENT-OUTSIDE-THE-STORE"


@pytest.fixture
def api_data(jp_root_dir: Path) -> ApiData:
    data = fill_store(jp_root_dir)
    # files a path traversal would reach: next to the store, in the root and above it
    (jp_root_dir / "secret.txt").write_bytes(SECRET)
    (jp_root_dir / ".jupyter_mm" / "secret.txt").write_bytes(SECRET)
    (jp_root_dir.parent / "secret.txt").write_bytes(SECRET)
    return data


async def fetch_raw(http_server_client, jp_base_url: str, jp_auth_header: dict, path: str):
    """GET a path exactly as written (no client-side quoting or normalisation)."""
    return await http_server_client.fetch(
        jp_base_url.rstrip("/") + "/jupyter-mm/api/" + path,
        headers=jp_auth_header,
        raise_error=False,
        follow_redirects=False,
    )


async def test_checkpoint_is_the_stored_notebook(jp_fetch, api_data: ApiData) -> None:
    status, body = await get_json(jp_fetch, "runs", api_data.base_id, "checkpoint")
    assert status == 200
    with open_store(store_location(api_data.root)) as store:
        run = store.get_run(api_data.base_id)
        expected = load_checkpoint(store.blobs, run.checkpoint_digest)
    # the checkpoint as stored, but the tracked cell carries what the run produced
    tracked = body["cells"][1]
    assert tracked["id"] == run.cell_id
    assert [o["output_type"] for o in tracked.pop("outputs")] == ["stream", "display_data"]
    expected.cells[1].pop("outputs")
    assert body == json.loads(json.dumps(expected))
    assert body["nbformat"] == 4
    assert body["cells"][1]["source"] == "%%track\nlr = 0.1\nfit(df, lr)"


async def test_checkpoint_errors(jp_fetch, api_data: ApiData) -> None:
    status, body = await get_json(jp_fetch, "runs", api_data.bare_id, "checkpoint")
    assert status == 404
    assert body["error"]["message"] == f"Run {api_data.bare_id} has no notebook checkpoint."
    status, body = await get_json(jp_fetch, "runs", "7" * 26, "checkpoint")
    assert status == 404 and body["error"]["status"] == 404


async def test_artifact_bytes_and_headers(jp_fetch, api_data: ApiData) -> None:
    response = await jp_fetch(
        "jupyter-mm", "api", "runs", api_data.base_id, "artifacts", "model.pkl"
    )
    assert response.code == 200
    assert response.body == ARTIFACT_BYTES + b"0.1"
    headers = response.headers
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Length"] == str(len(ARTIFACT_BYTES) + 3)
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Disposition"] == (
        "attachment; filename=\"model.pkl\"; filename*=UTF-8''model.pkl"
    )


async def test_artifact_with_slash_and_unicode_in_its_name(
    http_server_client, jp_base_url, jp_auth_header, api_data: ApiData
) -> None:
    name = quote("reports/ünïcode report.html", safe="")
    response = await fetch_raw(
        http_server_client, jp_base_url, jp_auth_header, f"runs/{api_data.base_id}/artifacts/{name}"
    )
    assert response.code == 200
    assert response.body == b"<h1>report</h1>"
    # HTML is served as a download that cannot script the Jupyter origin
    assert response.headers["Content-Type"] == "text/html"
    assert response.headers["Content-Security-Policy"] == "sandbox"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    assert "filename*=UTF-8''%C3%BCn%C3%AFcode%20report.html" in disposition
    assert "/" not in disposition.split("filename=")[1]

    # the same name with its slash unescaped reaches the same artifact
    response = await fetch_raw(
        http_server_client,
        jp_base_url,
        jp_auth_header,
        f"runs/{api_data.base_id}/artifacts/reports/{quote('ünïcode report.html')}",
    )
    assert response.code == 200 and response.body == b"<h1>report</h1>"


HOSTILE_NAMES = [
    "../secret.txt",
    "../../secret.txt",
    "../../../secret.txt",
    "..%2Fsecret.txt",
    "%2e%2e%2fsecret.txt",
    "%2e%2e%2f%2e%2e%2fsecret.txt",
    "%252e%252e%252fsecret.txt",  # double-encoded: decoded once it is still not a name
    "..%5Csecret.txt",
    "..\\..\\secret.txt",
    "%2Fetc%2Fpasswd",
    "/etc/passwd",
    "secret.txt%00model.pkl",
    "model.pkl%00",
    "model.pkl%23",
    "objects",
    ".",
    "%2e",
    "model.pkl%2F..",
    "MODEL.PKL",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
async def test_hostile_artifact_names_are_404_and_read_nothing(
    http_server_client, jp_base_url, jp_auth_header, api_data: ApiData, name: str
) -> None:
    response = await fetch_raw(
        http_server_client, jp_base_url, jp_auth_header, f"runs/{api_data.base_id}/artifacts/{name}"
    )
    assert response.code == 404, response.body
    assert SECRET not in response.body
    assert ARTIFACT_BYTES[:1000] not in response.body
    body = response.body.decode()
    error = json.loads(body)["error"]
    # answered by the artifact lookup itself, not by a route that failed to match
    assert error == {
        "status": 404,
        "message": f"Run {api_data.base_id} has no artifact with that name.",
    }
    assert str(api_data.root) not in body and "Traceback" not in body


async def test_only_blobs_named_by_the_runs_artifact_rows_are_served(
    http_server_client, jp_base_url, jp_auth_header, jp_fetch, api_data: ApiData
) -> None:
    with open_store(store_location(api_data.root)) as store:
        other = store.get_run_detail(api_data.edited_id).artifacts[0]
        checkpoint = store.get_run(api_data.base_id).checkpoint_digest
    # a digest of a blob that is in the object store, but not an artifact name of this run
    for name in (other.digest, checkpoint, f"objects/{checkpoint[:2]}/{checkpoint[2:]}"):
        response = await fetch_raw(
            http_server_client,
            jp_base_url,
            jp_auth_header,
            f"runs/{api_data.base_id}/artifacts/{quote(name, safe='')}",
        )
        assert response.code == 404
        assert b"has no artifact with that name" in response.body
    # an unknown run is a 404 too
    status, body = await get_json(jp_fetch, "runs", "7" * 26, "artifacts", "model.pkl")
    assert status == 404 and body["error"]["status"] == 404


async def test_artifact_whose_blob_was_removed_is_a_clean_404(jp_fetch, api_data: ApiData) -> None:
    with open_store(store_location(api_data.root)) as store:
        artifact = store.get_run_detail(api_data.base_id).artifacts[0]
        store.blobs.delete(artifact.digest)
    status, body = await get_json(jp_fetch, "runs", api_data.base_id, "artifacts", "model.pkl")
    assert status == 404
    assert artifact.digest in body["error"]["message"]
    assert str(api_data.root) not in json.dumps(body)
