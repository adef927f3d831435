"""Content-addressed notebook checkpoints (``docs/architecture.md#data-model``).

A checkpoint is stored as three kinds of blobs:

* one **output blob** per output value larger than ``large_output_bytes`` (an image, a big
  HTML table, a long log), holding the value itself;
* one **cell blob** per cell: the cell's canonical JSON in which every large value is
  replaced by ``{"$blob": <digest>}`` (``"json": true`` marks a non-string value);
* one small **manifest blob**: format tag, nbformat version, notebook metadata and the list
  of cell digests.

A notebook rebuilt from the kernel history only ever grows at its end, so its manifest
(format ``checkpoint@2``) names a **chain** of chunks (``{"prev": <chunk or null>,
"cells": [<cell digests>]}``) and lists after it only the tracked cell: a run writes the
cells executed since the previous run, one chunk naming them and a manifest of constant
size, however long the session (see :mod:`.history_checkpoint`). A run links only its manifest; ``gc`` and
``verify`` find the parts through it (:func:`checkpoint_digests`).

Identical content is therefore stored once: re-running a notebook where one cell changed
adds one cell blob (plus its new outputs) and one manifest, however big the rest is.
Before anything is written, sources and text outputs pass through the redactor so that
secrets never reach the store (``docs/architecture.md#security-model``).

A checkpoint is never trusted: the notebook's trust metadata (each cell's
``metadata.trusted``, the notebook's ``metadata.signature``) is dropped when it is stored and
again when it is loaded, whatever the store holds. A store is shared data: were a restored
checkpoint saved with its cells marked trusted, Jupyter's notary would sign it and its HTML
and JavaScript outputs would run in the browser of whoever restored it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import blake3

from ..entities import ReproFlag
from ..errors import InvalidInput
from ..store.blobs import BlobStore
from . import nbschema
from .checkpoint_read import (  # noqa: F401  (re-exported: the read side lives there)
    BLOB_KEY,
    CHUNK_FORMAT,
    FORMAT,
    FORMAT_CHAINED,
    OUTPUTS_FORMAT,
    TRUST_KEYS,
    canonical_json,
    checkpoint_digests,
    expand_checkpoints,
    load_checkpoint,
    load_outputs,
    load_run_notebook,
    manifest_cells,
    untrusted_metadata,
)
from .last_result import LastResult
from .redact import CREDENTIAL_MARKER

if TYPE_CHECKING:
    pass


class _Redaction:
    """Redacts strings through an optional ``Redactor`` and remembers which rules fired."""

    def __init__(self, redactor: Any | None) -> None:
        self.redactor = redactor
        self.rules: set[str] = set()

    def text(self, value: Any) -> Any:
        if self.redactor is None:
            return value
        if isinstance(value, list):  # multi-line strings may arrive as lists of lines
            value = "".join(value)
        if not isinstance(value, str) or not value:
            return value
        redacted, rules = self.redactor.redact_text(value)
        self.rules.update(rules)
        return redacted

    def json_strings(self, value: Any) -> Any:
        """Redact every string inside a JSON value (application/json outputs, metadata);
        a credential-named key keeps no value at any depth."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json_strings(v) for v in value]
        if isinstance(value, dict):
            return {k: self._entry(k, v) for k, v in value.items()}
        return value

    def _entry(self, key: Any, value: Any) -> Any:
        redact_pair = getattr(self.redactor, "redact_pair", None)
        if (
            redact_pair is not None
            and isinstance(value, str)
            and redact_pair(key, value) == CREDENTIAL_MARKER
        ):
            self.rules.add("credential")
            return CREDENTIAL_MARKER
        return self.json_strings(value)


@dataclass(frozen=True)
class _StoredCell:
    """What storing one cell produced: its blob, the output blobs it names, and which
    redaction rules fired in its source and in its outputs."""

    digest: str
    refs: tuple[str, ...]
    source_rules: frozenset[str]
    output_rules: frozenset[str]


class _CellCache:
    """Cell content fingerprint -> (cell digest, digests it references, flags).

    Keyed on a hash of the *unredacted* cell plus the storage options, so a notebook whose
    cells did not change is re-checkpointed by hashing alone. Bounded (LRU) so a long
    session cannot grow it without limit; entries are re-checked against the blob store
    before use, because a ``gc`` may have deleted blobs in between.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[Any, ...], _StoredCell] = OrderedDict()

    def get_many(self, keys: list[tuple[Any, ...]]) -> list[_StoredCell | None]:
        """Look up a whole notebook's cells under one lock acquisition."""
        items, found = self._items, []
        with self._lock:
            for key in keys:
                item = items.get(key)
                if item is not None:
                    items.move_to_end(key)
                found.append(item)
        return found

    def put(self, key: tuple[Any, ...], item: _StoredCell) -> None:
        with self._lock:
            self._items[key] = item
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_CACHE = _CellCache()


