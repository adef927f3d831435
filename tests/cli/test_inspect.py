"""``runs``, ``show``, ``checkout``, ``env``, ``diff`` and the CLI's error handling, against a
real SQLite store populated through the store API."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

from jupyter_mm.cli import JSON_SHAPES, absolute_sqlite_url, build_parser
from jupyter_mm.config import ENV_STORE

RUN_KEYS = {
    "outputs_digest",
    "id",
    "name",
    "status",
    "start_time",
    "end_time",
    "duration",
    "notebook_path",
    "cell_id",
    "user",
    "host",
    "pid",
    "process_start_time",
    "parent_id",
    "tags",
    "note",
    "checkpoint_digest",
    "checkpoint_source",
    "environment_id",
    "flags",
    "warnings",
    "error",
}


def one_error_line(result, status: int, *fragments: str) -> None:
    """The CLI's error contract: exit status, nothing on stdout, exactly one stderr line."""
    assert result.code == status, (result.out, result.err)
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("jupyter mm: error: ")
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in lines[0]


# -- help ---------------------------------------------------------------------------------


def test_every_command_has_help_with_description_and_examples(cli) -> None:
    commands = ["run", "runs", "show", "diff", "checkout", "env", "verify", "gc"]
    top = cli("--help")
    assert top.code == 0
    for command in commands:
        assert command in top.out
        result = cli(command, "--help")
        assert result.code == 0
        assert "examples:" in result.out and f"jupyter mm {command}" in result.out
    # every --json output has a documented shape
    parser_commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name, sub in parser_commands.items():
        if any("--json" in a.option_strings for a in sub._actions):
            assert f"{name} --json" in JSON_SHAPES


def test_usage_errors_are_one_line_with_status_2(cli, populated) -> None:
    one_error_line(cli("frobnicate"), 2, "invalid choice")
    one_error_line(cli("runs", "--status", "exploded"), 2, "--status")
    one_error_line(cli("runs", "--limit", "0"), 2, "--limit must be between 1 and 1000")
    one_error_line(cli("checkout", "latest"), 2, "-o/--output")
    one_error_line(cli("run", "nb.ipynb", "-p", "no-equals"), 2, "name=value")


# -- runs ---------------------------------------------------------------------------------


def test_runs_table_lists_newest_first_with_metrics(cli, populated) -> None:
    result = cli("runs")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["ID", "NAME", "STATUS", "START", "DURATION", "NOTEBOOK", "METRICS"]
    assert [line.split()[0] for line in lines[1:-1]] == [
        populated.failed[:10],
        populated.second[:10],
        populated.first[:10],
    ]
    first_row = lines[3]
    assert "logreg-c1" in first_row and "2.50 s" in first_row
    assert "accuracy=0.91" in first_row and "loss=0.3333" in first_row
    assert "finished !" in first_row  # flags/warnings are marked, and the mark explained
    assert lines[-1].startswith("! = warnings or reproducibility flags")


def test_runs_filters_limit_and_json_shape(cli, populated) -> None:
    failed = cli("runs", "--status", "failed", "--json").json()
    assert [r["id"] for r in failed["runs"]] == [populated.failed]
    assert failed["count"] == 1

    limited = cli("runs", "--limit", "1", "--json").json()
    assert limited["count"] == 1

    everything = cli("runs", "--all", "--json").json()
    assert everything["count"] == 3
    row = next(r for r in everything["runs"] if r["id"] == populated.first)
    assert set(row) == RUN_KEYS | {"params", "metrics"}
    assert row["params"] == {"C": "1.0", "max_iter": "200"}
    assert row["metrics"] == {"accuracy": pytest.approx(0.91), "loss": pytest.approx(1 / 3)}
    assert row["duration"] == pytest.approx(2.5)

    by_notebook = cli("runs", "--notebook", "/work/project/train.ipynb", "--json").json()
    assert {r["id"] for r in by_notebook["runs"]} == {populated.first, populated.second}


