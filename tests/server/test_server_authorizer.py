"""The jupyter-mm handlers ask jupyter_server's Authorizer for their own resource
(``jupyter_mm:*``), so a deployment (JupyterHub RBAC, a custom Authorizer) can grant or
refuse jupyter-mm separately from the rest of the server."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.auth import Authorizer
from mm_api_data import fill_store, get_json
from mm_registry_data import register_versions, send_json
from mm_routes import request_body, route_verbs
from traitlets.config import Config


def refuse_jupyter_mm(action: str, resource: str) -> bool:
    return resource.startswith("jupyter_mm:")


def refuse_everything(action: str, resource: str) -> bool:
    return True


def refuse_registry_writes(action: str, resource: str) -> bool:
    return resource == "jupyter_mm:registry" and action == "write"


class RefuseJupyterMM(Authorizer):
    """Allows everything except what ``refuses`` names (by default every jupyter-mm
    resource), and remembers what was asked."""

    asked: list[tuple[str, str]] = []
    refuses: Callable[[str, str], bool] = staticmethod(refuse_jupyter_mm)

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        RefuseJupyterMM.asked.append((action, resource))
        return not RefuseJupyterMM.refuses(action, resource)


@pytest.fixture
def jp_server_config() -> Config:
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_mm": True},
                "authorizer_class": RefuseJupyterMM,
            }
        }
    )


async def test_authorizer_is_consulted_for_the_jupyter_mm_resource(jp_fetch) -> None:
    RefuseJupyterMM.asked.clear()
    response = await jp_fetch("jupyter-mm", "api", "info", raise_error=False)

    assert response.code == 403
    assert ("read", "jupyter_mm:info") in RefuseJupyterMM.asked
    error = json.loads(response.body)["error"]
    assert error["status"] == 403
    assert "jupyter_mm:info" in error["message"]


@pytest.fixture
def registry_read_only() -> Iterator[None]:
    RefuseJupyterMM.refuses = staticmethod(refuse_registry_writes)
    RefuseJupyterMM.asked.clear()
    yield
    RefuseJupyterMM.refuses = staticmethod(refuse_jupyter_mm)


@pytest.mark.usefixtures("registry_read_only")
async def test_an_authorizer_refusing_registry_writes_makes_the_registry_read_only(
    jp_fetch, jp_root_dir: Path
) -> None:
    data = fill_store(jp_root_dir, plain_runs=2)
    register_versions(jp_root_dir, data)
    writes = [
        ("POST", ("models",), {"run_id": data.base_id, "artifact": "model.pkl", "name": "x"}),
        ("POST", ("models", "churn", "versions", "2", "transition"), {"stage": "production"}),
        ("POST", ("models", "churn", "rollback"), {"reason": "no"}),
        ("PUT", ("models", "churn", "aliases", "best"), {"version": 2}),
        ("DELETE", ("models", "churn", "aliases", "champion"), None),
        # an approval moves a version: refused like a transition
        (
            "POST",
            ("approvals",),
            {"model": "churn", "version": 2, "stage": "production", "reason": "x"},
        ),
        ("POST", ("approvals", "1", "approve"), {"reason": "x"}),
        ("POST", ("approvals", "1", "reject"), {"reason": "x"}),
    ]
    for method, path, body in writes:
        status, answer = await send_json(jp_fetch, method, *path, body=body)
        assert status == 403, (method, path, answer)
        assert "jupyter_mm:registry" in answer["error"]["message"]
    assert ("write", "jupyter_mm:registry") in RefuseJupyterMM.asked

    # nothing changed, and every read still answers
    for path in [
        ("models",),
        ("models", "churn"),
        ("models", "churn", "versions", "1", "lineage"),
        ("approvals",),
    ]:
        status, answer = await get_json(jp_fetch, *path)
        assert status == 200, (path, answer)
    _, listing = await get_json(jp_fetch, "models")
    assert [m["name"] for m in listing["models"]] == ["churn", "fraud"]
    assert listing["models"][0]["aliases"] == {"champion": 1}
    _, detail = await get_json(jp_fetch, "models", "churn")
    assert [v["stage"] for v in detail["versions"]] == ["production", "staging"]
    assert ("read", "jupyter_mm:registry") in RefuseJupyterMM.asked

    # run routes are a different resource and are not affected
    assert (await get_json(jp_fetch, "runs"))[0] == 200
    assert (await get_json(jp_fetch, "runs", data.base_id))[0] == 200
    assert (await get_json(jp_fetch, "info"))[0] == 200


@pytest.fixture
def deny_all() -> Iterator[None]:
    RefuseJupyterMM.refuses = staticmethod(refuse_everything)
    RefuseJupyterMM.asked.clear()
    yield
    RefuseJupyterMM.refuses = staticmethod(refuse_jupyter_mm)


@pytest.mark.usefixtures("deny_all")
async def test_a_deny_all_authorizer_refuses_every_route_and_verb(
    jp_serverapp, http_server_client, jp_auth_header
) -> None:
    """Every verb of every route (read from the router, so new routes are covered) asks the
    Authorizer before doing anything, even with a valid token."""
    pairs = route_verbs(jp_serverapp.web_app)
    for verb, path, handler in pairs:
        RefuseJupyterMM.asked.clear()
        response = await http_server_client.fetch(
            path,
            method=verb,
            body=request_body(verb),
            headers=jp_auth_header,
            raise_error=False,
            follow_redirects=False,
        )
        assert response.code == 403, f"{verb} {path} answered {response.code}"
        error = json.loads(response.body)["error"]
        assert handler.auth_resource in error["message"], (verb, path, error)
        # the handler's own resource was asked for, with the action the verb implies
        action = "read" if verb == "GET" else "write"
        assert (action, handler.auth_resource) in RefuseJupyterMM.asked, (verb, path)
    assert len(pairs) >= 20
