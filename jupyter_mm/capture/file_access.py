"""Which files a tracked cell reads and writes, found with a PEP 578 audit hook.

Audit hooks cannot be removed, so one hook is installed per process the first time a
recorder starts, and it does nothing (one truth test) while no recorder is active. While
active it only appends the raw event to a dict; filtering (ignored prefixes and patterns,
directories, files that no longer exist) happens once per distinct path in ``stop()``, so
a cell opening 10k files pays well under a microsecond per open.

Events (what is and is not seen is listed in the README's ``%%track`` section):

- ``open`` — builtin ``open``, ``io.open``, ``os.open``, pathlib, and every library that
  opens files through Python (pandas' CSV/Excel/JSON/pickle readers, numpy, PIL, joblib).
- ``sqlite3.connect`` — the database file of ``sqlite3.connect`` (and so of
  ``pd.read_sql``/SQLAlchemy on SQLite): SQLite does its I/O in C, so the connection is the
  only thing Python sees. It counts as an update (see below).
- ``jupyter_mm.file`` — raised by :mod:`.library_access` for libraries that do their I/O in
  C++ (pyarrow: parquet, CSV, feather, ORC, datasets), naming the path, file or directory,
  given to their read and write functions.
- ``os.rename``/``os.replace`` targets and ``shutil.copyfile`` sources and targets.
- Files opened by child processes (see :mod:`.child_access`), merged in at ``stop()``.

Reads vs writes: O_RDONLY is a read, a truncating or write-only open a write. A read-write
open that does not truncate (``open(p, 'r+')``, ``np.memmap(mode='r+')``, SQLite) is an
*update*: with a ``prehash`` function, the file is hashed right before that open (the
audit event fires before the file is touched) and it counts as an input with that digest,
and as an output too only when its stat changed by the end. Likewise a file the cell read
and then opens for writing is hashed before the write, so it is an input (with the content
it had when read) and an output. A file first written by the cell is an output only.

Threads: the audit hook is process-wide, so an event is attributed to the recorders active
when it fires, whichever thread raised it — including the threads of a pool created before
the recorded block. The kernel's own service threads (IOPub, heartbeat, control, history,
comms: threads run by ipykernel, IPython, zmq, tornado, jupyter_client or jupyter-mm) are
never recorded.
"""

from __future__ import annotations

import fnmatch
import os
import re
import site
import stat as stat_module
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

_READ, _WRITE, _UPDATE = 1, 2, 4
#: or-ed into a kind when a library call (not an open) named the path; it may be a directory
_LIBRARY = 8
_ACCMODE = getattr(os, "O_ACCMODE", 3)
#: the audit event library wrappers raise: (path, "r" | "w")
LIBRARY_EVENT = "jupyter_mm.file"

_install_lock = threading.Lock()
_hook_installed = False
#: recorders currently active; the hook's fast path is ``if not _active``
_active: list[FileAccessRecorder] = []
#: set in a thread while the hook itself hashes a file (its own opens are not data)
_busy = threading.local()
#: set in a forked child: events go to the child-process spool instead (child_access.py)
child_sink: Callable[[str, int], None] | None = None

#: a file's digest and size taken before the cell changed it, and the stat it had then
Before = tuple[str, int, tuple[int, int, int, int]]
#: the Before of a file that did not exist yet
ABSENT: Before = ("", 0, (0, 0, 0, 0))


def _absolute(path: Any) -> str | None:
    if isinstance(path, int):
        return None  # an already-open file descriptor
    if not isinstance(path, str):
        path = os.fsdecode(os.fspath(path))
    if not path:
        return None
    if path[0] != "/":
        path = os.path.join(os.getcwd(), path)
    return path  # normalised once per distinct path in stop(), not per event


def _sqlite_path(database: Any) -> str | None:
    """The file behind a ``sqlite3.connect`` argument (None for in-memory databases)."""
    if isinstance(database, bytes):
        database = os.fsdecode(database)
    elif not isinstance(database, str):
        database = os.fspath(database)
    if database.startswith("file:"):  # URI filename: file:path?mode=ro
        database = database[5:].split("?", 1)[0].split("#", 1)[0]
        if database.startswith("//"):
            database = database[2:]
            database = database[database.find("/") :] if "/" in database else ""
        from urllib.parse import unquote

        database = unquote(database)
    if not database or database == ":memory:" or "mode=memory" in database:
        return None
    return _absolute(database)


