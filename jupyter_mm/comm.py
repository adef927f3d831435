"""The ``jupyter_mm`` comm between the frontend and the kernel.

Frontend → kernel: ``{"type": "snapshot", "cell_id", "path", "seq", "base", "notebook"}``
just before the execute request of a tracked cell; messages on the shell channel are handled
in order, so the snapshot is queued when the magic runs. With ``base`` (the ``seq`` of the
previous snapshot on this comm) the message is a delta: unchanged cells are sent as their id
alone, and the kernel rebuilds the notebook from the base it keeps for the comm (one per
comm, dropped on close; the protocol is in :mod:`jupyter_mm.capture.notebook`).

Kernel → frontend on a refused snapshot: ``{"type": "resync", "message"}`` when a delta
cannot be rebuilt (the kernel holds another base, or none), ``{"type": "error", "message"}``
when the message is malformed. Either way the kernel keeps no base for the comm, the
tracked cell checkpoints the saved file with one warning, and the frontend must send the
whole notebook next time.

Kernel → frontend: ``{"type": "run", "run_id", "status"}`` after every tracked run, on every
open comm, so that the sidebar refreshes without polling.

After each tracked cell the kernel also displays the run card, a MIME bundle
(:func:`run_bundle`) that JupyterLab renders and any other frontend shows as text or HTML.

Without a Jupyter kernel (plain IPython, a script) there is no comm manager; everything here
is then a no-op. A garbled message is logged and dropped: a frontend glitch must never
disturb the user's kernel.
"""

from __future__ import annotations

import logging
import threading
from html import escape
from typing import Any

from .entities import DataRef, Run
from .errors import InvalidInput
from .formatting import checkpoint_source_label, format_duration

log = logging.getLogger(__name__)

#: the same name as ``capture.notebook.COMM_TARGET``; repeated here because importing that
#: module imports nbformat (seconds, for its JSON-schema machinery), and ``%load_ext`` must
#: stay instant — nbformat is needed only once a snapshot arrives or a run starts
COMM_TARGET = "jupyter_mm"


class FrontendChannel:
    """The comm target: holds the open comms and the queue of live snapshots."""

    def __init__(self, live: Any = None) -> None:
        self._live = live
        self._comms: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._manager: Any = None

    @property
    def live(self) -> Any:
        """The queue of live snapshots (``capture.notebook.LiveSnapshots``), made on first use."""
        with self._lock:
            if self._live is None:
                from .capture.notebook import LiveSnapshots

                self._live = LiveSnapshots()
            return self._live

    @property
    def open_comms(self) -> int:
        with self._lock:
            return len(self._comms)

    def register(self, shell: Any) -> bool:
        """Register the target on the kernel's comm manager. Returns False (and does
        nothing) outside a Jupyter kernel. Registering again is harmless."""
        kernel = getattr(shell, "kernel", None)
        manager = getattr(kernel, "comm_manager", None) if kernel is not None else None
        if manager is None:
            return False
        manager.register_target(COMM_TARGET, self._on_open)
        self._manager = manager
        return True

    def unregister(self) -> None:
        if self._manager is not None:
            try:
                self._manager.unregister_target(COMM_TARGET, self._on_open)
            except Exception:  # the kernel may already be shutting down
                log.debug("unregistering the %s comm target failed", COMM_TARGET, exc_info=True)
            self._manager = None

    def _on_open(self, comm: Any, open_msg: dict[str, Any]) -> None:
        comm_id = getattr(comm, "comm_id", None) or str(id(comm))
        with self._lock:
            self._comms[comm_id] = comm

        def on_msg(msg: dict[str, Any]) -> None:
            self.handle(comm, msg)

        def on_close(msg: dict[str, Any]) -> None:
            with self._lock:
                self._comms.pop(comm_id, None)
                live = self._live
            if live is not None:
                live.forget(comm_id)  # the delta base of this comm is of no use any more

        comm.on_msg(on_msg)
        comm.on_close(on_close)
        # A frontend may send its first snapshot with the open message itself.
        data = _message_data(open_msg)
        if isinstance(data, dict) and data.get("type"):
            self.handle(comm, open_msg)

    def handle(self, comm: Any, msg: Any) -> None:
        """Apply one message; never raises."""
        try:
            live = self.live  # imports capture.notebook (nbformat) on first use
            from .capture.notebook import StaleBase, message_session

            comm_id = getattr(comm, "comm_id", None) or str(id(comm))
            live.handle_message(_message_data(msg), comm_id, message_session(msg))
        except InvalidInput as exc:
            if isinstance(exc, StaleBase):
                log.info("jupyter-mm: asked the frontend for a full snapshot: %s", exc)
                _safe_send(comm, {"type": "resync", "message": str(exc)})
                return
            log.warning("jupyter-mm: ignored a comm message: %s", exc)
            _safe_send(comm, {"type": "error", "message": str(exc)})
        except Exception:
            log.warning("jupyter-mm: ignored a malformed comm message", exc_info=True)

    def announce_run(self, run_id: str, status: str) -> None:
        """Tell every open frontend that a run was recorded (the sidebar refreshes)."""
        with self._lock:
            comms = list(self._comms.values())
        for comm in comms:
            _safe_send(comm, {"type": "run", "run_id": run_id, "status": status})


