"""Keyboard interrupts around a tracked cell.

An interrupt (the stop button, ``KernelManager.interrupt_kernel``) raises KeyboardInterrupt
wherever the main thread happens to be. In the cell's body that is what the user asked for.
Anywhere else in a tracked cell it is not: in the middle of an import it leaves a
half-initialised module in ``sys.modules`` that breaks every later run of the process, and
in the middle of recording it leaves the run ``running`` and shows an interrupt for a cell
that had completed.

:class:`InterruptGate` owns SIGINT for the duration of one tracked cell. Outside the stretches
marked :meth:`InterruptGate.raising` (the body, long data hashing) it only counts the
interrupt, and the magic acts on the count at a safe point: before the body (the body does
not run; the run ends ``failed``) or after recording (the completed cell's result stands).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

_current: list[InterruptGate] = []


class InterruptGate:
    """SIGINT handler for one tracked cell; see the module docstring."""

    def __init__(self) -> None:
        #: interrupts that arrived outside a raising stretch
        self.held = 0
        self._raising = False
        self._previous: Any = None
        self._installed = False

    def __call__(self, signum: int, frame: Any) -> None:
        if not self._raising:
            self.held += 1
            return None
        if self._previous is not signal.default_int_handler:
            return self._previous(signum, frame)  # a handler installed before the cell
        # one interrupt ends the stretch; any that follow while we clean up are held
        self._raising = False
        raise KeyboardInterrupt

    def interrupted(self) -> bool:
        return self.held > 0

    def install(self) -> bool:
        """Take SIGINT over (main thread only, and only from a Python-level handler: a
        kernel that ignores SIGINT keeps doing so). Returns whether it did."""
        if threading.current_thread() is not threading.main_thread():
            return False
        try:
            previous = signal.getsignal(signal.SIGINT)
            if not callable(previous):
                return False
            signal.signal(signal.SIGINT, self)
        except (ValueError, OSError, TypeError):
            return False
        self._previous, self._installed = previous, True
        _current.append(self)
        return True

    def uninstall(self) -> None:
        """Give SIGINT back, unless the cell installed a handler of its own meanwhile."""
        if not self._installed:
            return
        self._installed = False
        with contextlib.suppress(ValueError):
            _current.remove(self)
        previous = self._previous
        with contextlib.suppress(ValueError, OSError, TypeError):
            if signal.getsignal(signal.SIGINT) is self:
                signal.signal(signal.SIGINT, previous)

    @contextlib.contextmanager
    def raising(self) -> Iterator[None]:
        """Inside the block an interrupt raises KeyboardInterrupt, as without the gate."""
        if not self._installed:
            yield
            return
        before, self._raising = self._raising, True
        try:
            yield
        finally:
            self._raising = before  # a nested stretch (a run ended inside the body) restores


def report_ignored(run_id: str | None) -> None:
    """The one line telling the user why their interrupt did nothing."""
    where = f"; run {run_id} was recorded as finished." if run_id else "."
    with contextlib.suppress(Exception):
        print(f"jupyter-mm: interrupt ignored: the cell had completed{where}", file=sys.stderr)


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Let an interrupt stop the work in the block (long hashing the user may give up on)
    even while a tracked cell is recording; the caller catches the KeyboardInterrupt."""
    gate = _current[-1] if _current else None
    if gate is None:
        yield
        return
    with gate.raising():
        yield


#: Test-only: ``JUPYTER_MM_TEST_PAUSE="begin=1.5,finish=1"`` sleeps that many seconds at
#: those points of a tracked cell, so tests can interrupt a real kernel exactly there.
#: Points: ``warmup`` (the warm-up thread, before it prepares anything), ``begin`` (the run
#: is in the store, the body has not started), ``upstream`` (hashing each file earlier cells
#: read, before the body), ``after_body``, ``finish`` (before the run ends). Never set it in
#: normal use.
TEST_PAUSE_VARIABLE = "JUPYTER_MM_TEST_PAUSE"


def pause_for_tests(point: str) -> None:
    spec = os.environ.get(TEST_PAUSE_VARIABLE)
    if not spec:
        return
    for item in spec.split(","):
        name, _, seconds = item.partition("=")
        if name.strip() == point:
            with contextlib.suppress(ValueError):
                time.sleep(float(seconds))
