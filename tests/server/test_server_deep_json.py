"""Deeply nested JSON bodies to every write route of the running server's router answer 400
with a sentence, never a 5xx: Python's json parser recurses once per nesting level, so a
60 KB ``[[[…]]]`` used to end in a RecursionError (500)."""

from __future__ import annotations

import json
import re

import pytest
from mm_routes import PLACEHOLDER, WRITE_VERBS, route_verbs

from jupyter_mm.server.handlers.base import MAX_BODY_DEPTH, UnknownEndpointHandler

DEEP_ARRAY = b"[" * 30_000 + b"]" * 30_000  # 60 KB
DEEP_OBJECT = b'{"a":' * 9_000 + b"1" + b"}" * 9_000
#: just over the limit, inside a field the handler expects: still refused, before any use
DEEP_FIELD = json.dumps(
    {"reason": json.loads("[" * (MAX_BODY_DEPTH + 1) + "]" * (MAX_BODY_DEPTH + 1))}
)
#: brackets inside strings are text, not nesting
BRACKETS_IN_A_STRING = json.dumps({"reason": "[" * 5_000 + "{" * 5_000})

#: path segments that pass each handler's own path checks, so that the body is what the
#: request is judged on (a placeholder version or alias would be refused first)
SEGMENTS = {"models": "churn", "versions": "1", "aliases": "champion", "approvals": "1"}


def valid_path(path: str) -> str:
    for before, value in SEGMENTS.items():
        path = re.sub(rf"/{before}/{PLACEHOLDER}", f"/{before}/{value}", path)
    return path


def write_routes(web_app) -> list[tuple[str, str, type]]:
    routes = [(v, valid_path(p), h) for v, p, h in route_verbs(web_app) if v in WRITE_VERBS]
    # the registry's writes at least (register, transition, rollback, alias put/delete)
    assert len([r for r in routes if r[2] is not UnknownEndpointHandler]) >= 5, routes
    return routes


async def _send(client, auth: dict[str, str], verb: str, path: str, body: bytes | str):
    return await client.fetch(
        path,
        method=verb,
        body=body,
        headers={**auth, "Content-Type": "application/json"},
        raise_error=False,
        allow_nonstandard_methods=True,
    )


@pytest.mark.parametrize(
    "body", [DEEP_ARRAY, DEEP_OBJECT, DEEP_FIELD], ids=["array-60KB", "object", "just-over"]
)
async def test_deep_bodies_are_a_400_on_every_write_route(
    http_server_client, jp_auth_header, jp_serverapp, body
) -> None:
    answers = {}
    for verb, path, handler in write_routes(jp_serverapp.web_app):
        response = await _send(http_server_client, jp_auth_header, verb, path, body)
        answers[f"{verb} {path}"] = response.code
        assert response.code < 500, (verb, path, response.body[:300])
        error = json.loads(response.body)["error"]
        assert "Traceback" not in error["message"]
        if handler is UnknownEndpointHandler or verb == "DELETE":
            continue  # no body is read there: 404, or the route's own answer
        assert response.code == 400, (verb, path, error)
        assert f"more than {MAX_BODY_DEPTH} levels" in error["message"], (verb, path, error)
    assert answers


async def test_brackets_inside_strings_are_not_nesting(
    http_server_client, jp_auth_header, jp_serverapp
) -> None:
    (path,) = [p for v, p, _ in write_routes(jp_serverapp.web_app) if p.endswith("/rollback")]
    response = await _send(http_server_client, jp_auth_header, "POST", path, BRACKETS_IN_A_STRING)
    # parsed, then refused for what it asks (no such model), not for its shape
    assert response.code == 404, response.body[:300]
