"""What a tracked cell itself displays, kept with its run (``docs/architecture.md#data-model``).

A run's checkpoint is taken as its cell starts, so the cell's printed report, its figure and
its result are in no checkpoint of that run (and the last tracked cell's in none at all).
:class:`CellOutputs` collects them while the cell runs, as nbformat 4 outputs, without
changing what the user sees: it wraps, on their instances, ``write`` of ``sys.stdout`` /
``sys.stderr`` and ``publish`` / ``clear_output`` of the shell's display publisher, calling
the original first, and restores them when the cell ends. Three outputs appear only after
the magic returns, so they are built here the way IPython will build them:

* the execute result (the trailing expression), formatted by the shell's own formatter;
* matplotlib figures the inline backend will show at ``post_execute``, formatted the same way
  (the bytes are the ones the notebook gets, so the stored image is shared with the next
  checkpoint that carries it);
* the error, as IPython's structured traceback.

What is not seen: output written to the process's file descriptors directly (C extensions,
subprocesses) and widget state.
"""

from __future__ import annotations

import functools
import sys
import threading
import traceback
from typing import Any

#: characters of stdout/stderr kept per stream; the rest is replaced by one marker line
MAX_STREAM_CHARS = 1_000_000


def _display_data(data: Any, metadata: Any, transient: Any) -> dict[str, Any] | None:
    if not isinstance(data, dict) or not data:
        return None
    output: dict[str, Any] = {
        "output_type": "display_data",
        "data": dict(data),
        "metadata": dict(metadata) if isinstance(metadata, dict) else {},
    }
    display_id = transient.get("display_id") if isinstance(transient, dict) else None
    if display_id is not None:
        output["_display_id"] = display_id  # dropped when stopping; matches updates
    return output


