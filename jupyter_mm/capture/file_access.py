"""Which files a tracked cell reads and writes, found with a PEP 578 audit hook.

Audit hooks cannot be removed, so one hook is installed per process the first time a
recorder starts, and it does nothing (one truth test) while no recorder is active. While
active it only appends the raw event to a dict; filtering (ignored prefixes and patterns,
directories, files that no longer exist) happens once per distinct path in ``stop()``, so
a cell opening 10k files pays a few hundred nanoseconds per open.

What is seen: every ``open`` event (builtin ``open``, ``io.open``, ``os.open``, pathlib,
pandas/numpy readers that open through Python), ``os.rename``/``os.replace`` targets and
``shutil.copyfile`` sources and targets. Not seen: I/O done inside C/C++ libraries that
never call back into Python (e.g. some pyarrow/HDF5 paths, SQLite) — log those with
``--data``/``mm.log_input``.

Threads: events from threads that already existed when ``start()`` ran (other than the
caller) are ignored: those are the kernel's own service threads (IOPub, heartbeat,
control, history). Threads started during the recorded block — a user's thread pool or
data loader — are recorded. A thread pool created before the block and reused inside it is
therefore missed; pass those paths explicitly.

Reads vs writes come from the access mode in the ``open`` flags (O_RDONLY is a read,
O_WRONLY/O_RDWR a write). A path first written and later read in the same block is an
output only; a path read and then rewritten is both.
"""

from __future__ import annotations

import fnmatch
import os
import re
import site
import sys
import threading
from typing import Any

_READ, _WRITE = 1, 2
_ACCMODE = getattr(os, "O_ACCMODE", 3)

_install_lock = threading.Lock()
_hook_installed = False
#: recorders currently active; the hook's fast path is ``if not _active``
_active: list[FileAccessRecorder] = []


def _absolute(path: Any) -> str | None:
    if isinstance(path, int):
        return None  # an already-open file descriptor
    if not isinstance(path, str):
        path = os.fsdecode(os.fspath(path))
    if not path:
        return None
    if path[0] != "/":
        path = os.path.join(os.getcwd(), path)
    return os.path.normpath(path)


def _audit_hook(event: str, args: tuple[Any, ...]) -> None:
    if not _active:
        return
    try:
        if event == "open":
            path = _absolute(args[0])
            if path is None:
                return
            flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
            kind = _READ if (flags & _ACCMODE) == os.O_RDONLY else _WRITE
            for recorder in _active:
                recorder._record(path, kind)
        elif event == "os.rename":
            # tmp-then-rename is the usual atomic write: the target is the output.
            src, dst = _absolute(args[0]), _absolute(args[1])
            for recorder in _active:
                recorder._renamed(src, dst)
        elif event == "shutil.copyfile":
            src, dst = _absolute(args[0]), _absolute(args[1])
            for recorder in _active:
                if src:
                    recorder._record(src, _READ)
                if dst:
                    recorder._record(dst, _WRITE)
    except Exception:  # an exception here would break the user's open()
        pass


_MODULE_SUFFIXES = (".py", ".so", ".pyd")


def _imported_module_files(events: dict[str, int]) -> set[str]:
    """Source files of imported modules among ``events``.

    Importing reads a module's source through ``io.open_code``, which raises the same
    ``open`` audit event as a data read. A module imported during the cell (the user's own
    ``utils.py``, or any package installed in development mode outside site-packages) is code,
    which the environment and git state record; it is not data. Only computed when a path
    looks like a module, so ordinary cells pay nothing.
    """
    if not any(path.endswith(_MODULE_SUFFIXES) for path in events):
        return set()
    files: set[str] = set()
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if isinstance(file, str):
            files.add(os.path.normpath(os.path.abspath(file)))
    return files


def _install_hook() -> None:
    global _hook_installed
    with _install_lock:
        if not _hook_installed:
            sys.addaudithook(_audit_hook)
            _hook_installed = True