def _open_kind(args: tuple[Any, ...]) -> int:
    flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
    access = flags & _ACCMODE
    if access == os.O_RDONLY:
        return _READ
    if access == os.O_RDWR and not flags & os.O_TRUNC:
        return _UPDATE
    return _WRITE


def _audit_hook(event: str, args: tuple[Any, ...]) -> None:
    if not (_active or child_sink) or getattr(_busy, "on", False):
        return
    try:
        if event == "open":
            path, kind = _absolute(args[0]), _open_kind(args)
        elif event == "sqlite3.connect":
            path, kind = _sqlite_path(args[0]), _UPDATE
        elif event == LIBRARY_EVENT:
            path = _absolute(args[0])
            kind = (_READ if args[1] == "r" else _WRITE) | _LIBRARY
        elif event == "os.rename":
            # tmp-then-rename is the usual atomic write: the target is the output.
            src, dst = _absolute(args[0]), _absolute(args[1])
            for recorder in _active:
                recorder._renamed(src, dst)
            return
        elif event == "shutil.copyfile":
            src, dst = _absolute(args[0]), _absolute(args[1])
            for recorder in _active:
                if src:
                    recorder._record(src, _READ)
                if dst:
                    recorder._record(dst, _WRITE)
            return
        else:
            return
        if path is None:
            return
        if child_sink is not None:
            child_sink(path, kind)
            return
        for recorder in _active:
            recorder._record(path, kind)
    except Exception:  # an exception here would break the user's open()
        pass


def note_library_access(path: Any, mode: str) -> None:
    """Report a path a library reads (``mode`` "r") or writes ("w") in native code."""
    if _active or child_sink is not None:
        sys.audit(LIBRARY_EVENT, path, mode)


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
            # jupyter-mm's own package (Alembic reads its migration scripts as files; an
            # editable install lives outside site-packages)
            os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
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


#: top-level packages whose threads are the kernel's own machinery, never the user's work
_SERVICE_PACKAGES = frozenset(
    {"ipykernel", "IPython", "jupyter_client", "zmq", "tornado", "comm", "debugpy", "jupyter_mm"}
)


def _service_thread(thread: threading.Thread) -> bool:
    """True for the kernel's service threads (IOPub, heartbeat, control, history saving,
    jupyter-mm's own workers), judged by the module of the thread's class or target."""
    owners: list[Any] = [type(thread)]
    for attribute in ("_target", "function"):  # Thread(target=…), threading.Timer
        target = getattr(thread, attribute, None)
        if target is not None:
            owners.append(target)
            owners.append(type(getattr(target, "__self__", None)))
    for owner in owners:
        module = getattr(owner, "__module__", None)
        if isinstance(module, str) and module.partition(".")[0] in _SERVICE_PACKAGES:
            return True
    return False


@dataclass
class Accesses:
    """What a recorded block did to files (absolute, normalised paths)."""

    #: files and directories the block read (first touched by a read or an update)
    read: set[str] = field(default_factory=set)
    #: files and directories the block wrote or changed
    written: set[str] = field(default_factory=set)
    #: inputs hashed just before the block changed them: path -> (digest, size, stat)
    before: dict[str, Before] = field(default_factory=dict)
    #: the stat of each read path when the block ended (files only)
    stats: dict[str, os.stat_result] = field(default_factory=dict)


