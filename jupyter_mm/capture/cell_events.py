"""What the session listeners share: IPython's ``pre_run_cell`` / ``post_run_cell`` events,
which executions count, and the execution count of the one starting.

:class:`~.execution.ExecutionRecorder` (the execution log) and
:class:`~.session_reads.SessionReads` (data read by untracked cells) follow every execution
of a session the same way; this is that way, written once.
"""

from __future__ import annotations

from typing import Any

import IPython

# IPython 9 bumps ``execution_count`` before firing ``pre_run_cell``; earlier versions after
# the cell ran.
_COUNT_BUMPED_BEFORE_PRE_RUN = IPython.version_info >= (9,)


def counts(info: Any) -> bool:
    """Whether the execution ``info`` (``pre_run_cell``'s argument) is one the notebook
    shows: silent executions (completions, widget syncs, ``store_history=False``) get no
    count and leave no trace in the notebook."""
    return not getattr(info, "silent", False) and getattr(info, "store_history", True)


def starting_count(shell: Any) -> int:
    """The execution count of the cell starting (read in ``pre_run_cell``)."""
    count = shell.execution_count
    return count - 1 if _COUNT_BUMPED_BEFORE_PRE_RUN else count


class CellEventListener:
    """Listens to one shell's ``pre_run_cell`` and ``post_run_cell`` events; subclasses
    implement ``_on_pre_run_cell`` and ``_on_post_run_cell``."""

    shell: Any
    _registered = False

    def _on_pre_run_cell(self, info: Any) -> None:
        raise NotImplementedError

    def _on_post_run_cell(self, result: Any) -> None:
        raise NotImplementedError

    def register(self) -> None:
        """Start listening (idempotent)."""
        if not self._registered:
            self.shell.events.register("pre_run_cell", self._on_pre_run_cell)
            self.shell.events.register("post_run_cell", self._on_post_run_cell)
            self._registered = True

    def unregister(self) -> None:
        """Stop listening (idempotent)."""
        if self._registered:
            self.shell.events.unregister("pre_run_cell", self._on_pre_run_cell)
            self.shell.events.unregister("post_run_cell", self._on_post_run_cell)
            self._registered = False
