"""Getting a kernel ready to track while the user is still writing the first tracked cell.

The first tracked cell of a process needs what no later one does: SQLAlchemy and the
store's modules imported, the store opened and its schema checked, the capture modules
imported, the redactor's patterns and the notebook schema compiled — about a second of
imports. ``%load_ext jupyter_mm`` starts all of that on a daemon thread and returns; the
first tracked cell waits only for what is not done yet.

Imports on a thread are safe: Python's per-module import locks make a concurrent importer
of the same module wait for it to finish. They also keep the imports whole: an interrupt
is delivered to the main thread only, so it can never leave a half-imported SQLAlchemy
behind (see :mod:`.interrupts`).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable

_lock = threading.Lock()
_done = threading.Event()
_thread: threading.Thread | None = None

#: how often a waiting cell looks at its interrupt gate (seconds)
POLL_SECONDS = 0.02


def _forget_after_fork() -> None:
    """A forked child has none of the parent's threads: a warm-up in flight there would
    never finish, and waiting for it would hang."""
    global _thread, _done
    _thread, _done = None, threading.Event()


os.register_at_fork(after_in_child=_forget_after_fork)


def start() -> None:
    """Start preparing on a daemon thread (once per process; later calls do nothing)."""
    global _thread
    with _lock:
        if _thread is not None:
            return
        _thread = threading.Thread(target=_prepare, name="jupyter-mm-warmup", daemon=True)
        _thread.start()


def wait(stop: Callable[[], bool] = lambda: False) -> bool:
    """Wait until the preparation is over (at once when it was never started). False when
    ``stop()`` became true first. An interrupt raised in the main thread ends the wait with
    KeyboardInterrupt; the preparation goes on."""
    if _thread is None:
        return True
    while not _done.wait(POLL_SECONDS):
        if stop():
            return False
    return True


def _prepare() -> None:
    """Everything the first tracked cell would otherwise do itself. A step that fails is
    simply left to the cell, which reports it the usual way."""
    from . import process
    from .interrupts import pause_for_tests

    pause_for_tests("warmup")
    steps: list[Callable[[], object]] = [
        process.get_config,
        process.redactor,
        lambda: process.stat_cache(process.default_store()),
        _import_capture,
    ]
    try:
        for step in steps:
            try:
                step()
            except Exception:
                continue
    finally:
        _done.set()
    # The first environment capture scans the installed distributions; later ones reuse
    # the scan. A cell does not wait for it: it goes to the worker that captures each
    # run's environment, ahead of the first run's own capture.
    process.submit_background(_capture_environment)


def _capture_environment() -> None:
    from . import process

    with contextlib.suppress(Exception):
        process.capture_environment_now()


def _import_capture() -> None:
    # imported for their side effect: the cell finds them in sys.modules
    from ..capture import checkpoint, data, environment, execution, nbschema, notebook, progress  # noqa: F401

    nbschema.prepare()
