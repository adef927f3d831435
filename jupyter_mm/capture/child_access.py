"""Files opened by the kernel's child processes: multiprocessing and joblib/loky workers.

An audit hook lives in one interpreter. Children see it in two ways:

- **forked** children (``multiprocessing`` with the ``fork`` start method, the default on
  Linux before Python 3.14, ``os.fork``) inherit the hook; an ``os.register_at_fork``
  handler switches it, in the child, to writing what it sees to a spool file;
- **spawned** workers (``multiprocessing`` ``spawn``, joblib's loky workers) start a fresh
  interpreter. Both let the parent name a module the child imports as its main module
  before it unpickles any work (``init_main_from_name`` in the preparation data); in a
  kernel the main module is ipykernel's launcher, which a worker has no use for, so the
  preparation data names this module instead, and running it as ``__mp_main__`` installs
  the same hook, writing to the spool directory named by ``JUPYTER_MM_ACCESS_SPOOL``.

The spool is one directory per kernel process with one append-only file per child
(``<pid>``, lines ``<kind> TAB <path>``, written unbuffered so a child that exits with
``os._exit`` loses nothing). The parent reads what is new whenever a recorder starts or
stops and hands it to the recorders active at that moment, so a worker of a pool created
in an earlier cell is attributed to the cell during which it opened the file.

Not seen: workers started before the extension was loaded, ``forkserver`` children
(the default from Python 3.14 on Linux), processes started with ``subprocess`` (any
program, not only Python), remote workers (dask, ray), and what a child opens after the
cell that started the work has ended (it lands in the next cell).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from typing import Any

from . import file_access

SPOOL_ENV = "JUPYTER_MM_ACCESS_SPOOL"
_MODULE = __name__
#: main modules a worker may be given this module instead of: the kernel's launcher
_REPLACEABLE_MAINS = {None, "ipykernel_launcher", "ipykernel.__main__", "__main__"}

_spool: str | None = None
#: spool file name -> bytes already handed to recorders
_offsets: dict[str, int] = {}
#: the fd a child writes its lines to, and the pid it was opened in
_child_fd: tuple[int, int] | None = None


def install() -> str:
    """Create this process's spool, point children at it, patch the spawn start methods.
    Idempotent; returns the spool directory."""
    global _spool
    if _spool is None:
        _spool = tempfile.mkdtemp(prefix="jupyter-mm-children-")
        os.environ[SPOOL_ENV] = _spool
        atexit.register(shutil.rmtree, _spool, True)
        os.register_at_fork(after_in_child=_after_fork_in_child)
        for name in ("multiprocessing.spawn", "joblib.externals.loky.backend.spawn"):
            module = sys.modules.get(name)
            if module is not None:
                patch_spawn(module)
    return _spool


def _after_fork_in_child() -> None:
    global _spool, _child_fd
    _child_fd = None
    if _spool is not None and (file_access._active or file_access.child_sink is not None):
        file_access.child_sink = _write_line
    _spool = None  # a child never reads the spool; its own children write to the same one


def _write_line(path: str, kind: int) -> None:
    global _child_fd
    if path.endswith(file_access._MODULE_SUFFIXES) or "/__pycache__/" in path:
        return  # imports: code, not data
    pid = os.getpid()
    if _child_fd is None or _child_fd[1] != pid:
        directory = os.environ.get(SPOOL_ENV)
        if not directory:
            return
        file_access._busy.on = True
        try:
            fd = os.open(
                os.path.join(directory, str(pid)),
                os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0),
                0o600,
            )
        finally:
            file_access._busy.on = False
        _child_fd = (fd, pid)
    line = f"{kind}\t{path}\n".encode("utf-8", "surrogateescape")
    os.write(_child_fd[0], line)


def dispatch(recorders: list[Any]) -> None:
    """Hand the lines children wrote since the last call to ``recorders``; forget the files
    of children that have exited once they are read."""
    if _spool is None:
        return
    try:
        names = os.listdir(_spool)
    except OSError:
        return
    for name in names:
        path = os.path.join(_spool, name)
        offset = _offsets.get(name, 0)
        file_access._busy.on = True  # our own read of the spool is not the cell's data
        try:
            with open(path, "rb") as handle:
                handle.seek(offset)
                data = handle.read()
        except OSError:
            continue
        finally:
            file_access._busy.on = False
        complete = data.rfind(b"\n") + 1
        _offsets[name] = offset + complete
        for line in data[:complete].splitlines():
            kind, _, raw = line.partition(b"\t")
            try:
                entry = (os.fsdecode(raw), int(kind))
            except ValueError:
                continue
            for recorder in recorders:
                recorder._record(*entry, from_child=True)
        if complete == len(data) and not _alive(name):
            _forget(name, path)


def _alive(name: str) -> bool:
    try:
        os.kill(int(name), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def _forget(name: str, path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        return
    _offsets.pop(name, None)


def patch_spawn(module: Any) -> None:
    """Make spawned workers of ``module`` (``multiprocessing.spawn`` or loky's copy of it)
    run this module as their main module."""
    original = getattr(module, "get_preparation_data", None)
    if original is None or getattr(original, "_jupyter_mm", False):
        return

    def get_preparation_data(*args: Any, **kwargs: Any) -> Any:
        data = original(*args, **kwargs)
        try:
            if isinstance(data, dict) and os.environ.get(SPOOL_ENV):
                main = data.get("init_main_from_name")
                path = data.get("init_main_from_path")
                launcher = path is not None and os.path.basename(path).startswith("ipykernel")
                if main in _REPLACEABLE_MAINS and (path is None or launcher):
                    data.pop("init_main_from_path", None)
                    data["init_main_from_name"] = _MODULE
        except Exception:  # never cost the user their workers
            pass
        return data

    get_preparation_data._jupyter_mm = True  # type: ignore[attr-defined]
    module.get_preparation_data = get_preparation_data


def start_in_worker() -> None:
    """In a spawned worker: record what it opens into the parent's spool."""
    if not os.environ.get(SPOOL_ENV) or file_access.child_sink is not None:
        return
    file_access.child_sink = _write_line
    file_access._install_hook()
    os.register_at_fork(after_in_child=_reset_child_fd)
    from . import library_access

    library_access.install()


def _reset_child_fd() -> None:
    global _child_fd
    _child_fd = None


if __name__ == "__mp_main__":
    start_in_worker()
