"""A checkpoint is never trusted: trust metadata is dropped when a notebook is stored (from
any source) and when it is loaded, whatever an older or hostile writer left in the store.

Jupyter's notary signs a notebook on save when every code cell with outputs carries
``metadata.trusted: true`` (``NotebookNotary.check_cells``); a signed notebook's HTML and
JavaScript outputs run when it is opened. JupyterLab serializes its cells with that key,
so a live snapshot carries it, and so would anything restored from it.
"""

from __future__ import annotations

import json
import secrets

import nbformat
import pytest
from hostile_checkpoint import SCRIPT, put_hostile_checkpoint, scripted_notebook
from nbformat.sign import NotebookNotary

from jupyter_mm.capture.checkpoint import load_checkpoint, store_checkpoint
from jupyter_mm.capture.notebook import LiveSnapshots
from jupyter_mm.store.fsspec_blobs import FsspecBlobStore
from jupyter_mm.store.local_blobs import LocalBlobStore


@pytest.fixture(params=["local", "fsspec"])
def blobs(request, tmp_path):
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "objects")
        return
    root = f"memory://jupyter-mm-trust-{secrets.token_hex(6)}"
    store = FsspecBlobStore(root)
    try:
        yield store
    finally:
        store.fs.rm(root, recursive=True)


@pytest.fixture
def notary(tmp_path) -> NotebookNotary:
    return NotebookNotary(db_file=":memory:", secret=b"test")


def assert_untrusted(nb: nbformat.NotebookNode, notary: NotebookNotary) -> None:
    assert all("trusted" not in cell.metadata for cell in nb.cells)
    assert "signature" not in nb.metadata
    # what jupyter_server's contents manager asks before signing a notebook it saves
    assert not notary.check_cells(nb)


def test_a_trusted_notebook_is_stored_and_loaded_untrusted(blobs, notary) -> None:
    nb = scripted_notebook()
    nb.metadata["signature"] = "sha256:" + "0" * 64  # nbformat 3 kept it in the notebook
    assert notary.check_cells(nb)  # the premise: as it is, it would be signed

    digest, _, _ = store_checkpoint(blobs, nb)

    stored = b"".join(blobs.get_bytes(d) for d in blobs.iter_digests())
    assert b'"trusted"' not in stored and b'"signature"' not in stored
    loaded = load_checkpoint(blobs, digest)
    assert_untrusted(loaded, notary)
    assert loaded.cells[1].outputs == nb.cells[1].outputs  # the outputs themselves are kept


def test_a_hostile_stored_checkpoint_loads_untrusted(blobs, notary) -> None:
    digest = put_hostile_checkpoint(blobs)
    assert b'"trusted":true' in blobs.get_bytes(json.loads(blobs.get_bytes(digest))["cells"][1])

    loaded = load_checkpoint(blobs, digest)

    assert_untrusted(loaded, notary)
    assert loaded.cells[1].outputs[1]["data"]["application/javascript"] == SCRIPT


def test_a_live_snapshot_drops_the_trust_the_frontend_sent(blobs, notary) -> None:
    nb = scripted_notebook()
    live = LiveSnapshots()
    live.handle_message(
        {"type": "snapshot", "cell_id": nb.cells[1].id, "path": "x.ipynb", "notebook": nb},
        channel="comm-1",
    )

    snapshot = live.take(nb.cells[1].id)

    assert snapshot is not None
    assert all("trusted" not in cell["metadata"] for cell in snapshot.notebook["cells"])
    assert nb.cells[1].metadata["trusted"] is True  # the sender's notebook is not modified
    digest, _, _ = store_checkpoint(blobs, snapshot.notebook)
    assert_untrusted(load_checkpoint(blobs, digest), notary)
