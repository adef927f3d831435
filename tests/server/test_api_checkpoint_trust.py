"""``GET /runs/{id}/checkpoint`` hands out an untrusted notebook, so that saving it through
the real contents API (what "Restore as new notebook" does) never makes jupyter_server's
notary sign it, and ``jupyter mm checkout`` writes it unsigned too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
from hostile_checkpoint import SCRIPT, hostile_run
from mm_api_data import store_location

from jupyter_mm.config import ENV_STORE
from jupyter_mm.store import open_store


async def test_a_restored_checkpoint_is_saved_unsigned(jp_fetch, jp_serverapp, jp_root_dir):
    location = store_location(jp_root_dir)
    with open_store(location) as store:
        run = hostile_run(store, str(jp_root_dir / "report.ipynb"))

    response = await jp_fetch("jupyter-mm", "api", "runs", run.id, "checkpoint")
    notebook = json.loads(response.body)
    assert all("trusted" not in cell["metadata"] for cell in notebook["cells"])
    assert "signature" not in notebook["metadata"]
    assert notebook["cells"][1]["outputs"][1]["data"]["application/javascript"] == SCRIPT

    # exactly what the lab extension does with it: save it as a notebook
    await jp_fetch(
        "api",
        "contents",
        "restored.ipynb",
        method="PUT",
        body=json.dumps({"type": "notebook", "format": "json", "content": notebook}),
    )
    saved = nbformat.read(str(jp_root_dir / "restored.ipynb"), as_version=4)
    notary = jp_serverapp.contents_manager.notary
    assert not notary.check_signature(saved)
    # and opening it again through the server marks nothing trusted
    reopened = json.loads((await jp_fetch("api", "contents", "restored.ipynb")).body)
    assert not any(cell["metadata"].get("trusted") for cell in reopened["content"]["cells"])


def test_checkout_writes_an_unsigned_untrusted_notebook(tmp_path: Path) -> None:
    from nbformat.sign import NotebookNotary

    location = store_location(tmp_path)
    with open_store(location) as store:
        run = hostile_run(store, str(tmp_path / "report.ipynb"))
    target = tmp_path / "restored.ipynb"
    env = dict(os.environ, **{ENV_STORE: location.url})
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_mm.cli", "checkout", run.id, "-o", str(target)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    written = nbformat.read(str(target), as_version=4)
    assert all("trusted" not in cell.metadata for cell in written.cells)
    assert "signature" not in written.metadata
    assert not NotebookNotary(db_file=":memory:", secret=b"test").check_cells(written)
