"""``jupyter mm monitor`` and ``jupyter mm profile`` on a real store: the ``--json`` shape
is the typed report, the text shows the drift table, timeline and latency, bad input is
one line."""

from __future__ import annotations

import json
import time

import jsonschema
import numpy as np
import pytest

import jupyter_mm as mm
from jupyter_mm.cli import JSON_SHAPES, main
from jupyter_mm.cli.monitor import parse_since
from jupyter_mm.cli.schema import CLI_JSON_MODELS, CLI_MODELS
from jupyter_mm.server.schema_render import schema_for

from .conftest import customers
from .test_report import log_scored


@pytest.fixture
def cli(registered, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("JUPYTER_MM_STORE", registered.store.url)
    monkeypatch.setenv("JUPYTER_MM_ARTIFACTS", registered.store.blobs.root)
    monkeypatch.chdir(tmp_path)

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_monitor_json_is_the_typed_report(registered, cli) -> None:
    moved, moved_y = customers(2_000, seed=4, older=1.5)
    ids = log_scored(registered, moved, latency=4.0)
    mm.log_labels(ids[:1_000], moved_y[:1_000], store=registered.store)
    code, out, err = cli("monitor", "churn", "--window", "2000", "--step", "500", "--json")
    assert code == 0, err
    body = json.loads(out)
    validator = jsonschema.Draft202012Validator(
        schema_for(CLI_JSON_MODELS["monitor --json"], CLI_MODELS)
    )
    assert [e.message for e in validator.iter_errors(body)] == []
    assert body["window"] == {
        **body["window"],
        "kind": "count",
        "size": 2000,
        "rows": 2000,
        "step": 500,
    }
    assert [w["source"] for w in body["performance"]] == [
        "measured",
        "measured",
        "estimated",
        "estimated",
    ]
    assert body["metrics"]["drift.age"] > 0.5 and "monitor --json" in JSON_SHAPES


def test_monitor_text_shows_drift_timeline_and_latency(registered, cli) -> None:
    log_scored(registered, customers(1_000, seed=5, older=1.5)[0], latency=4.0)
    code, out, err = cli("monitor", "churn/1", "--since", "1h")
    assert code == 0, err
    code, by_time, err = cli("monitor", "churn/1", "--since", "1h", "--every", "10m", "--json")
    assert code == 0, err
    assert json.loads(by_time)["window"]["every"] == 600.0
    assert "Drift: 1 of 4 features drifted" in out
    assert "age" in out and "DRIFT" in out and "wasserstein" in out and "jensenshannon" in out
    assert "est." in out  # no labels: the timeline is estimated
    assert "p50 4.0 ms" in out


def test_profile_command_from_a_data_file(registered, cli, tmp_path) -> None:
    with mm.start_run("old") as run:
        mm.log_model(registered.model, "model", reference=False)
    mm.register_model(run.id, "model", "churn", store=registered.store)
    code, _, err = cli("monitor", "churn/2")
    assert code == 2 and "jupyter mm profile churn/2 --data PATH" in err and err.count("\n") == 1
    data = registered.X.assign(churned=registered.y)
    data.to_parquet(tmp_path / "train.parquet")
    code, out, err = cli(
        "profile", "churn/2", "--data", str(tmp_path / "train.parquet"), "--target", "churned"
    )
    assert code == 0, err
    assert out.startswith("Profiled churn/2 from 5000 rows")
    code, out, err = cli("monitor", "churn/2", "--json")
    assert code == 0, err
    assert json.loads(out)["profile"]["source"].startswith("jupyter mm profile --data")


@pytest.mark.parametrize(
    "argv",
    [
        ("monitor", "churn", "--window", "0"),
        ("monitor", "churn", "--since", "yesterday"),
        ("monitor", "churn", "--window", "10", "--since", "1h"),
        ("monitor", "churn", "--every", "0m"),
        ("monitor", "churn", "--step", "10", "--every", "1h"),
        ("monitor", "nope"),
        ("profile", "churn/1", "--data", "missing.csv"),
        ("profile", "churn/1", "--data", "train.csv", "--target", "nope"),
    ],
)
def test_bad_input_is_one_line(registered, cli, tmp_path, argv) -> None:
    (tmp_path / "train.csv").write_text("age,balance\n1,2\n")
    code, out, err = cli(*argv)
    assert code in (1, 2) and out == ""
    assert err.startswith("jupyter mm: error:") and err.count("\n") == 1, err


def test_since_durations() -> None:
    now = time.time()
    assert parse_since("90s", now) == now - 90
    assert parse_since("2d", now) == now - 2 * 86400
    assert np.isclose(parse_since("1.5h", now), now - 5400)
