"""Process-wide tracking state, created once and reused by every run of the process.

The store is opened lazily on first use (importing the package and loading the IPython
extension cost nothing until a run starts); the configuration, the Redactor, the stat cache
and the ids of the environments already stored are likewise kept once per process: doing
nothing twice is what keeps a trivial tracked cell cheap.
"""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import MMError, StoreError
from ..identity import process_user

if TYPE_CHECKING:
    from ..config import MMConfig
    from ..store.abstract import AbstractStore
    from .active import ActiveRun


def describe_exception(exc: BaseException) -> str:
    """``Type: first line of the message``, short enough for a one-line warning."""
    if isinstance(exc, MMError):
        text = str(exc)
    else:
        message = str(exc).strip().splitlines()
        text = f"{type(exc).__name__}: {message[0]}" if message else type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


class _Process:
    """State shared by every run of this process, created once and reused: the store, the
    configuration, the redactor, the stat cache and which environments are stored."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.store: AbstractStore | None = None
        self.config: MMConfig | None = None
        self.loaded_config: Any = None
        self.redactor: Any = None
        self.redactor_error: str | None = None
        self.stat_cache: Any = None
        self.stored_environments: set[str] = set()
        self.stack: list[ActiveRun] = []
        self.user = process_user()
        self.host = socket.gethostname()
        #: (pid, when that process started): read once per process (a fork has its own)
        self.started: tuple[int, str | None] | None = None


state = _Process()


def process_start_time() -> str | None:
    """When this process started (``store.processes.process_start_time``), recorded with
    its pid so that a later process given the same pid is not taken for it."""
    pid, started = os.getpid(), state.started
    if started is None or started[0] != pid:
        from ..store.processes import process_start_time as read_start_time

        started = state.started = (pid, read_start_time(pid))
    return started[1]


def get_config() -> MMConfig:
    """The MMConfig of this process, from :func:`loaded_config`."""
    config = state.config
    if config is not None:  # no lock: the warm-up thread may hold it while opening the store
        return config
    with state.lock:
        if state.config is None:
            from ..config import MMConfig

            state.config = MMConfig(config=loaded_config())
        return state.config


def loaded_config() -> Any:
    """This process's configuration, loaded once by :func:`jupyter_mm.config.load_config`
    (``jupyter_mm_config`` files, the IPython shell's config on top) for every configurable
    of the kernel (MMConfig, TrackMagics). An unreadable file costs no tracking: it is
    reported once and the rest of the configuration applies."""
    with state.lock:
        if state.loaded_config is None:
            from traitlets.config import Config

            from ..config import load_config

            try:
                state.loaded_config = load_config()
            except MMError as exc:
                print(f"jupyter-mm: {exc} It is ignored.", file=sys.stderr)
                shell = ipython()
                state.loaded_config = shell.config if shell is not None else Config()
        return state.loaded_config


def ipython() -> Any:
    from ..config import ipython_shell

    return ipython_shell()


class _Opening:
    """One attempt at opening the default store on a helper thread."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: BaseException | None = None
        threading.Thread(target=self._run, name="jupyter-mm-store", daemon=True).start()

    def _run(self) -> None:
        try:
            _open_default_store()
        except BaseException as exc:  # handed to the waiting caller
            self.error = exc
        finally:
            self.done.set()


_opening: _Opening | None = None
_opening_lock = threading.Lock()


def _forget_opening_after_fork() -> None:
    # the child has no thread to finish an opening in flight in the parent, nor to release
    # the state lock if that thread held it at the fork
    global _opening, _opening_lock
    _opening, _opening_lock = None, threading.Lock()
    state.lock = threading.RLock()


os.register_at_fork(after_in_child=_forget_opening_after_fork)


def default_store() -> AbstractStore:
    """The process-wide store, opened on first use. Runs left ``running`` by dead processes
    on this host are marked ``crashed`` when it opens. Raises StoreError.

    Opening imports SQLAlchemy and the store's modules. On the main thread that happens on a
    helper thread while the main thread waits: an interrupt then ends the wait (the caller
    gets KeyboardInterrupt, the opening goes on and the next call finds it) instead of
    landing inside an import and leaving a half-initialised module behind."""
    global _opening
    store = state.store
    if store is not None:
        return store
    if threading.current_thread() is not threading.main_thread():
        return _open_default_store()
    with _opening_lock:
        if _opening is None or _opening.done.is_set():
            _opening = _Opening()
        opening = _opening
    opening.done.wait()
    if opening.error is not None:
        raise opening.error
    store = state.store
    return store if store is not None else _open_default_store()


def _open_default_store() -> AbstractStore:
    with state.lock:
        if state.store is None:
            from ..store import open_store

            try:
                store = open_store(config=get_config(), for_writing=True)
            except MMError:
                raise
            except Exception as exc:
                raise StoreError(f"The store cannot be opened: {describe_exception(exc)}") from exc
            state.store = store
        return state.store


def set_default_store(store: AbstractStore | None) -> None:
    """Use ``store`` for the runs of this process (None: close it and resolve again on the
    next run — after changing ``JUPYTER_MM_STORE``, for example)."""
    with state.lock:
        old, state.store = state.store, store
        state.stat_cache = None
        state.stored_environments.clear()
    if old is not None and old is not store:
        with contextlib.suppress(Exception):
            old.close()


def redact(text: str) -> str:
    """Pass ``text`` through the process's Redactor (secret formats → ``‹redacted:rule›``)."""
    if state.redactor is None and state.redactor_error is None:
        _create_redactor()
    if state.redactor is None:
        return text
    return state.redactor.redact_text(text)[0]


def _create_redactor() -> None:
    with state.lock:
        if state.redactor is None and state.redactor_error is None:
            try:
                from ..capture.redact import Redactor

                state.redactor = Redactor()
            except Exception as exc:
                state.redactor_error = describe_exception(exc)


def redact_pair(name: str, value: Any) -> Any:
    """``value`` as it may be recorded under ``name`` (a param, a tag): dropped when the name
    is a credential, else redacted like any text (see ``Redactor.redact_pair``)."""
    redact("")
    if state.redactor is None:
        return value
    return state.redactor.redact_pair(name, value)


def redactor() -> Any:
    """The process's Redactor (None if it could not be created)."""
    redact("")
    return state.redactor


def store_directory(store: AbstractStore | None) -> str | None:
    """The directory holding a local SQLite store (its ``.jupyter_mm/``), else None."""
    url = getattr(store, "url", "") or ""
    if url.startswith("sqlite:///"):
        return os.path.dirname(os.path.abspath(url[len("sqlite:///") :]))
    return None


def stat_cache(store: AbstractStore | None) -> Any:
    """The stat cache for data hashing: a file inside the store's ``.jupyter_mm/`` when the
    store is a local SQLite file (several kernels on one project share it), else the user
    cache directory."""
    with state.lock:
        if state.stat_cache is None:
            from ..capture.data import StatCache

            directory = store_directory(store)
            path = os.path.join(directory, "statcache.sqlite") if directory else None
            state.stat_cache = StatCache(path)
        return state.stat_cache


def progress() -> Any:
    """Progress bars for long hashing (shown after ``progress_after`` seconds)."""
    from ..capture.progress import Progress

    return Progress(delay=get_config().progress_after)


_last_environment: tuple[tuple[Any, ...], Any] | None = None


def capture_environment_now(cwd: str | None = None) -> Any:
    """Capture the environment (packages, imported module versions, git state of ``cwd``,
    allowlisted variables), redacted.

    Outside a git repository nothing a run records changes unless a module is imported or
    a variable, argv or the configuration changes, so the last capture is reused then (a
    package installed but not yet imported shows from the next import on). Inside one the
    working tree may have changed, so git is always asked."""
    global _last_environment
    from ..capture.environment import capture_environment

    cwd = cwd or os.getcwd()
    reusable, env = _reusable_environment(cwd)
    if env is not None:
        return env
    env = capture_environment(get_config().env_allowlist, cwd, redactor())
    if reusable:  # keyed after capturing: the first capture imports a few modules itself
        _last_environment = (_environment_key(cwd), env)
    return env


def _environment_key(cwd: str) -> tuple[Any, ...]:
    return (cwd, len(sys.modules), tuple(os.environ.items()), tuple(sys.argv), id(get_config()))


def _reusable_environment(cwd: str) -> tuple[bool, Any]:
    """(whether a capture in ``cwd`` may be reused, the last capture if it may be now)."""
    from ..capture.git import inside_repository

    if inside_repository(cwd):
        return False, None
    last = _last_environment
    if last is not None and last[0] == _environment_key(cwd):
        return True, last[1]
    return True, None


class _Worker:
    """One long-lived daemon thread running background captures in order. Starting a
    thread per run costs a scheduler round trip on the cell's critical path (milliseconds
    on a loaded machine); handing work to a waiting thread costs a queue put."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def submit(self, work: Callable[[], None]) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="jupyter-mm-environment", daemon=True
                )
                self._thread.start()
        self._queue.put(work)

    def _loop(self) -> None:
        while True:
            self._queue.get()()


_WORKER = _Worker()


def submit_background(work: Callable[[], None]) -> None:
    """Run ``work`` on the environment worker, after what it was given before."""
    _WORKER.submit(work)


class EnvironmentCapture:
    """The environment of one run, captured in the background while the run works.

    The expensive part is git (``rev-parse`` + ``diff``, 10–40 ms): doing it concurrently
    with the user's cell keeps it off the cell's critical path, and capturing at the start
    records the code as it was when the run began. Module versions must include what the
    run itself imported, so :meth:`result` captures again when ``sys.modules`` grew.
    """

    def __init__(self, cwd: str | None = None) -> None:
        self.cwd = cwd
        self.modules = len(sys.modules)
        self._value: Any = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        # The common case outside git, an unchanged environment, is a few dictionary reads:
        # handing that to the worker would cost more (a thread wake-up, GIL hand-offs while
        # the cell runs) than doing it here.
        self._value = _reusable_environment(cwd or os.getcwd())[1]
        if self._value is not None:
            self._done.set()
        else:
            _WORKER.submit(self._work)

    def _work(self) -> None:
        try:
            self._value = capture_environment_now(self.cwd)
        except BaseException as exc:  # handed to the run's guard in result()
            self._error = exc
        finally:
            self._done.set()

    def result(self) -> Any:
        self._done.wait()
        if self._error is not None:
            raise self._error
        if len(sys.modules) != self.modules:
            return capture_environment_now(self.cwd)
        return self._value