class CellOutputs:
    """Collects the outputs of one cell run. ``start()`` before the cell, ``stop()`` after
    it (always: it restores what ``start`` wrapped)."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.outputs: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._wrapped: list[tuple[Any, str, bool, Any, Any]] = []
        self._clear_on_next = False
        self._kept: dict[str, int] = {}

    # -- while the cell runs ----------------------------------------------------------------

    def start(self) -> CellOutputs:
        publisher = getattr(self.shell, "display_pub", None)
        if publisher is not None:
            self._wrap(publisher, "publish", self._on_publish)
            self._wrap(publisher, "clear_output", self._on_clear)
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name, None)
            if stream is not None:
                self._wrap(stream, "write", functools.partial(self._on_write, name))
        return self

    def _wrap(self, target: Any, attribute: str, hook: Any) -> None:
        original = getattr(target, attribute, None)
        if original is None:
            return
        own = getattr(target, "__dict__", {})
        had_own = attribute in own
        previous = own.get(attribute)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            try:
                hook(*args, **kwargs)
            except Exception:  # recording must never disturb the user's output
                pass
            return result

        try:
            setattr(target, attribute, wrapper)
        except (AttributeError, TypeError):  # a C object: that channel is not recorded
            return
        self._wrapped.append((target, attribute, had_own, previous, wrapper))

    def _append(self, output: dict[str, Any]) -> None:
        if self._clear_on_next:
            self.outputs.clear()
            self._clear_on_next = False
        self.outputs.append(output)

    def _on_write(self, name: str, text: Any, *args: Any, **kwargs: Any) -> None:
        if not isinstance(text, str) or not text:
            return
        with self._lock:
            kept = self._kept.get(name, 0)
            if kept >= MAX_STREAM_CHARS:
                return
            if kept + len(text) >= MAX_STREAM_CHARS:
                text = text[: MAX_STREAM_CHARS - kept] + f"\n… ({name} cut: not kept beyond "
                text += f"{MAX_STREAM_CHARS} characters)\n"
            self._kept[name] = kept + len(text)
            last = self.outputs[-1] if self.outputs and not self._clear_on_next else None
            if last is not None and last["output_type"] == "stream" and last["name"] == name:
                last["text"] += text
            else:
                self._append({"output_type": "stream", "name": name, "text": text})

    def _on_publish(
        self, data: Any = None, metadata: Any = None, *args: Any, **kwargs: Any
    ) -> None:
        transient = kwargs.get("transient")
        output = _display_data(data, metadata, transient)
        if output is None:
            return
        with self._lock:
            if kwargs.get("update"):
                display_id = output.get("_display_id")
                for index, earlier in enumerate(self.outputs):
                    if display_id is not None and earlier.get("_display_id") == display_id:
                        self.outputs[index] = output
                return
            self._append(output)

    def _on_clear(self, wait: bool = False, *args: Any, **kwargs: Any) -> None:
        with self._lock:
            if wait:
                self._clear_on_next = True
            else:
                self.outputs.clear()
                self._clear_on_next = False

    # -- when the cell is over --------------------------------------------------------------

    def stop(self, result: Any = None, error: BaseException | None = None) -> list[dict[str, Any]]:
        """Restore what ``start`` wrapped; return the outputs, completed with the figures
        the inline backend will show, ``result`` (not None: the cell's shown value) as its
        execute result and ``error``."""
        self._restore()
        with self._lock:
            if self._clear_on_next:
                self.outputs.clear()
            outputs = [{k: v for k, v in o.items() if k != "_display_id"} for o in self.outputs]
        for figure in _pending_inline_figures():
            shown = self._formatted(figure, "display_data")
            if shown is not None:
                outputs.append(shown)
        if result is not None and error is None:
            shown = self._formatted(result, "execute_result")
            if shown is not None:
                outputs.append(shown)
        if error is not None:
            outputs.append(self._error(error))
        return outputs

    def _restore(self) -> None:
        while self._wrapped:
            target, attribute, had_own, previous, wrapper = self._wrapped.pop()
            if getattr(target, "__dict__", {}).get(attribute) is not wrapper:
                continue  # replaced since: leave the newer one alone
            try:
                if had_own:
                    setattr(target, attribute, previous)
                else:
                    delattr(target, attribute)
            except (AttributeError, TypeError):
                pass

    def _formatted(self, value: Any, kind: str) -> dict[str, Any] | None:
        formatter = getattr(self.shell, "display_formatter", None)
        if formatter is None:
            return None
        try:
            data, metadata = formatter.format(value)
        except Exception:
            return None
        if not data:
            return None
        output: dict[str, Any] = {"output_type": kind, "data": data, "metadata": metadata or {}}
        if kind == "execute_result":
            # the count is the run's (its execution log says it): kept out of the stored
            # outputs, so re-running a cell that shows the same result stores nothing new
            output["execution_count"] = None
        return output

    def _error(self, error: BaseException) -> dict[str, Any]:
        kind = type(error)
        try:
            lines = self.shell.InteractiveTB.structured_traceback(kind, error, error.__traceback__)
        except Exception:
            lines = traceback.format_exception(kind, error, error.__traceback__)
        return {
            "output_type": "error",
            "ename": kind.__name__,
            "evalue": str(error),
            "traceback": [str(line) for line in lines],
        }


def start_outputs(shell: Any, active: Any) -> CellOutputs | None:
    """Start collecting what the cell displays for the run ``active`` (an ActiveRun)."""
    with active.guard("capturing the cell's outputs"):
        return CellOutputs(shell).start()
    return None


def save_outputs(active: Any, outputs: CellOutputs, error: BaseException | None, result: Any):
    """Stop ``outputs`` and store them with the run ``active`` (text redacted, large values
    as their own blobs, linked to the run). Never raises: a problem is a run warning."""
    from .. import tracking

    with active.guard("saving the cell's outputs"):
        collected = outputs.stop(result, error)
        if not collected or active.store is None:
            return
        from ..entities import ReproFlag
        from .checkpoint import store_outputs

        digest, parts, rules = store_outputs(
            active.store.blobs,
            collected,
            large_output_bytes=tracking.get_config().large_output_bytes,
            redactor=tracking.redactor(),
        )
        active.run.outputs_digest = digest
        active.link_blobs(parts)
        if rules:
            active.add_flags(
                [
                    ReproFlag(
                        "redacted_output",
                        f"Secrets ({', '.join(sorted(rules))}) were removed from the outputs "
                        "of the tracked cell.",
                        active.run.cell_id,
                    )
                ]
            )


def _pending_inline_figures() -> list[Any]:
    """The figures matplotlib's inline backend will display when the cell ends (what its
    ``flush_figures`` shows at ``post_execute``), if it is the backend in use."""
    backend = sys.modules.get("matplotlib_inline.backend_inline")
    pyplot = sys.modules.get("matplotlib.pyplot")
    if backend is None or pyplot is None:
        return []
    try:
        show = backend.show
        if not getattr(show, "_draw_called", False):
            return []
        if "inline" not in str(pyplot.get_backend()):
            return []
        if backend.InlineBackend.instance().close_figures:
            from matplotlib._pylab_helpers import Gcf

            return [manager.canvas.figure for manager in Gcf.get_all_fig_managers()]
        return list(getattr(show, "_to_draw", []))
    except Exception:
        return []
