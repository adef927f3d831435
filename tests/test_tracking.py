"""The Python API (``mm.start_run`` and friends) against a real SQLite store, in-process and
from a plain Python script (no kernel, no IPython)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import jupyter_mm as mm
from jupyter_mm import tracking
from jupyter_mm.errors import InvalidInput
from jupyter_mm.flavors import (
    MEDIA_TYPE_DIRECTORY,
    MEDIA_TYPE_JOBLIB,
    MEDIA_TYPE_SKOPS,
    deserialize_model,
)
from jupyter_mm.store import open_store

REPO = str(Path(__file__).resolve().parents[1])


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request, tmp_path, monkeypatch):
    """The default store of this process, on each backend (as a kernel would find it)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store' / 'mm.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
        monkeypatch.setenv("JUPYTER_MM_ARTIFACTS", str(tmp_path / "objects"))
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the stat cache
    monkeypatch.setenv("JUPYTER_MM_STORE", url)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.chdir(tmp_path)
    tracking.set_default_store(None)
    yield tracking.default_store()
    tracking.set_default_store(None)


def test_run_records_params_metrics_and_ends_finished(store):
    with mm.start_run("api", tags={"team": "fraud", "seed": 7}, note="hello") as run:
        mm.log_param("lr", 0.1)
        mm.log_params({"optimizer": "adam", "layers": [64, 32]})
        for value in (0.5, 0.25):
            mm.log_metric("loss", value)
        mm.log_metric("loss", 0.1, step=10)
        mm.log_metrics({"acc": 0.9, "auc": 0.8}, step=3)
        assert mm.active_run() is run
    assert mm.active_run() is None
    detail = mm.get_run(run.id[:8])
    assert detail.run.status == "finished" and detail.run.end_time is not None
    assert detail.run.tags == {"team": "fraud", "seed": "7"} and detail.run.note == "hello"
    assert detail.run.pid == os.getpid() and detail.run.host
    assert {p.name: p.value for p in detail.params} == {
        "lr": "0.1",
        "optimizer": "adam",
        "layers": "[64, 32]",
    }
    steps = [(m.name, m.step, m.value) for m in detail.metrics]
    assert steps == [
        ("acc", 3, 0.9),
        ("auc", 3, 0.8),
        ("loss", 0, 0.5),
        ("loss", 1, 0.25),
        ("loss", 10, 0.1),
    ]
    assert run.latest_metrics == {"loss": 0.1, "acc": 0.9, "auc": 0.8}


def test_exception_in_block_fails_the_run_and_propagates(store):
    with pytest.raises(KeyError), mm.start_run("bad") as run:
        raise KeyError("missing column")
    stored = store.get_run(run.id)
    assert stored.status == "failed" and stored.error == "KeyError: 'missing column'"


def test_nested_runs_get_their_parent(store):
    with mm.start_run("outer") as outer, mm.start_run("inner") as inner:
        assert mm.active_run() is inner
    assert store.get_run(inner.id).parent_id == outer.id
    assert store.get_run(outer.id).parent_id is None


def test_without_an_active_run_the_error_says_what_to_do(store):
    with pytest.raises(InvalidInput, match=r"No active run; use %%track or mm.start_run\(\)"):
        mm.log_metric("loss", 1.0)


def test_bad_values_are_one_line_errors_and_the_run_goes_on(store):
    import numpy as np

    with mm.start_run() as run:
        with pytest.raises(InvalidInput, match="Metric 'loss' must be a number, not str"):
            mm.log_metric("loss", "low")
        with pytest.raises(InvalidInput, match="step of metric 'loss' must be an integer"):
            mm.log_metric("loss", 1.0, step=1.5)
        with pytest.raises(InvalidInput, match="does not exist"):
            mm.log_input("nowhere.csv")
        mm.log_metric("loss", np.float32(0.5))  # numpy scalars are numbers
        mm.log_metric("count", np.array(3))
    points = {m.name: m.value for m in store.get_run_detail(run.id).metrics}
    assert points == {"loss": 0.5, "count": 3.0}


def test_metric_points_are_flushed_in_the_background(store):
    with mm.start_run("loop") as run:
        for step in range(5):
            mm.log_metric("x", step)
        assert store.get_run_detail(run.id).metrics == []  # buffered, not one write each
        deadline = time.monotonic() + 5
        while not store.get_run_detail(run.id).metrics and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(store.get_run_detail(run.id).metrics) == 5
        assert store.get_run(run.id).status == "running"


def test_large_metric_bursts_flush_by_size(store, monkeypatch):
    monkeypatch.setattr(tracking.active, "METRIC_FLUSH_POINTS", 100)
    with mm.start_run() as run:
        for step in range(250):
            mm.log_metric("x", step)
        assert len(store.get_run_detail(run.id).metrics) == 200
    assert len(store.get_run_detail(run.id).metrics) == 250


def test_inputs_files_and_objects(store, tmp_path):
    import pandas as pd

    (tmp_path / "train.csv").write_text("a\n1\n")
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "one.txt").write_text("1")
    frame = pd.DataFrame({"a": [1, 2]})
    with mm.start_run() as run:
        mm.log_input("train.csv")
        mm.log_input(tmp_path / "images")
        mm.log_input(frame, name="frame")
        mm.log_output(frame.describe(), name="summary")
        with pytest.raises(InvalidInput, match="Cannot hash 'thing'"):
            mm.log_input(object(), name="thing")
    refs = {(Path(d.name).name, d.kind, d.role) for d in store.get_run_detail(run.id).data}
    assert refs == {
        ("train.csv", "file", "input"),
        ("images", "directory", "input"),
        ("frame", "object", "input"),
        ("summary", "object", "output"),
    }


