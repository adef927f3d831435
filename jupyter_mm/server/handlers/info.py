"""``GET /jupyter-mm/api/info``: which jupyter-mm and which store this server uses."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..store_provider import display_url
from .base import MMAPIHandler


def package_version() -> str:
    """The installed jupyter-mm version (``0.0.0+unknown`` in an uninstalled source tree)."""
    from ... import __version__

    return __version__


class InfoHandler(MMAPIHandler):
    """The frontend calls this first: it proves the server extension is loaded and tells
    the user which store (and schema) the sidebar is showing."""

    auth_resource = "jupyter_mm:info"

    @web.authenticated
    @authorized
    async def get(self) -> None:
        store = await self.get_store()
        schema_version = await self.call_store(store.schema_version)
        self.write_json(
            {
                "version": package_version(),
                "store": display_url(store.url),
                "schema_version": schema_version,
            }
        )
