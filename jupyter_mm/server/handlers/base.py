"""The base class of every jupyter-mm REST handler, and the one place where errors become
HTTP responses."""

from __future__ import annotations

import asyncio
import functools
import json
import re
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, TypeVar

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from ...errors import InvalidInput, MMError, NotFound
from ...store.validation import check_unicode
from ..wire import PathMapper

if TYPE_CHECKING:
    from ...store.abstract import AbstractStore
    from ..store_provider import StoreProvider

T = TypeVar("T")

#: what a read of a store that does not exist yet answers where the thing asked for
#: cannot be there (a run, a model)
NO_STORE_YET = "Nothing has been recorded yet: there is no jupyter-mm store here."

#: key of the StoreProvider in the tornado settings (set by MMExtensionApp)
STORE_PROVIDER_SETTING = "jupyter_mm_store_provider"
#: key of the PathMapper in the tornado settings (made on first use)
_PATH_MAPPER_SETTING = "jupyter_mm_path_mapper"

#: deepest nesting of arrays and objects a request body may have. The API's bodies are
#: flat objects; Python's json recurses once per level, so a few kilobytes of ``[[[…`` would
#: otherwise end in a RecursionError (a 500) instead of an answer.
MAX_BODY_DEPTH = 32
#: a JSON string literal (unrolled: a run of plain characters, then escapes and runs)
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def _too_deep(raw: bytes, limit: int) -> bool:
    """True when the JSON text ``raw`` nests arrays/objects deeper than ``limit`` (brackets
    inside strings do not count). Counts without recursing, whatever the input."""
    depth = 0
    for byte in _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS):
        depth += 1 if byte in b"[{" else -1
        if depth > limit:
            return True
    return False


def parse_json_body(raw: bytes) -> Any:
    """The JSON value of a request body; InvalidInput (400) when it is not JSON or nests
    deeper than MAX_BODY_DEPTH. Every handler reading a body parses it here."""
    if _too_deep(raw, MAX_BODY_DEPTH):
        raise InvalidInput(
            f"The request body nests arrays or objects more than {MAX_BODY_DEPTH} levels "
            "deep; jupyter-mm request bodies are flat JSON objects."
        )
    try:
        body = json.loads(raw or b"null")
    except (ValueError, RecursionError):
        raise InvalidInput("The request body is not valid JSON.") from None
    # JSON escapes can spell lone surrogates ("\ud800"), which no store can hold as text
    check_unicode(json.dumps(body, ensure_ascii=False), "The request body")
    return body


