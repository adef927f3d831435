"""``gc`` and ``verify`` with runs that link only their checkpoint's manifest: the parts
(cells, chunks of a history chain, large outputs) are found through it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from jupyter_mm.capture.checkpoint import checkpoint_digests, load_checkpoint, manifest_cells
from jupyter_mm.capture.checkpoint_read import _manifest
from jupyter_mm.capture.history_checkpoint import HistoryCheckpoints
from jupyter_mm.config import ENV_STORE
from jupyter_mm.entities import Run
from jupyter_mm.ids import new_id
from jupyter_mm.store import open_store

#: console executions between the two runs
CELLS_PER_RUN = 24


@pytest.fixture
def chained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    """A store with two runs of one console session (two chunks of history), each linking
    only its manifest; every blob made old enough for gc to consider it."""
    url = f"sqlite:///{tmp_path / 'mm.db'}"
    monkeypatch.setenv(ENV_STORE, url)
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell(config=config)
    history = HistoryCheckpoints()
    runs = []
    with open_store(url) as store:
        for batch in range(2):
            for i in range(CELLS_PER_RUN):
                shell.run_cell(f"value_{batch}_{i} = {i} * 2", store_history=True)
            digest, _flags = history.store(
                store.blobs, shell, cell_id=None, raw_cell=f"result = {batch}"
            )
            run = store.create_run(Run(id=new_id(), start_time=time.time()))
            run.checkpoint_digest, run.checkpoint_source = digest, "history"
            run.status, run.end_time = "finished", time.time()
            store.finish_run(run, blob_digests=[digest])
            runs.append(run.id)
        old = time.time() - 5 * 3600
        for digest in store.blobs.iter_digests():
            os.utime(store.blobs.local_path(digest), (old, old))
    return url, runs


def test_gc_keeps_every_part_of_checkpoints_that_link_only_their_manifest(cli, chained):
    url, runs = chained
    with open_store(url) as store:
        before = set(store.blobs.iter_digests())
        manifest = store.get_run(runs[-1]).checkpoint_digest
        parts = checkpoint_digests(store.blobs, manifest)
        assert (
            len(manifest_cells(store.blobs, _manifest(store.blobs, manifest)))
            == 2 * CELLS_PER_RUN + 1
        )
    assert cli("gc", "--yes").code == 0
    with open_store(url) as store:
        assert set(store.blobs.iter_digests()) == before
        assert parts <= before
        notebook = load_checkpoint(store.blobs, manifest)
    assert [c.source for c in notebook.cells[:2]] == ["value_0_0 = 0 * 2", "value_0_1 = 1 * 2"]
    assert notebook.cells[-1].source == "result = 1"
    assert cli("verify").code == 0


def test_a_missing_chunk_is_reported_and_gc_deletes_nothing(cli, chained):
    url, runs = chained
    with open_store(url) as store:
        manifest = store.get_run(runs[-1]).checkpoint_digest
        head = _manifest(store.blobs, manifest)["chain"]
        Path(store.blobs.local_path(head)).unlink()
        orphan = store.blobs.put_bytes(b"an old orphan")
        old = time.time() - 5 * 3600
        os.utime(store.blobs.local_path(orphan), (old, old))
    report = cli("verify", "--json").json()
    unreadable = [p for p in report["problems"] if p["kind"] == "unreadable_checkpoint"]
    assert [p["digest"] for p in unreadable] == [manifest]
    assert unreadable[0]["runs"] == [runs[-1]] and head[:12] in unreadable[0]["message"]
    refused = cli("gc", "--yes")
    assert refused.code != 0 and "nothing was deleted" in refused.err
    with open_store(url) as store:
        assert store.blobs.present(orphan)
