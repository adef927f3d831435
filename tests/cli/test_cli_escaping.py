"""Stored strings never reach the terminal raw: names, notes, tags, params, metric names,
data names, warnings, errors, model descriptions and audit reasons holding terminal control
sequences are printed escaped by every human-readable command, while ``--json`` keeps them
exact. The real CLI in a subprocess, on a real SQLite store.

The forbidden characters are defined here from Unicode's own properties, not from the
CLI's list: every control character (category Cc) but newline and tab, the line and
paragraph separators, and the explicit bidirectional formatting characters.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest

from jupyter_mm.config import ENV_ARTIFACTS, ENV_STORE
from jupyter_mm.entities import Artifact, DataRef, Metric, Param, Run
from jupyter_mm.ids import new_id
from jupyter_mm.store import open_store

#: what real attacks on terminals use (xterm control sequences, C1 CSI, a bidi override)
SEQUENCES = {
    "title": "\x1b]0;owned\x07",  # OSC: set the window title, ended by BEL
    "clear": "\x1b[2J\x1b[H",  # erase the screen, cursor home
    "overwrite": "\x1b[1A\r",  # cursor up, back to the line start
    "c1": "\x9b31m",  # C1 CSI (8-bit): red
    "backspace": "ok\x08\x08no",
    "bidi": "abc\u202etxt.exe",  # right-to-left override
    "isolate": "\u2067x\u2069",
    "separator": "line\u2028break",
}
HOSTILE = "".join(SEQUENCES.values())
BIDI_CONTROLS = {"LRE", "RLE", "PDF", "LRO", "RLO", "LRI", "RLI", "FSI", "PDI"}


def forbidden(text: str) -> list[str]:
    """The characters of ``text`` a terminal must never receive from stored strings."""
    found = []
    for char in text:
        if char in "\n\t":
            continue
        category = unicodedata.category(char)
        if (
            category in ("Cc", "Zl", "Zp")
            or unicodedata.bidirectional(char) in BIDI_CONTROLS
            or char in "\u200e\u200f\u061c"  # the directional marks
        ):
            found.append(f"U+{ord(char):04X}")
    return found


def tag(what: str) -> str:
    return f"{what}{HOSTILE}"


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
        ("register", first, "--name", "churn", "-d", tag("description")),
        ("register", second, "--name", "churn"),
        ("promote", "churn", "1", "staging", "--reason", tag("reason")),
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
        ("model", tag("m")),
        ("promote", "churn", "2", "production", "--reason", tag("why")),
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
