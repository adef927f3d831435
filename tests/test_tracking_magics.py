"""Fast in-process tests of ``%%track`` argument handling and cell semantics on an
``InteractiveShell`` (no kernel): what is a param, what is refused before anything runs."""

from __future__ import annotations

import ast

import pytest
from IPython.core.error import UsageError

from jupyter_mm.magics import TrackMagics
from jupyter_mm.tracking.cell import assigned_names, literal_params


@pytest.fixture
def shell(mm_shell):
    return mm_shell


def magics(ip) -> TrackMagics:
    return ip.magics_manager.registry["TrackMagics"]


def test_literal_params_are_top_level_literal_assignments():
    tree = ast.parse(
        "lr = 0.1\nepochs: int = 3\nlayers = [64, (32, 'relu')]\na, b = 1, -2\n"
        "name = 'x'\nname = name.upper()\nsteps = 10\nsteps += 1\n"
        "model = make()\nif True:\n    hidden = 5\ndef f():\n    inner = 1\n"
        "squares = [k * k for k in range(3)]\n"
    )
    assert literal_params(tree) == {
        "lr": 0.1,
        "epochs": 3,
        "layers": [64, (32, "relu")],
        "a": 1,
        "b": -2,
    }
    assert {"lr", "model", "hidden", "f", "steps", "a", "b"} <= assigned_names(tree)
    assert "inner" not in assigned_names(tree) and "k" not in assigned_names(tree)


@pytest.mark.parametrize(
    "line",
    ["--unknown", "-t nokey", "-t =v", "-p undefined_here", "-d /no/such/file", "-m 1bad", "-h"],
)
def test_bad_lines_raise_usage_error_before_running(shell, line):
    shell.user_ns.pop("ran", None)
    with pytest.raises(UsageError, match=r"^%%track: "):
        shell.run_cell_magic("track", line, "ran = True\n")
    assert "ran" not in shell.user_ns


def test_top_level_await_is_refused_clearly(shell):
    shell.user_ns.pop("ran", None)
    with pytest.raises(UsageError, match="top-level await is not supported"):
        shell.run_cell_magic("track", "", "ran = True\nimport asyncio\nawait asyncio.sleep(0)\n")
    assert "ran" not in shell.user_ns


def test_param_may_be_assigned_in_the_cell_or_exist_already(shell):
    shell.user_ns["existing"] = 5
    shell.run_cell_magic("track", "-q -p existing,created", "created = existing * 2\n")
    run = magics(shell).last_run
    assert run.params == {"existing": "5", "created": "10"}


def test_dotted_param_names_read_attributes(shell):
    shell.run_cell(
        "%%track -q -p cfg.lr\nimport types\ncfg = types.SimpleNamespace(lr=0.3)",
        store_history=True,
    )
    assert magics(shell).last_run.params["cfg.lr"] == "0.3"


def test_trailing_expression_is_returned_and_semicolon_silences_it(shell):
    assert shell.run_cell_magic("track", "-q", "x = 2\nx + 1\n") == 3
    assert shell.run_cell_magic("track", "-q", "x + 1;\n") is None
    assert shell.run_cell_magic("track", "-q", "y = 1\n") is None


def test_missing_or_non_numeric_flag_metric_is_a_warning(shell, capsys):
    shell.run_cell_magic("track", "-q -m acc,label,absent", "acc = 0.5\nlabel = 'good'\n")
    run = magics(shell).last_run
    assert run.latest_metrics == {"acc": 0.5}
    assert "metric label is not a number (str)" in run.warnings
    assert "metric absent was not set by the cell" in run.warnings
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"jupyter-mm: run {run.id} recorded partially")


def test_flag_metric_is_not_also_a_literal_param(shell):
    shell.run_cell_magic("track", "-q -m acc", "acc = 0.9\nlr = 0.1\n")
    run = magics(shell).last_run
    assert run.params == {"lr": "0.1"} and run.latest_metrics == {"acc": 0.9}


def test_loading_twice_is_harmless_and_unload_removes_the_magics(shell):
    shell.run_line_magic("reload_ext", "jupyter_mm")
    shell.run_line_magic("load_ext", "jupyter_mm")
    assert "track" in shell.magics_manager.magics["cell"]
    shell.run_line_magic("unload_ext", "jupyter_mm")
    assert "track" not in shell.magics_manager.magics["cell"]
    assert "mm" not in shell.magics_manager.magics["line"]


def test_card_option_is_configurable_with_config_magic(shell):
    from IPython.utils.capture import capture_output

    shell.run_line_magic("config", "TrackMagics.card = False")
    try:
        with capture_output() as captured:
            shell.run_cell("%%track -n plain\nz = 1", store_history=True)
    finally:
        shell.run_line_magic("config", "TrackMagics.card = True")
    bundles = [output.data for output in captured.outputs]
    assert len(bundles) == 1 and list(bundles[0]) == ["text/plain"]
    assert bundles[0]["text/plain"].startswith("jupyter-mm run 'plain'")


def test_comm_target_matches_the_snapshot_protocol():
    from jupyter_mm.capture.notebook import COMM_TARGET as PROTOCOL_TARGET
    from jupyter_mm.comm import COMM_TARGET

    assert COMM_TARGET == PROTOCOL_TARGET


def test_card_outside_a_cell_run_is_shown_at_once(shell):
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        shell.run_cell_magic("track", "-n direct", "direct = 1\n")
    assert len(captured.outputs) == 1
    assert "application/vnd.jupyter-mm.run+json" in captured.outputs[0].data
