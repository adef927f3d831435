"""``mm.start_run()`` in a notebook cell gets the checkpoint a ``%%track`` cell gets (the
same pipeline, ``tracking.notebook_checkpoint``), in a real ipykernel driven like
JupyterLab drives it."""

from __future__ import annotations

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from .conftest import execute, kernel_env, open_comm, send_shell

pytestmark = pytest.mark.kernel

CELL = (
    "import jupyter_mm as mm\n"
    "with mm.start_run('api-run') as run:\n"
    "    mm.log_metric('acc', 0.9)\n"
    "print(run.id)"
)


def _run_id(result) -> str:
    assert result.status == "ok", (result.errors, result.stderr)
    return result.stdout.strip().splitlines()[-1]


def _send_snapshot(kernel, notebook, cell_id: str, path: str) -> None:
    comm_id = open_comm(kernel)
    data = {"type": "snapshot", "cell_id": cell_id, "path": path, "notebook": notebook}
    send_shell(kernel, "comm_msg", {"comm_id": comm_id, "data": data})


def test_start_run_in_a_cell_checkpoints_the_live_notebook(kernel, store):
    from jupyter_mm.capture.checkpoint import load_checkpoint

    notebook = new_notebook(
        cells=[new_code_cell("alpha = 0.5"), new_code_cell(CELL)],
    )
    notebook.cells[0]["id"], notebook.cells[1]["id"] = "api-params", "api-cell"
    notebook.cells[0]["metadata"]["tags"] = ["parameters"]
    assert execute(kernel, "alpha = 0.5", cell_id="api-params").status == "ok"
    _send_snapshot(kernel, notebook, "api-cell", "/work/api.ipynb")

    run = store.get_run(_run_id(execute(kernel, CELL, cell_id="api-cell")))

    assert (run.checkpoint_source, run.cell_id) == ("live", "api-cell")
    assert run.notebook_path == "/work/api.ipynb"
    saved = load_checkpoint(store.blobs, run.checkpoint_digest)
    assert [c.source for c in saved.cells] == ["alpha = 0.5", CELL]
    detail = store.get_run_detail(run.id)
    assert {p.name: p.value for p in detail.params} == {"alpha": "0.5"}  # parameters cell
    assert [m.name for m in detail.metrics] == ["acc"]


def test_checkpoint_false_records_none(kernel, store):
    cell = CELL.replace("start_run('api-run')", "start_run('bare', checkpoint=False)")
    run = store.get_run(_run_id(execute(kernel, cell, cell_id="bare-cell")))
    assert (run.checkpoint_source, run.checkpoint_digest) == ("none", None)


def test_start_run_without_the_extension_checkpoints_the_history(workdir, store_url):
    """No ``%load_ext``: no comm, no execution log, still the session's history."""
    from jupyter_client.manager import start_new_kernel

    from jupyter_mm.store import open_store

    km, kc = start_new_kernel(kernel_name="python3", env=kernel_env(store_url), cwd=str(workdir))
    try:
        assert execute(kc, "x = 1").status == "ok"
        run_id = _run_id(execute(kc, CELL, cell_id="plain-cell"))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    with open_store(store_url) as store:
        run = store.get_run(run_id)
        assert run.status == "finished" and run.warnings == []
        assert run.checkpoint_source == "history" and run.checkpoint_digest
