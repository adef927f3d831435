"""The notebook checkpoint of a run started in a kernel (``docs/architecture.md#tracking-a-cell``).

A run started in an IPython kernel — by ``%%track`` or by ``mm.start_run()`` in a notebook
cell — records the notebook as it was when the run started, from the best source available:
the live snapshot the frontend (or ``jupyter mm run`` / the papermill engine) sent on the
comm, else the saved file at the kernel's session path, else the session's history. With it
come the params of the notebook's parameter cells, the reproducibility flags and the run's
position in the session's execution log.

:class:`KernelSession` holds what one shell keeps across its runs (the execution recorder,
the frontend channel, the history checkpoints). ``load_ipython_extension`` registers one per
shell with its recorder and channel; ``mm.start_run()`` in a kernel without the extension
gets a bare one (saved file or history, no execution log).
"""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING, Any

from ..notebook_paths import canonical_notebook_path
from .cell import HistoryParameterCells, parameter_cell_params
from .process import describe_exception, get_config, redactor

if TYPE_CHECKING:
    from .active import ActiveRun

#: one KernelSession per shell (keyed by ``id(shell)``)
_sessions: dict[int, KernelSession] = {}


def execute_request(shell: Any) -> dict[str, Any]:
    """The execute request being run (empty outside a Jupyter kernel)."""
    kernel = getattr(shell, "kernel", None)
    if kernel is None:
        return {}
    try:
        parent = kernel.get_parent("shell")
    except TypeError:  # older signature without a channel argument
        parent = kernel.get_parent()
    except Exception:
        return {}
    return parent if isinstance(parent, dict) else {}


def current_cell_id(shell: Any) -> str | None:
    """JupyterLab's cell id from the execute request's metadata, when there is one."""
    cell_id = (execute_request(shell).get("metadata") or {}).get("cellId")
    return cell_id if isinstance(cell_id, str) else None


def current_cell_code(shell: Any) -> str | None:
    """The code of the cell being executed, as the kernel received it."""
    content = execute_request(shell).get("content")
    code = content.get("code") if isinstance(content, dict) else None
    return code if isinstance(code, str) else None


