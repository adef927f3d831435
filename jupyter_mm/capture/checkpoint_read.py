"""Reading checkpoints back: manifests (flat or chained), cells, large outputs, and the
outputs stored with a run; finding every blob a checkpoint consists of (``gc``, ``verify``).
The formats are described in :mod:`.checkpoint`."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import blake3

from ..errors import IntegrityError, InvalidInput, NotFound
from ..store.blobs import BlobStore

if TYPE_CHECKING:
    from nbformat import NotebookNode

FORMAT = "jupyter-mm/checkpoint@1"
#: a manifest whose cells are a chain of chunks (``chain``) followed by ``cells``
FORMAT_CHAINED = "jupyter-mm/checkpoint@2"
CHUNK_FORMAT = "jupyter-mm/cell-chunk@1"
#: the outputs a tracked cell produced, stored with its run
OUTPUTS_FORMAT = "jupyter-mm/outputs@1"
BLOB_KEY = "$blob"


#: metadata keys that make Jupyter trust a notebook's outputs (cells: ``trusted``; the
#: notebook: ``signature``, nbformat 3's): never stored, never handed out
TRUST_KEYS = frozenset({"trusted", "signature"})


def untrusted_metadata(metadata: Any) -> Any:
    """``metadata`` without trust keys (the same object when it has none)."""
    if isinstance(metadata, dict) and not TRUST_KEYS.isdisjoint(metadata):
        return type(metadata)((k, v) for k, v in metadata.items() if k not in TRUST_KEYS)
    return metadata


def canonical_json(value: Any) -> bytes:
    """Stable bytes for hashing: sorted keys, no insignificant whitespace, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8", "surrogatepass"
    )


def _read_part(blobs: BlobStore, digest: str, what: str) -> bytes:
    try:
        data = blobs.get_bytes(digest)
    except NotFound:
        raise IntegrityError(
            f"The checkpoint's {what} {digest[:12]} is missing from the object store."
        ) from None
    except InvalidInput:
        raise IntegrityError(f"The checkpoint names a malformed {what} digest.") from None
    # get_bytes does not verify; a flipped bit must not become a silently wrong notebook.
    if blake3.blake3(data).hexdigest() != digest:
        raise IntegrityError(
            f"The checkpoint's {what} {digest[:12]} is corrupt (its content does not match "
            "its digest)."
        )
    return data


def _read_json(blobs: BlobStore, digest: str, what: str) -> Any:
    data = _read_part(blobs, digest, what)
    try:
        return json.loads(data)
    except ValueError:
        raise IntegrityError(f"The checkpoint's {what} {digest[:12]} is not JSON.") from None


def _manifest(blobs: BlobStore, digest: str) -> dict[str, Any]:
    manifest = _read_json(blobs, digest, "manifest")
    if not isinstance(manifest, dict) or manifest.get("format") not in (FORMAT, FORMAT_CHAINED):
        raise IntegrityError(f"Blob {digest[:12]} is not a jupyter-mm checkpoint manifest.")
    if not isinstance(manifest.get("cells"), list):
        raise IntegrityError(f"The checkpoint manifest {digest[:12]} has no cell list.")
    return manifest


def _chunk(blobs: BlobStore, digest: str) -> dict[str, Any]:
    chunk = _read_json(blobs, digest, "cell chunk")
    if (
        not isinstance(chunk, dict)
        or chunk.get("format") != CHUNK_FORMAT
        or not isinstance(chunk.get("cells"), list)
        or not (chunk.get("prev") is None or isinstance(chunk.get("prev"), str))
    ):
        raise IntegrityError(f"Blob {digest[:12]} is not a jupyter-mm cell chunk.")
    return chunk


def _chain(blobs: BlobStore, head: Any, seen: set[str] | None = None) -> list[list[str]]:
    """The cell lists of the chunks of the chain ending at ``head``, oldest first. With
    ``seen``, the walk stops at a chunk in it (its predecessors were walked before) and
    adds the chunks it reads."""
    if head is not None and not isinstance(head, str):
        raise IntegrityError("The checkpoint manifest names a malformed cell chain.")
    lists: list[list[str]] = []
    walked: set[str] = set()
    while head is not None and (seen is None or head not in seen):
        if head in walked:  # only a forged blob can loop: content addressing cannot
            raise IntegrityError(f"The cell chain loops at chunk {head[:12]}.")
        walked.add(head)
        chunk = _chunk(blobs, head)
        lists.append(chunk["cells"])
        if seen is not None:
            seen.add(head)
        head = chunk.get("prev")
    lists.reverse()
    return lists


def manifest_cells(blobs: BlobStore, manifest: dict[str, Any]) -> list[str]:
    """Every cell digest of a manifest, in notebook order (its chain's, then its own)."""
    if manifest.get("format") != FORMAT_CHAINED:
        return list(manifest["cells"])
    return [d for cells in _chain(blobs, manifest.get("chain")) for d in cells] + list(
        manifest["cells"]
    )


def _is_ref(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get(BLOB_KEY), str)


def _resolve(blobs: BlobStore, value: Any) -> Any:
    if not _is_ref(value):
        return value
    data = _read_part(blobs, value[BLOB_KEY], "output")
    if value.get("json"):
        try:
            return json.loads(data)
        except ValueError:
            raise IntegrityError(
                f"The checkpoint's output {value[BLOB_KEY][:12]} is not JSON."
            ) from None
    return data.decode("utf-8", "surrogatepass")


def _cell_refs(cell: dict[str, Any]) -> Iterable[tuple[dict[str, Any], str]]:
    """(container, key) of every value in a cell blob that may be a blob reference."""
    for output in cell.get("outputs") or []:
        if "text" in output:
            yield output, "text"
        data = output.get("data") or {}
        for mime in data:
            yield data, mime
    for bundle in (cell.get("attachments") or {}).values():
        for mime in bundle:
            yield bundle, mime