def test_artifacts_files_directories_bytes_and_models(store, tmp_path):
    from sklearn.linear_model import LogisticRegression

    (tmp_path / "report.json").write_text('{"ok": true}')
    (tmp_path / "bundle").mkdir()
    (tmp_path / "bundle" / "weights.bin").write_bytes(b"\x00" * 10)
    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    with mm.start_run() as run:
        report = mm.log_artifact("report.json")
        bundle = mm.log_artifact(tmp_path / "bundle")
        raw = mm.log_artifact(b"abc", name="raw.bin", media_type="application/x-test")
        saved = mm.log_model(model, "classifier")
        with pytest.raises(InvalidInput, match="needs a name"):
            mm.log_artifact(b"abc")
        with pytest.raises(InvalidInput, match="cannot be serialized"):
            mm.log_model(lambda x: x, "fn")
    assert report.media_type == "application/json" and report.size == 12
    assert bundle.media_type == MEDIA_TYPE_DIRECTORY and bundle.size == 10
    assert store.blobs.get_bytes(raw.digest) == b"abc"
    # scikit-learn estimators are saved with skops when it is installed (no pickle)
    has_skops = importlib.util.find_spec("skops") is not None
    assert saved.media_type == (MEDIA_TYPE_SKOPS if has_skops else MEDIA_TYPE_JOBLIB)
    loaded = deserialize_model(store.blobs.get_bytes(saved.digest), saved.media_type)
    assert loaded.predict([[3.0]]).tolist() == [1]
    names = {a.name for a in store.get_run_detail(run.id).artifacts}
    assert names == {"report.json", "bundle", "raw.bin", "classifier"}


def test_runs_dataframe_has_params_and_latest_metrics(store):
    for lr in (0.1, 0.2):
        with mm.start_run(f"lr-{lr}", notebook_path="train.ipynb"):
            mm.log_param("lr", lr)
            mm.log_metric("acc", lr * 2)
            mm.log_metric("acc", lr * 3)
    with mm.start_run("elsewhere"):
        pass
    frame = mm.runs(notebook="train.ipynb")
    assert list(frame.columns) == [
        "id",
        "name",
        "status",
        "start",
        "end",
        "duration",
        "notebook",
        "metrics.acc",
        "params.lr",
    ]
    assert frame["name"].tolist() == ["lr-0.2", "lr-0.1"]  # newest first
    assert frame["params.lr"].tolist() == ["0.2", "0.1"]
    assert frame["metrics.acc"].tolist() == pytest.approx([0.6, 0.3])
    assert str(frame["start"].dtype) == "datetime64[ns, UTC]"
    assert len(mm.runs()) == 3 and len(mm.runs(limit=1)) == 1
    with pytest.raises(InvalidInput, match="Unknown run status"):
        mm.runs(status="done")


def test_secrets_in_params_and_errors_are_redacted(store):
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    with pytest.raises(RuntimeError), mm.start_run() as run:
        mm.log_param("token", token)
        raise RuntimeError(f"auth failed with {token}")
    detail = store.get_run_detail(run.id)
    assert token not in detail.params[0].value and "redacted" in detail.params[0].value
    assert token not in detail.run.error and "redacted" in detail.run.error


def test_unusable_store_records_nothing_and_warns_once(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("JUPYTER_MM_STORE", f"sqlite:///{blocker / 'mm.db'}")
    tracking.set_default_store(None)
    with mm.start_run("nowhere") as run:
        mm.log_metric("loss", 1.0)
        assert mm.log_artifact(b"x", name="x") is None
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("jupyter-mm: run not recorded: ")
    assert not run.recorded and run.status == "finished"
    tracking.set_default_store(None)


def test_start_run_from_a_plain_python_script(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(
        "import sys, jupyter_mm as mm\n"
        "assert 'IPython' not in sys.modules\n"
        "with mm.start_run('script', tags={'via': 'cli'}) as run:\n"
        "    mm.log_param('epochs', 2)\n"
        "    for step in range(2):\n"
        "        mm.log_metric('loss', 1 / (step + 1))\n"
        "print(run.id)\n"
    )
    url = f"sqlite:///{tmp_path / 'store' / 'mm.db'}"
    env = dict(os.environ, JUPYTER_MM_STORE=url, PYTHONPATH=REPO)
    env.pop("JPY_SESSION_NAME", None)
    done = subprocess.run(
        [sys.executable, str(script)], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip()
    with open_store(url) as store:
        detail = store.get_run_detail(run_id)
    assert (detail.run.name, detail.run.status, detail.run.tags) == (
        "script",
        "finished",
        {"via": "cli"},
    )
    assert detail.run.checkpoint_source == "none"
    assert [(m.step, m.value) for m in detail.metrics] == [(0, 1.0), (1, 0.5)]
    assert {p.name: p.value for p in detail.params} == {"epochs": "2"}


def test_ctrl_c_while_hashing_keeps_the_run_and_the_data_hashed_so_far(
    store, tmp_path, monkeypatch
):
    import jupyter_mm.capture.data as data

    for name in ("a.csv", "b.csv", "c.csv"):
        (tmp_path / name).write_text(name)
    real = data.describe_path

    def interrupted_after_first(path, *args, **kwargs):
        if not path.endswith("a.csv"):
            raise KeyboardInterrupt  # what Ctrl-C raises in the main thread mid-hash
        return real(path, *args, **kwargs)

    monkeypatch.setattr(data, "describe_path", interrupted_after_first)
    with mm.start_run() as run:
        for name in ("a.csv", "b.csv", "c.csv"):
            mm.log_input(name)
    stored = store.get_run_detail(run.id)
    assert stored.run.status == "finished"
    assert [Path(d.name).name for d in stored.data] == ["a.csv"]
    assert stored.run.warnings == ["hashing interrupted; 2 data path(s) not recorded"]
