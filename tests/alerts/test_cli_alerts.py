"""`jupyter mm watch`, `alerts`, `deliveries`: real outputs validated against their typed
shapes, a long-running watcher stopped by SIGTERM, and bad input as one line."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import jsonschema
import pytest

from jupyter_mm.cli import main
from jupyter_mm.cli.schema import CLI_JSON_MODELS, CLI_MODELS
from jupyter_mm.server.schema_render import schema_for

from .conftest import log_scored, register_production

RULE = "roc_auc < 0.78 over 100 labelled"


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def valid(command: str, output: str) -> dict:
    schema = schema_for(CLI_JSON_MODELS[f"{command} --json"], CLI_MODELS)
    data = json.loads(output)
    jsonschema.Draft202012Validator(schema).validate(data)
    return data


def test_watch_alerts_deliveries_json(mm_store, receiver, write_config, capsys) -> None:
    register_production(mm_store)
    log_scored(mm_store, "fraud@production", seed=1, rows=100, flip=True)
    write_config(
        f"c.Monitor.rules = [{{'when': {RULE!r}, 'actions': ['notify']}}]\n"
        f"c.Webhooks.hooks = [{{'url': {receiver.url!r}, 'events': ['alert'], "
        "'secret_env': 'MM_HOOK_SECRET', 'name': 'ops'}]\n"
    )
    code, out, _ = run_cli(capsys, "watch", "fraud", "--check", "--dry-run", "--json")
    assert code == 0 and valid("watch", out)["outcomes"][0]["state"] == "fired"
    assert mm_store.alert_events() == []  # a dry run writes nothing

    code, out, _ = run_cli(capsys, "watch", "fraud", "--check", "--json")
    (outcome,) = valid("watch", out)["outcomes"]
    assert outcome["state"] == "fired" and outcome["actions"][0]["ok"]

    code, out, _ = run_cli(capsys, "watch", "--check")
    assert code == 0 and "firing" in out and RULE in out

    code, out, _ = run_cli(capsys, "alerts", "--json")
    (alert,) = valid("alerts", out)["alerts"]
    assert alert["id"] == outcome["alert_id"] and alert["rule"] == RULE

    code, out, _ = run_cli(capsys, "deliveries", "--json")
    (delivery,) = valid("deliveries", out)["deliveries"]
    assert (delivery["hook"], delivery["event"], delivery["outcome"]) == (
        "ops",
        "alert",
        "delivered",
    )
    code, out, _ = run_cli(capsys, "deliveries")
    assert "ops" in out and "delivered" in out and "t0k3n" not in out

    # the audit trail reads the alert's summary, not its JSON evidence
    code, out, _ = run_cli(capsys, "model", "fraud")
    (line,) = [line for line in out.splitlines() if " alert " in line]
    assert line.rstrip().endswith(alert["summary"]) and "{" not in line


@pytest.mark.parametrize(
    ("config", "argv", "message"),
    [
        ("", ["watch", "--every", "soon"], "--every 'soon'"),
        ("c.Monitor.rules = ['roc_auc <']\n", ["watch", "--check"], "Monitor rule 'roc_auc <'"),
        ("c.Webhooks.hooks = [{'url': 'ftp://x'}]\n", ["deliveries"], None),
    ],
)
def test_bad_input_is_one_line(mm_store, write_config, capsys, config, argv, message) -> None:
    write_config(config)
    code, _out, err = run_cli(capsys, *argv)
    if message is None:  # a bad webhook does not stop reading the log
        assert code == 0
        return
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


@pytest.mark.kernel  # a subprocess of its own
def test_watch_every_stops_cleanly_on_sigterm(mm_store, write_config, tmp_path) -> None:
    register_production(mm_store)
    log_scored(mm_store, "fraud@production", seed=1, rows=100, flip=True)
    write_config(f"c.Monitor.rules = [{RULE!r}]\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter_mm.cli", "watch", "--every", "0.2s"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        for _ in range(1500):  # until the first pass wrote its alert
            if mm_store.alert_events():
                break
            time.sleep(0.2)
        assert len(mm_store.alert_events()) == 1
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "fired" in out and err == ""
    assert len(mm_store.alert_events()) == 1  # later passes saw it firing: no new alert