class FileAccessRecorder:
    """Records the files opened between ``start()`` and ``stop()``.

    ``ignore`` holds extra fnmatch patterns matched against absolute paths (a pattern
    without a ``/`` also matches the base name); ``store_dir`` (a ``.jupyter_mm``
    directory) is ignored as a whole, as are the interpreter's and jupyter-mm's own files,
    ``.pyc`` files, ``/proc``, ``/dev`` and ``/sys``. ``prehash(path)`` returns a file's ``Before`` (or
    None); without it, updates count as reads and nothing is hashed in the hook.
    """

    def __init__(
        self,
        ignore: list[str] | None = None,
        store_dir: str | None = None,
        prehash: Callable[[str], Before | None] | None = None,
    ) -> None:
        prefixes = _interpreter_prefixes()
        if store_dir:
            prefixes.append(os.path.normpath(os.path.abspath(store_dir)))
        # Longest first only matters for readability of the regex; any match ignores.
        self._prefix_re = re.compile(
            "|".join(re.escape(p.rstrip("/")) + r"(?:/|$)" for p in sorted(prefixes))
        )
        patterns = list(ignore or [])
        # one compiled regex per kind of pattern: fnmatch per pattern per path costs more
        # than everything else stop() does for a path
        paths = [p for p in patterns if "/" in p]
        # "*/.git/*"-shaped patterns decide by folder alone (a file name holds no "/"), so
        # stop() tests them once per folder; the others once per path
        self._folder_re = _any_of([p for p in paths if p.endswith("/*")])
        self._path_re = _any_of([p for p in paths if not p.endswith("/*")])
        self._name_re = _any_of([p for p in patterns if "/" not in p])
        self._prehash = prehash
        self._events: dict[str, int] = {}
        self._first: dict[str, int] = {}
        self._before: dict[str, Before] = {}
        self._renamed_from: set[str] = set()
        #: thread ident -> whether it is a kernel service thread (judged on first event)
        self._skip_threads: dict[int, bool] = {}
        self._lock = threading.Lock()
        self.active = False

    # -- called from the hook (must be cheap and never raise) -------------------------------

    def _skipped_thread(self) -> bool:
        """True in the kernel's service threads; each thread is judged once per block, on
        its first event (so threads started during the block are judged too)."""
        ident = threading.get_ident()
        skip = self._skip_threads.get(ident)
        if skip is None:
            skip = self._skip_threads[ident] = _service_thread(threading.current_thread())
        return skip

    def _record(self, path: str, kind: int, *, from_child: bool = False) -> None:
        if not from_child and self._skipped_thread():
            return
        previous = self._events.get(path)
        if previous is None:
            self._first[path] = kind
            self._events[path] = kind
            if kind & _UPDATE and not from_child:
                self._hash_before(path)
        elif previous | kind != previous:
            self._events[path] = previous | kind
            if kind & (_WRITE | _UPDATE) and not self._first[path] & _WRITE and not from_child:
                self._hash_before(path)  # read before, about to be written

    def _hash_before(self, path: str) -> None:
        if self._prehash is None or path in self._before:
            return
        normal = os.path.normpath(path)
        if self._ignored(normal):
            return  # the store's own database, IPython's history…: never data
        if not os.path.exists(normal):
            self._before[path] = ABSENT  # created by this very open: an output only
            return
        _busy.on = True
        try:
            before = self._prehash(normal)
        except Exception:
            before = None
        finally:
            _busy.on = False
        if before is not None:
            self._before[path] = before

    def _renamed(self, src: str | None, dst: str | None) -> None:
        if self._skipped_thread():
            return
        if src and self._events.get(src, 0) & _WRITE:
            self._renamed_from.add(src)
        if dst:
            self._record(dst, _WRITE)

    # -- public API --------------------------------------------------------------------------

    def start(self) -> None:
        """Begin recording (installs the process-wide hook on first use)."""
        from . import child_access

        _install_hook()
        with self._lock:
            if self.active:
                return
            # what children wrote before this block belongs to the recorders already active
            child_access.dispatch(_active)
            self._skip_threads = {}
            self._events, self._first, self._before = {}, {}, {}
            self._renamed_from = set()
            self.active = True
            _active.append(self)

    def stop(self) -> tuple[set[str], set[str]]:
        """Stop recording; return (absolute paths read, absolute paths written).

        A path read and then written is in both. See :meth:`stop_accesses` for the digests
        taken before writes."""
        accesses = self.stop_accesses()
        return accesses.read, accesses.written

    def stop_accesses(self) -> Accesses:
        """Stop recording; return what the block read and wrote.

        Only regular files that exist now are returned (failed opens, deleted temp files
        and directories drop out), and directories a library call named; ignored locations
        are filtered here, not in the hook.
        """
        from . import child_access

        with self._lock:
            if not self.active:
                return Accesses()
            child_access.dispatch(_active)
            self.active = False
            try:
                _active.remove(self)
            except ValueError:
                pass
            events, first, renamed = self._events, self._first, self._renamed_from
            before = self._before
            self._events, self._first, self._before, self._renamed_from = {}, {}, {}, set()
        kinds, firsts, befores = _normalised(events, first, before)
        renamed = {os.path.normpath(p) for p in renamed}
        modules = _imported_module_files(kinds)
        accesses = Accesses()
        folders: dict[str, bool] = {}
        for path, kind in kinds.items():
            if path in renamed or path in modules or self._ignored(path, folders):
                continue
            _classify(path, kind, firsts[path], befores.get(path), accesses)
        return accesses

    def __enter__(self) -> FileAccessRecorder:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.active:
            self.stop()

    def _ignored(self, path: str, folders: dict[str, bool] | None = None) -> bool:
        """``folders`` memoizes the prefix test by parent directory (files of one folder
        share the answer; the alternation of every ignored prefix is the costly part)."""
        if path.endswith((".pyc", ".pyo")) or "/__pycache__/" in path:
            return True
        folder = path.rpartition("/")[0]
        inside = folders.get(folder) if folders is not None else None
        if inside is None:
            # (a path equal to a prefix is a directory: never data anyway)
            inside = self._prefix_re.match(folder + "/") is not None or (
                self._folder_re is not None and self._folder_re.match(folder + "/") is not None
            )
            if folders is not None:
                folders[folder] = inside
        if inside:
            return True
        if self._path_re is not None and self._path_re.match(path):
            return True
        if self._name_re is not None:
            return self._name_re.match(os.path.basename(path)) is not None
        return False


