"""The jupyter-mm routes of a running server, read from its router (not from a list kept in
the tests), so a handler added later is covered by every test that enumerates them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from tornado.routing import PathMatches, Router
from tornado.web import RequestHandler

from jupyter_mm.server.handlers import API_PREFIX

VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE")
WRITE_VERBS = ("POST", "PUT", "PATCH", "DELETE")
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
    # the enumeration itself must find the API, or every test using it would pass vacuously
    assert any(path.endswith(f"{API_PREFIX}/info") for path, _ in routes), routes
    return routes


def implemented_verbs(handler: type[RequestHandler]) -> list[str]:
    """The HTTP verbs ``handler`` defines itself (tornado's defaults answer 405)."""
    return [
        verb
        for verb in VERBS
        if getattr(handler, verb.lower()) is not getattr(RequestHandler, verb.lower())
    ]


def route_verbs(web_app: Any) -> list[tuple[str, str, type[RequestHandler]]]:
    """(verb, concrete path, handler class) for every verb of every jupyter-mm route."""
    pairs = []
    for path, handler in mm_routes(web_app):
        verbs = implemented_verbs(handler)
        assert verbs, f"{path} implements no HTTP verb"
        pairs += [(verb, path, handler) for verb in verbs]
    return pairs


def request_body(verb: str) -> bytes | None:
    return b"{}" if verb in ("POST", "PUT", "PATCH") else None
