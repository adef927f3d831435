"""Checkpoint storage growth: many runs of a notebook with large image outputs.

A notebook of 20 cells carries 2 MB of PNG outputs (four 512 KB images, incompressible
bytes as real PNGs are). Between runs one small cell changes (its source and its text
output), as when a user tweaks a parameter and re-runs. Every run's checkpoint goes
through ``store_checkpoint`` into a LocalBlobStore, and the bytes on disk under the blob
root (file sizes, all shards) are compared with one checkpoint's bytes: content addressing
should store each unchanged cell once, so growth should stay a small multiple of one
checkpoint however many runs there are.
"""

from __future__ import annotations

import base64
import os
import tempfile
import time
from pathlib import Path

import nbformat
from _common import Result

IMAGE_BYTES = 512 * 1024
IMAGES = 4
CELLS = 20


def _bytes_on_disk(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


def _notebook(version: int) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for index in range(CELLS):
        cell = nbformat.v4.new_code_cell(
            f"result_{index} = compute({index})", execution_count=index
        )
        if index < IMAGES:
            cell.outputs = [
                nbformat.v4.new_output(
                    "display_data",
                    data={"image/png": base64.b64encode(_IMAGES[index]).decode("ascii")},
                )
            ]
        cell["id"] = f"cell-{index}"
        nb.cells.append(cell)
    # the one cell that changes between runs: a parameter and its printed result
    changing = nb.cells[CELLS - 1]
    changing.source = f"learning_rate = {0.001 * (version + 1):.6f}\nprint(learning_rate)"
    changing.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=f"{0.001 * (version + 1):.6f}\n")
    ]
    return nb


# random bytes, made once: the same image is the same bytes in every run
_IMAGES = [os.urandom(IMAGE_BYTES) for _ in range(IMAGES)]


def run(quick: bool) -> list[Result]:
    from jupyter_mm.capture.checkpoint import load_checkpoint, store_checkpoint
    from jupyter_mm.store.local_blobs import LocalBlobStore

    runs = 100 if quick else 1000
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "objects"
        blobs = LocalBlobStore(root)
        first_digest, _, _ = store_checkpoint(blobs, _notebook(0))
        one_checkpoint = _bytes_on_disk(root)
        last_digest = first_digest
        for version in range(1, runs):
            last_digest, _, _ = store_checkpoint(blobs, _notebook(version))
        total = _bytes_on_disk(root)
        # the last checkpoint must come back whole, or the small growth would mean nothing
        restored = load_checkpoint(blobs, last_digest)
        if restored.cells[CELLS - 1].source != _notebook(runs - 1).cells[CELLS - 1].source:
            raise RuntimeError("storage bench: the last checkpoint did not load back intact.")
    growth = total / one_checkpoint
    print(f"  (storage benchmark took {time.perf_counter() - started:.0f} s)")
    return [
        Result(
            target=f"store growth, {runs} checkpoints of a notebook with 2 MB of images",
            ours=growth,
            peer=None,
            peer_name="",
            unit="x one checkpoint",
            max_ours=3.0,
            note=f"one checkpoint {one_checkpoint / 1e6:.2f} MB on disk, after {runs} runs "
            f"{total / 1e6:.2f} MB",
        )
    ]


if __name__ == "__main__":  # pragma: no cover - convenience for a single group
    import sys

    from _common import print_table

    print_table(run("--quick" in sys.argv))