def test_runs_by_metric_threshold_and_metric_order(cli, populated) -> None:
    # accuracy: first 0.91, second 0.9005, the failed run has none; loss ends at 1/3 in both
    def ids(*args: str) -> list[str]:
        result = cli("runs", *args, "--json")
        assert result.code == 0, result.err
        return [r["id"] for r in result.json()["runs"]]

    assert ids("--metric-filter", "accuracy>=0.905") == [populated.first]
    assert ids("--order", "metric:accuracy:asc") == [populated.second, populated.first]
    assert ids("--order", "metric:accuracy", "--metric-filter", "loss<0.5", "--all") == [
        populated.first,
        populated.second,
    ]
    assert ids("--metric-filter", "loss<0.5", "--metric-filter", "accuracy<0.905") == [
        populated.second
    ]
    table = cli("runs", "--metric-filter", "accuracy>1")
    assert table.code == 0 and table.out.strip() == "No runs."
    one_error_line(cli("runs", "--metric-filter", "accuracy"), 2, "--metric-filter", "acc>=0.9")
    one_error_line(cli("runs", "--order", "sideways"), 2, "order")


def test_runs_on_a_missing_store_is_the_empty_listing(cli, tmp_path: Path) -> None:
    """A listing reads: with no store yet it is empty, and it creates nothing."""
    url = f"sqlite:///{tmp_path / 'nothing' / 'mm.db'}"
    result = cli("--store", url, "runs")
    assert (result.code, result.out.strip(), result.err) == (0, "No runs recorded yet.", "")
    as_json = cli("--store", url, "runs", "--json")
    assert as_json.code == 0 and json.loads(as_json.out) == {"runs": [], "count": 0}
    assert not (tmp_path / "nothing").exists()  # reading never creates a store
    shown = cli("--store", url, "show", "latest")  # no run to show: one line, as before
    assert shown.code in (1, 2)
    one_error_line(shown, shown.code)


def test_runs_in_a_fresh_directory_creates_no_store(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JUPYTER_MM_STORE", raising=False)
    monkeypatch.delenv("JUPYTER_MM_ARTIFACTS", raising=False)
    monkeypatch.chdir(tmp_path)
    result = cli("runs")
    assert (result.code, result.out.strip()) == (0, "No runs recorded yet.")
    assert list(tmp_path.iterdir()) == []


# -- show ---------------------------------------------------------------------------------


def test_show_json_has_everything_recorded(cli, populated) -> None:
    shown = cli("show", populated.first, "--json").json()
    assert set(shown) == {
        "run",
        "params",
        "metrics",
        "data",
        "artifacts",
        "environment",
        "checkpoint",
        "flags",
        "warnings",
        "outputs",
    }
    assert set(shown["run"]) == RUN_KEYS | {"execution_log"}
    assert shown["run"]["id"] == populated.first
    assert shown["params"] == {"C": "1.0", "max_iter": "200"}
    assert shown["metrics"]["loss"] == {"value": pytest.approx(1 / 3), "step": 2, "points": 3}
    assert shown["metrics"]["accuracy"]["points"] == 1
    assert {(d["role"], d["digest"]) for d in shown["data"]} == {
        ("input", "ab" * 32),
        ("output", "cd" * 32),
    }
    assert shown["artifacts"] == [
        {
            "name": "model",
            "digest": populated.artifact_digest,
            "size": 9,
            "media_type": "application/x-pickle",
        }
    ]
    assert shown["environment"]["id"] == populated.environment_id
    assert shown["environment"]["packages"] == 3
    assert shown["environment"]["git"]["branch"] == "main"
    assert shown["checkpoint"] == {"digest": populated.checkpoint_digest, "source": "live"}
    assert shown["flags"][0]["kind"] == "out_of_order"
    assert shown["warnings"] == ["data hashing skipped one unreadable file"]


def test_show_text_by_prefix_and_latest(cli, populated) -> None:
    text = cli("show", populated.first[:12].lower()).out
    for expected in (
        f"Run {populated.first}  logreg-c1",
        "C = 1.0",
        "loss = 0.3333  (step 2, 3 points)",
        "input    file",
        "blake3:abababababab",
        "model  " + populated.artifact_digest[:12],
        "python    3.11.9",
        "git       0123456789 on main",
        "packages  3",
        populated.checkpoint_digest[:12] + "  (source: live notebook (unsaved edits included))",
        "out_of_order: Cell 2 ran before cell 1.",
        "data hashing skipped one unreadable file",
    ):
        assert expected in text
    latest = cli("show", "latest").out
    assert f"Run {populated.failed}  broken" in latest
    assert "failed (ValueError: bad input)" in latest


def test_show_unknown_and_ambiguous_references(cli, populated) -> None:
    one_error_line(cli("show", "ZZZZZZZZ"), 1)
    # all three ids were created within the same second: their first 4 chars are shared
    one_error_line(cli("show", populated.first[:4]), 2)


# -- checkout -----------------------------------------------------------------------------


def test_checkout_writes_a_valid_notebook_and_refuses_to_overwrite(
    cli, populated, tmp_path: Path
) -> None:
    target = tmp_path / "restored.ipynb"
    result = cli("checkout", populated.second, "-o", str(target))
    assert result.code == 0, result.err
    nb = nbformat.read(str(target), as_version=4)
    nbformat.validate(nb)
    assert nb.cells[2].source == "%%track --param C\nC = 0.05\nprint('fitting')"
    assert nb.cells[2].outputs[0].text == "fitting\n"

    target.write_text("my unsaved work")
    one_error_line(cli("checkout", populated.first, "-o", str(target)), 1, "--force")
    assert target.read_text() == "my unsaved work"
    assert cli("checkout", populated.first, "-o", str(target), "--force").code == 0
    assert "C = 1.0" in nbformat.read(str(target), as_version=4).cells[2].source
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".checkout-")] == []