def _external(blobs: BlobStore, value: Any, limit: int, refs: list[str]) -> Any:
    """Replace ``value`` with a blob reference when it is larger than ``limit`` bytes."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = "".join(value)
    if isinstance(value, str):
        data = value.encode("utf-8", "surrogatepass")
        if len(data) <= limit:
            return value
        digest = blobs.put_bytes(data)
        refs.append(digest)
        return {BLOB_KEY: digest}
    data = canonical_json(value)
    # A user value that itself looks like a reference is always stored apart, so that
    # every inline {"$blob": …} in a cell blob is one of ours.
    if len(data) <= limit and not (isinstance(value, dict) and BLOB_KEY in value):
        return value
    digest = blobs.put_bytes(data)
    refs.append(digest)
    return {BLOB_KEY: digest, "json": True}


def _prepare_output(
    blobs: BlobStore, output: dict[str, Any], limit: int, red: _Redaction, refs: list[str]
) -> dict[str, Any]:
    out = dict(output)
    kind = out.get("output_type")
    if kind == "stream":
        out["text"] = _external(blobs, red.text(out.get("text", "")), limit, refs)
    elif kind == "error":
        out["ename"] = red.text(out.get("ename", ""))
        out["evalue"] = red.text(out.get("evalue", ""))
        out["traceback"] = [red.text(line) for line in out.get("traceback", [])]
    elif kind in ("display_data", "execute_result"):
        data = {}
        for mime, value in (out.get("data") or {}).items():
            # every textual type can carry a printed secret (text/*, JavaScript, SVG,
            # LaTeX…); JSON types in any string or under a credential-named key. Binary
            # types are base64 strings, which the redactor passes over at once.
            if isinstance(value, dict | list) or mime == "application/json":
                value = red.json_strings(value)
            else:
                value = red.text(value)
            data[mime] = _external(blobs, value, limit, refs)
        out["data"] = data
    return out


def _store_cell(
    blobs: BlobStore, cell: dict[str, Any], limit: int, redactor: Any | None
) -> _StoredCell:
    # separate trackers: the same rule may fire in the source and in the outputs
    in_source, in_outputs = _Redaction(redactor), _Redaction(redactor)
    refs: list[str] = []
    stored = dict(cell)
    if "metadata" in cell:
        stored["metadata"] = untrusted_metadata(cell["metadata"])
    stored["source"] = in_source.text(cell.get("source", ""))
    if "outputs" in cell:
        stored["outputs"] = [
            _prepare_output(blobs, o, limit, in_outputs, refs) for o in cell.get("outputs") or []
        ]
    if cell.get("attachments"):
        stored["attachments"] = {
            name: {mime: _external(blobs, v, limit, refs) for mime, v in bundle.items()}
            for name, bundle in cell["attachments"].items()
        }
    digest = blobs.put_bytes(canonical_json(stored))
    return _StoredCell(digest, tuple(refs), frozenset(in_source.rules), frozenset(in_outputs.rules))


def _redaction_flags(stored: _StoredCell, cell_id: str | None, index: int) -> list[ReproFlag]:
    flags = []
    if stored.source_rules:
        flags.append(
            ReproFlag(
                "redacted_source",
                f"Secrets ({', '.join(sorted(stored.source_rules))}) were removed from the "
                f"source of cell {index + 1}; it cannot be re-run from the checkpoint as it is.",
                cell_id,
            )
        )
    if stored.output_rules:
        flags.append(
            ReproFlag(
                "redacted_output",
                f"Secrets ({', '.join(sorted(stored.output_rules))}) were removed from the "
                f"outputs of cell {index + 1}.",
                cell_id,
            )
        )
    return flags


class _Validated:
    """Fingerprints of cells (and notebook skeletons) already found valid: validating
    costs ~0.3 ms per cell, and the same cells come back on every run of a notebook."""

    def __init__(self, size: int = 16384) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[bytes, int], None] = OrderedDict()

    def __contains__(self, key: tuple[bytes, int]) -> bool:
        # Asked for every cell on every run: no lock (a dict lookup is atomic) and no LRU
        # refresh. An entry evicted although in use only costs validating that cell again.
        return key in self._items

    def add(self, key: tuple[bytes, int]) -> None:
        with self._lock:
            self._items[key] = None
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_VALIDATED = _Validated()


def _fingerprint(value: Any) -> bytes:
    return blake3.blake3(canonical_json(value)).digest()


def _first_line(exc: Any) -> str:
    return str(exc.message).splitlines()[0][:200]


def _check_shape(notebook: Any) -> int:
    """Check everything but the cells; return nbformat_minor."""
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise InvalidInput("A checkpoint needs an nbformat 4 notebook with a list of cells.")
    if notebook.get("nbformat") != 4:
        raise InvalidInput(
            f"Only nbformat 4 notebooks can be checkpointed (got {notebook.get('nbformat')!r})."
        )
    minor = notebook.get("nbformat_minor", 5)
    if not isinstance(minor, int) or minor < 0:
        raise InvalidInput(f"The notebook's nbformat_minor {minor!r} is not a version number.")
    skeleton = {
        "nbformat": 4,
        "nbformat_minor": minor,
        "metadata": notebook.get("metadata", {}),
        "cells": [],
    }
    key = (_fingerprint(skeleton), -1)
    if key not in _VALIDATED:
        try:
            nbschema.validate(skeleton, minor=minor)
        except nbschema.NotebookInvalid as exc:
            raise InvalidInput(
                f"The notebook's metadata is not valid nbformat 4 ({_first_line(exc)})."
            ) from None
        _VALIDATED.add(key)
    return minor


def _check_cells(
    cells: list[Any], minor: int, known: Sequence[bytes | None] | None = None
) -> list[bytes]:
    """Validate every cell (each distinct content once per process); return fingerprints.
    ``known[i]``, when not None, is taken as the fingerprint of ``cells[i]`` unhashed."""
    if known is not None and len(known) != len(cells):
        known = None
    fingerprints = []
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict):
            raise InvalidInput(f"Cell {index + 1} of the notebook is not a JSON object.")
        fingerprint = known[index] if known is not None else None
        if fingerprint is None:
            fingerprint = _fingerprint(cell)
        fingerprints.append(fingerprint)
        if (fingerprint, minor) in _VALIDATED:
            continue
        kind = cell.get("cell_type")
        if kind not in ("code", "markdown", "raw"):
            raise InvalidInput(f"Cell {index + 1} of the notebook has no valid cell_type.")
        try:
            nbschema.validate(cell, ref=f"{kind}_cell", minor=minor)
        except nbschema.NotebookInvalid as exc:
            raise InvalidInput(
                f"Cell {index + 1} of the notebook is not valid nbformat 4 ({_first_line(exc)})."
            ) from None
        _VALIDATED.add((fingerprint, minor))
    return fingerprints


def validate_notebook(notebook: Any, known: Sequence[bytes | None] | None = None) -> list[bytes]:
    """Raise InvalidInput (naming the cell) unless ``notebook`` is valid nbformat 4.
    Repeated calls on mostly unchanged notebooks only hash the cells. Returns the cells'
    fingerprints, which ``store_checkpoint`` takes instead of hashing every cell again.

    ``known`` (one entry per cell, or it is ignored) skips hashing: ``known[i]`` must be what
    an earlier call returned for a cell with exactly the content of ``cells[i]`` (a live
    delta's unchanged cell), None for a cell to hash. A wrong one would checkpoint the
    wrong content. Such a cell is still validated unless that fingerprint was found valid
    (under this ``nbformat_minor``) before."""
    return _check_cells(notebook["cells"], _check_shape(notebook), known)


def as_cell_starts(
    notebook: dict[str, Any], cell_id: str | None, fingerprints: list[bytes] | None = None
) -> tuple[dict[str, Any], list[bytes] | None]:
    """``notebook`` as it is when the tracked cell ``cell_id`` starts running: that cell's
    outputs and execution count cleared, as Jupyter clears them when an execution starts.

    What a snapshot carries there is the previous run's result, which would show in this
    run's checkpoint as if it were this run's, and would make every re-run of an unchanged
    cell store a new cell and manifest. The given notebook is not modified (it may be shared
    with a cache); ``fingerprints`` (of its cells) come back adjusted for the cleared cell.
    """
    cells = notebook.get("cells") or []
    index = next(
        (
            i
            for i, cell in enumerate(cells)
            if cell_id is not None
            and isinstance(cell, dict)
            and cell.get("id") == cell_id
            and cell.get("cell_type") == "code"
        ),
        None,
    )
    if index is None:
        return notebook, fingerprints
    cell = cells[index]
    if not cell.get("outputs") and cell.get("execution_count") is None:
        return notebook, fingerprints
    cleared = type(cell)(cell)
    cleared["outputs"], cleared["execution_count"] = [], None
    started = type(notebook)(notebook)
    started["cells"] = [*cells[:index], cleared, *cells[index + 1 :]]
    if fingerprints is not None and len(fingerprints) == len(cells):
        fingerprints = [*fingerprints[:index], _fingerprint(cleared), *fingerprints[index + 1 :]]
    else:
        fingerprints = None
    return started, fingerprints


# re-running a tracked cell of an unchanged saved notebook stores nothing new: its result
# is reused without re-hashing a single cell
_LAST: LastResult[tuple[str, list[str], list[ReproFlag]]] = LastResult()


def store_checkpoint(
    blobs: BlobStore,
    notebook: dict[str, Any],
    *,
    large_output_bytes: int = 4096,
    redactor: Any | None = None,
    source_key: tuple[Any, ...] | None = None,
    fingerprints: list[bytes] | None = None,
) -> tuple[str, list[str], list[ReproFlag]]:
    """Store ``notebook``; return (manifest digest, every digest it references, flags).

    The referenced digests (manifest, cells, large outputs) are what the caller passes to
    ``store.link_blobs`` so that ``gc`` keeps them. The whole notebook is validated first:
    an invalid one raises InvalidInput before anything is written.

    ``source_key`` identifies unchanged content without looking at it (a file's path,
    mtime and size): when the previous call had the same key and options, its result is
    returned as long as every blob it named is still present. ``fingerprints`` are what
    :func:`validate_notebook` returned for this very notebook (it is then not validated
    and hashed a second time).
    """
    options = (blobs.root, large_output_bytes, id(redactor) if redactor is not None else None)
    memo_key = None if source_key is None else (*source_key, *options)
    if memo_key is not None:
        last = _LAST.get(memo_key)
        if last is not None and all(blobs.present(d) for d in last[1]):
            digest, digests, memo_flags = last
            return (
                digest,
                list(digests),
                [ReproFlag(f.kind, f.message, f.cell_id) for f in memo_flags],
            )
    minor = _check_shape(notebook)
    if fingerprints is None or len(fingerprints) != len(notebook["cells"]):
        fingerprints = _check_cells(notebook["cells"], minor)
    cell_digests: list[str] = []
    referenced: dict[str, None] = {}  # ordered set
    flags: list[ReproFlag] = []
    present = blobs.present
    keys = [(fingerprint, minor, *options) for fingerprint in fingerprints]
    # this loop runs for every cell of the notebook on every tracked run: the common case
    # (cell seen before, its blobs known to exist, nothing redacted) does no more than look
    for index, (cell, key, stored) in enumerate(
        zip(notebook["cells"], keys, _CACHE.get_many(keys), strict=True)
    ):
        if stored is None or not (present(stored.digest) and all(present(d) for d in stored.refs)):
            stored = _store_cell(blobs, cell, large_output_bytes, redactor)
            _CACHE.put(key, stored)
        cell_digests.append(stored.digest)
        referenced[stored.digest] = None
        if stored.refs:
            referenced.update(dict.fromkeys(stored.refs))
        if stored.source_rules or stored.output_rules:
            flags.extend(_redaction_flags(stored, cell.get("id"), index))

    manifest = {
        "format": FORMAT,
        "nbformat": 4,
        "nbformat_minor": minor,
        "metadata": _Redaction(redactor).json_strings(
            untrusted_metadata(notebook.get("metadata") or {})
        ),
        "cells": cell_digests,
    }
    manifest_digest = blobs.put_bytes(canonical_json(manifest))
    result = (manifest_digest, [manifest_digest, *referenced], flags)
    if memo_key is not None:
        _LAST.put(memo_key, (manifest_digest, list(result[1]), list(flags)))
    return result


# -- the tracked cell's own outputs -----------------------------------------------------------


def store_outputs(
    blobs: BlobStore,
    outputs: Sequence[dict[str, Any]],
    *,
    large_output_bytes: int = 4096,
    redactor: Any | None = None,
) -> tuple[str, list[str], set[str]]:
    """Store nbformat outputs (text redacted, large values as their own blobs, as in a
    checkpoint's cells); return (digest, the large values' digests, redaction rules that
    fired)."""
    red = _Redaction(redactor)
    refs: list[str] = []
    stored = [_prepare_output(blobs, dict(o), large_output_bytes, red, refs) for o in outputs]
    body = {"format": OUTPUTS_FORMAT, "outputs": stored}
    return blobs.put_bytes(canonical_json(body)), list(dict.fromkeys(refs)), red.rules