def _any_of(patterns: list[str]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


def _normalised(
    events: dict[str, int], first: dict[str, int], before: dict[str, Before]
) -> tuple[dict[str, int], dict[str, int], dict[str, Before]]:
    """The events keyed by normalised path (the hook keeps paths as given)."""
    kinds: dict[str, int] = {}
    firsts: dict[str, int] = {}
    befores: dict[str, Before] = {}
    normpath = os.path.normpath
    for raw, kind in events.items():
        path = normpath(raw) if "/." in raw or "//" in raw or raw.endswith("/") else raw
        kinds[path] = kinds.get(path, 0) | kind
        firsts.setdefault(path, first.get(raw, kind))
        if raw in before:
            befores.setdefault(path, before[raw])
    return kinds, firsts, befores


def stat_tuple(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _classify(path: str, kind: int, first: int, before: Before | None, out: Accesses) -> None:
    """Add one path to ``out`` as an input, an output or both."""
    try:
        st = os.stat(path)
    except OSError:
        return  # a failed open, or a temp file removed again
    # a directory counts only when a library call named it (a dataset)
    if not stat_module.S_ISREG(st.st_mode) and not (
        stat_module.S_ISDIR(st.st_mode) and kind & _LIBRARY
    ):
        return
    if before is ABSENT:
        out.written.add(path)
        return
    if not first & _WRITE:
        out.read.add(path)
        out.stats[path] = st
        if before is not None:
            out.before[path] = before
    changed = kind & _UPDATE and before is not None and stat_tuple(st) != before[2]
    if kind & _WRITE or changed:
        out.written.add(path)


def group_by_directory(paths: Iterable[str], threshold: int) -> tuple[set[str], set[str]]:
    """(files, directories): files of one directory of which at least ``threshold`` and at
    least half of its entries were read become that directory (hashed as one Merkle digest),
    so a data set read file by file is one data reference, not thousands."""
    by_parent: dict[str, list[str]] = {}
    for path in paths:
        by_parent.setdefault(os.path.dirname(path), []).append(path)
    files: set[str] = set()
    directories: set[str] = set()
    for parent, members in by_parent.items():
        if len(members) >= threshold:
            try:
                entries = len(os.listdir(parent))
            except OSError:
                entries = -1
            if 0 < entries <= 2 * len(members):
                directories.add(parent)
                continue
        files.update(members)
    return files, directories
