"""Who a token belongs to, as the hub says: JupyterHub's ``HubAuth``.

The hub's ``GET /hub/api/user`` answers, for any token, its owner's name and groups and
the token's own scopes. A user's custom scopes (``custom:jupyter-mm:approve``) are in that
answer when the token holds them: tokens made on the hub's Token page inherit the user's
scopes; a server's ``$JUPYTERHUB_API_TOKEN`` holds those listed in
``c.Spawner.server_token_scopes`` that the user has (README "Identity and permissions").
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import InvalidInput
from ..permissions import Principal


class HubUsers:
    """Token -> Principal through the hub's API (answers cached for ``cache_seconds``)."""

    def __init__(self, api_url: str, api_token: str, cache_seconds: int = 30):
        try:
            from jupyterhub.services.auth import HubAuth
        except ImportError:
            raise InvalidInput(
                "The registry service needs JupyterHub's client library: "
                "pip install 'jupyter-mm[hub]' (or jupyterhub)."
            ) from None
        self.hub_auth: Any = HubAuth(
            api_url=api_url, api_token=api_token, cache_max_age=cache_seconds
        )

    @classmethod
    def from_env(cls) -> HubUsers:
        """From the variables JupyterHub sets for a managed service."""
        api_url = os.environ.get("JUPYTERHUB_API_URL", "")
        token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
        if not (api_url and token):
            raise InvalidInput(
                "The registry service runs as a JupyterHub service: JUPYTERHUB_API_URL and "
                "JUPYTERHUB_API_TOKEN must be set (the hub sets them for a managed service)."
            )
        return cls(api_url, token)

    async def principal_for_token(self, token: str) -> Principal | None:
        """The user owning ``token`` with their groups and the token's scopes; None when
        the hub knows no such token or it belongs to a service, not a user."""
        model = await self.hub_auth.user_for_token(token, sync=False)
        if not isinstance(model, dict) or model.get("kind", "user") != "user":
            return None
        name = model.get("name")
        if not isinstance(name, str) or not name:
            return None
        return Principal.of(name, model.get("groups") or [], model.get("scopes") or [])
