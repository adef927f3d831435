"""Roles on a plain Jupyter server (``c.Permissions.roles`` in its own configuration): the
request's user may do what their roles allow and nothing else; a refusal is a 403 that
says which role is missing, and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from mm_api_data import fill_store, store_location
from mm_registry_data import register_versions, send_json
from test_api_actor import REQUEST_USER, NamedUserIdentity
from traitlets.config import Config

from jupyter_mm.store import open_store

pytestmark = pytest.mark.usefixtures("jp_serverapp")


@pytest.fixture
def jp_server_config() -> Config:
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_mm": True},
                "identity_provider_class": NamedUserIdentity,
            },
            # Ada may read everything and stage churn; nothing else
            "Permissions": {"roles": {"*": {"read": ["*"]}, "churn": {"stage": [REQUEST_USER]}}},
        }
    )


async def test_a_user_does_what_their_roles_allow_and_nothing_else(
    jp_fetch, jp_root_dir: Path
) -> None:
    data = fill_store(jp_root_dir, plain_runs=2)
    register_versions(jp_root_dir, data, promote=False)  # as this process, outside the server
    with open_store(store_location(jp_root_dir)) as store:
        before_events = len(store.model_events("churn"))
        before = {v.version: v.stage for v in store.list_versions("churn")}

    transition = ("models", "churn", "versions")
    status, answer = await send_json(
        jp_fetch, "POST", *transition, "1", "transition", body={"stage": "staging"}
    )
    assert status == 200, answer
    refused = [
        ("POST", (*transition, "1", "transition"), {"stage": "production"}, "approve"),
        (
            "POST",
            ("models",),
            {"run_id": data.base_id, "artifact": "model.pkl", "name": "churn"},
            "register",
        ),
        ("PUT", ("models", "churn", "aliases", "champion"), {"version": 1}, "manage"),
        ("POST", ("models", "churn", "rollback"), {"reason": "x"}, "approve"),
        (
            "POST",
            ("models",),
            {"run_id": data.base_id, "artifact": "model.pkl", "name": "other"},
            "register",
        ),
    ]
    for method, path, body, role in refused:
        status, answer = await send_json(jp_fetch, method, *path, body=body)
        assert status == 403, (path, answer)
        message = answer["error"]["message"]
        assert message.startswith(f"{REQUEST_USER} may not ") and f"'{role}' role" in message

    status, _ = await send_json(jp_fetch, "GET", "models", "churn")
    assert status == 200
    with open_store(store_location(jp_root_dir)) as store:
        after = {v.version: v.stage for v in store.list_versions("churn")}
        events = store.model_events("churn")[before_events:]
    assert after == {**before, 1: "staging"}
    # the refused promotion is in the audit trail, as every refused transition is
    assert [(e.action, e.user, e.to_stage) for e in events] == [
        ("transition", REQUEST_USER, "staging"),
        ("transition_refused", REQUEST_USER, "production"),
    ]
    assert "needs the 'approve' role" in str(events[1].reason)
