"""Issue #6 item 5: every jupyter-mm route refuses every request that is not properly
authenticated, on a server that allows no unauthenticated access.

The matrix is every route of the running server's router x every verb its handler
implements (so a handler added later without ``@web.authenticated`` fails here) x each way
of being unauthenticated or cross-site:

* no credentials, a wrong token;
* a valid login cookie (got through ``/login`` as a browser gets it) on a write without the
  XSRF token;
* a foreign ``Origin`` with a valid token, or with the login cookie (and its XSRF token).

Each must answer 401/403 as JSON, never 2xx and never a redirect to the login page. The same
requests with the credentials done right are not refused, so the refusals come from what
was missing, not from a wrong URL.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from mm_routes import WRITE_VERBS, request_body, route_verbs
from traitlets.config import Config

from jupyter_mm.server.handlers.base import MMAPIHandler

FOREIGN_ORIGIN = "http://evil.example"


@pytest.fixture
def jp_server_config() -> Config:
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_mm": True},
                # jupyter_server 2.21: every handler not marked @allow_unauthenticated
                # refuses anonymous requests
                "allow_unauthenticated_access": False,
            }
        }
    )


@dataclass
class Browser:
    """What a browser holds after logging in with the token."""

    cookie: str  # the Cookie header: login cookie and _xsrf cookie
    xsrf: str  # the _xsrf value to send back in X-XSRFToken
    origin: str  # this server's own origin


def _cookies(response) -> dict[str, str]:
    jar = {}
    for header in response.headers.get_list("Set-Cookie"):
        name, _, rest = header.partition("=")
        jar[name.strip()] = rest.split(";", 1)[0]
    return jar


async def log_in(jp_serverapp, http_server_client, jp_base_url, jp_http_port) -> Browser:
    """Log in through ``/login`` with the token, as the login form does."""
    login = f"{jp_base_url}login"
    page = await http_server_client.fetch(login, raise_error=False, follow_redirects=False)
    assert page.code == 200, page.code
    xsrf = _cookies(page)["_xsrf"]
    answer = await http_server_client.fetch(
        login,
        method="POST",
        body=urlencode({"_xsrf": xsrf, "password": jp_serverapp.identity_provider.token}),
        headers={"Cookie": f"_xsrf={xsrf}"},
        raise_error=False,
        follow_redirects=False,
    )
    assert answer.code == 302, answer.code  # a successful login redirects to the app
    jar = _cookies(answer)
    logins = [name for name in jar if name.startswith("username-")]
    assert logins, f"no login cookie in {list(jar)}"
    cookie = "; ".join(f"{n}={jar[n]}" for n in logins) + f"; _xsrf={xsrf}"
    return Browser(cookie=cookie, xsrf=xsrf, origin=f"http://127.0.0.1:{jp_http_port}")


async def _send(client, verb: str, path: str, headers: dict[str, str]):
    return await client.fetch(
        path,
        method=verb,
        body=request_body(verb),
        headers=headers,
        raise_error=False,
        follow_redirects=False,
    )


def _assert_refused(response, what: str) -> None:
    assert response.code in (401, 403), f"{what} answered {response.code}"
    assert "Location" not in response.headers, f"{what} redirected"
    error = json.loads(response.body)["error"]  # JSON like every jupyter-mm error
    assert error["status"] == response.code, what
    assert b"Traceback" not in response.body


def _assert_let_through(response, what: str) -> None:
    assert response.code not in (401, 403), f"{what} answered {response.code}"
    assert not 300 <= response.code < 400, f"{what} redirected"


def _cases(browser: Browser, token: str, verb: str) -> dict[str, dict[str, str]]:
    """Header sets that must each be refused for ``verb``."""
    cases = {
        "no credentials": {},
        "a wrong token": {"Authorization": "token not-the-server-token"},
        "a foreign Origin with the token": {
            "Authorization": f"token {token}",
            "Origin": FOREIGN_ORIGIN,
        },
        "a foreign Origin with the login cookie": {
            "Cookie": browser.cookie,
            "X-XSRFToken": browser.xsrf,
            "Origin": FOREIGN_ORIGIN,
        },
    }
    if verb in WRITE_VERBS:
        cases["the login cookie without the XSRF token"] = {"Cookie": browser.cookie}
    return cases


async def test_every_route_refuses_every_unauthenticated_or_cross_site_request(
    jp_serverapp, http_server_client, jp_base_url, jp_http_port
) -> None:
    browser = await log_in(jp_serverapp, http_server_client, jp_base_url, jp_http_port)
    token = jp_serverapp.identity_provider.token
    pairs = route_verbs(jp_serverapp.web_app)
    # every verb of the catch-all and at least one write of the registry are in the matrix
    assert {verb for verb, _, _ in pairs} >= {"GET", "POST", "PUT", "PATCH", "DELETE"}

    refused = 0
    for verb, path, handler in pairs:
        # one place maps errors to JSON: every route must go through the base class
        assert issubclass(handler, MMAPIHandler), f"{path}: {handler.__name__}"
        for case, headers in _cases(browser, token, verb).items():
            response = await _send(http_server_client, verb, path, headers)
            _assert_refused(response, f"{verb} {path} with {case}")
            refused += 1
    assert refused >= 4 * len(pairs)


async def test_the_same_requests_done_right_are_not_refused(
    jp_serverapp, http_server_client, jp_base_url, jp_http_port
) -> None:
    browser = await log_in(jp_serverapp, http_server_client, jp_base_url, jp_http_port)
    token = jp_serverapp.identity_provider.token
    done_right = {
        "the token": {"Authorization": f"token {token}"},
        "the token from this server's own origin": {
            "Authorization": f"token {token}",
            "Origin": browser.origin,
        },
        "the login cookie and its XSRF token": {
            "Cookie": browser.cookie,
            "X-XSRFToken": browser.xsrf,
            "Origin": browser.origin,
        },
    }
    for verb, path, _ in route_verbs(jp_serverapp.web_app):
        for case, headers in done_right.items():
            response = await _send(http_server_client, verb, path, headers)
            _assert_let_through(response, f"{verb} {path} with {case}")


async def test_the_login_cookie_alone_reads(
    jp_serverapp, http_server_client, jp_base_url, jp_http_port
) -> None:
    """A GET needs no XSRF token: the cookie alone is a valid login (so the refusals of
    cookie requests above are about the XSRF token and the Origin, not a broken cookie)."""
    browser = await log_in(jp_serverapp, http_server_client, jp_base_url, jp_http_port)
    path = re.sub("/+", "/", f"{jp_base_url}jupyter-mm/api/info")
    response = await _send(http_server_client, "GET", path, {"Cookie": browser.cookie})
    assert response.code == 200, response.code
    assert "version" in json.loads(response.body)