class KernelSession:
    """What one IPython shell keeps across its runs, and the checkpoint pipeline."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        #: capture.execution.ExecutionRecorder (set by load_ipython_extension)
        self.recorder: Any = None
        #: comm.FrontendChannel (set by load_ipython_extension)
        self.channel: Any = None
        #: this session's history checkpoints (capture.history_checkpoint), made on first use
        self.history: Any = None
        self.parameter_history = HistoryParameterCells()

    def begin_run(self, active: ActiveRun, *, cell_id: str | None, raw_cell: str) -> None:
        """Checkpoint the notebook for ``active`` (the cell ``raw_cell``, id ``cell_id``),
        place it in the session's execution log and begin it (insert the run row). A
        capture problem is a run warning; KeyboardInterrupt propagates."""
        parts: list[str] = []
        store_key = None
        if active.store is not None:
            with active.guard("capturing the notebook"):
                parts = self._checkpoint(active, cell_id, raw_cell)
            if self.recorder is not None:
                store_key = str(getattr(active.store, "url", id(active.store)))
                active.session_log = self.recorder.session_log(store_key)
        active.begin()
        if active.recorded and active.session_log is not None and store_key is not None:
            self.recorder.stored(store_key, active.session_log.position)
        if active.recorded and parts and active.store is not None:
            # named through the manifest the run row names
            active.store.blobs.note_referenced(parts)

    def _checkpoint(self, active: ActiveRun, cell_id: str | None, raw_cell: str) -> list[str]:
        """Store the checkpoint; return its parts (the run links only the manifest)."""
        from ..capture.notebook import capture_notebook, message_session

        live = self.channel.live if self.channel is not None else None
        # copy=False: nothing below modifies the notebook, and copying a big one would cost
        # more than everything else at the start of the cell
        snapshot = capture_notebook(
            self.shell,
            cell_id=cell_id,
            raw_cell=raw_cell,
            live=live,
            copy=False,
            session=message_session(execute_request(self.shell)),
            build_history=False,
        )
        for warning in snapshot.warnings:
            active.warn(warning)
        run = active.run  # not begun yet: the row is written with these
        run.notebook_path = canonical_notebook_path(snapshot.path) or run.notebook_path
        run.cell_id = snapshot.cell_id or run.cell_id
        with active.guard("reading the parameter cells"):
            active.log_params(self._parameter_cell_params(snapshot))
        if snapshot.notebook is None:  # the session history, stored incrementally
            from ..capture.history_checkpoint import HistoryCheckpoints

            self.history = self.history or HistoryCheckpoints()
            digest, flags = self.history.store_for(active, self.shell, cell_id, raw_cell)
            # a history notebook is the execution order itself: no other flags
            active.set_checkpoint(digest, snapshot.source, flags)
            return []
        return self._store_notebook(active, snapshot)

    def _parameter_cell_params(self, snapshot: Any) -> dict[str, Any]:
        """Params of the parameter cells above the run, logged first: the cell's own
        literal and ``--param`` values override them."""
        namespace = self.shell.user_ns
        if snapshot.notebook is not None:
            return parameter_cell_params(snapshot.notebook, snapshot.cell_id, namespace)
        # no notebook: papermill's injected cell is known by its header
        inputs = namespace.get("In", [])
        notebook = self.parameter_history.notebook(inputs, len(inputs) - 1)
        return parameter_cell_params(notebook, None, namespace)

    def _store_notebook(self, active: ActiveRun, snapshot: Any) -> list[str]:
        from ..capture.checkpoint import as_cell_starts, store_checkpoint

        store = active.store
        assert store is not None  # _checkpoint runs only with a store
        # the tracked cell without the previous run's outputs (see as_cell_starts); the
        # tracked cell is part of what identifies the stored result of a saved file
        started, fingerprints = as_cell_starts(
            snapshot.notebook, snapshot.cell_id, snapshot.fingerprints
        )
        source_key = snapshot.source_key and (*snapshot.source_key, snapshot.cell_id)
        digest, parts, flags = store_checkpoint(
            store.blobs,
            started,
            large_output_bytes=get_config().large_output_bytes,
            redactor=redactor(),
            source_key=source_key,
            fingerprints=fingerprints,
        )
        active.set_checkpoint(digest, snapshot.source, flags)
        if self.recorder is not None:
            from ..capture.execution import compute_flags

            active.add_flags(
                compute_flags(
                    self.recorder.index,
                    snapshot.notebook,
                    active.run.cell_id,
                    notebook_key=snapshot.source_key,
                )
            )
        return parts


def register(shell: Any) -> KernelSession:
    """The KernelSession of ``shell``, made on first use (load_ipython_extension fills in
    its recorder and channel)."""
    session = _sessions.get(id(shell))
    if session is None or session.shell is not shell:
        session = _sessions[id(shell)] = KernelSession(shell)
    return session


def unregister(shell: Any) -> None:
    _sessions.pop(id(shell), None)


def begin_in_kernel(active: ActiveRun) -> bool:
    """Begin ``active`` with a notebook checkpoint when this process is a Jupyter kernel
    running a cell (``mm.start_run()`` in a notebook); False (nothing done) otherwise.
    Never raises but KeyboardInterrupt: a capture failure is a run warning, and a failure
    before the run began leaves it to the caller to begin it plainly."""
    from .process import ipython

    shell = ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return False
    raw_cell = current_cell_code(shell)
    if raw_cell is None:  # not inside an execute request (a thread, a comm handler)
        return False
    try:
        session = register(shell)
        session.begin_run(active, cell_id=current_cell_id(shell), raw_cell=raw_cell)
    except Exception as exc:
        if active.ended or active in _stack():
            return True
        active.warn(f"capturing the notebook: {describe_exception(exc)}")
        return False
    return True


def _stack() -> list[ActiveRun]:
    from .process import state

    return state.stack


def report_not_recorded(exc: BaseException) -> None:
    """The one line when a run could not even start (the cell still runs)."""
    with contextlib.suppress(Exception):
        print(f"jupyter-mm: run not recorded: {describe_exception(exc)}", file=sys.stderr)
