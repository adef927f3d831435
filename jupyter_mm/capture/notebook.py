"""Where a run's notebook checkpoint comes from (DESIGN §2).

Three sources, best first:

``live``
    JupyterLab (or ``jupyter mm run``) sends the in-memory notebook on the ``jupyter_mm``
    comm just before the execute request of a tracked cell. Messages on one channel arrive
    in order, so the snapshot is waiting in :class:`LiveSnapshots` when the magic runs.
``file``
    The ``.ipynb`` at the kernel's session path (``JPY_SESSION_NAME`` / ``__session__``), as
    last saved. Unsaved edits are missing, which is why it is only second best.
``history``
    Reconstructed from the kernel session's own input history: one code cell per execution,
    in execution order. Always available, so :func:`capture_notebook` never comes back
    empty-handed.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

import nbformat
from nbformat import NotebookNode

from ..errors import InvalidInput

#: notebook metadata key set on notebooks rebuilt from the session history
HISTORY_MARKER = "jupyter_mm"

#: comm target the lab extension and ``jupyter mm run`` open on the kernel
COMM_TARGET = "jupyter_mm"

# Unconsumed snapshots kept at most. The frontend only pushes before tracked cells, so more
# than a handful pending means cells were interrupted before the magic ran; old ones are
# useless then and dropping them bounds memory.
_MAX_PENDING = 8


@dataclass
class NotebookSnapshot:
    """A notebook as it was when a tracked cell started, and where it came from."""

    notebook: NotebookNode
    #: "live" | "file" | "history" (see ``entities.CheckpointSource``)
    source: str
    path: str | None = None
    #: id of the tracked cell within ``notebook`` (None when it could not be located)
    cell_id: str | None = None
    #: capture problems worth telling the user (a fallback was used, cell not found, …)
    warnings: list[str] = field(default_factory=list)
    #: identifies the content without reading it (file source: path, mtime, size), so that
    #: an unchanged notebook is checkpointed once (see ``store_checkpoint``)
    source_key: tuple[Any, ...] | None = None
    #: the cells' fingerprints when the snapshot was validated here (live snapshots)
    fingerprints: list[bytes] | None = None


@dataclass
class _Pending:
    notebook: dict[str, Any]
    cell_id: str | None
    path: str | None


def _node(notebook: dict[str, Any]) -> NotebookNode:
    """A notebook sent as JSON, with attribute access on the notebook, its metadata, its
    cells and their metadata. Outputs stay plain dicts: ``nbformat.from_dict`` converting
    every nested value costs as much as validating the whole notebook, on every run."""
    node = NotebookNode(notebook)
    node["metadata"] = NotebookNode(notebook.get("metadata") or {})
    cells = []
    for cell in notebook.get("cells", []):
        cell = NotebookNode(cell) if isinstance(cell, dict) else cell
        if isinstance(cell, dict) and isinstance(cell.get("metadata"), dict):
            cell["metadata"] = NotebookNode(cell["metadata"])
        cells.append(cell)
    node["cells"] = cells
    return node


class LiveSnapshots:
    """Thread-safe mailbox between the kernel's comm handler and the ``%%track`` magic.

    The comm handler runs on the kernel's shell channel before the execute request of the
    tracked cell; the magic runs during that request. A lock is still needed because comm
    messages may be dispatched from the control thread by some kernels.
    """

    def __init__(self, max_pending: int = _MAX_PENDING) -> None:
        self._lock = threading.Lock()
        self._pending: deque[_Pending] = deque(maxlen=max_pending)

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)

    def push(self, notebook: dict[str, Any], cell_id: str | None, path: str | None) -> None:
        """Queue a snapshot of ``notebook`` sent for the cell ``cell_id``."""
        if not isinstance(notebook, dict):
            raise InvalidInput("A live notebook snapshot must be a JSON object.")
        with self._lock:
            self._pending.append(_Pending(notebook, cell_id, path))

    def take(self, cell_id: str | None) -> NotebookSnapshot | None:
        """Consume the snapshot pushed for ``cell_id``.

        With an unknown executing cell id (nbclient sends no ``cellId``) the most recent
        unconsumed snapshot is taken. A snapshot pushed without a cell id serves any cell.
        Returns None when nothing suitable is waiting. Each snapshot is consumed once.
        """
        with self._lock:
            chosen: _Pending | None = None
            for pending in reversed(self._pending):
                if cell_id is None or pending.cell_id in (cell_id, None):
                    chosen = pending
                    break
            if chosen is None:
                return None
            self._pending.remove(chosen)
        notebook = _node(chosen.notebook)
        located = _locate_cell(notebook, chosen.cell_id or cell_id, None)
        return NotebookSnapshot(notebook, "live", chosen.path, located)

    def handle_message(self, data: Any) -> None:
        """Apply one comm message (protocol: ``{"type": "snapshot", "cell_id": str|null,
        "path": str|null, "notebook": <nbformat v4 JSON>}``). Raises InvalidInput for a
        message that does not follow it; unknown message types are ignored so that newer
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
        self.push(notebook, cell_id, path)

    def comm_opened(self, comm: Any, open_msg: dict[str, Any]) -> None:
        """Comm target callback: ``comm_manager.register_target(COMM_TARGET,
        live.comm_opened)``. Bad messages are dropped (and answered with an error message
        on the comm) rather than raised: a frontend glitch must not disturb the kernel."""

        def on_msg(msg: dict[str, Any]) -> None:
            data = (msg.get("content") or {}).get("data")
            if not data:
                return  # an open without payload
            try:
                self.handle_message(data)
            except InvalidInput as exc:
                comm.send({"type": "error", "message": str(exc)})

        comm.on_msg(on_msg)
        # A client may put the first snapshot in the open message itself.
        on_msg(open_msg)


