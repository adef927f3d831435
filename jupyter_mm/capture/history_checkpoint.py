"""Checkpoints rebuilt from the kernel history, built incrementally.

Without a notebook file or a frontend (a console, a plain jupyter_client session,
papermill/nbconvert engines that send nothing) a run's checkpoint is the session itself:
one code cell per execution, in order, then the tracked cell. Rebuilding and storing that
notebook on every run cost time and bytes proportional to the session (a 3000-execution
session wrote an 850 KB manifest and linked 3000 blobs per run).

The executions before a run never change, so they are stored once: each is a cell blob, and
the cells executed since the previous run are sealed into one chunk naming the previous
chunk (split every ``MAX_CHUNK_CELLS``). A run's manifest (``checkpoint@2``) names the last
chunk and lists only the tracked cell. A run therefore writes the cells executed since the
previous run, one chunk listing them and a manifest of constant size. The state of the chain
lives in this process; a new kernel, another store, a rewritten history or a chain part gone
missing (``gc`` after runs were deleted) starts a new chain, which costs that one run the
whole history again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from ..entities import ReproFlag
from ..store.blobs import BlobStore
from .checkpoint import (
    CHUNK_FORMAT,
    FORMAT_CHAINED,
    _redaction_flags,
    _store_cell,
    canonical_json,
)
from .notebook import HISTORY_MARKER, _history_inputs, _normalise, history_cell_id

#: cells per chunk at most (the first run after thousands of executions seals them all)
MAX_CHUNK_CELLS = 256
NBFORMAT_MINOR = 5


@dataclass
class _Chain:
    """The stored history of one session in one blob store."""

    options: tuple[Any, ...]
    #: history inputs 1 .. consumed-1 are stored (as chain or tail cells)
    consumed: int = 1
    #: the input at ``consumed - 1``, to notice a history that was rewritten
    last_input: Any = None
    prev: str | None = None
    cells: int = 0
    flags: list[ReproFlag] = field(default_factory=list)


def _code_cell(source: str, count: int | None, cell_id: str) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "execution_count": count,
        "id": cell_id,
        "metadata": {},
        "outputs": [],
        "source": source,
    }


class HistoryCheckpoints:
    """Stores history checkpoints for one kernel session (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._chain: _Chain | None = None

    def store(
        self,
        blobs: BlobStore,
        shell: Any,
        *,
        cell_id: str | None,
        raw_cell: str,
        large_output_bytes: int = 4096,
        redactor: Any | None = None,
    ) -> tuple[str, list[ReproFlag]]:
        """Store the checkpoint of the tracked cell ``raw_cell`` (id ``cell_id``); return
        (manifest digest, flags for redacted secrets)."""
        inputs = _history_inputs(shell)
        # IPython stores the running cell's input before executing it: not listed twice
        current = len(inputs) > 1 and _normalise(inputs[-1]) == _normalise(raw_cell)
        end = len(inputs) - 1 if current else len(inputs)
        options = (blobs.root, large_output_bytes, id(redactor) if redactor is not None else None)
        with self._lock:
            chain = self._resume(blobs, options, inputs, end)
            new: list[str] = []
            for count in range(chain.consumed, end):
                source = str(inputs[count] or "")
                if source and not source.isspace():
                    cell = _code_cell(source, count, f"exec-{count}")
                    new.append(self._add(blobs, chain, cell, large_output_bytes, redactor))
            for start in range(0, len(new), MAX_CHUNK_CELLS):
                cells = new[start : start + MAX_CHUNK_CELLS]
                chunk = {"format": CHUNK_FORMAT, "prev": chain.prev, "cells": cells}
                chain.prev = blobs.put_bytes(canonical_json(chunk))
            if end > chain.consumed:
                chain.consumed, chain.last_input = end, inputs[end - 1]
            tracked = _code_cell(raw_cell, len(inputs) - 1 if current else None, "")
            tracked["id"] = history_cell_id(cell_id)
            stored = _store_cell(blobs, tracked, large_output_bytes, redactor)
            flags = [*chain.flags, *_redaction_flags(stored, tracked["id"], chain.cells)]
            manifest = {
                "format": FORMAT_CHAINED,
                "nbformat": 4,
                "nbformat_minor": NBFORMAT_MINOR,
                "metadata": {
                    "language_info": {"name": "python"},
                    HISTORY_MARKER: {"reconstructed_from": "history"},
                },
                "chain": chain.prev,
                "cells": [stored.digest],
            }
            return blobs.put_bytes(canonical_json(manifest)), [
                ReproFlag(f.kind, f.message, f.cell_id) for f in flags
            ]

    def store_for(
        self, active: Any, shell: Any, cell_id: str | None, raw_cell: str
    ) -> tuple[str, list[ReproFlag]]:
        """:meth:`store` for the run ``active`` (an ActiveRun), with the process's options."""
        from .. import tracking

        return self.store(
            active.store.blobs,
            shell,
            cell_id=cell_id,
            raw_cell=raw_cell,
            large_output_bytes=tracking.get_config().large_output_bytes,
            redactor=tracking.redactor(),
        )

    def _resume(
        self, blobs: BlobStore, options: tuple[Any, ...], inputs: list[Any], end: int
    ) -> _Chain:
        """The chain to extend: this session's, unless it cannot be (lock held)."""
        chain = self._chain
        if (
            chain is None
            or chain.options != options
            or chain.consumed > end
            or (chain.consumed > 1 and inputs[chain.consumed - 1] != chain.last_input)
            or (chain.prev is not None and not blobs.present(chain.prev))
        ):
            chain = self._chain = _Chain(options)
        return chain

    def _add(
        self,
        blobs: BlobStore,
        chain: _Chain,
        cell: dict[str, Any],
        limit: int,
        redactor: Any | None,
    ) -> str:
        stored = _store_cell(blobs, cell, limit, redactor)
        chain.flags.extend(_redaction_flags(stored, cell["id"], chain.cells))
        chain.cells += 1
        return stored.digest
