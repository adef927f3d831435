"""Every jupyter-mm route refuses requests without credentials, and checks permissions.

The routes are read from the running server's router, not from a list kept in the test,
so a handler added later without ``@web.authenticated`` fails here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from tornado.routing import PathMatches, Router
from tornado.web import RequestHandler

from jupyter_mm.server.handlers import API_PREFIX
from jupyter_mm.server.handlers.base import MMAPIHandler

VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE")
#: stands in for every path argument ({run id}, {model name}, {version}, ...)
PLACEHOLDER = "01J9ZX0000000000000000TEST"


def concrete_path(pattern: str) -> str:
    """A request path for a route pattern: every group becomes PLACEHOLDER.

    (tornado's ``PathMatches.reverse`` %-formats the path, which fails on a base URL with
    an escaped character such as pytest-jupyter's ``/a%40b/``.)
    """
    path = re.sub(r"\((?:[^()\\]|\\.)*\)", PLACEHOLDER, pattern.rstrip("$"))
    return re.sub(r"\\(.)", r"\1", path)


def _rules(router: Router) -> Iterator[Any]:
    for rule in getattr(router, "rules", []):
        if hasattr(rule.target, "rules"):
            yield from _rules(rule.target)
        else:
            yield rule


def mm_routes(web_app: Any) -> list[tuple[str, type[RequestHandler]]]:
    """(concrete path, handler class) of every route under the jupyter-mm API prefix."""
    routes = []
    for rule in _rules(web_app.default_router):
        if not isinstance(rule.matcher, PathMatches):
            continue
        if API_PREFIX not in rule.matcher.regex.pattern:
            continue
        path = concrete_path(rule.matcher.regex.pattern)
        # the stand-in path must really reach this route, or we would test another one
        assert rule.matcher.regex.match(path), f"{path} does not match {rule.matcher.regex}"
        routes.append((path, rule.target))
    return routes


def implemented_verbs(handler: type[RequestHandler]) -> list[str]:
    return [
        verb
        for verb in VERBS
        if getattr(handler, verb.lower()) is not getattr(RequestHandler, verb.lower())
    ]


async def test_every_route_answers_401_or_403_without_credentials(
    jp_serverapp, jp_fetch, http_server_client
) -> None:
    routes = mm_routes(jp_serverapp.web_app)
    # the enumeration itself must find the API, or this test would pass vacuously
    assert any(path.endswith(f"{API_PREFIX}/info") for path, _ in routes), routes

    checked = 0
    for path, handler in routes:
        # one place maps errors to JSON: every route must go through the base class
        assert issubclass(handler, MMAPIHandler), f"{path}: {handler.__name__}"
        verbs = implemented_verbs(handler)
        assert verbs, f"{path} implements no HTTP verb"
        for verb in verbs:
            body = b"{}" if verb in ("POST", "PUT", "PATCH") else None
            response = await http_server_client.fetch(
                path, method=verb, body=body, raise_error=False, follow_redirects=False
            )
            assert response.code in (401, 403), f"{verb} {path} answered {response.code}"
            assert b"Traceback" not in response.body
            checked += 1
    assert checked >= 1

    # the same routes with the token are not refused: the 403s above come from the
    # missing credentials, not from a wrong URL
    for path, handler in routes:
        if "GET" in implemented_verbs(handler):
            relative = path.split("/jupyter-mm/", 1)[1]
            response = await jp_fetch("jupyter-mm", relative, raise_error=False)
            assert response.code not in (401, 403), f"GET {path} with token: {response.code}"


async def test_wrong_token_is_refused(jp_fetch) -> None:
    response = await jp_fetch(
        "jupyter-mm",
        "api",
        "info",
        headers={"Authorization": "token not-the-server-token"},
        raise_error=False,
    )
    assert response.code == 403
