"""The server's own monitor timer: with ``c.Monitor.interval`` set, the Jupyter server
evaluates ``c.Monitor.rules`` itself and the alert appears on ``GET /alerts``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from mm_api_data import get_json
from test_api_alerts import RULE, monitored_store
from traitlets.config import Config

from jupyter_mm import tracking


@pytest.fixture
def jp_server_config(jp_root_dir: Path) -> Config:
    # the store must hold the model before the server (and its timer) starts
    store = monitored_store(jp_root_dir)
    tracking.set_default_store(None)
    store.close()
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"jupyter_mm": True}},
            "Monitor": {"rules": [RULE], "interval": 0.2},
        }
    )


@pytest.mark.usefixtures("jp_serverapp")
async def test_the_server_evaluates_rules_on_a_timer(jp_fetch) -> None:
    body: dict = {"alerts": []}
    for _ in range(600):  # passes run every 0.2 s in a worker thread
        status, body = await get_json(jp_fetch, "alerts")
        if status == 200 and body["alerts"]:
            break
        await asyncio.sleep(0.2)
    (alert,) = body["alerts"]
    assert (alert["rule"], alert["state"]) == (RULE, "open")
    await asyncio.sleep(1.0)  # a few more passes: the rule keeps firing, no second alert
    status, again = await get_json(jp_fetch, "alerts")
    assert [a["id"] for a in again["alerts"]] == [alert["id"]]
