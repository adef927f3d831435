"""Registry writes over REST record the request's authenticated user, never the user the
Jupyter server process runs as. The server is configured with an IdentityProvider that
authenticates every request as one named user, as a JupyterHub or a team's own provider
would."""

from __future__ import annotations

from pathlib import Path

import pytest
from jupyter_server.auth.identity import IdentityProvider, User
from mm_api_data import fill_store, store_location
from mm_registry_data import register_versions, send_json
from traitlets.config import Config

from jupyter_mm.identity import process_user
from jupyter_mm.store import open_store

pytestmark = pytest.mark.usefixtures("jp_serverapp")

#: a user no OS account here is named after
REQUEST_USER = "ada-lovelace"


class NamedUserIdentity(IdentityProvider):
    """A request with the server's token is Ada's (a display name that differs from the
    username); without it, nobody's."""

    async def get_user(self, handler):  # type: ignore[override]
        if await super().get_user(handler) is None:
            return None
        return User(username=REQUEST_USER, name="Ada L.", display_name="Ada Lovelace")


@pytest.fixture
def jp_server_config() -> Config:
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_mm": True},
                "identity_provider_class": NamedUserIdentity,
            }
        }
    )


async def test_each_registry_write_records_the_requests_user(jp_fetch, jp_root_dir: Path) -> None:
    assert process_user() != REQUEST_USER
    data = fill_store(jp_root_dir, plain_runs=2)
    register_versions(jp_root_dir, data, promote=False)  # as this process: not over REST
    with open_store(store_location(jp_root_dir)) as store:
        before = len(store.model_events("churn"))

    transition = ("models", "churn", "versions")
    writes = [
        ("POST", ("models",), {"run_id": data.base_id, "artifact": "model.pkl", "name": "churn"}),
        ("POST", (*transition, "1", "transition"), {"stage": "staging"}),
        ("POST", (*transition, "1", "transition"), {"stage": "production"}),
        ("POST", (*transition, "2", "transition"), {"stage": "staging"}),
        ("POST", (*transition, "2", "transition"), {"stage": "production"}),
        # refused (2 is in production already): the refusal is recorded for Ada too
        ("POST", (*transition, "2", "transition"), {"stage": "production"}),
        ("PUT", ("models", "churn", "aliases", "champion"), {"version": 2}),
        ("DELETE", ("models", "churn", "aliases", "champion"), None),
        ("POST", ("models", "churn", "rollback"), {"reason": "latency"}),
    ]
    statuses = []
    for method, path, body in writes:
        status, answer = await send_json(jp_fetch, method, *path, body=body)
        statuses.append(status)
    assert statuses == [201, 200, 200, 200, 200, 409, 200, 204, 200], answer

    with open_store(store_location(jp_root_dir)) as store:
        events = store.model_events("churn")[before:]
    actions = [e.action for e in events]
    assert actions == [
        "register",
        "transition",
        "transition",
        "transition",
        "transition",
        "superseded",
        "transition_refused",
        "alias",
        "unalias",
        "rollback",
        "rollback",
    ]
    assert {e.user for e in events} == {REQUEST_USER}