def _message_data(msg: Any) -> Any:
    if not isinstance(msg, dict):
        return None
    content = msg.get("content")
    return content.get("data") if isinstance(content, dict) else None


def _safe_send(comm: Any, data: dict[str, Any]) -> None:
    try:
        comm.send(data)
    except Exception:  # a closed or broken comm: the frontend is gone, nothing to tell
        log.debug("sending on the %s comm failed", COMM_TARGET, exc_info=True)


# -- the run card ---------------------------------------------------------------------------

RUN_MIME_TYPE = "application/vnd.jupyter-mm.run+json"


def _format_number(value: float) -> str:
    return f"{value:.6g}"


def run_bundle(
    run: Run,
    *,
    params: dict[str, str],
    metrics: dict[str, float],
    data: list[DataRef],
    store_url: str | None,
    rich: bool = True,
) -> dict[str, Any]:
    """The MIME bundle shown after a tracked cell: the run card for JupyterLab
    (``application/vnd.jupyter-mm.run+json``), a small HTML table for other frontends and
    one or two lines of text for terminals. ``rich=False`` keeps only the text."""
    inputs = sum(1 for ref in data if ref.role == "input")
    outputs = sum(1 for ref in data if ref.role == "output")
    payload = {
        "run_id": run.id,
        "name": run.name,
        "status": run.status,
        "duration": run.duration,
        "notebook": run.notebook_path,
        "cell_id": run.cell_id,
        "checkpoint_source": run.checkpoint_source,
        "params": dict(params),
        "metrics": dict(metrics),
        "data": {"inputs": inputs, "outputs": outputs},
        "flags": [{"kind": f.kind, "message": f.message} for f in run.flags],
        "warnings": list(run.warnings),
        "error": run.error,
        "store": store_url,
    }
    label = f"{run.name!r} " if run.name else ""
    first = f"jupyter-mm run {label}{run.id} {run.status} in {format_duration(run.duration)}"
    details = [", ".join(f"{k}={_format_number(v)}" for k, v in sorted(metrics.items()))]
    details.append(f"{inputs} input(s), {outputs} output(s)")
    text = first + " · " + " · ".join(d for d in details if d)
    notes = []
    if run.flags:
        notes.append(f"{len(run.flags)} reproducibility flag(s): " + run.flags[0].message)
    if run.warnings:
        notes.append(f"{len(run.warnings)} warning(s)")
    if run.error:
        notes.append(f"error: {run.error}")
    if notes:
        text += "\n" + "; ".join(notes)
    if not rich:
        return {"text/plain": text}
    return {RUN_MIME_TYPE: payload, "text/plain": text, "text/html": _card_html(payload)}


def _card_html(payload: dict[str, Any]) -> str:
    def row(key: str, value: Any) -> str:
        return (
            f"<tr><th style='text-align:left'>{escape(key)}</th><td>{escape(str(value))}</td></tr>"
        )

    rows = [
        row("run", f"{payload['name'] or ''} {payload['run_id']}".strip()),
        row("status", f"{payload['status']} in {format_duration(payload['duration'])}"),
        row("checkpoint", checkpoint_source_label(payload["checkpoint_source"])),
    ]
    if payload["params"]:
        rows.append(row("params", ", ".join(f"{k}={v}" for k, v in payload["params"].items())))
    if payload["metrics"]:
        rows.append(
            row(
                "metrics",
                ", ".join(f"{k}={_format_number(v)}" for k, v in payload["metrics"].items()),
            )
        )
    rows.append(row("data", f"{payload['data']['inputs']} in, {payload['data']['outputs']} out"))
    for flag in payload["flags"]:
        rows.append(row(flag["kind"], flag["message"]))
    for warning in payload["warnings"]:
        rows.append(row("warning", warning))
    if payload["error"]:
        rows.append(row("error", payload["error"]))
    return "<table class='jupyter-mm-run'>" + "".join(rows) + "</table>"
