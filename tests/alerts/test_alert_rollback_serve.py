"""Alert -> rollback end to end: a real `jupyter mm serve` answers requests, labels arrive on
its /feedback, `jupyter mm watch --check` (a real CLI process) finds the ROC-AUC under the
rule's threshold, alerts once, rolls back, and the serving process swaps to the restored
version; the webhook receiver gets the alert and the rollback, signed."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from serving.conftest import serve_env, serving

from .conftest import classifier_data, register_production

pytestmark = pytest.mark.kernel  # subprocesses of their own, like the serving tests

RULE = "roc_auc < 0.78 over 60 labelled"


def watch(url: str, cwd: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_mm.cli", "watch", "fraud", "--check", "--json"],
        env=serve_env(url), cwd=cwd, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def wait_for(condition, what: str, limit: float = 120.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"never happened: {what}")


def test_alert_rolls_back_a_served_model(mm_store, receiver, write_config, tmp_path) -> None:
    first = register_production(mm_store, seed=0)
    second = register_production(mm_store, seed=1)
    write_config(
        f"c.Monitor.rules = [{{'when': {RULE!r}, 'actions': ['notify', 'rollback'], "
        "'models': 'fraud'}]\n"
        f"c.Webhooks.hooks = [{{'url': {receiver.url!r}, 'events': ['alert', 'rolled_back'], "
        "'secret_env': 'MM_HOOK_SECRET'}]\n"
    )
    url = f"sqlite:///{tmp_path / 'store' / 'mm.db'}"
    X, y = classifier_data(seed=7, rows=60)
    with serving(url, tmp_path, "fraud@production") as served:
        labels = []
        for index in range(len(X)):
            row = X.iloc[[index]]
            status, headers, _ = served.post(
                "/invocations",
                {"dataframe_split": {"columns": list(X.columns), "data": row.values.tolist()}},
            )
            assert status == 200
            # the world changed: the true labels are now the opposite of the old pattern
            labels.append({"request_id": headers["X-Request-Id"], "label": int(1 - y[index])})
        assert served.post("/feedback", {"labels": labels})[0] == 200
        wait_for(
            lambda: sum(b.rows for b in mm_store.prediction_batches("fraud")) >= len(X),
            "the serving process logged every request",
        )

        (outcome,) = watch(url, tmp_path)["outcomes"]
        assert (outcome["state"], outcome["version"]) == ("fired", second.version)
        window = outcome["evidence"]["windows"][0]
        assert window["values"]["roc_auc"] < 0.78 and window["values"]["labelled"] == 60
        assert [a["action"] for a in outcome["actions"]] == ["notify", "rollback"]
        assert all(a["ok"] for a in outcome["actions"]), outcome["actions"]

        def served_version():
            _status, body = served.get("/version")
            return json.loads(body)["arms"]["champion"]["version"] == first.version

        wait_for(served_version, "the serving process swapped to the restored version")

    alert_id = outcome["alert_id"]
    events = mm_store.model_events("fraud")
    assert [e.id for e in events if e.action == "alert"] == [alert_id]
    rollback = [e for e in events if e.action == "rollback" and e.to_stage == "production"]
    assert rollback[-1].version == first.version
    reason = f"restored in place of version {second.version} (alert #{alert_id}: {RULE})"
    assert rollback[-1].reason == reason
    assert any(e.action == "serve_swap" and e.version == first.version for e in events)

    sent = {r.json["event"]: r for r in receiver.requests}
    assert set(sent) == {"alert", "rolled_back"}
    assert all(r.signature_ok for r in receiver.requests)
    assert sent["alert"].json["details"]["rule"] == RULE
    assert sent["rolled_back"].json["reason"] == reason

    # the next pass judges the restored version on its own (no) predictions: no new alert
    (again,) = watch(url, tmp_path)["outcomes"]
    assert (again["state"], again["version"]) == ("undecided", first.version)
    assert len([e for e in mm_store.model_events("fraud") if e.action == "alert"]) == 1
