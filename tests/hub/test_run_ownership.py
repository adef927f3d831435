"""Runs on a team store belong to the hub user who made them: a real kernel records the
hub's answer for its token, and the database lets a user's own login write only their own
runs (row-level security on ``runs.user``), whatever SQL they send."""

from __future__ import annotations

import getpass
import json
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from .harness import Hub

pytestmark = [pytest.mark.postgres, pytest.mark.kernel]


def notebook(path: Path) -> Path:
    cells = [
        "%load_ext jupyter_mm",
        "%%track --name owned\nimport jupyter_mm as mm\nmm.log_metric('auc', 0.8)",
    ]
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "id": f"c{i}",
                "metadata": {},
                "source": source,
                "outputs": [],
                "execution_count": None,
            }
            for i, source in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb))
    return path


def run_as(hub: Hub, user: str, args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        [sys.executable, *args],
        env={**hub.env(user), **env},
        cwd=hub.home(user),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return out


def test_a_kernel_records_the_hub_user_not_a_claim_nor_the_os_user(hub: Hub) -> None:
    path = notebook(hub.home("alice") / "owned.ipynb")
    # JUPYTERHUB_USER claims bob: the hub's answer for alice's token is what counts
    run_as(hub, "alice", ["-m", "jupyter_mm.cli", "run", str(path)], JUPYTERHUB_USER="bob")
    owners = hub.db.rows('SELECT "user" FROM runs WHERE name = %s', "owned")
    assert owners == [("alice",)]
    assert getpass.getuser() != "alice"


SEED = "import jupyter_mm as mm\nwith mm.start_run('{name}') as run:\n    mm.log_param('a', 1)\n"


def test_users_write_only_their_own_runs(hub: Hub) -> None:
    run_as(hub, "bob", ["-c", SEED.format(name="bobs-run")])
    run_as(hub, "alice", ["-c", SEED.format(name="alices-run")])
    (bobs,) = hub.db.rows("SELECT id FROM runs WHERE name = 'bobs-run'")[0]
    (alices,) = hub.db.rows("SELECT id FROM runs WHERE name = 'alices-run'")[0]
    with hub.db.connect("alice") as conn:
        # reading everyone's runs is allowed: the team's dashboard
        assert conn.execute("SELECT count(*) FROM runs WHERE id = %s", (bobs,)).fetchone() == (1,)
        # someone else's rows are invisible to writes: nothing changes
        assert conn.execute("UPDATE runs SET name = 'x' WHERE id = %s", (bobs,)).rowcount == 0
        assert conn.execute("DELETE FROM params WHERE run_id = %s", (bobs,)).rowcount == 0
        # and new rows cannot name another owner or hang under another owner's run
        refused = [
            (
                'INSERT INTO runs (id, status, start_time, "user") VALUES '
                "('01J0000000000000000000FAKE', 'finished', 0, 'bob')",
                (),
            ),
            ("INSERT INTO params (run_id, name, value) VALUES (%s, 'b', '2')", (bobs,)),
            ("UPDATE runs SET \"user\" = 'bob' WHERE id = %s", (alices,)),
        ]
        for sql, args in refused:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql, args)
        # her own run is hers to change
        assert conn.execute("UPDATE runs SET note = 'mine' WHERE id = %s", (alices,)).rowcount == 1
    assert hub.db.rows('SELECT name, "user" FROM runs WHERE id = %s', bobs) == [("bobs-run", "bob")]
    assert hub.db.rows("SELECT name, value FROM params WHERE run_id = %s", bobs) == [("a", "1")]
