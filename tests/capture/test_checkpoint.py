"""Content-addressed checkpoints on a real LocalBlobStore, with the real Redactor."""

from __future__ import annotations

import base64
import os
import secrets

import nbformat
import pytest
from nbformat.v4 import (
    new_code_cell,
    new_markdown_cell,
    new_notebook,
    new_output,
    new_raw_cell,
)

from jupyter_mm.capture.checkpoint import (
    as_cell_starts,
    checkpoint_digests,
    load_checkpoint,
    store_checkpoint,
    validate_notebook,
)
from jupyter_mm.capture.redact import Redactor
from jupyter_mm.errors import IntegrityError, InvalidInput
from jupyter_mm.store.fsspec_blobs import FsspecBlobStore
from jupyter_mm.store.local_blobs import LocalBlobStore

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"


@pytest.fixture(params=["local", "fsspec"])
def blobs(request, tmp_path):
    """The two blob backends: a local directory, and fsspec (in memory) as teams use for
    object storage. Checkpoints only use the BlobStore contract, so both must behave alike."""
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "objects")
        return
    root = f"memory://jupyter-mm-checkpoint-{secrets.token_hex(6)}"
    store = FsspecBlobStore(root)
    try:
        yield store
    finally:
        store.fs.rm(root, recursive=True)


