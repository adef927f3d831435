"""MMAPIHandler maps jupyter-mm errors to JSON in one place, never with a traceback.

A throwaway handler that raises a chosen error is mounted on the real server next to the
extension's own routes, so the mapping is exercised through tornado exactly as in use.
"""

from __future__ import annotations

import json

import pytest
from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web

from jupyter_mm import errors
from jupyter_mm.server.handlers.base import MMAPIHandler

RAISED = {
    "not-found": errors.NotFound("No run matches 01J9ZX."),
    "invalid": errors.InvalidInput("The filter 'status=' needs a value."),
    "ambiguous": errors.AmbiguousReference("The prefix 01J9 matches 3 runs."),
    "conflict": errors.Conflict("Version 3 misses the gate roc_auc >= 0.78."),
    "version": errors.StoreVersionError("This store was written by a newer jupyter-mm."),
    "bug": RuntimeError("internal detail /srv/secret/path"),
}


class RaisingHandler(MMAPIHandler):
    @web.authenticated
    @authorized
    async def get(self, which: str) -> None:
        raise RAISED[which]


@pytest.fixture
def raising_route(jp_serverapp, jp_base_url) -> None:
    pattern = url_path_join(jp_serverapp.base_url, "jupyter-mm-test", "raise", "([a-z-]+)")
    jp_serverapp.web_app.add_handlers(".*$", [(pattern, RaisingHandler)])


@pytest.mark.parametrize(
    ("which", "status"),
    [
        ("not-found", 404),
        ("invalid", 400),
        ("ambiguous", 400),
        ("conflict", 409),
        ("version", 503),
    ],
)
async def test_mm_errors_become_json_with_their_status(
    raising_route, jp_fetch, which: str, status: int
) -> None:
    response = await jp_fetch("jupyter-mm-test", "raise", which, raise_error=False)

    assert response.code == status
    assert response.headers["Content-Type"].startswith("application/json")
    assert json.loads(response.body) == {"error": {"status": status, "message": str(RAISED[which])}}


async def test_unexpected_errors_hide_their_details(raising_route, jp_fetch) -> None:
    response = await jp_fetch("jupyter-mm-test", "raise", "bug", raise_error=False)

    assert response.code == 500
    text = response.body.decode()
    assert "Traceback" not in text and "/srv/secret/path" not in text
    error = json.loads(text)["error"]
    assert error["status"] == 500
    assert "server log" in error["message"]


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
async def test_unknown_api_path_is_a_json_404(jp_fetch, method: str) -> None:
    body = b"{}" if method == "POST" else None
    response = await jp_fetch(
        "jupyter-mm", "api", "no-such-resource", method=method, body=body, raise_error=False
    )
    assert response.code == 404
    error = json.loads(response.body)["error"]
    assert error == {
        "status": 404,
        "message": "The jupyter-mm API has no endpoint 'no-such-resource'.",
    }
