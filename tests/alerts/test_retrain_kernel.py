"""Alert -> retrain end to end: a notebook trains on a CSV named in its parameters cell; its
tracked run's model goes to production; a rule with the ``retrain`` action fires on real
logged predictions, and a real kernel re-executes the checkpoint with the new data path
injected. The new version is registered with lineage to the alert, staged, and — with the
policy allowing it — promoted because it beats production on the same labelled window."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from traitlets.config import Config

import jupyter_mm as mm
from jupyter_mm.alerts.evaluate import check
from jupyter_mm.cli import main
from jupyter_mm.monitoring.settings import Monitor
from jupyter_mm.runner import run_notebook

from .conftest import classifier_data, log_scored

pytestmark = pytest.mark.kernel

TRAIN = """%%track --name train
import pandas as pd
from sklearn.linear_model import LogisticRegression

frame = pd.read_csv(data_path)
X, y = frame[["a", "b", "c"]], frame["target"]
model = LogisticRegression().fit(X, y)
mm.log_param("rows", len(frame))
saved = mm.log_model(model, "model", input_example=X.head(3))"""


def write_csv(path: Path, *, seed: int, flip: bool) -> Path:
    X, y = classifier_data(seed, 300)
    X.assign(target=(1 - y) if flip else y).to_csv(path, index=False)
    return path


def training_notebook(project: Path) -> Path:
    parameters = new_code_cell('data_path = "data/train.csv"')
    parameters.metadata["tags"] = ["parameters"]
    nb = new_notebook(
        cells=[
            parameters,
            new_code_cell("%load_ext jupyter_mm\nimport jupyter_mm as mm"),
            new_code_cell(TRAIN),
            new_code_cell("raise RuntimeError('cells after the tracked one are not re-run')"),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}  # fmt: skip
    path = project / "train.ipynb"
    nbformat.write(nb, str(path))
    return path


def test_alert_retrains_from_the_notebook_with_new_data(mm_store, tmp_path) -> None:
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    write_csv(project / "data" / "train.csv", seed=0, flip=False)
    first = run_notebook(training_notebook(project), timeout=300)
    (run_id,) = first.run_ids
    production = mm.register_model(run_id, "model", "fraud", store=mm_store)
    mm.transition("fraud", production.version, "staging", store=mm_store)
    mm.transition("fraud", production.version, "production", store=mm_store)

    # the world flipped: production is now wrong on the labelled predictions
    log_scored(mm_store, "fraud@production", seed=5, rows=200, flip=True)
    fresh = write_csv(tmp_path / "latest.csv", seed=6, flip=True)
    config = Config()
    config.Monitor.rules = [{"when": "roc_auc < 0.78 over 200 labelled", "actions": ["retrain"]}]
    config.Monitor.retrain_parameters = {"data_path": str(fresh)}
    config.Monitor.retrain_to_production = True

    (outcome,) = check(mm_store, monitor=Monitor(config=config))
    assert outcome.state == "fired"
    (action,) = outcome.actions
    assert action["action"] == "retrain" and action["ok"], action

    versions = mm_store.list_versions("fraud")
    new = max(versions, key=lambda v: v.version)
    assert new.version == production.version + 1 and new.run_id != run_id
    assert new.stage == "production"  # it beat the old one on the same window
    assert mm_store.get_version("fraud", production.version).stage == "archived"
    assert new.description == f"retrained for alert #{outcome.alert_id} from version 1"
    detail = mm_store.get_run_detail(new.run_id)
    assert str(fresh) in {d.name for d in detail.data}  # the injected path was read
    assert str(fresh) in mm_store.params_of([new.run_id])[new.run_id].get("data_path", "")

    steps = [json.loads(e.reason) for e in mm_store.model_events("fraud") if e.action == "retrain"]
    assert [s["step"] for s in steps] == ["started", "registered", "staged", "compared", "promoted"]
    assert {s["alert"] for s in steps} == {outcome.alert_id}
    registered = steps[1]
    assert registered["run"] == new.run_id
    compared = steps[3]
    assert compared["challenger"]["value"] > compared["champion"]["value"]
    assert compared["metric"] == "roc_auc" and compared["rows"] == 200


def test_a_failed_retrain_leaves_production_and_alerts(mm_store, tmp_path, capsys) -> None:
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    write_csv(project / "data" / "train.csv", seed=0, flip=False)
    (run_id,) = run_notebook(training_notebook(project), timeout=300).run_ids
    production = mm.register_model(run_id, "model", "fraud", store=mm_store)
    mm.transition("fraud", production.version, "staging", store=mm_store)
    mm.transition("fraud", production.version, "production", store=mm_store)

    code = main(
        ["retrain", "fraud", "--data", str(tmp_path / "missing.csv"), "--promote", "--json"]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and not report["ok"] and "the re-run failed" in str(report["problem"])
    assert "FileNotFoundError" in report["problem"]
    assert [v.version for v in mm_store.list_versions("fraud")] == [production.version]
    assert mm_store.get_version("fraud", production.version).stage == "production"
    events = mm_store.model_events("fraud")
    steps = [json.loads(e.reason)["step"] for e in events if e.action == "retrain"]
    assert steps == ["started", "failed"]
    alert = [e for e in events if e.action == "alert"][-1]
    assert "retrain of fraud failed" in json.loads(alert.reason)["summary"]
