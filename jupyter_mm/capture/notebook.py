"""Where a run's notebook checkpoint comes from (``docs/architecture.md#the-comm-protocol``).

Three sources, best first:

``live`` (``headless``, ``papermill``)
    JupyterLab (or ``jupyter mm run``) sends the in-memory notebook on the ``jupyter_mm``
    comm just before the execute request of a tracked cell. Messages on one channel arrive
    in order, so the snapshot is waiting in :class:`LiveSnapshots` when the magic runs.
    JupyterLab sends only what changed since its previous snapshot (see "Delta snapshots"
    below). A sender that is not an editor says what it is in the message's ``source``:
    ``headless`` (``jupyter mm run``, ``reproduce``) or ``papermill`` (the papermill
    engine); the run's checkpoint source is that, so nobody reads "unsaved edits" into a
    notebook nobody edited.
``file``
    The ``.ipynb`` at the kernel's session path (``JPY_SESSION_NAME`` / ``__session__``), as
    last saved. Unsaved edits are missing, which is why it is only second best.
``history``
    Reconstructed from the kernel session's own input history: one code cell per execution,
    in execution order. Always available, so :func:`capture_notebook` never comes back
    empty-handed.

Delta snapshots
---------------
A snapshot message is ``{"type": "snapshot", "cell_id", "path", "seq", "base", "source",
"notebook": {"nbformat", "nbformat_minor", "metadata", "cells"}}`` (``source`` optional,
``live`` when absent). ``seq`` (optional, an integer in
``0..2**53-1``) numbers the snapshots a frontend sends on one comm. With ``base`` null or
absent the message is a full snapshot (what older frontends and ``jupyter mm run`` send).
With ``base`` = the ``seq`` of the previous snapshot on the same comm, ``cells`` may name an
unchanged cell by its id alone (``["id-a", {<changed cell>}, "id-c"]``); the kernel rebuilds
the notebook from its copy of that previous snapshot and reuses the unchanged cells'
fingerprints, so only changed cells are hashed and validated.

The kernel keeps one base per comm, updated when a message is *handled* (in order on the
shell channel, even when the tracked cell is interrupted before the magic runs) and dropped
when the comm closes. A delta it cannot rebuild (another base, an unknown id) raises
:class:`StaleBase`: the comm answers ``{"type": "resync"}``, the base is dropped, and the
tracked cell it was sent for checkpoints the saved file with one warning. The frontend sends
a full snapshot next. Cells held in a base are shared by the snapshots built from it: the
notebooks :meth:`LiveSnapshots.take` returns must be treated as read-only.

Unchanged notebooks
-------------------
A frontend whose notebook is exactly its last snapshot on the comm (same cells in the same
order, same metadata and path; the tracked cell compared without its outputs and execution
count, which the checkpoint clears anyway) sends nothing at all: a comm message costs the
kernel a full round of message handling. When a tracked cell starts with no snapshot waiting,
the base of the comm whose messages came from the same client session as the execute
request (``header.session``, one per frontend connection) serves as its live snapshot, if it
holds the cell. Messages of one connection arrive in order, so that base is what the
frontend shows.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict, deque
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import blake3

from ..entities import SNAPSHOT_SOURCES
from ..errors import InvalidInput
from .nbschema import NotebookNode, new_code_cell, new_notebook
from .notebook_file import private_copy, read_notebook_file_keyed

#: notebook metadata key set on notebooks rebuilt from the session history
HISTORY_MARKER = "jupyter_mm"

#: comm target the lab extension and ``jupyter mm run`` open on the kernel
COMM_TARGET = "jupyter_mm"

# Unconsumed snapshots kept at most. The frontend only pushes before tracked cells, so more
# than a handful pending means cells were interrupted before the magic ran; old ones are
# useless then and dropping them bounds memory.
_MAX_PENDING = 8
# Bases kept at most (one per open comm). A browser tab that vanishes may never close its
# comm; the least recently used base goes first, and costs that frontend one resync.
_MAX_BASES = 8
#: the frontend counts ``seq`` in a JavaScript number (Number.MAX_SAFE_INTEGER)
MAX_SEQ = 2**53 - 1
#: cell metadata keys that make Jupyter trust outputs (as ``checkpoint.TRUST_KEYS``; not
#: imported from there, which would load the store package when the first snapshot arrives)
_TRUST_KEYS = frozenset({"trusted", "signature"})


class StaleBase(InvalidInput):
    """A delta snapshot the kernel cannot rebuild (its base is not the one the kernel holds
    for the comm, or it names a cell the base lacks): the frontend must send a full one."""


@dataclass
class NotebookSnapshot:
    """A notebook as it was when a tracked cell started, and where it came from."""

    notebook: NotebookNode
    #: "live" | "headless" | "papermill" | "file" | "history" (``entities.CheckpointSource``)
    source: str
    path: str | None = None
    #: id of the tracked cell within ``notebook`` (None when it could not be located)
    cell_id: str | None = None
    #: capture problems worth telling the user (a fallback was used, cell not found, …)
    warnings: list[str] = field(default_factory=list)
    #: identifies the content (file: path, mtime, size; live: a digest of the cells'
    #: fingerprints and the metadata), so that an unchanged notebook is checkpointed once
    #: (see ``store_checkpoint``)
    source_key: tuple[Any, ...] | None = None
    #: the cells' fingerprints when the snapshot was validated here (live snapshots)
    fingerprints: list[bytes] | None = None
    #: live snapshots: the received cells, which remember their fingerprints once validated
    live_cells: list[_LiveCell] | None = field(default=None, repr=False)


@dataclass
class _LiveCell:
    """One received cell (as a NotebookNode), shared by every snapshot rebuilt from the base
    that holds it; its fingerprint is filled in when a snapshot using it is validated."""

    cell: Any
    fingerprint: bytes | None = None


@dataclass
class _Base:
    """The last snapshot applied on one comm: its seq, its cells by id (in notebook order),
    the rest of the notebook, its path and the client session that sent it."""

    seq: int
    cells: dict[str, _LiveCell]
    top: dict[str, Any] = field(default_factory=dict)
    path: str | None = None
    session: str | None = None
    source: str = "live"


@dataclass
class _Pending:
    #: the notebook without its cells (nbformat, nbformat_minor, metadata, …)
    top: dict[str, Any]
    cells: list[_LiveCell]
    cell_id: str | None
    path: str | None
    #: why a snapshot sent for ``cell_id`` could not be rebuilt (the magic warns once)
    error: str | None = None
    #: the comm it came on
    channel: Hashable = None
    #: who sent it (``entities.SNAPSHOT_SOURCES``)
    source: str = "live"


def _cell_node(cell: Any) -> Any:
    """A received cell with attribute access on it and its metadata. Outputs stay plain
    dicts: converting every nested value costs as much as validating
    the whole notebook. Anything but a dict is kept as sent (validation names it).

    JupyterLab sends each cell's ``metadata.trusted``; it is dropped here, so that a
    snapshot is never a trusted notebook (see ``checkpoint.TRUST_KEYS``) and the same
    cell fingerprints the same whether it came live or from the saved file."""
    if not isinstance(cell, dict):
        return cell
    node = NotebookNode(cell)
    metadata = node.get("metadata")
    if isinstance(metadata, dict):
        node["metadata"] = NotebookNode((k, v) for k, v in metadata.items() if k not in _TRUST_KEYS)
    return node


def _node(notebook: dict[str, Any]) -> NotebookNode:
    """A notebook sent as JSON, with attribute access on the notebook, its metadata, its
    cells and their metadata (see :func:`_cell_node`)."""
    return _assemble(notebook, [_cell_node(cell) for cell in notebook.get("cells", [])])


def _assemble(top: dict[str, Any], cells: list[Any]) -> NotebookNode:
    node = NotebookNode(top)
    node["metadata"] = NotebookNode(top.get("metadata") or {})
    node["cells"] = cells
    return node


def _snapshot_source(data: dict[str, Any]) -> str:
    """Who sent a snapshot (``live`` unless the message says otherwise)."""
    source = data.get("source", "live")
    if source not in SNAPSHOT_SOURCES:
        raise InvalidInput(
            f"The snapshot's source must be one of {', '.join(SNAPSHOT_SOURCES)}, "
            f"not {str(source)[:40]!r}."
        )
    return str(source)


def _check_seq(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEQ:
        raise InvalidInput(f"The snapshot's {name} must be an integer from 0 to 2**53-1.")
    return value


def _by_id(cells: list[_LiveCell]) -> dict[str, _LiveCell] | None:
    """The cells by id, or None when some cell has no string id or an id repeats (such a
    notebook cannot be a base: a delta could not say which cell it means)."""
    found: dict[str, _LiveCell] = {}
    for live in cells:
        cell_id = live.cell.get("id") if isinstance(live.cell, dict) else None
        if not isinstance(cell_id, str) or cell_id in found:
            return None
        found[cell_id] = live
    return found


class LiveSnapshots:
    """Thread-safe mailbox between the kernel's comm handler and the ``%%track`` magic, and
    the per-comm bases that delta snapshots are rebuilt from.

    The comm handler runs on the kernel's shell channel before the execute request of the
    tracked cell; the magic runs during that request. A lock is still needed because comm
    messages may be dispatched from the control thread by some kernels.
    """

    def __init__(self, max_pending: int = _MAX_PENDING, max_bases: int = _MAX_BASES) -> None:
        self._lock = threading.Lock()
        self._pending: deque[_Pending] = deque(maxlen=max_pending)
        self._bases: OrderedDict[Hashable, _Base] = OrderedDict()
        self._max_bases = max_bases
        #: delta snapshots rebuilt so far (diagnostics: shows the frontend sends deltas)
        self.deltas_applied = 0
        #: tracked cells checkpointed from a base the frontend had nothing to add to
        self.bases_reused = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)

    def base_seq(self, channel: Hashable = None) -> int | None:
        """The seq of the base held for ``channel`` (a comm id), None when there is none."""
        with self._lock:
            base = self._bases.get(channel)
            return None if base is None else base.seq

    def forget(self, channel: Hashable) -> None:
        """Drop the base of ``channel`` (its comm closed)."""
        with self._lock:
            self._bases.pop(channel, None)

    def push(self, notebook: dict[str, Any], cell_id: str | None, path: str | None) -> None:
        """Queue a (full) snapshot of ``notebook`` sent for the cell ``cell_id``."""
        if not isinstance(notebook, dict):
            raise InvalidInput("A live notebook snapshot must be a JSON object.")
        cells = [_LiveCell(_cell_node(cell)) for cell in notebook.get("cells", [])]
        with self._lock:
            self._pending.append(_Pending(notebook, cells, cell_id, path))

    def take(self, cell_id: str | None, session: str | None = None) -> NotebookSnapshot | None:
        """Consume the snapshot pushed for ``cell_id``.

        With an unknown executing cell id (nbclient sends no ``cellId``) the most recent
        unconsumed snapshot is taken. A snapshot pushed without a cell id serves any cell.
        Each snapshot is consumed once. When none is waiting, the base of the comm that the
        executing request's client ``session`` talks on serves, if it holds the cell: that
        frontend had nothing new to send (see "Unchanged notebooks" in the module
        docstring). Returns None when nothing suitable is there. Raises InvalidInput when
        the frontend sent a snapshot for the cell that could not be rebuilt (the caller
        falls back to another source and warns).
        """
        with self._lock:
            chosen: _Pending | None = None
            for pending in reversed(self._pending):
                if cell_id is None or pending.cell_id in (cell_id, None):
                    chosen = pending
                    break
            if chosen is None:
                return self._from_base(cell_id, session)
            self._pending.remove(chosen)
        if chosen.error is not None:
            raise InvalidInput(chosen.error)
        notebook = _assemble(chosen.top, [live.cell for live in chosen.cells])
        located = _locate_cell(notebook, chosen.cell_id or cell_id, None)
        snapshot = NotebookSnapshot(notebook, chosen.source, chosen.path, located)
        snapshot.live_cells = chosen.cells
        return snapshot

    def _from_base(self, cell_id: str | None, session: str | None) -> NotebookSnapshot | None:
        """The snapshot a frontend did not resend because nothing changed (lock held)."""
        if cell_id is None or session is None:
            return None
        for base in reversed(self._bases.values()):
            if base.session == session and cell_id in base.cells:
                self.bases_reused += 1
                cells = list(base.cells.values())
                notebook = _assemble(base.top, [live.cell for live in cells])
                snapshot = NotebookSnapshot(notebook, base.source, base.path, cell_id)
                snapshot.live_cells = cells
                return snapshot
        return None

    def handle_message(
        self, data: Any, channel: Hashable = None, session: str | None = None
    ) -> None:
        """Apply one comm message received on ``channel`` (the comm's id) from the client
        ``session`` (its messages' ``header.session``; see the module docstring for the
        protocol). Raises InvalidInput for a message that does not follow it, StaleBase for
        a delta that cannot be rebuilt; unknown message types are ignored so that newer
        frontends can talk to older kernels."""
        if not isinstance(data, dict):
            raise InvalidInput("A jupyter_mm comm message must be a JSON object.")
        if data.get("type") != "snapshot":
            return
        cell_id, path, notebook = data.get("cell_id"), data.get("path"), data.get("notebook")
        if cell_id is not None and not isinstance(cell_id, str):
            raise InvalidInput("The snapshot's cell_id must be a string or null.")
        if path is not None and not isinstance(path, str):
            raise InvalidInput("The snapshot's path must be a string or null.")
        if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
            raise InvalidInput("The snapshot's notebook must be an nbformat v4 JSON object.")
        if notebook.get("nbformat") != 4:
            raise InvalidInput("Only nbformat 4 notebooks can be snapshotted.")
        source = _snapshot_source(data)
        top = {key: value for key, value in notebook.items() if key != "cells"}
        with self._lock:
            if channel is not None:
                # Its execute request follows each snapshot in order: one still waiting
                # from this comm belongs to a cell that was interrupted before it ran, and
                # must not stand for a later run of that cell the frontend sent nothing for.
                self._pending = deque(
                    (p for p in self._pending if p.channel != channel),
                    maxlen=self._pending.maxlen,
                )
            try:
                seq = _check_seq(data.get("seq"), "seq")
                base = _check_seq(data.get("base"), "base")
                if base is not None and seq is None:
                    raise InvalidInput("A delta snapshot (with a base) needs a seq.")
                cells, by_id = self._rebuild(channel, base, notebook["cells"])
            except InvalidInput as exc:
                # the frontend's idea of the base is wrong now: keep none, and tell the
                # tracked cell why it has no live checkpoint
                self._bases.pop(channel, None)
                self._pending.append(_Pending(top, [], cell_id, path, str(exc), channel))
                raise
            if base is not None:
                self.deltas_applied += 1
            if seq is None or by_id is None:
                self._bases.pop(channel, None)
            else:
                self._bases[channel] = _Base(seq, by_id, top, path, session, source)
                self._bases.move_to_end(channel)
                while len(self._bases) > self._max_bases:
                    self._bases.popitem(last=False)
            self._pending.append(
                _Pending(top, cells, cell_id, path, channel=channel, source=source)
            )

    def _rebuild(
        self, channel: Hashable, base: int | None, entries: list[Any]
    ) -> tuple[list[_LiveCell], dict[str, _LiveCell] | None]:
        """The cells of a snapshot (from the held base for a delta) and the same by id."""
        if base is None:
            cells = [_LiveCell(_cell_node(entry)) for entry in entries]
            return cells, _by_id(cells)
        held = self._bases.get(channel)
        if held is None or held.seq != base:
            have = "none" if held is None else str(held.seq)
            raise StaleBase(
                f"The snapshot is a delta on snapshot {base}, but the kernel holds {have} for "
                "this comm; the frontend must send the whole notebook."
            )
        cells = []
        for index, entry in enumerate(entries):
            if isinstance(entry, str):
                live = held.cells.get(entry)
                if live is None:
                    raise StaleBase(
                        f"Cell {index + 1} of the delta snapshot names the cell id "
                        f"{entry[:64]!r}, which snapshot {base} does not have."
                    )
            elif isinstance(entry, dict):
                if not isinstance(entry.get("id"), str):
                    raise InvalidInput(f"Cell {index + 1} of the delta snapshot has no string id.")
                live = _LiveCell(_cell_node(entry))
            else:
                raise InvalidInput(
                    f"Cell {index + 1} of the delta snapshot is neither a cell id nor a cell."
                )
            cells.append(live)
        by_id = _by_id(cells)
        if by_id is None:
            raise InvalidInput("The delta snapshot lists a cell id more than once.")
        return cells, by_id

    def comm_opened(self, comm: Any, open_msg: dict[str, Any]) -> None:
        """Comm target callback: ``comm_manager.register_target(COMM_TARGET,
        live.comm_opened)``. Bad messages are dropped (and answered with an error or resync
        message on the comm) rather than raised: a frontend glitch must not disturb the
        kernel. Closing the comm drops its base."""
        channel = getattr(comm, "comm_id", None) or id(comm)

        def on_msg(msg: dict[str, Any]) -> None:
            data = (msg.get("content") or {}).get("data")
            if not data:
                return  # an open without payload
            try:
                self.handle_message(data, channel, message_session(msg))
            except StaleBase as exc:
                comm.send({"type": "resync", "message": str(exc)})
            except InvalidInput as exc:
                comm.send({"type": "error", "message": str(exc)})

        comm.on_msg(on_msg)
        comm.on_close(lambda msg: self.forget(channel))
        # A client may put the first snapshot in the open message itself.
        on_msg(open_msg)


def message_session(msg: Any) -> str | None:
    """The client session (``header.session``) of a Jupyter message: the same for every
    message one frontend connection sends, comm messages and execute requests alike."""
    header = msg.get("header") if isinstance(msg, dict) else None
    session = header.get("session") if isinstance(header, dict) else None
    return session if isinstance(session, str) and session else None


def session_path(shell: Any) -> str | None:
    """The notebook the kernel belongs to, when the server told us."""
    path = os.environ.get("JPY_SESSION_NAME")
    if not path:
        user_ns = getattr(shell, "user_ns", None) or {}
        path = user_ns.get("__session__")
    if not isinstance(path, str) or not path:
        return None
    from ..notebook_paths import canonical_notebook_path

    # Notebook 7 names the notebook relative to the server root
    return canonical_notebook_path(path)


def _normalise(source: Any) -> str:
    text = "".join(source) if isinstance(source, list) else str(source or "")
    return text.replace("\r\n", "\n").rstrip()


def _locate_cell(notebook: NotebookNode, cell_id: str | None, raw_cell: str | None) -> str | None:
    """The id of the tracked cell in ``notebook``: by id, else by source text."""
    cells = notebook.get("cells", [])
    if cell_id is not None:
        for cell in cells:
            if cell.get("id") == cell_id:
                return cell_id
    if raw_cell is not None:
        wanted = _normalise(raw_cell)
        for cell in cells:
            if cell.get("cell_type") == "code" and _normalise(cell.get("source")) == wanted:
                return cell.get("id")
    return None


# -- history snapshots ------------------------------------------------------------------------


def _history_inputs(shell: Any) -> list[str]:
    """Raw inputs of this session; index i is execution count i (index 0 is empty)."""
    manager = getattr(shell, "history_manager", None)
    inputs = getattr(manager, "input_hist_raw", None)
    if not inputs:
        user_ns = getattr(shell, "user_ns", None) or {}
        inputs = user_ns.get("In")
    return list(inputs) if inputs else [""]


def history_notebook(shell: Any, *, cell_id: str | None, raw_cell: str) -> NotebookNode:
    """A notebook with one code cell per execution of this session, ending with the
    current cell (whose id is ``cell_id`` when known). Cell ids are derived from execution
    counts so that two runs in one session share the unchanged cells' checkpoint blobs."""
    inputs = _history_inputs(shell)
    cells = []
    # IPython stores the running cell's input before executing it; avoid listing it twice.
    last_is_current = len(inputs) > 1 and _normalise(inputs[-1]) == _normalise(raw_cell)
    previous = inputs[1:-1] if last_is_current else inputs[1:]
    for count, source in enumerate(previous, start=1):
        if source and not str(source).isspace():
            cell = new_code_cell(source=source, execution_count=count)
            cell["id"] = f"exec-{count}"
            cells.append(cell)
    current_count = len(inputs) - 1 if last_is_current else None
    current = new_code_cell(source=raw_cell, execution_count=current_count)
    current["id"] = history_cell_id(cell_id)
    cells.append(current)
    notebook = new_notebook(cells=cells)
    notebook.metadata["language_info"] = {"name": "python"}
    # Marks the notebook as the execution order itself (see execution.compute_flags).
    notebook.metadata[HISTORY_MARKER] = {"reconstructed_from": "history"}
    return notebook


def _valid_cell_id(cell_id: str) -> bool:
    return 0 < len(cell_id) <= 64 and all(c.isalnum() or c in "-_" for c in cell_id)


def history_cell_id(cell_id: str | None) -> str:
    """The id of the tracked cell in a notebook rebuilt from the history."""
    return cell_id if cell_id and _valid_cell_id(cell_id) else "tracked-cell"


def _validate_live(snapshot: NotebookSnapshot) -> None:
    """Validate a live snapshot and set its fingerprints. Cells kept from an earlier snapshot
    (a delta's unchanged cells) are not hashed again: their fingerprint was stored on them
    when that snapshot was validated. Raises InvalidInput."""
    from .checkpoint import canonical_json, validate_notebook

    cells = snapshot.live_cells
    known = None if cells is None else [live.fingerprint for live in cells]
    snapshot.fingerprints = validate_notebook(snapshot.notebook, known=known)
    if cells is not None:
        for live, fingerprint in zip(cells, snapshot.fingerprints, strict=True):
            live.fingerprint = fingerprint
    # Identifies the content (every cell's fingerprint and the rest of the notebook), so
    # that a notebook checkpointed before (a re-run with nothing changed) is not walked
    # cell by cell again: see store_checkpoint's and compute_flags' keys.
    rest = {key: value for key, value in snapshot.notebook.items() if key != "cells"}
    content = blake3.blake3(b"".join(snapshot.fingerprints))
    content.update(canonical_json(rest))
    snapshot.source_key = ("live", content.digest())


# -- the entry point --------------------------------------------------------------------------


def capture_notebook(
    shell: Any,
    *,
    cell_id: str | None,
    raw_cell: str,
    live: LiveSnapshots | None,
    copy: bool = True,
    session: str | None = None,
    build_history: bool = True,
) -> NotebookSnapshot:
    """The best available notebook for the tracked cell ``raw_cell`` (id ``cell_id``),
    executed at the request of the client ``session`` (see :meth:`LiveSnapshots.take`).

    Never raises for a bad notebook: each source that fails adds a warning and the next one
    is tried; the history source always succeeds. Live and file snapshots are validated
    against nbformat 4, so the result can always be checkpointed.

    With ``copy=False`` a file snapshot is the parsed notebook shared with the file cache
    (no copy on the tracked cell's critical path): the caller must not modify it.

    With ``build_history=False`` a history snapshot comes back without its notebook
    (``notebook`` None): the caller stores it incrementally (see ``history_checkpoint``).
    """
    warnings: list[str] = []
    if live is not None:
        try:
            snapshot = live.take(cell_id, session)
            if snapshot is not None:
                _validate_live(snapshot)
        except InvalidInput as exc:
            warnings.append(f"The notebook sent by the frontend was unusable: {exc}")
        else:
            if snapshot is not None:
                if snapshot.cell_id is None:
                    snapshot.cell_id = _locate_cell(snapshot.notebook, None, raw_cell)
                return snapshot

    path = session_path(shell)
    if path and path.endswith(".ipynb"):
        try:
            shared, key = read_notebook_file_keyed(path)
            # copy: the cached notebook is shared between runs and callers may mutate theirs
            notebook = private_copy(shared) if copy else shared
        except InvalidInput as exc:
            warnings.append(f"{exc} The checkpoint was rebuilt from the kernel history.")
        else:
            located = _locate_cell(notebook, cell_id, raw_cell)
            if located is None:
                warnings.append(
                    f"The tracked cell is not in the saved file {path} (unsaved changes?); "
                    "the checkpoint is the notebook as last saved."
                )
            return NotebookSnapshot(notebook, "file", path, located, warnings, source_key=key)

    if not build_history:
        return NotebookSnapshot(None, "history", path, history_cell_id(cell_id), warnings)  # type: ignore[arg-type]
    notebook = history_notebook(shell, cell_id=cell_id, raw_cell=raw_cell)
    return NotebookSnapshot(notebook, "history", path, notebook.cells[-1]["id"], warnings)
