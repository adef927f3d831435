"""The reading and maintenance commands against the team backend: a real PostgreSQL 15
server (started by the suite) with blobs in a local artifact root."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.postgres


def test_commands_work_on_postgresql(cli, populated_postgres, tmp_path: Path) -> None:
    info = populated_postgres
    listing = cli("runs", "--json")
    assert listing.code == 0, listing.err
    assert [r["id"] for r in listing.json()["runs"]] == [info.failed, info.second, info.first]

    shown = cli("show", info.first[:12], "--json").json()
    assert shown["params"] == {"C": "1.0", "max_iter": "200"}
    assert shown["checkpoint"]["digest"] == info.checkpoint_digest

    target = tmp_path / "restored.ipynb"
    assert cli("checkout", info.second, "-o", str(target)).code == 0
    nbformat.validate(nbformat.read(str(target), as_version=4))

    verified = cli("verify")
    assert verified.code == 0, verified.out + verified.err
    assert verified.out.strip().endswith("3 runs: OK")

    (Path(info.root) / "stray").write_text("not a blob")  # foreign files are not blobs
    assert cli("gc", "--grace", "0", "--json").json()["unreferenced"] == []

    missing = cli("show", "ZZZZZZZZ")
    assert missing.code == 1 and len(missing.err.splitlines()) == 1