# -- file snapshots ---------------------------------------------------------------------------

# (path, mtime_ns, size) -> parsed and validated notebook, or the error text. Reading and
# validating a 200-cell notebook costs ~30 ms; a tracked cell re-run without a save in
# between must not pay that again.
_FILE_CACHE: OrderedDict[tuple[str, int, int], NotebookNode | str] = OrderedDict()
_FILE_CACHE_SIZE = 4
_FILE_CACHE_LOCK = threading.Lock()


def read_notebook_file(path: str) -> NotebookNode:
    """Read and validate an .ipynb, converting older formats to v4. Cached on
    (path, mtime, size). Raises InvalidInput with a readable reason; the cached notebook is
    shared, so callers must copy before mutating."""
    return _read_notebook_file(path)[0]


def _read_notebook_file(path: str) -> tuple[NotebookNode, tuple[str, int, int]]:
    """:func:`read_notebook_file` and the cache key it was found under."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise InvalidInput(f"The notebook {path} cannot be read ({exc.strerror}).") from None
    key = (os.path.abspath(path), st.st_mtime_ns, st.st_size)
    with _FILE_CACHE_LOCK:
        cached = _FILE_CACHE.get(key)
        if cached is not None:
            _FILE_CACHE.move_to_end(key)
    if cached is None:
        cached = _parse_notebook_file(path)
        with _FILE_CACHE_LOCK:
            _FILE_CACHE[key] = cached
            while len(_FILE_CACHE) > _FILE_CACHE_SIZE:
                _FILE_CACHE.popitem(last=False)
    if isinstance(cached, str):
        raise InvalidInput(cached)
    return cached, key


def _private_copy(notebook: NotebookNode) -> NotebookNode:
    """An independent copy of a cached notebook. This runs on every tracked cell: a JSON round
    trip of a 200-cell notebook costs about a quarter of ``copy.deepcopy`` (which walks every
    NotebookNode attribute) and yields the same plain JSON structure."""
    return nbformat.from_dict(json.loads(json.dumps(notebook)))


def _parse_notebook_file(path: str) -> NotebookNode | str:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except UnicodeDecodeError:
        return f"The notebook {path} is not valid UTF-8."
    except OSError as exc:
        return f"The notebook {path} cannot be read ({exc.strerror})."
    try:
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except nbformat.ValidationError as exc:
        reason = str(exc.message).splitlines()[0]
        return f"The notebook {path} is not a valid nbformat 4 notebook ({reason})."
    except Exception as exc:  # nbformat raises bare JSON/Reader errors for malformed files
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"The notebook {path} is not a readable notebook ({reason})."
    return notebook


def session_path(shell: Any) -> str | None:
    """The notebook the kernel belongs to, when the server told us."""
    path = os.environ.get("JPY_SESSION_NAME")
    if not path:
        user_ns = getattr(shell, "user_ns", None) or {}
        path = user_ns.get("__session__")
    return path if isinstance(path, str) and path else None


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
            cell = nbformat.v4.new_code_cell(source=source, execution_count=count)
            cell["id"] = f"exec-{count}"
            cells.append(cell)
    current_count = len(inputs) - 1 if last_is_current else None
    current = nbformat.v4.new_code_cell(source=raw_cell, execution_count=current_count)
    current["id"] = cell_id if cell_id and _valid_cell_id(cell_id) else "tracked-cell"
    cells.append(current)
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["language_info"] = {"name": "python"}
    # Marks the notebook as the execution order itself (see execution.compute_flags).
    notebook.metadata[HISTORY_MARKER] = {"reconstructed_from": "history"}
    return notebook


def _valid_cell_id(cell_id: str) -> bool:
    return 0 < len(cell_id) <= 64 and all(c.isalnum() or c in "-_" for c in cell_id)


# -- the entry point --------------------------------------------------------------------------


def capture_notebook(
    shell: Any,
    *,
    cell_id: str | None,
    raw_cell: str,
    live: LiveSnapshots | None,
    copy: bool = True,
) -> NotebookSnapshot:
    """The best available notebook for the tracked cell ``raw_cell`` (id ``cell_id``).

    Never raises for a bad notebook: each source that fails adds a warning and the next one
    is tried; the history source always succeeds. Live and file snapshots are validated
    against nbformat 4, so the result can always be checkpointed.

    With ``copy=False`` a file snapshot is the parsed notebook shared with the file cache
    (no copy on the tracked cell's critical path): the caller must not modify it.
    """
    warnings: list[str] = []
    if live is not None:
        snapshot = live.take(cell_id)
        if snapshot is not None:
            from .checkpoint import validate_notebook

            try:
                # Cheap after the first run: only changed cells are validated again.
                snapshot.fingerprints = validate_notebook(snapshot.notebook)
            except InvalidInput as exc:
                warnings.append(f"The notebook sent by the frontend was unusable: {exc}")
            else:
                if snapshot.cell_id is None:
                    snapshot.cell_id = _locate_cell(snapshot.notebook, None, raw_cell)
                return snapshot

    path = session_path(shell)
    if path and path.endswith(".ipynb"):
        try:
            shared, key = _read_notebook_file(path)
            # copy: the cached notebook is shared between runs and callers may mutate theirs
            notebook = _private_copy(shared) if copy else shared
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

    notebook = history_notebook(shell, cell_id=cell_id, raw_cell=raw_cell)
    return NotebookSnapshot(notebook, "history", path, notebook.cells[-1]["id"], warnings)
