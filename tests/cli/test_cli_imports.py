"""What ``jupyter mm`` imports before it does anything: ``--help`` (of the CLI and of each
command) must not pay for the store's database layer, notebook formats, data frames or the
configuration machinery; those are imported by the commands that use them. A reading
command on an existing store needs the database layer, but not SQLAlchemy's ORM (the store
is written in Core), not Alembic (the schema is already at head) and no notebook format or
data frame. The time it takes is measured in ``bench/cli_bench.py``; here, in a fresh
interpreter, which modules are loaded."""

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

#: modules a reading command on an up-to-date store never needs
NOT_FOR_READING = [
    "sqlalchemy.orm",
    "alembic",
    "nbformat",
    "jsonschema",
    "nbclient",
    "pandas",
    "numpy",
    "IPython",
    "zmq",
    "jupyter_mm.runner",
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


def loaded_by(argv: list[str], watched: list[str] = HEAVY) -> tuple[str, list[str]]:
    """(what was printed, the ``watched`` modules imported) by ``jupyter mm <argv>``."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv, heavy=watched)],
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


@pytest.mark.parametrize("argv", [["runs"], ["runs", "--json"], ["show", "latest"]])
def test_a_reading_command_opens_the_store_without_orm_migrations_or_notebooks(populated, argv):
    # sqlalchemy is watched too: it must be loaded, or the command read no store at all
    shown, loaded = loaded_by(argv, ["sqlalchemy", *NOT_FOR_READING])
    assert "broken" in shown or "logreg-c005" in shown  # the store's runs, really listed
    assert loaded == ["sqlalchemy"]