def _interpreter_prefixes() -> list[str]:
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    try:
        prefixes.update(site.getsitepackages())
        prefixes.add(site.getusersitepackages())
    except Exception:  # some embedded interpreters lack these
        pass
    home = os.path.expanduser("~")
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
    # Tool state that libraries touch on their own (our stat cache, matplotlib's font
    # cache, IPython history, Jupyter runtime files). Not all of ~/.cache: dataset caches
    # (Hugging Face, torchvision) there are real inputs.
    prefixes.update(
        {
            os.path.join(cache, "jupyter_mm"),
            os.path.join(cache, "matplotlib"),
            os.path.join(home, ".ipython"),
            os.path.join(home, ".jupyter"),
            os.path.join(home, ".local", "share", "jupyter"),
            os.path.join(home, ".config", "matplotlib"),
            "/proc",
            "/dev",
            "/sys",
            # system configuration and shared tables the standard library reads on its own
            # (mimetypes reads /etc/mime.types, zoneinfo /usr/share/zoneinfo): not user data
            "/etc",
            "/usr/share",
        }
    )
    return [os.path.normpath(p) for p in prefixes if p]


class FileAccessRecorder:
    """Records the files opened between ``start()`` and ``stop()``.

    ``ignore`` holds extra fnmatch patterns matched against absolute paths (a pattern
    without a ``/`` also matches the base name); ``store_dir`` (the ``.jupyter_mm``
    directory) is always ignored, as are the interpreter's own files, ``.pyc`` files,
    ``/proc``, ``/dev`` and ``/sys``.
    """

    def __init__(self, ignore: list[str] | None = None, store_dir: str | None = None) -> None:
        prefixes = _interpreter_prefixes()
        if store_dir:
            prefixes.append(os.path.normpath(os.path.abspath(store_dir)))
        # Longest first only matters for readability of the regex; any match ignores.
        self._prefix_re = re.compile(
            "|".join(re.escape(p.rstrip("/")) + r"(?:/|$)" for p in sorted(prefixes))
        )
        patterns = list(ignore or [])
        self._path_patterns = [p for p in patterns if "/" in p]
        self._name_patterns = [p for p in patterns if "/" not in p]
        self._events: dict[str, int] = {}
        self._first: dict[str, int] = {}
        self._renamed_from: set[str] = set()
        self._skip_threads: frozenset[int] = frozenset()
        self._lock = threading.Lock()
        self.active = False

    # -- called from the hook (must be cheap and never raise) -------------------------------

    def _record(self, path: str, kind: int) -> None:
        if threading.get_ident() in self._skip_threads:
            return
        previous = self._events.get(path)
        if previous is None:
            self._first[path] = kind
            self._events[path] = kind
        elif previous | kind != previous:
            self._events[path] = previous | kind

    def _renamed(self, src: str | None, dst: str | None) -> None:
        if threading.get_ident() in self._skip_threads:
            return
        if src and self._events.get(src, 0) & _WRITE:
            self._renamed_from.add(src)
        if dst:
            self._record(dst, _WRITE)

    # -- public API --------------------------------------------------------------------------

    def start(self) -> None:
        """Begin recording (installs the process-wide hook on first use)."""
        _install_hook()
        with self._lock:
            if self.active:
                return
            me = threading.get_ident()
            self._skip_threads = frozenset(
                t.ident for t in threading.enumerate() if t.ident is not None and t.ident != me
            )
            self._events = {}
            self._first = {}
            self._renamed_from = set()
            self.active = True
            _active.append(self)

    def stop(self) -> tuple[set[str], set[str]]:
        """Stop recording; return (absolute paths read, absolute paths written).

        Only regular files that exist now are returned (failed opens, deleted temp files
        and directories drop out); ignored locations are filtered here, not in the hook.
        """
        with self._lock:
            if not self.active:
                return set(), set()
            self.active = False
            try:
                _active.remove(self)
            except ValueError:
                pass
            events, first, renamed = self._events, self._first, self._renamed_from
            self._events, self._first, self._renamed_from = {}, {}, set()
        read: set[str] = set()
        written: set[str] = set()
        modules = _imported_module_files(events)
        for path, kinds in events.items():
            if path in renamed or path in modules or self._ignored(path):
                continue
            if not os.path.isfile(path):
                continue
            if kinds & _WRITE:
                written.add(path)
            if kinds & _READ and first.get(path) == _READ:
                read.add(path)
        return read, written

    def __enter__(self) -> FileAccessRecorder:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.active:
            self.stop()

    def _ignored(self, path: str) -> bool:
        if path.endswith((".pyc", ".pyo")) or "/__pycache__/" in path:
            return True
        if self._prefix_re.match(path):
            return True
        if self._path_patterns and any(fnmatch.fnmatch(path, p) for p in self._path_patterns):
            return True
        if self._name_patterns:
            name = os.path.basename(path)
            return any(fnmatch.fnmatch(name, p) for p in self._name_patterns)
        return False
