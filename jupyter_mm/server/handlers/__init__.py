"""Routes of the jupyter-mm REST API, all under ``/jupyter-mm/api`` (DESIGN §9).

Each resource has its own module; this one only assembles their URL patterns so that the
full API is readable in one place (and so tests can enumerate every route).
"""

from __future__ import annotations

from typing import Any

from .base import UnknownEndpointHandler
from .info import InfoHandler

#: path of the API below the server's base URL
API_PREFIX = "/jupyter-mm/api"

#: (pattern relative to API_PREFIX, handler class); MMExtensionApp adds the base URL
ROUTES: list[tuple[str, type[Any]]] = [
    (r"/info", InfoHandler),
    # keep last: tornado takes the first matching route
    (r"/(.*)", UnknownEndpointHandler),
]