def load_checkpoint(blobs: BlobStore, digest: str) -> NotebookNode:
    """Reassemble and validate the notebook stored under the manifest ``digest``.

    Raises IntegrityError (with a sentence saying which part) when a part is missing,
    corrupt or the result is not a valid notebook. Trust metadata is dropped whatever the
    store holds (see ``docs/architecture.md#security-model``).
    """
    import nbformat  # the reading side (server, CLI) returns nbformat's own NotebookNode

    manifest = _manifest(blobs, digest)
    cells = []
    for cell_digest in manifest_cells(blobs, manifest):
        cell = _read_json(blobs, cell_digest, "cell")
        if not isinstance(cell, dict):
            raise IntegrityError(f"The checkpoint's cell {cell_digest[:12]} is not a cell.")
        if "metadata" in cell:  # a store may hold what an older or hostile writer put there
            cell["metadata"] = untrusted_metadata(cell["metadata"])
        for container, key in _cell_refs(cell):
            container[key] = _resolve(blobs, container[key])
        cells.append(cell)
    notebook = nbformat.from_dict(
        {
            "nbformat": manifest.get("nbformat", 4),
            "nbformat_minor": manifest.get("nbformat_minor", 5),
            "metadata": untrusted_metadata(manifest.get("metadata") or {}),
            "cells": cells,
        }
    )
    try:
        nbformat.validate(notebook)
    except nbformat.ValidationError as exc:
        reason = str(exc.message).splitlines()[0][:200]
        raise IntegrityError(
            f"The checkpoint {digest[:12]} does not form a valid notebook ({reason})."
        ) from None
    return notebook


def checkpoint_digests(blobs: BlobStore, digest: str, seen: set[str] | None = None) -> set[str]:
    """Every blob the checkpoint ``digest`` consists of (manifest, chunks, cells, outputs).
    Raises IntegrityError when a part needed to find the others is missing.

    ``seen`` (shared across calls) skips the parts found before and is extended with
    those found now: expanding every checkpoint of a store then reads each blob once,
    however many runs share it."""
    seen = set() if seen is None else seen
    found = {digest}
    if digest in seen:
        return found
    manifest = _manifest(blobs, digest)
    seen.add(digest)
    cell_digests = list(manifest["cells"])
    if manifest.get("format") == FORMAT_CHAINED:
        before = set(seen)
        for cells in _chain(blobs, manifest.get("chain"), seen):
            cell_digests.extend(cells)
        found |= seen - before
    for cell_digest in cell_digests:
        found.add(cell_digest)
        if cell_digest in seen:
            continue
        cell = _read_json(blobs, cell_digest, "cell")
        seen.add(cell_digest)
        for container, key in _cell_refs(cell if isinstance(cell, dict) else {}):
            if _is_ref(container[key]):
                found.add(container[key][BLOB_KEY])
    return found


def expand_checkpoints(
    blobs: BlobStore, manifests: Iterable[str]
) -> tuple[set[str], list[tuple[str, str]]]:
    """(every part of these checkpoints, ``(manifest, reason)`` for each checkpoint whose
    parts cannot all be found). Each shared part is read once."""
    seen: set[str] = set()
    found: set[str] = set()
    problems: list[tuple[str, str]] = []
    for digest in manifests:
        try:
            found |= checkpoint_digests(blobs, digest, seen)
        except IntegrityError as exc:
            problems.append((digest, str(exc)))
    return found, problems


def load_outputs(blobs: BlobStore, digest: str) -> list[dict[str, Any]]:
    """The outputs stored under ``digest`` with their large values resolved. Raises
    IntegrityError when a part is missing or damaged."""
    body = _read_json(blobs, digest, "outputs")
    if not isinstance(body, dict) or body.get("format") != OUTPUTS_FORMAT:
        raise IntegrityError(f"Blob {digest[:12]} is not a run's outputs.")
    outputs = body.get("outputs")
    if not isinstance(outputs, list) or not all(isinstance(o, dict) for o in outputs):
        raise IntegrityError(f"The outputs {digest[:12]} are not a list of outputs.")
    for container, key in _cell_refs({"outputs": outputs}):
        container[key] = _resolve(blobs, container[key])
    return outputs


def load_run_notebook(blobs: BlobStore, run: Any) -> NotebookNode:
    """The notebook of ``run``'s checkpoint with its tracked cell carrying the outputs the
    run produced (the checkpoint itself is taken as the cell starts): what ``checkout``
    writes and the lab opens. Raises IntegrityError as :func:`load_checkpoint`."""
    import nbformat

    notebook = load_checkpoint(blobs, run.checkpoint_digest)
    if run.outputs_digest is None or run.cell_id is None:
        return notebook
    outputs = load_outputs(blobs, run.outputs_digest)
    for cell in notebook.cells:
        if cell.get("id") == run.cell_id and cell.get("cell_type") == "code":
            log = run.execution_log
            if log and log[-1].cell_id in (None, run.cell_id):
                cell["execution_count"] = log[-1].count
            for output in outputs:  # stored without it: identical results share one blob
                if output.get("output_type") == "execute_result":
                    output["execution_count"] = cell.get("execution_count")
            cell["outputs"] = [nbformat.from_dict(output) for output in outputs]
            break
    try:
        nbformat.validate(notebook)
    except nbformat.ValidationError as exc:
        reason = str(exc.message).splitlines()[0][:200]
        raise IntegrityError(
            f"The outputs of run {run.id} do not fit its notebook ({reason})."
        ) from None
    return notebook