class MMAPIHandler(APIHandler):
    """Authenticated JSON handler. Subclasses decorate each verb with
    ``@web.authenticated`` and ``@authorized`` and raise :class:`MMError` subclasses for
    anything the client did wrong; :meth:`write_error` turns them into
    ``{"error": {"status", "message"}}`` with ``exc.http_status``."""

    #: permission resource checked by ``@authorized`` (jupyter_server's Authorizer)
    auth_resource = "jupyter_mm:runs"

    def skip_check_origin(self) -> bool:
        """Check the ``Origin`` of token-authenticated requests too.

        jupyter_server skips the check when a token authenticates the request. jupyter-mm
        does not: its only browser client is the same-origin sidebar, and a page on another
        site holding a token is not a client to serve (scripts send no ``Origin`` and are
        unaffected; ``ServerApp.allow_origin`` / ``allow_origin_pat`` still let an origin
        in). Pre-flight ``OPTIONS`` requests are not checked, as in jupyter_server.
        """
        return self.request.method == "OPTIONS"

    # tornado declares prepare() as returning Awaitable | None; jupyter_server's APIHandler
    # overrides it as a coroutine, which is what this extends
    async def prepare(self) -> None:  # type: ignore[override]
        # A cross-site request is refused before anything else, as 403: jupyter_server's
        # APIHandler answers it with 404, which reads as "no such endpoint".
        if not self.check_origin():
            # set like jupyter_server does before an early refusal, so that logging the
            # request does not ask for a user that was never looked up
            self.current_user = self._jupyter_current_user = None
            raise web.HTTPError(403, "Cross-origin requests to the jupyter-mm API are refused.")
        await super().prepare()

    @property
    def actor(self) -> str:
        """The request's authenticated user (its ``username``, the IdentityProvider's stable
        id for it, not the editable display name): the actor of the registry writes this
        request makes. Never the server process's own user, so never None: the registry
        would fall back to that."""
        user = self.current_user
        username = user if isinstance(user, str) else getattr(user, "username", None)
        return username or "anonymous"

    @property
    def store_provider(self) -> StoreProvider:
        return self.settings[STORE_PROVIDER_SETTING]

    async def call_store(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking store call in a worker thread so that a slow query or a locked
        SQLite file never stalls the server's event loop (kernels, other users)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(fn, *args, **kwargs))

    async def get_store(self) -> AbstractStore:
        """The shared store, opened on first use (in a worker thread: it may migrate). A
        read (GET) never creates it: with no store yet, NotFound (nothing was recorded)."""
        if self.request.method not in ("GET", "HEAD"):
            return await self.call_store(self.store_provider.get)
        store = await self.existing_store()
        if store is None:
            raise NotFound(NO_STORE_YET)
        return store

    async def existing_store(self) -> AbstractStore | None:
        """The shared store, or None when nothing has created it yet (listings answer their
        empty state then). An unusable store raises StoreError (503), never None."""
        return await self.call_store(self.store_provider.get_existing)

    @property
    def paths(self) -> PathMapper:
        """Absolute notebook paths <-> paths relative to the server's root directory."""
        mapper = self.settings.get(_PATH_MAPPER_SETTING)
        if mapper is None:
            mapper = self.settings[_PATH_MAPPER_SETTING] = PathMapper(self.store_provider.root_dir)
        return mapper

    def write_json(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        # allow_nan=False: a NaN that slipped past the wire conversion must fail here (500,
        # logged) rather than reach the browser as JSON that JSON.parse rejects
        self.finish(json.dumps(body, allow_nan=False))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every failure answers ``{"error": {"status", "message"}}`` and never a traceback.

        MMError subclasses carry their own status and a message written for users; tornado's
        HTTPError (401/403/404/405 from the framework) keeps its status with a generic
        message; anything else is an internal error whose details stay in the server log.
        """
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, MMError):
            # without the machine's paths (the server log has the full message)
            status, message = exc.http_status, exc.client_message()
        elif isinstance(exc, web.HTTPError):
            status = exc.status_code
            message = exc.reason or HTTPStatus(status).phrase
            if exc.log_message and status in (400, 403, 404, 405):
                try:
                    message = exc.log_message % exc.args if exc.args else exc.log_message
                except (TypeError, ValueError):
                    message = exc.log_message
        else:
            status = status_code if status_code >= 400 else 500
            message = "The jupyter-mm server failed unexpectedly; the server log has details."
        self.clear_header("Content-Type")
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps({"error": {"status": status, "message": message}}))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        # Errors the user caused are expected answers, not server faults: a warning line
        # without a traceback keeps the server log readable.
        if isinstance(value, MMError) and value.http_status < 500:
            self.log.warning("jupyter-mm %s %s: %s", self.request.method, self.request.uri, value)
            return
        super().log_exception(typ, value, tb)


class UnknownEndpointHandler(MMAPIHandler):
    """Any other path under the API prefix: a JSON 404 like every other jupyter-mm error
    (instead of the server's HTML page), and only for authenticated users, so the API's
    shape cannot be probed anonymously."""

    async def _not_found(self, path: str) -> None:
        raise NotFound(f"The jupyter-mm API has no endpoint {path!r}.")

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        await self._not_found(path)

    @web.authenticated
    @authorized
    async def post(self, path: str) -> None:
        await self._not_found(path)

    @web.authenticated
    @authorized
    async def put(self, path: str) -> None:
        await self._not_found(path)

    @web.authenticated
    @authorized
    async def patch(self, path: str) -> None:
        await self._not_found(path)

    @web.authenticated
    @authorized
    async def delete(self, path: str) -> None:
        await self._not_found(path)