def test_checkout_of_a_run_without_checkpoint(cli, populated, tmp_path: Path) -> None:
    target = tmp_path / "x.ipynb"
    one_error_line(
        cli("checkout", populated.failed, "-o", str(target)), 1, "no notebook checkpoint"
    )
    assert not target.exists()
    one_error_line(cli("checkout", "latest", "-o", str(tmp_path / "no" / "x.ipynb")), 2)


# -- env ----------------------------------------------------------------------------------


def test_env_prints_requirements_and_json(cli, populated) -> None:
    text = cli("env", populated.first)
    assert text.code == 0, text.err
    assert "numpy==2.1.0" in text.out and "scikit-learn==1.5.2" in text.out
    assert "3.11" in text.out  # the Python version comment
    assert "0123456789abcdef" in text.out  # the git commit
    data = cli("env", populated.first, "--json").json()
    assert data["run_id"] == populated.first
    assert data["environment_id"] == populated.environment_id
    assert data["packages"]["pandas"] == "2.2.3"
    assert data["requirements"].strip() == text.out.strip()
    one_error_line(cli("env", populated.failed), 1, "no recorded environment")


# -- diff ---------------------------------------------------------------------------------


def test_diff_text_and_json(cli, populated) -> None:
    text = cli("diff", populated.first, populated.second)
    assert text.code == 0, text.err
    assert "C" in text.out and "0.05" in text.out
    data = cli("diff", populated.first, populated.second, "--json").json()
    assert isinstance(data, dict) and data
    ignoring = cli("diff", populated.first, populated.second, "--ignore-outputs", "--json")
    assert ignoring.code == 0
    one_error_line(cli("diff", populated.first, "ZZZZZZZZ"), 1)


def test_a_relative_sqlite_store_is_made_absolute_for_the_kernel(
    cli, populated, monkeypatch
) -> None:
    # `run` starts its kernel in the notebook's directory: a relative path must not move.
    relative = os.path.relpath(populated.root / "mm.db")
    result = cli("--store", f"sqlite:///{relative}", "runs", "--json")
    assert result.code == 0, result.err
    assert result.json()["count"] == 3
    assert os.environ[ENV_STORE] == f"sqlite:///{populated.root / 'mm.db'}"
    assert absolute_sqlite_url("postgresql://u@h/db") == "postgresql://u@h/db"
    assert absolute_sqlite_url("sqlite:////abs/mm.db") == "sqlite:////abs/mm.db"