def png(seed: int, size: int) -> str:
    """Base64 of ``size`` pseudo-random bytes: an incompressible stand-in for a plot."""
    data = (seed.to_bytes(4, "big") * (size // 4 + 1))[:size]
    noise = bytes((b * 131 + i * 7) % 256 for i, b in enumerate(data[:4096]))
    return base64.b64encode(noise + data[4096:]).decode()


def rich_notebook() -> nbformat.NotebookNode:
    code = new_code_cell(
        "import pandas as pd\ndf = pd.DataFrame({'a': [1]})\ndf", execution_count=1
    )
    code.outputs = [
        new_output("stream", name="stdout", text="loading…\n"),
        new_output(
            "execute_result",
            execution_count=1,
            data={"text/plain": "   a\n0  1", "text/html": "<table>…</table>"},
        ),
        new_output(
            "display_data",
            data={"image/png": png(1, 200_000), "text/plain": "<Figure>"},
            metadata={"image/png": {"width": 640}},
        ),
        new_output(
            "display_data",
            data={"application/json": {"nested": ["x", {"$blob": "not ours"}]}},
        ),
        new_output("error", ename="ValueError", evalue="bad", traceback=["Traceback", "bad"]),
    ]
    markdown = new_markdown_cell("![plot](attachment:plot.png)")
    markdown["attachments"] = {"plot.png": {"image/png": png(2, 10_000)}}
    nb = new_notebook(
        cells=[markdown, code, new_raw_cell("raw text"), new_code_cell("")],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )
    nbformat.validate(nb)
    return nb


def stored_bytes(blobs: LocalBlobStore) -> int:
    return sum(blobs.size(d) for d in blobs.iter_digests())


def all_blob_text(blobs: LocalBlobStore) -> str:
    return "".join(blobs.get_bytes(d).decode("utf-8", "replace") for d in blobs.iter_digests())


def test_round_trip_is_exact_and_valid(blobs):
    nb = rich_notebook()
    digest, digests, flags = store_checkpoint(blobs, nb)
    assert flags == []
    loaded = load_checkpoint(blobs, digest)
    assert loaded == nb
    nbformat.validate(loaded)
    assert digests[0] == digest
    assert set(digests) == checkpoint_digests(blobs, digest) == set(blobs.iter_digests())


def test_large_outputs_become_separate_blobs_and_the_manifest_stays_small(blobs):
    nb = rich_notebook()
    digest, digests, _ = store_checkpoint(blobs, nb, large_output_bytes=4096)
    sizes = sorted(blobs.size(d) for d in digests)
    # the image and the attachment are stored apart: every other blob is small
    assert sizes[-1] >= 200_000 and sizes[-2] >= 10_000
    assert all(size < 4096 for size in sizes[:-2])
    assert blobs.size(digest) < 1024


def test_identical_content_is_stored_once(blobs):
    nb = rich_notebook()
    first = store_checkpoint(blobs, nb)
    count, size = len(list(blobs.iter_digests())), stored_bytes(blobs)
    second = store_checkpoint(blobs, nbformat.from_dict(nbformat.reads(nbformat.writes(nb), 4)))
    assert second[0] == first[0]
    assert (len(list(blobs.iter_digests())), stored_bytes(blobs)) == (count, size)


def test_same_image_in_another_notebook_is_not_stored_again(blobs):
    image = png(7, 500_000)
    nb_a = new_notebook(cells=[new_code_cell("plot()")])
    nb_a.cells[0].outputs = [new_output("display_data", data={"image/png": image})]
    nb_b = new_notebook(cells=[new_markdown_cell("other"), new_code_cell("plot(again=True)")])
    nb_b.cells[1].outputs = [new_output("display_data", data={"image/png": image})]
    store_checkpoint(blobs, nb_a)
    before = stored_bytes(blobs)
    store_checkpoint(blobs, nb_b)
    assert stored_bytes(blobs) - before < 5_000


@pytest.mark.parametrize("runs", [40, pytest.param(1000, marks=pytest.mark.slow)])
def test_store_growth_over_many_runs_of_a_changing_cell(blobs, runs):
    """The growth goal (``docs/architecture.md#data-model``): many runs of a notebook with
    2 MB of images where one cell changes between runs grow the store by at most 3x one
    checkpoint."""
    nb = new_notebook(cells=[new_markdown_cell("# Training")])
    for i in range(10):
        cell = new_code_cell(f"plot_{i}()", execution_count=i + 1)
        cell.outputs = [new_output("display_data", data={"image/png": png(i, 150_000)})]
        nb.cells.append(cell)
    nb.cells.append(new_code_cell("lr = 0", execution_count=11))
    store_checkpoint(blobs, nb)
    one_checkpoint = stored_bytes(blobs)
    assert one_checkpoint > 2_000_000

    for run in range(1, runs):
        nb.cells[-1].source = f"lr = {run / 10_000}"
        nb.cells[-1].outputs = [new_output("stream", name="stdout", text=f"loss {run}\n")]
        store_checkpoint(blobs, nb)
    growth = stored_bytes(blobs) - one_checkpoint
    assert growth <= 3 * one_checkpoint
    # and, much tighter: each run costs one small cell blob and one manifest
    assert growth / (runs - 1) < 3_000


class CountingBlobStore(LocalBlobStore):
    """The real store, counting writes: the cost that must not grow with notebook size."""

    puts = 0

    def put_bytes(self, data: bytes) -> str:
        self.puts += 1
        return super().put_bytes(data)


def test_recheckpointing_a_200_cell_notebook_with_one_change_is_cheap(tmp_path):
    blobs = CountingBlobStore(tmp_path / "objects")
    nb = new_notebook()
    for i in range(200):
        cell = new_code_cell(f"x{i} = {i}\nprint(x{i})", execution_count=i + 1)
        cell.outputs = [new_output("stream", name="stdout", text=f"{i}\n" * 50)]
        if i % 25 == 0:
            cell.outputs.append(new_output("display_data", data={"image/png": png(i, 100_000)}))
        nb.cells.append(cell)
    redactor = Redactor()
    store_checkpoint(blobs, nb, redactor=redactor)
    for attempt in range(3):
        nb.cells[101].source = f"x101 = 'changed {attempt}'"
        blobs.puts = 0
        store_checkpoint(blobs, nb, redactor=redactor)
        assert blobs.puts == 2, "only the changed cell and the manifest are written"


def test_a_collected_blob_is_written_again(blobs):
    nb = rich_notebook()
    digest, digests, _ = store_checkpoint(blobs, nb)
    for d in digests:
        blobs.delete(d)  # what gc does when no run names the checkpoint
    assert store_checkpoint(blobs, nb)[0] == digest
    assert load_checkpoint(blobs, digest) == nb


# -- redaction --------------------------------------------------------------------------------


def test_secrets_never_reach_the_store(blobs):
    nb = new_notebook()
    source = new_code_cell(f'aws_key = "{AWS_KEY}"\nconnect(aws_key)')
    outputs = new_code_cell("show()")
    outputs.outputs = [
        new_output("stream", name="stdout", text=f"using {AWS_KEY}\n"),
        new_output("stream", name="stderr", text="x" * 10_000 + f" {AWS_KEY}"),  # large
        new_output(
            "execute_result",
            execution_count=2,
            data={
                "text/plain": f"'{AWS_KEY}'",
                "text/html": f"<b>{AWS_KEY}</b>",
                "text/markdown": f"`{AWS_KEY}`",
                "application/json": {"creds": [AWS_KEY]},
            },
        ),
        new_output("error", ename="AuthError", evalue=AWS_KEY, traceback=[f"key {AWS_KEY}"]),
    ]
    nb.cells = [source, outputs, new_code_cell("clean = 1")]
    digest, _, flags = store_checkpoint(blobs, nb, redactor=Redactor())

    assert AWS_KEY not in all_blob_text(blobs)
    loaded = load_checkpoint(blobs, digest)
    assert "‹redacted:aws_access_key_id›" in loaded.cells[0].source
    assert "connect(aws_key)" in loaded.cells[0].source, "the rest of the code is kept"
    assert loaded.cells[1].outputs[1].text.startswith("x" * 100)
    assert [(f.kind, f.cell_id) for f in flags] == [
        ("redacted_source", source.id),
        ("redacted_output", outputs.id),
    ]
    assert "cell 1" in flags[0].message and "aws_access_key_id" in flags[0].message


def test_a_secret_in_both_source_and_output_flags_both(blobs):
    cell = new_code_cell(f'print("{AWS_KEY}")')
    cell.outputs = [new_output("stream", name="stdout", text=f"{AWS_KEY}\n")]
    _, _, flags = store_checkpoint(blobs, new_notebook(cells=[cell]), redactor=Redactor())
    assert [f.kind for f in flags] == ["redacted_source", "redacted_output"]
    assert AWS_KEY not in all_blob_text(blobs)


def test_flags_name_the_cell_where_it_is_now_even_from_the_cache(blobs):
    secret_cell = new_code_cell(f'key = "{AWS_KEY}"')
    nb = new_notebook(cells=[secret_cell])
    redactor = Redactor()
    store_checkpoint(blobs, nb, redactor=redactor)
    nb.cells.insert(0, new_markdown_cell("intro"))
    _, _, flags = store_checkpoint(blobs, nb, redactor=redactor)
    assert "cell 2" in flags[0].message


# -- bad input and damaged stores -------------------------------------------------------------


@pytest.mark.parametrize(
    ("notebook", "fragment"),
    [
        ({"nbformat": 4}, "list of cells"),
        ({"nbformat": 3, "cells": []}, "nbformat 4"),
        ({"nbformat": 4, "cells": ["x"]}, "Cell 1"),
        ({"nbformat": 4, "cells": [{"cell_type": "widget"}]}, "Cell 1"),
        (
            {"nbformat": 4, "nbformat_minor": 5, "cells": [{"cell_type": "code", "source": 1}]},
            "not valid nbformat 4",
        ),
    ],
)
def test_invalid_notebooks_are_refused_with_a_sentence(blobs, notebook, fragment):
    with pytest.raises(InvalidInput) as info:
        store_checkpoint(blobs, notebook)
    assert fragment in str(info.value) and str(info.value).endswith((".", ")."))


def test_missing_part_is_an_integrity_error(blobs):
    digest, digests, _ = store_checkpoint(blobs, rich_notebook())
    image = max(digests, key=blobs.size)
    blobs.delete(image)
    with pytest.raises(IntegrityError, match=f"output {image[:12]} is missing"):
        load_checkpoint(blobs, digest)


def test_corrupt_part_is_an_integrity_error(tmp_path):
    blobs = LocalBlobStore(tmp_path / "objects")
    digest, digests, _ = store_checkpoint(blobs, rich_notebook())
    cell = digests[1]
    path = blobs.local_path(cell)
    os.chmod(path, 0o644)
    with open(path, "wb") as handle:
        handle.write(b'{"cell_type": "code"}')
    with pytest.raises(IntegrityError, match="corrupt"):
        load_checkpoint(blobs, digest)


def test_missing_manifest_and_foreign_blob_are_integrity_errors(blobs):
    with pytest.raises(IntegrityError, match=r"manifest .* is missing"):
        load_checkpoint(blobs, "0" * 64)
    foreign = blobs.put_bytes(b'{"hello": "world"}')
    with pytest.raises(IntegrityError, match="not a jupyter-mm checkpoint manifest"):
        load_checkpoint(blobs, foreign)
    with pytest.raises(IntegrityError):
        checkpoint_digests(blobs, foreign)


def test_nbformat_4_4_notebook_round_trips(blobs):
    nb = rich_notebook()
    nb.nbformat_minor = 4
    for cell in nb.cells:
        del cell["id"]
    nbformat.validate(nb)
    digest, _, _ = store_checkpoint(blobs, nb)
    loaded = load_checkpoint(blobs, digest)
    assert loaded == nb and loaded.nbformat_minor == 4


def test_an_unchanged_source_is_checkpointed_once(blobs):
    notebook = rich_notebook()
    key = ("/nb.ipynb", 1, 2)
    first = store_checkpoint(blobs, notebook, source_key=key)
    # same key: the previous result comes back without reading the notebook at all
    again = store_checkpoint(blobs, {"not": "a notebook"}, source_key=key)
    assert again == first
    assert again[1] is not first[1], "callers get their own digest list"
    # another key, or the same key with a blob gone (gc), stores the notebook afresh
    changed = new_notebook(cells=[new_code_cell("x = 2")])
    other = store_checkpoint(blobs, changed, source_key=("/nb.ipynb", 3, 4))
    assert other[0] != first[0]
    assert store_checkpoint(blobs, notebook, source_key=key) == first
    for digest in first[1]:
        blobs.delete(digest)
    stored = store_checkpoint(blobs, notebook, source_key=key)
    assert stored == first and all(blobs.exists(d) for d in stored[1])
    assert load_checkpoint(blobs, stored[0]).cells[0].source == notebook.cells[0].source


def test_the_tracked_cell_is_checkpointed_as_it_starts(blobs):
    """The previous run's outputs and count of the tracked cell are cleared (in a copy);
    every other cell keeps its outputs, and fingerprints follow the cleared cell."""
    nb = rich_notebook()
    tracked = nb.cells[1]
    assert tracked.cell_type == "code" and tracked.outputs
    before = nbformat.writes(nb)
    fingerprints = validate_notebook(nb)
    started, adjusted = as_cell_starts(nb, tracked.id, fingerprints)
    assert nbformat.writes(nb) == before, "the given notebook is not modified"
    assert (started.cells[1].outputs, started.cells[1].execution_count) == ([], None)
    assert started.cells[1].source == tracked.source
    assert [c for i, c in enumerate(started.cells) if i != 1] == [
        c for i, c in enumerate(nb.cells) if i != 1
    ]
    assert adjusted == validate_notebook(started)
    digest, _, _ = store_checkpoint(blobs, started, fingerprints=adjusted)
    assert digest == store_checkpoint(blobs, started)[0]
    # nothing to clear: the very same objects come back
    assert as_cell_starts(started, tracked.id, adjusted) == (started, adjusted)
    assert as_cell_starts(nb, "no-such-cell", fingerprints) == (nb, fingerprints)
    assert as_cell_starts(nb, None, None) == (nb, None)
