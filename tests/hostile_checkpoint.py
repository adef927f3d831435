"""A checkpoint whose stored blobs carry notebook trust, as a writer that does not strip it
leaves them (an older jupyter-mm, or anyone with write access to a shared store), and a
run naming it. Shared by the store, server and browser tests of "checkpoints are never
trusted"."""

from __future__ import annotations

from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from jupyter_mm.capture.checkpoint import FORMAT, canonical_json
from jupyter_mm.entities import Run
from jupyter_mm.ids import new_id

#: what the outputs run when trusted: a DOM marker and a window global
SCRIPT = "document.body.dataset.mmRan = 'yes'; window.mmRan = (window.mmRan || 0) + 1;"


def scripted_notebook() -> nbformat.NotebookNode:
    """A notebook as JupyterLab serializes a trusted one: its code cell marked trusted, with
    outputs that run code when trusted (a script in HTML, application/javascript)."""
    code = new_code_cell("show()", execution_count=1)
    code.outputs = [
        new_output(
            "display_data",
            data={"text/html": f"<b>hi</b><script>{SCRIPT}</script>", "text/plain": "hi"},
        ),
        new_output("display_data", data={"application/javascript": SCRIPT}),
    ]
    # JupyterLab and the notary mark code cells: a trusted markdown cell has nothing to run
    code.metadata["trusted"] = True
    cells = [new_markdown_cell("# report"), code]
    nb = new_notebook(
        cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}}
    )
    nbformat.validate(nb)
    return nb


def put_hostile_checkpoint(blobs: Any) -> str:
    """Write the checkpoint blobs of :func:`scripted_notebook` directly, trust included (and
    an nbformat 3 style notebook signature); return the manifest digest."""
    nb = scripted_notebook()
    cells = [blobs.put_bytes(canonical_json(cell)) for cell in nb.cells]
    manifest = {
        "format": FORMAT,
        "nbformat": 4,
        "nbformat_minor": nb.nbformat_minor,
        "metadata": {**nb.metadata, "signature": "sha256:" + "1" * 64},
        "cells": cells,
    }
    return blobs.put_bytes(canonical_json(manifest))


def hostile_run(store: Any, notebook_path: str) -> Run:
    """A finished run of ``notebook_path`` whose checkpoint is the hostile one."""
    digest = put_hostile_checkpoint(store.blobs)
    run = store.create_run(Run(id=new_id(), name="shared", notebook_path=notebook_path))
    store.link_blobs(run.id, [digest])
    run.checkpoint_digest, run.checkpoint_source = digest, "live"
    run.status = "finished"
    run.end_time = run.start_time + 1
    return store.update_run(run)
