"""Property-based fuzzing of every REST route (issue #6 a) against a real Jupyter server.

Hypothesis drives the requests from a worker thread while the test's event loop serves them
(``@given`` cannot wrap a coroutine, and the server lives on that loop), so shrinking works
as usual and a failure prints the smallest request that broke a rule:

* never a 5xx, never a traceback, never the server's root directory in a body;
* never the bytes of a file outside the store (path traversal, symlink escapes);
* a downloaded artifact is always ``Content-Disposition: attachment``;
* every write route answers 413 to an oversized body, 400 to malformed JSON and 415 to a
  body that is not JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mm_api_data import ApiData, fill_store
from mm_registry_data import register_versions

from jupyter_mm.server.handlers.models import MAX_BODY_BYTES

pytestmark = pytest.mark.usefixtures("jp_serverapp")

SECRET = b"TOP-SECRET-CONTENT-OUTSIDE-THE-STORE"

#: fragments a path-traversal attempt is made of; hypothesis glues them together
HOSTILE = [
    "..",
    "../",
    "..%2f",
    "%2e%2e%2f",
    "%252e%252e%252f",
    "..\\",
    "%5c",
    "/",
    "//proc/self/root",
    "/etc/passwd",
    "secret.txt",
    "escape/secret.txt",
    ".jupyter_mm/secret.txt",
    "%00",
    "\x00",
    "#",
    "%23",
    "?",
    ";",
    "~",
    "C:\\Windows",
    "model.pkl",
    "latest",
    "churn",
    "1",
    "champion",
]

#: (method, route template) of every route; {run} and {name} are filled by the data
READ_ROUTES = [
    "info",
    "runs",
    "runs/metric-names",
    "runs/{run}",
    "runs/{run}/checkpoint",
    "runs/{run}/diff/{run2}",
    "runs/{run}/artifacts/{seg}",
    "events",
    "models",
    "models/{seg}",
    "models/{seg}/versions/{seg2}/lineage",
    "{seg}",
]
WRITE_ROUTES = [
    ("POST", "models"),
    ("POST", "models/churn/rollback"),
    ("PUT", "models/churn/aliases/champion"),
    ("POST", "models/churn/versions/2/transition"),
]

segments = st.lists(
    st.one_of(st.sampled_from(HOSTILE), st.text(min_size=1, max_size=12)), min_size=1, max_size=4
).map("".join)
#: near-misses of the listing's metric filter and metric order syntax
METRIC_SYNTAX = st.builds(
    "".join,
    st.lists(
        st.sampled_from(
            [
                *("loss", "acc", "metric:", ":asc", ":desc", ">=", "<", "==", "=>", ",", " "),
                *("0.5", "-1e308", "1e999", "nan", "inf", "", ":", "\x00", "%", "metric:loss"),
            ]
        ),
        max_size=6,
    ),
)
query_values = st.one_of(
    st.sampled_from(HOSTILE), st.text(max_size=20), st.integers().map(str), METRIC_SYNTAX
)
queries = st.dictionaries(
    st.sampled_from(
        [
            *("status", "notebook", "limit", "offset", "q", "metric", "since", "x"),
            *("metric_filter", "order", "metrics", "page_token"),
        ]
    ),
    query_values,
    max_size=3,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
json_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "run_id": json_values,
            "artifact": st.one_of(st.sampled_from(HOSTILE), json_values),
            "name": st.one_of(st.sampled_from(HOSTILE), json_values),
            "version": st.one_of(st.integers(), json_values),
            "stage": st.one_of(st.sampled_from(["production", "staging", "archived"]), segments),
            "reason": json_values,
            "description": json_values,
        },
    ),
)


def to_url_path(raw: str) -> str:
    # what a client puts on the wire: the server then decodes it once; '%' is kept so that
    # literal encodings (%2e%2e%2f, %252e...) reach the server as written
    return quote(raw, safe="/%")


@pytest.fixture
def api_data(jp_root_dir: Path) -> ApiData:
    data = fill_store(jp_root_dir, plain_runs=3)
    register_versions(jp_root_dir, data)
    (jp_root_dir / "secret.txt").write_bytes(SECRET)
    (jp_root_dir / ".jupyter_mm" / "secret.txt").write_bytes(SECRET)
    (jp_root_dir.parent / "secret.txt").write_bytes(SECRET)
    # symlinks out of the root and out of the store's blob directory
    os.symlink(jp_root_dir.parent, jp_root_dir / "escape")
    os.symlink(jp_root_dir.parent / "secret.txt", jp_root_dir / ".jupyter_mm" / "objects" / "ln")
    return data


def run_hypothesis(test: Callable[[], None]) -> Callable[[], Any]:
    """``test`` (a ``@given`` function) run in a worker thread, as an awaitable factory."""

    async def runner() -> None:
        await asyncio.get_running_loop().run_in_executor(None, test)

    return runner


class Client:
    """Sends raw requests to the server's loop from the hypothesis thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, http: Any, base: str, auth: dict) -> None:
        self.loop, self.http, self.base, self.auth = loop, http, base.rstrip("/"), auth

    def send(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> Any:
        async def fetch() -> Any:
            return await self.http.fetch(
                f"{self.base}/jupyter-mm/api/{path}",
                method=method,
                body=body,
                headers={**self.auth, **(headers or {})},
                raise_error=False,
                follow_redirects=False,
                allow_nonstandard_methods=True,
                request_timeout=30,
            )

        return asyncio.run_coroutine_threadsafe(fetch(), self.loop).result(timeout=60)


def check_response(response: Any, root: Path, what: str) -> None:
    body = response.body or b""
    assert response.code < 500, f"{what} -> {response.code}: {body[:300]!r}"
    assert response.code != 599, f"{what}: no response ({response.error})"
    assert b"Traceback" not in body, f"{what} leaked a traceback: {body[:300]!r}"
    assert SECRET not in body, f"{what} served a file outside the store"
    if response.code >= 400 and response.request.method != "HEAD":  # HEAD has no body
        assert str(root).encode() not in body, f"{what} named a server path: {body[:300]!r}"
        assert json.loads(body)["error"]["message"], f"{what}: error without a message"
    if response.code == 200 and "/artifacts/" in what:
        disposition = response.headers.get("Content-Disposition", "")
        assert disposition.startswith("attachment;"), f"{what}: {disposition!r}"


@pytest.fixture
def client(http_server_client, jp_base_url: str, jp_auth_header: dict) -> Client:
    return Client(asyncio.get_event_loop(), http_server_client, jp_base_url, jp_auth_header)


FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


async def test_read_routes_never_fail_or_leak(client: Client, api_data: ApiData) -> None:
    root = api_data.root
    runs = st.sampled_from([api_data.base_id, api_data.edited_id, "latest", "7" * 26])

    @FUZZ
    @given(
        route=st.sampled_from(READ_ROUTES),
        run=st.one_of(runs, segments),
        run2=runs,
        seg=segments,
        seg2=segments,
        query=queries,
        method=st.sampled_from(["GET", "GET", "GET", "HEAD", "DELETE", "PATCH"]),
    )
    def fuzz(route: str, run: str, run2: str, seg: str, seg2: str, query: dict, method: str):
        path = to_url_path(route.format(run=run, run2=run2, seg=seg, seg2=seg2))
        if query:
            path += "?" + "&".join(f"{quote(k)}={quote(v, safe='%')}" for k, v in query.items())
        body = b"" if method == "PATCH" else None
        check_response(client.send(method, path, body), root, f"{method} {path}")

    await run_hypothesis(fuzz)()


async def test_run_listing_parameters_never_fail(client: Client, api_data: ApiData) -> None:
    # the listing's own parameters, together and often near-valid, on the listing route only
    root = api_data.root
    listing_queries = st.lists(
        st.tuples(
            st.sampled_from(["metric_filter", "order", "metrics", "status", "limit", "q"]),
            st.one_of(METRIC_SYNTAX, query_values),
        ),
        max_size=4,
    )

    @settings(FUZZ, max_examples=80)
    @given(query=listing_queries)
    def fuzz(query: list[tuple[str, str]]) -> None:
        path = "runs?" + "&".join(f"{k}={quote(v, safe='%')}" for k, v in query)
        response = client.send("GET", path)
        check_response(response, root, f"GET {path}")
        if response.code == 200:
            token = json.loads(response.body)["next_token"]
            if token:  # the next page of the same listing is served too
                response = client.send("GET", f"{path}&page_token={quote(token)}")
                check_response(response, root, f"GET {path} (page 2)")
                assert response.code == 200, response.body[:300]

    await run_hypothesis(fuzz)()


async def test_write_routes_reject_bad_bodies(client: Client, api_data: ApiData) -> None:
    root = api_data.root
    json_type = {"Content-Type": "application/json"}

    @settings(FUZZ, max_examples=80)
    @given(
        route=st.sampled_from(WRITE_ROUTES),
        body=st.one_of(json_bodies.map(lambda v: json.dumps(v).encode()), st.binary(max_size=64)),
        content_type=st.sampled_from(["application/json", "application/json; charset=utf-8"]),
    )
    def fuzz(route: tuple[str, str], body: bytes, content_type: str) -> None:
        method, path = route
        response = client.send(method, path, body, {"Content-Type": content_type})
        check_response(response, root, f"{method} {path} {body[:80]!r}")
        try:
            json.loads(body)
        except ValueError:
            assert response.code == 400, f"malformed JSON {body!r} -> {response.code}"

    await run_hypothesis(fuzz)()

    # the three fixed rules, on every write route
    for method, path in WRITE_ROUTES:
        oversized = json.dumps({"reason": "x" * (MAX_BODY_BYTES + 1)}).encode()
        response = await asyncio.get_running_loop().run_in_executor(
            None, client.send, method, path, oversized, json_type
        )
        assert response.code == 413, f"{method} {path} oversized -> {response.code}"
        for bad_json in (b"{", b'{"stage": }', b"\xff\xfe", b"[1,]"):
            response = await asyncio.get_running_loop().run_in_executor(
                None, client.send, method, path, bad_json, json_type
            )
            assert response.code == 400, f"{method} {path} {bad_json!r} -> {response.code}"
        for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/x"):
            response = await asyncio.get_running_loop().run_in_executor(
                None, client.send, method, path, b"{}", {"Content-Type": content_type}
            )
            assert response.code == 415, f"{method} {path} {content_type} -> {response.code}"
            check_response(response, root, f"{method} {path} as {content_type}")
