"""``GET /jupyter-mm/api/info``: which jupyter-mm and which store this server uses."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from .. import schema
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
        store = await self.existing_store()
        if store is None:  # where runs will go; the store is created by the first write
            url = await self.call_store(self.store_provider.store_url)
            schema_version = None
        else:
            url, schema_version = store.url, await self.call_store(store.schema_version)
        body: schema.Info = {
            "version": package_version(),
            "store": display_url(url),
            "schema_version": schema_version,
        }
        self.write_json(body)
