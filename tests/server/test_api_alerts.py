"""``GET /alerts``: alerts a monitor pass wrote, with their evidence, newer than ``after``;
and the server's own timer (``c.Monitor.interval``) evaluating the rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from mm_api_data import get_json, store_location
from traitlets.config import Config

from jupyter_mm import tracking
from jupyter_mm.alerts.evaluate import check
from jupyter_mm.monitoring.settings import Monitor
from jupyter_mm.store import open_store

RULE = "roc_auc < 0.78 over 100 labelled"


def monitored_store(root: Path):
    """A production model whose recent labelled predictions are wrong (alerts' fixtures)."""
    from alerts.conftest import log_scored, register_production

    store = open_store(store_location(root))
    tracking.set_default_store(store)
    register_production(store)
    log_scored(store, "fraud@production", seed=1, rows=100, flip=True)
    return store


@pytest.fixture
def jp_server_config() -> Config:
    return Config({"ServerApp": {"jpserver_extensions": {"jupyter_mm": True}}})


@pytest.mark.usefixtures("jp_serverapp")
async def test_alerts_newest_first_with_evidence(jp_fetch, jp_root_dir: Path) -> None:
    store = monitored_store(jp_root_dir)
    try:
        config = Config()
        config.Monitor.rules = [{"when": RULE, "actions": ["notify"]}]
        (outcome,) = check(store, monitor=Monitor(config=config))
    finally:
        tracking.set_default_store(None)
        store.close()
    status, body = await get_json(jp_fetch, "alerts")
    assert status == 200
    (alert,) = body["alerts"]
    assert body["last_id"] == alert["id"] == outcome.alert_id
    assert (alert["state"], alert["model"], alert["rule"]) == ("open", "fraud", RULE)
    assert alert["actions"] == ["notify"]
    assert alert["evidence"]["windows"][0]["values"]["roc_auc"] < 0.78

    status, body = await get_json(jp_fetch, "alerts", after=str(alert["id"]))
    assert (status, body) == (200, {"alerts": [], "last_id": alert["id"]})
    status, body = await get_json(jp_fetch, "alerts", after="x; drop table events")
    assert status == 400 and "after" in body["error"]["message"]
