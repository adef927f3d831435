"""The jupyter-mm handlers ask jupyter_server's Authorizer for their own resource
(``jupyter_mm:*``), so a deployment (JupyterHub RBAC, a custom Authorizer) can grant or
refuse jupyter-mm separately from the rest of the server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jupyter_server.auth import Authorizer
from traitlets.config import Config


class RefuseJupyterMM(Authorizer):
    """Allows everything except jupyter-mm resources, and remembers what was asked."""

    asked: list[tuple[str, str]] = []

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        RefuseJupyterMM.asked.append((action, resource))
        return not resource.startswith("jupyter_mm:")


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
