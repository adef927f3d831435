"""The registry commands of ``jupyter mm`` on a real SQLite store, and ``reproduce`` on runs
recorded by a real kernel: one that reproduces and one whose input data changed."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_mm.runner import run_notebook


@pytest.fixture(autouse=True)
def _no_user_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # gates come from jupyter_mm_config.py; never read the developer's own
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "jupyter-config"))
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", "")
    monkeypatch.setenv("JUPYTERHUB_USER", "grace")


def gate(tmp_path: Path, condition: str) -> None:
    (tmp_path / "jupyter_mm_config.py").write_text(
        f"c.Registry.gates = {{'production': [{condition!r}]}}\n"
    )


def test_register_promote_alias_rollback_and_listings(cli, populated, tmp_path):
    gate(tmp_path, "metrics.accuracy >= 0.905")
    first = cli("register", populated.first[:20], "--artifact", "model", "--name", "churn")
    assert first.code == 0, first.err
    assert first.out.strip() == f"Registered churn version 1: none (run {populated.first[:10]})"
    second = cli("register", populated.second, "--name", "churn", "-d", "C=0.05", "--json")
    assert second.code == 0 and second.json()["version"] == 2
    assert second.json()["digest"] and second.json()["flavor"] == "file"

    assert cli("promote", "churn", "1", "staging", "--reason", "eval ok").code == 0
    promoted = cli("promote", "churn", "1", "production", "--reason", "ship", "--json")
    assert promoted.code == 0, promoted.err
    assert promoted.json()["version"]["stage"] == "production"
    # run 2 has accuracy 0.9005: the gate refuses it, with the reason, and records it
    assert cli("promote", "churn", "2", "staging").code == 0
    refused = cli("promote", "churn", "2", "production", "--reason", "try")
    assert refused.code == 1 and refused.out == ""
    assert refused.err == (
        "jupyter mm: error: churn version 2 -> production refused: gate "
        "'metrics.accuracy >= 0.905' not met (metrics.accuracy = 0.9005).\n"
    )
    bad = cli("promote", "churn", "2", "none")
    assert bad.code == 1 and "staging -> none is not allowed" in bad.err
    gate(tmp_path, "metrics.accuracy >= 0.9")
    moved = cli("promote", "churn", "2", "production")
    assert moved.code == 0
    assert moved.out.splitlines() == [
        f"Moved churn version 2: production (run {populated.second[:10]})",
        "Archived churn version 1 (was in production)",
    ]
    assert cli("alias", "churn", "2", "champion").code == 0

    listing = cli("models")
    assert listing.out.splitlines()[0].split() == [
        "MODEL", "VERSIONS", "PRODUCTION", "STAGING", "ALIASES", "LATEST",
    ]  # fmt: skip
    assert listing.out.splitlines()[1].split()[:5] == ["churn", "2", "2", "-", "champion=2"]
    data = cli("models", "--json").json()
    assert data["count"] == 1
    assert [v["stage"] for v in data["models"][0]["versions"]] == ["archived", "production"]

    rolled = cli("rollback", "churn", "--reason", "latency")
    assert rolled.code == 0
    assert rolled.out.startswith("Rolled back: production is churn version 1: production")
    again = cli("rollback", "churn")
    assert again.code == 1 and "no earlier production version" in again.err
    assert cli("unalias", "churn", "champion").code == 0

    detail = cli("model", "churn", "--json").json()
    actions = [(e["action"], e["version"], e["user"]) for e in detail["events"]]
    assert actions == [
        ("register", 1, "grace"),
        ("register", 2, "grace"),
        ("transition", 1, "grace"),
        ("transition", 1, "grace"),
        ("transition", 2, "grace"),
        ("transition_refused", 2, "grace"),
        ("transition_refused", 2, "grace"),
        ("transition", 2, "grace"),
        ("superseded", 1, "grace"),
        ("alias", 2, "grace"),
        ("rollback", 2, "grace"),
        ("rollback", 1, "grace"),
        ("unalias", 2, "grace"),
    ]
    text = cli("model", "churn").out
    assert "Audit trail:" in text and "transition_refused" in text and "latency" in text


def test_lineage_walks_from_version_to_environment(cli, populated, tmp_path):
    assert cli("register", populated.first, "--name", "churn").code == 0
    assert cli("promote", "churn", "1", "staging").code == 0
    data = cli("lineage", "churn@staging", "--json").json()
    assert data["version"]["version"] == 1 and data["run"]["id"] == populated.first
    assert data["run"]["params"] == {"C": "1.0", "max_iter": "200"}
    assert data["run"]["metrics"]["loss"] == pytest.approx(1 / 3)
    assert data["checkpoint"]["digest"] == populated.checkpoint_digest
    assert {d["name"] for d in data["data"]} == {
        "/work/project/data/train.csv",
        "/work/project/preds.csv",
    }
    assert data["environment"]["id"] == populated.environment_id
    assert data["environment"]["packages"]["numpy"] == "2.1.0"
    assert [e["action"] for e in data["events"]] == ["register", "transition"]
    text = cli("lineage", "churn/1")
    assert text.code == 0
    lines = text.out.splitlines()
    assert lines[0] == "churn version 1  staging  flavor file"
    assert any(line.strip().startswith("notebook  /work/project/train.ipynb") for line in lines)
    assert any("input    file" in line and "train.csv" in line for line in lines)
    assert any(line.strip().startswith("env       Python 3.11.9") for line in lines)
    missing = cli("lineage", "churn@production")
    assert missing.code == 1 and "has no version in production" in missing.err
    bad = cli("lineage", "churn")
    assert bad.code == 2 and "incomplete" in bad.err


def test_registry_errors_are_one_line(cli, populated):
    for argv, code, text in [
        (
            ["register", populated.first, "--artifact", "nope", "--name", "m"],
            1,
            "its artifacts: model",
        ),
        (["register", populated.first, "--name", "a/b"], 2, "not a model name"),
        (["promote", "ghost", "1", "staging"], 1, "No model named ghost"),
        (["model", "ghost"], 1, "No model named ghost"),
        (["alias", "ghost", "1", "production"], 2, "stage name"),
        (["rollback", "ghost"], 1, "No model named ghost"),
        (["promote", "ghost", "x", "staging"], 2, "invalid int value"),
    ]:
        result = cli(*argv)
        assert result.code == code, (argv, result.err)
        assert text in result.err and result.err.count("\n") == 1 and "Traceback" not in result.err
    assert cli("models").out.startswith("No registered models yet")


REWRITE = """\
from pathlib import Path
data = Path("data/train.csv")
data.write_text(data.read_text())
"""

TRAIN = """\
%%track --name fit --metric acc
import pandas as pd
from sklearn.linear_model import LogisticRegression
frame = pd.read_csv("data/train.csv")
model = LogisticRegression(random_state=0).fit(frame[["x"]], frame["y"])
acc = float(model.score(frame[["x"]], frame["y"]))
"""


def write_data(project: Path, labels: list[int]) -> None:
    rows = "\n".join(f"{x},{y}" for x, y in enumerate(labels))
    (project / "data" / "train.csv").write_text("x,y\n" + rows + "\n")


@pytest.mark.kernel
def test_reproduce_a_run_and_detect_changed_input_data(cli, tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    write_data(project, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    nb = new_notebook(
        cells=[
            new_code_cell("%load_ext jupyter_mm"),
            # rewrites its input in place: a re-run must do that to a copy, never the original
            new_code_cell(REWRITE),
            new_code_cell(TRAIN),
            new_code_cell("raise RuntimeError('cells after the tracked one are not re-run')"),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, str(project / "train.ipynb"))
    store = tmp_path / "store"
    monkeypatch.setenv("JUPYTER_MM_STORE", f"sqlite:///{store / 'mm.db'}")
    first = run_notebook(project / "train.ipynb", timeout=120)
    assert len(first.run_ids) == 1 and first.failure is not None  # the last cell raised
    run_id = first.run_ids[0]

    original = project / "data" / "train.csv"
    stamp = original.stat().st_mtime_ns
    same = cli("reproduce", run_id, "--json")
    report = same.json()
    assert same.code == 0, report
    assert report["ok"] and report["executed"] and report["reasons"] == []
    assert report["data"] == [
        {
            "name": str(project / "data" / "train.csv"),
            "role": "input",
            "kind": "file",
            "recorded": report["data"][0]["recorded"],
            "current": report["data"][0]["recorded"],
            "status": "same",
        }
    ]
    assert [(m["name"], m["recorded"], m["reproduced"], m["ok"]) for m in report["metrics"]] == [
        ("acc", 1.0, 1.0, True)
    ]
    assert report["environment"] == {}  # same interpreter, same packages
    assert report["workdir"] is None  # the temporary directory is gone unless --keep
    assert original.stat().st_mtime_ns == stamp  # the user's data file was not written
    assert json.loads(cli("runs", "--json").out)["count"] == 1  # the user's store is only read

    write_data(project, [0, 0, 0, 1, 0, 1, 1, 0, 1, 1])  # two labels flipped
    changed = cli("reproduce", run_id[:8])
    assert changed.code == 1
    assert f"Run {run_id} does not reproduce:" in changed.out
    assert f"  - input {project / 'data' / 'train.csv'} changed since the run" in changed.out
    assert "not re-executed: its inputs differ" in changed.out

    anyway = cli("reproduce", run_id, "--run-anyway", "--json")
    report = anyway.json()
    assert anyway.code == 1 and report["executed"]
    assert report["metrics"][0]["reproduced"] == 0.8 and not report["metrics"][0]["ok"]
    assert any(r.startswith("metric acc: recorded 1.0, reproduced 0.8") for r in report["reasons"])
    assert any(r.startswith("the re-run read different data as") for r in report["reasons"])


def test_reproduce_stops_before_executing_when_it_cannot_succeed(cli, populated):
    # the recorded input /work/project/data/train.csv does not exist on this machine
    missing = cli("reproduce", populated.first, "--json")
    report = missing.json()
    assert missing.code == 1 and not report["executed"]
    assert report["data"][0]["status"] == "missing"
    assert report["reasons"] == [
        "input /work/project/data/train.csv no longer exists",
        "not re-executed: its inputs differ from the recorded ones",
    ]
    # a run recorded outside a notebook has nothing to re-execute
    bare = cli("reproduce", populated.failed)
    assert bare.code == 1
    assert bare.out.splitlines()[-1] == "  - the run has no notebook checkpoint to re-execute"
    bad = cli("reproduce", populated.first, "--tolerance", "-1")
    assert bad.code == 2 and "tolerance must be a number >= 0" in bad.err
