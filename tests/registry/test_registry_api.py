"""The registry's Python API (``mm.register_model`` … ``mm.load_model``) on a real store."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from registry_runs import train_run

import jupyter_mm as mm
from jupyter_mm.errors import Conflict, IntegrityError, InvalidInput, NotFound
from jupyter_mm.registry import resolve_version
from jupyter_mm.registry.rules import Registry, make_registry

GATED = Registry(gates={"production": ["metrics.roc_auc >= 0.78"]})


def test_register_promote_alias_load(mm_store):
    run_id = train_run(0.81, input_example=True)
    v = mm.register_model(run_id[:8], "model", "churn", "logistic regression")
    assert (v.model, v.version, v.run_id, v.stage) == ("churn", 1, run_id, "none")
    assert v.flavor == "sklearn-skops"
    assert v.signature == {"type": "ndarray", "dtype": "float64", "shape": [None, 2]}
    mm.transition("churn", 1, "staging", reason="offline eval", registry=GATED)
    promoted = mm.transition("churn", 1, "production", reason="A/B", registry=GATED)
    assert promoted.stage == "production"
    mm.set_alias("churn", 1, "champion")
    model = mm.load_model("churn@production")
    assert model.predict([[3.0, 0.0]]).tolist() == [1]
    assert type(mm.load_model("churn@champion")) is type(model)
    assert mm.load_model("churn/1").coef_.tolist() == model.coef_.tolist()
    detail = mm.get_model("churn")
    assert detail.production.version == 1
    assert detail.production.description == "logistic regression"
    actions = [(e.action, e.to_stage, e.user) for e in detail.events]
    assert actions == [
        ("register", "none", "ada"),
        ("transition", "staging", "ada"),
        ("transition", "production", "ada"),
        ("alias", None, "ada"),
    ]
    frame = mm.models()
    assert frame[["model", "version", "stage", "aliases"]].values.tolist() == [
        ["churn", 1, "production", "champion"]
    ]


def test_a_transition_that_misses_a_gate_is_refused_and_recorded(mm_store):
    weak = train_run(0.70, name="weak")
    mm.register_model(weak, "model", "churn")
    mm.transition("churn", 1, "staging", registry=GATED)
    with pytest.raises(Conflict) as info:
        mm.transition("churn", 1, "production", reason="ship it", registry=GATED)
    assert str(info.value) == (
        "churn version 1 -> production refused: gate 'metrics.roc_auc >= 0.78' not met "
        "(metrics.roc_auc = 0.7)."
    )
    assert mm_store.get_version("churn", 1).stage == "staging"
    refused = mm_store.model_events("churn")[-1]
    assert (refused.action, refused.from_stage, refused.to_stage) == (
        "transition_refused",
        "staging",
        "production",
    )
    assert "metrics.roc_auc = 0.7" in refused.reason and "ship it" in refused.reason


def test_transitions_outside_the_table_are_refused_and_recorded(mm_store):
    mm.register_model(train_run(0.9), "model", "churn")
    with pytest.raises(
        Conflict, match=r"none -> production is not allowed \(from none: archived, staging\)"
    ):
        mm.transition("churn", 1, "production", registry=GATED)
    with pytest.raises(Conflict, match="already in none"):
        mm.transition("churn", 1, "none", registry=GATED)
    with pytest.raises(Conflict, match="'prod' is not a stage"):
        mm.transition("churn", 1, "prod", registry=GATED)
    refusals = [e for e in mm_store.model_events("churn") if e.action == "transition_refused"]
    assert [e.to_stage for e in refusals] == ["production", "none", None]
    # archived -> staging (re-validation) and production -> staging (demote) are allowed
    for stage in ("archived", "staging", "production", "staging"):
        assert mm.transition("churn", 1, stage, registry=GATED).stage == stage


def test_promotion_archives_previous_and_rollback_restores_it(mm_store):
    for auc in (0.8, 0.9):
        version = mm.register_model(train_run(auc), "model", "churn").version
        mm.transition("churn", version, "staging", registry=GATED)
        mm.transition("churn", version, "production", registry=GATED)
    assert resolve_version("churn@production").version == 2
    assert mm_store.get_version("churn", 1).stage == "archived"
    restored = mm.rollback("churn", reason="latency regression")
    assert restored.version == 1
    assert resolve_version("churn@production").version == 1
    assert resolve_version("churn@archived").version == 2
    with pytest.raises(Conflict, match="no earlier production version"):
        mm.rollback("churn")


def test_references(mm_store):
    mm.register_model(train_run(0.8), "model", "churn")
    mm.register_model(train_run(0.9), "model", "churn")
    assert resolve_version("churn/latest").version == 2
    assert resolve_version("churn@none").version == 2
    for ref, error, message in [
        ("churn", InvalidInput, "incomplete"),
        ("churn/x", InvalidInput, "not a version number"),
        ("churn@", InvalidInput, "no stage or alias"),
        ("churn@production", NotFound, "no version in production"),
        ("churn@champion", NotFound, "no version with the alias 'champion'"),
        ("churn/9", NotFound, "churn has no version 9"),
        ("nope/1", NotFound, "No model named nope"),
    ]:
        with pytest.raises(error, match=message):
            resolve_version(ref)


def test_register_refuses_a_missing_artifact_with_the_list(mm_store):
    run_id = train_run(0.8)
    with pytest.raises(NotFound, match=r"no artifact named 'weights' \(its artifacts: model\)"):
        mm.register_model(run_id, "weights", "churn")


def test_register_refuses_what_describes_a_model(mm_store):
    """The signature and the reference profile log_model writes beside a model are artifacts
    of the run but not models: registering one would make a version that cannot load."""
    run_id = train_run(0.8, input_example=True)
    with pytest.raises(InvalidInput, match=r"model\.signature\.json describes a model"):
        mm.register_model(run_id, "model.signature.json", "churn")
    assert mm.register_model(run_id, "model", "churn").version == 1


def test_load_model_verifies_the_digest_before_deserializing(mm_store):
    version = mm.register_model(train_run(0.8), "model", "churn")
    path = mm_store.blobs.local_path(version.digest)
    os.chmod(path, 0o644)
    with open(path, "r+b") as handle:  # flip one byte of the stored model
        handle.seek(10)
        byte = handle.read(1)
        handle.seek(10)
        handle.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(IntegrityError, match="does not match its recorded digest"):
        mm.load_model("churn/1")


def test_pickled_models_need_trust(mm_store):
    with mm.start_run() as run:
        mm.log_model({"weights": [1, 2, 3]}, "table")  # not sklearn: joblib
    version = mm.register_model(run.id, "table", "lookup")
    assert version.flavor == "joblib"
    with pytest.raises(InvalidInput, match="joblib pickle: loading it runs code"):
        mm.load_model("lookup/1")
    assert mm.load_model("lookup/1", trusted=True) == {"weights": [1, 2, 3]}
    trusting = Registry(trust_pickled_models=True)
    assert mm.load_model("lookup/1", registry=trusting) == {"weights": [1, 2, 3]}


def test_file_and_directory_models_come_back_as_verified_copies(mm_store, tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"onnx bytes")
    bundle = tmp_path / "bundle"
    (bundle / "sub").mkdir(parents=True)
    (bundle / "config.json").write_text("{}")
    (bundle / "sub" / "weights.bin").write_bytes(b"\x01\x02")
    with mm.start_run() as run:
        mm.log_model(tmp_path / "model.onnx", "onnx")
        mm.log_model(bundle, "bundle")
    assert mm.register_model(run.id, "onnx", "det").flavor == "file"
    assert mm.register_model(run.id, "bundle", "hf").flavor == "directory"
    copy = mm.load_model("det/1", dest=tmp_path / "out")
    assert copy == tmp_path / "out" / "onnx" and copy.read_bytes() == b"onnx bytes"
    folder = mm.load_model("hf/1")
    assert (folder / "config.json").read_text() == "{}"
    assert (folder / "sub" / "weights.bin").read_bytes() == b"\x01\x02"


def test_signatures_from_dataframes_and_bad_examples(mm_store):
    frame = pd.DataFrame({"age": [30, 40], "income": [1.5, 2.5], "city": ["a", "b"]})
    with mm.start_run() as run:
        mm.log_model({"w": 1}, "m", input_example=frame)
        with pytest.raises(InvalidInput, match="input example must be a DataFrame"):
            mm.log_model({"w": 1}, "n", input_example=object())
    detail = mm.get_run(run.id)
    assert sorted(a.name for a in detail.artifacts) == ["m", "m.signature.json"]
    signature = mm.register_model(run.id, "m", "frame").signature
    assert signature == {
        "type": "dataframe",
        "columns": [
            {"name": "age", "dtype": "int64"},
            {"name": "income", "dtype": "float64"},
            {"name": "city", "dtype": str(frame["city"].dtype)},
        ],
        "shape": [None, 3],
    }
    assert json.loads(json.dumps(signature)) == signature
    with mm.start_run():
        from jupyter_mm.flavors import signature_of

        assert signature_of([[1, 2], [3, 4]])["dtype"] == "int64"
        assert signature_of(np.zeros((5, 3, 2), dtype="float32"))["shape"] == [None, 3, 2]


def test_gates_in_config_are_checked_when_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", "")
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "cfg"))
    (tmp_path / "jupyter_mm_config.py").write_text(
        'c.Registry.gates = {"production": ["metrics.auc >= 0.8"]}\n'
        "c.Registry.metric_tolerance = 0.01\n"
    )
    registry = make_registry()
    assert registry.gates == {"production": ["metrics.auc >= 0.8"]}
    assert registry.metric_tolerance == 0.01
    (tmp_path / "jupyter_mm_config.py").write_text(
        'c.Registry.gates = {"production": ["metrics.auc >= "]}\n'
    )
    with pytest.raises(InvalidInput, match=r"Gate 'metrics.auc >= ' is not valid"):
        make_registry()
    (tmp_path / "jupyter_mm_config.py").write_text('c.Registry.gates = {"prod": []}\n')
    with pytest.raises(InvalidInput, match="names stage 'prod'"):
        make_registry()


class Shift:
    """Not a scikit-learn type: skops will not construct it unless told to trust it."""

    def __init__(self, by: float = 1.0) -> None:
        self.by = by


def test_skops_refuses_foreign_types_unless_trusted(mm_store):
    from sklearn.preprocessing import FunctionTransformer

    model = FunctionTransformer(kw_args={"shift": Shift(2.0)}).fit([[0.0]])
    with mm.start_run() as run:
        saved = mm.log_model(model, "model")
    assert saved.media_type == "application/vnd.jupyter-mm.model.skops"
    mm.register_model(run.id, "model", "custom")
    with pytest.raises(InvalidInput, match=r"does not trust by default: .*\.Shift\. Nothing"):
        mm.load_model("custom/1")
    loaded = mm.load_model("custom/1", trusted=True)
    assert loaded.kw_args["shift"].by == 2.0
    named = mm.load_model("custom/1", trusted=[f"{Shift.__module__}.Shift"])
    assert named.kw_args["shift"].by == 2.0
