"""Stored strings never reach the terminal raw: names, notes, tags, params, metric names,
data names, warnings, errors, model descriptions and audit reasons holding terminal control
sequences are printed escaped by every human-readable command, while ``--json`` keeps them
exact. The real CLI in a subprocess, on a real SQLite store.

The sequences and the forbidden characters are those of the suite's hostile corpus
(tests/hostile_strings.py), defined from what attacks on terminals use and from Unicode's
own properties, not from the CLI's list.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import hostile_strings
import pytest
from hostile_strings import HOSTILE, SEQUENCES, forbidden

from jupyter_mm.config import ENV_ARTIFACTS, ENV_STORE
from jupyter_mm.entities import Artifact, DataRef, Metric, Param, Run
from jupyter_mm.ids import new_id
from jupyter_mm.store import open_store


def tag(what: str) -> str:
    return f"{what}{HOSTILE}"


def typed(what: str) -> str:
    """What can be typed on a command line: argv cannot hold a NUL."""
    return tag(what).replace("\x00", "")


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'mm.db'}"
    with open_store(url) as store:
        now = time.time()
        ids = []
        for index in range(2):
            run = store.create_run(
                Run(
                    id=new_id(),
                    name=tag("name"),
                    start_time=now + index,
                    notebook_path=str(tmp_path / f"{tag('nb')}.ipynb"),
                    user=tag("user"),
                    tags={tag("tagkey"): tag("tagvalue")},
                    note=tag("note") + "\nsecond line",
                )
            )
            model = store.blobs.put_bytes(b"weights %d" % index)
            store.log_batch(
                run.id,
                params=[Param(tag("param"), tag("value") + str(index))],
                metrics=[Metric(tag("metric"), 0.5 + index, 0, now)],
                data=[DataRef(tag("data"), "input", "file", 3, "blake3", "ab" * 32)],
                artifacts=[Artifact("model", model, 9, "application/octet-stream")],
            )
            run.status, run.end_time = "failed", now + 3
            run.warnings, run.error = [tag("warning")], tag("ValueError: ")
            store.update_run(run)
            ids.append(run.id)
    return url


def mm(url: str, *argv: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **{ENV_STORE: url})
    env.pop(ENV_ARTIFACTS, None)
    return subprocess.run(
        [sys.executable, "-m", "jupyter_mm.cli", *argv],
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="surrogateescape",
    )


def test_every_human_readable_output_escapes_stored_strings(store_url: str) -> None:
    runs = json.loads(mm(store_url, "runs", "--all", "--json").stdout)["runs"]
    first, second = (r["id"] for r in runs[::-1])
    setup = [
        ("register", first, "--name", "churn", "-d", typed("description")),
        ("register", second, "--name", "churn"),
        ("promote", "churn", "1", "staging", "--reason", typed("reason")),
    ]
    for argv in setup:
        done = mm(store_url, *argv)
        assert done.returncode == 0, done.stderr
        assert forbidden(done.stdout + done.stderr) == [], argv
    commands = [
        ("runs", "--all"),
        ("show", first),
        ("diff", first, second),
        ("models",),
        ("model", "churn"),
        ("lineage", "churn/1"),
        # errors carry stored or typed strings too
        ("show", "zz" + SEQUENCES["clear"]),
        ("model", typed("m")),
        ("promote", "churn", "2", "production", "--reason", typed("why")),
    ]
    for argv in commands:
        done = mm(store_url, *argv)
        output = done.stdout + done.stderr
        assert "Traceback" not in output, (argv, output)
        assert forbidden(output) == [], (argv, output[:2000])
        if done.returncode != 0:
            assert done.stdout == "" and done.stderr.count("\n") == 1, (argv, done.stderr)
    shown = mm(store_url, "show", first).stdout
    # escaped, not dropped: what was stored can still be read
    assert "name\\e]0;owned\\x07" in shown and "\\u202e" in shown
    assert "\\e[2J\\e[H" in mm(store_url, "runs", "--all").stdout


def test_json_output_keeps_stored_strings_exact(store_url: str) -> None:
    runs = json.loads(mm(store_url, "runs", "--all", "--json").stdout)["runs"]
    assert {r["name"] for r in runs} == {tag("name")}
    detail = json.loads(mm(store_url, "show", runs[0]["id"], "--json").stdout)
    assert detail["run"]["note"] == tag("note") + "\nsecond line"
    assert detail["run"]["tags"] == {tag("tagkey"): tag("tagvalue")}
    assert set(detail["params"]) == {tag("param")}
    assert set(detail["metrics"]) == {tag("metric")}


# -- the registry's newer free-text fields ------------------------------------------------------
# Approval reasons and decision comments, alert evidence, webhook hook names and errors,
# serving endpoints' hosts, references and URLs, model and version descriptions: written
# straight into the store, as anyone sharing it could write them, with the whole corpus.


@pytest.fixture
def registry_store_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'mm.db'}"
    with open_store(url) as store:
        hostile_strings.fill_registry(store)
    return url


def test_registry_commands_escape_every_newer_field(registry_store_url: str) -> None:
    commands = [
        ("models",),
        ("model", "churn"),
        ("lineage", "churn/1"),
        ("requests",),
        ("alerts",),
        ("deliveries",),
        # refused: a live endpoint serves it; the refusal names the endpoint's URL
        ("promote", "churn", "1", "archived"),
    ]
    for argv in commands:
        done = mm(registry_store_url, *argv)
        output = done.stdout + done.stderr
        assert "Traceback" not in output, (argv, output[-2000:])
        assert forbidden(output) == [], (argv, forbidden(output)[:10])
    shown = mm(registry_store_url, "requests").stdout + mm(registry_store_url, "alerts").stdout
    assert "request reason:" in shown and "summary:" in shown  # escaped, not dropped
    refused = mm(registry_store_url, "promote", "churn", "1", "archived")
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr[:500]
    assert "url:" in refused.stderr
    # a byte that is not UTF-8 on the command line arrives as a lone surrogate: one line
    undecodable = mm(registry_store_url, "promote", "churn", "1", "none", "--reason", "x\udcff")
    assert undecodable.returncode == 2, undecodable.stderr[-2000:]
    assert "lone surrogate" in undecodable.stderr and undecodable.stderr.count("\n") == 1


def test_registry_json_keeps_every_newer_field_exact(registry_store_url: str) -> None:
    field = hostile_strings.tag

    def out(*argv: str) -> dict:
        done = mm(registry_store_url, *argv, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    requests = out("requests")["requests"]
    assert {r["reason"] for r in requests} == {field("request reason")}
    assert {r["requester"] for r in requests} == {field("requester")}
    assert {r["decision_reason"] for r in requests} == {field("comment"), None}
    (alert,) = out("alerts")["alerts"]
    assert (alert["rule"], alert["summary"]) == (field("rule"), field("summary"))
    assert alert["actions"] == [field("action")] and alert["user"] == field("alert user")
    (delivery,) = out("deliveries")["deliveries"]
    assert delivery["hook"] == field("hook", hostile_strings.SHORT)
    assert delivery["error"] == field("delivery error")
    model = out("model", "churn")
    assert model["model"]["description"] == field("model description")
    assert model["versions"][0]["description"] == field("version description")
    assert field("moved") in {e["reason"] for e in model["events"]}
