"""``jupyter mm run`` of a notebook whose tracked cells show no card, then the JSON readers.

* the runs are counted from the store, not from the cards the cells displayed (``-q`` cells,
  ``mm.start_run`` in a plain cell and a run nested in a tracked cell show none);
* ``runs --json`` and ``show --json`` are strict JSON with NaN and infinite metrics (the
  strings the REST API uses), checked with Python's parser refusing the bare tokens and with
  Node's ``JSON.parse``;
* a param cut to the maximum length says so in the run's warnings;
* the advice the top-level-await error gives works in a real kernel.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from mm_test_support import run_cli as jupyter_mm
from nbformat.v4 import new_code_cell, new_notebook

pytestmark = pytest.mark.kernel

CELLS = [
    "%load_ext jupyter_mm\nimport jupyter_mm as mm",
    "%%track -q -n quiet-nan --metric loss,best,worst\n"
    "loss = float('nan')\nbest = float('inf')\nworst = float('-inf')",
    "%%track -q -n quiet-long\nmm.log_param('notes', 'x' * 7000)\n"
    "with mm.start_run('nested'):\n    mm.log_metric('inner', 1.0)",
    "import asyncio\nwith mm.start_run('awaited'):\n"
    "    await asyncio.sleep(0)\n    mm.log_metric('after_await', 2.0)",
    "%%track -n shown\nshown = 1",
]


def _refuse(token: str) -> None:
    raise ValueError(f"bare {token} in JSON output")


def _node_parses(text: str) -> dict:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    out = subprocess.run(
        ["node", "-e", "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>"
         "process.stdout.write(JSON.stringify(JSON.parse(s))))"],
        input=text, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_quiet_runs_are_counted_and_json_is_strict(tmp_path: Path) -> None:
    work = tmp_path / "project"
    work.mkdir()
    notebook = work / "quiet.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell(c) for c in CELLS]), notebook)
    store = f"sqlite:///{tmp_path / 'store' / 'mm.db'}"

    ran = jupyter_mm("run", str(notebook), store=store, cwd=tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "5 runs recorded:" in ran.stdout  # one card among them
    for name in ("quiet-nan", "quiet-long", "nested", "awaited", "shown"):
        assert f"  {name}  " in ran.stdout

    listing = jupyter_mm("runs", "--json", store=store, cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    runs = json.loads(listing.stdout, parse_constant=_refuse)["runs"]
    assert _node_parses(listing.stdout)["count"] == 5
    by_name = {r["name"]: r for r in runs}
    assert by_name["quiet-nan"]["metrics"] == {"loss": "nan", "best": "inf", "worst": "-inf"}
    assert by_name["awaited"]["metrics"] == {"after_await": 2.0}
    assert by_name["nested"]["parent_id"] == by_name["quiet-long"]["id"]
    long_run = by_name["quiet-long"]
    assert len(long_run["params"]["notes"]) == 6000
    assert long_run["warnings"] == ["param notes cut to 5999 of its 7000 characters"]

    shown = jupyter_mm("show", by_name["quiet-nan"]["id"], "--json", store=store, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    detail = json.loads(shown.stdout, parse_constant=_refuse)
    assert detail["metrics"]["loss"]["value"] == "nan"
    assert _node_parses(shown.stdout)["metrics"]["worst"]["value"] == "-inf"
