"""What ``jupyter mm`` imports before it does anything: ``--help`` (of the CLI and of each
command) must not pay for the store's database layer, notebook formats, data frames or the
configuration machinery; those are imported by the commands that use them. The time it
takes is measured in ``bench/cli_bench.py``; here, in a fresh interpreter, which modules
are loaded."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: modules that cost tenths of a second or more at import, and that printing help never needs
HEAVY = [
    "sqlalchemy",
    "alembic",
    "nbformat",
    "jsonschema",
    "nbclient",
    "pandas",
    "numpy",
    "IPython",
    "zmq",
    "traitlets",
    "jupyter_mm.config",
    "jupyter_mm.entities",
    "jupyter_mm.store",
    "jupyter_mm.runner",
    "jupyter_mm.serving.process",
]

PROBE = """
import contextlib, io, json, sys
from jupyter_mm.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        main({argv!r})
    except SystemExit:
        pass
heavy = {heavy!r}
print(json.dumps({{"help": out.getvalue(), "loaded": [m for m in heavy if m in sys.modules]}}))
"""


def loaded_by(argv: list[str]) -> tuple[str, list[str]]:
    """(the help printed, the HEAVY modules imported) by ``jupyter mm <argv>``."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv, heavy=HEAVY)],
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(done.stdout.splitlines()[-1])
    return found["help"], found["loaded"]


def test_help_imports_none_of_the_heavy_modules():
    shown, loaded = loaded_by(["--help"])
    assert "runs" in shown and "serve" in shown  # the real help, every command listed
    assert loaded == []


@pytest.mark.parametrize("command", ["runs", "run", "show", "promote", "serve", "config"])
def test_a_command_help_imports_none_of_them_either(command):
    shown, loaded = loaded_by([command, "--help"])
    assert f"jupyter mm {command}" in shown
    assert loaded == []


def test_the_probe_sees_an_import_when_there_is_one(tmp_path, monkeypatch):
    """The checks above can fail: a command that reads the configuration loads it."""
    monkeypatch.chdir(tmp_path)
    shown, loaded = loaded_by(["config", "--json"])
    assert '"MMConfig"' in shown
    assert "jupyter_mm.config" in loaded and "traitlets" in loaded
