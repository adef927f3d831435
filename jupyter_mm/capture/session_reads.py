"""Data read by earlier cells of the session: the upstream inputs of a run.

The usual notebook loads its data in an untracked cell (``df = pd.read_csv(...)``) and
trains in the tracked one below. The run depends on that file as much as on anything its
own cell opens, so the audit hook runs for every execution of the session (one recorder,
started at ``pre_run_cell`` and stopped at ``post_run_cell``), and each execution leaves,
per path it read, only the execution count, the cell id and the file's stat at that
moment — no hashing. When a tracked run starts, the paths read by earlier executions are
hashed (through the stat cache, so an unchanged file costs one lookup) and recorded with
role ``upstream``.

Rules: the latest execution that read a path is the one named; a path the session itself
created (written before any read) is not upstream data, the cells that made it are; more
than ``GROUP_THRESHOLD`` files read from one directory (and at least half of its entries)
become one directory entry. Reads before the extension was loaded are not seen.
"""

from __future__ import annotations

import os
import stat as stat_module
from dataclasses import dataclass
from typing import Any

from .cell_events import CellEventListener, counts, starting_count
from .file_access import FileAccessRecorder, group_by_directory, stat_tuple

#: files read from one directory in one execution above which the directory is the entry
GROUP_THRESHOLD = 100


@dataclass(frozen=True)
class UpstreamRead:
    """One path an earlier execution read."""

    path: str
    kind: str  # "file" | "directory"
    count: int | None
    cell_id: str | None
    #: (st_dev, st_ino, st_size, st_mtime_ns) when it was read (files only)
    stat: tuple[int, int, int, int] | None
    #: the execution that read it also wrote it afterwards: what it read is gone
    rewritten: bool = False

    def reader(self) -> str:
        """``In [3] (cell 5f2a…)``: the execution that read it."""
        label = f"In [{self.count}]" if self.count is not None else "an earlier cell"
        return label + (f" (cell {self.cell_id})" if self.cell_id else "")


class SessionReads(CellEventListener):
    """The upstream reads of one IPython shell's session."""

    def __init__(self, shell: Any, ignore: list[str] | None = None) -> None:
        self.shell = shell
        self.ignore = list(ignore or [])
        self._recorder: FileAccessRecorder | None = None
        self._current: tuple[int | None, str | None] | None = None
        self._reads: dict[str, UpstreamRead] = {}
        self._produced: set[str] = set()

    def unregister(self) -> None:
        super().unregister()
        if self._recorder is not None and self._recorder.active:
            self._recorder.stop()

    def _on_pre_run_cell(self, info: Any) -> None:
        if not counts(info):
            return
        try:
            if self._recorder is None:
                from ..tracking import get_config

                self._recorder = FileAccessRecorder(
                    ignore=[*self.ignore, *get_config().data_ignore]
                )
            self._current = (starting_count(self.shell), getattr(info, "cell_id", None) or None)
            self._recorder.start()
        except Exception:  # the user's cell runs whatever happens here
            self._current = None

    def _on_post_run_cell(self, result: Any) -> None:
        recorder, current = self._recorder, self._current
        self._current = None
        if recorder is None or current is None or not recorder.active:
            return
        try:
            self._add(recorder.stop_accesses(), *current)
        except Exception:
            pass

    def _add(self, accesses: Any, count: int | None, cell_id: str | None) -> None:
        for path in accesses.written - accesses.read:
            if path not in self._reads:
                self._produced.add(path)  # made by the session: its cells are the source
        tool = _tool_prefixes()
        # the session's own notebook is the run's code, not its data: without a frontend's
        # snapshot the checkpoint reads it from disk while the tracked cell runs
        notebook = self._notebook_path()
        reads = [
            path
            for path in accesses.read
            if path not in self._produced
            and not path.startswith(tool)
            and not _same_file(path, notebook)
        ]
        if not reads:
            return
        files, directories = group_by_directory(reads, GROUP_THRESHOLD)
        for path in directories:
            self._reads[path] = UpstreamRead(path, "directory", count, cell_id, None)
        for path in files:
            st = accesses.stats.get(path)
            if st is not None and stat_module.S_ISDIR(st.st_mode):
                self._reads[path] = UpstreamRead(path, "directory", count, cell_id, None)
            else:
                key = stat_tuple(st) if st is not None else None
                rewritten = path in accesses.written
                self._reads[path] = UpstreamRead(path, "file", count, cell_id, key, rewritten)

    def _notebook_path(self) -> str | None:
        from .notebook import session_path

        try:
            path = session_path(self.shell)
        except Exception:
            return None
        return os.path.realpath(path) if path else None

    def forget(self, paths: list[str]) -> None:
        """Drop entries (a file removed since it was read: reported by one run, not all)."""
        for path in paths:
            self._reads.pop(path, None)

    def upstream(self) -> list[UpstreamRead]:
        """What executions before the running one read, in path order. Files inside a
        directory that is itself an entry are left out (the directory covers them); files
        of one directory read over several executions are grouped as within one."""
        self._group_across_executions()
        entries = sorted(self._reads.values(), key=lambda entry: entry.path)
        directories = [e.path + os.sep for e in entries if e.kind == "directory"]
        return [
            entry
            for entry in entries
            if not any(entry.path.startswith(d) for d in directories if d != entry.path + os.sep)
        ]

    def _group_across_executions(self) -> None:
        files = [e.path for e in self._reads.values() if e.kind == "file"]
        if len(files) < GROUP_THRESHOLD:
            return
        _, directories = group_by_directory(files, GROUP_THRESHOLD)
        for directory in directories:
            members = [e for e in self._reads.values() if os.path.dirname(e.path) == directory]
            latest = max(members, key=lambda e: -1 if e.count is None else e.count)
            for entry in members:
                del self._reads[entry.path]
            self._reads[directory] = UpstreamRead(
                directory, "directory", latest.count, latest.cell_id, None
            )


def _same_file(path: str, notebook: str | None) -> bool:
    """``path`` (as the recorder wrote it, links unresolved) names ``notebook`` (resolved)."""
    if notebook is None or os.path.basename(path) != os.path.basename(notebook):
        return False
    return path == notebook or os.path.realpath(path) == notebook


def _tool_prefixes() -> tuple[str, ...]:
    """Where jupyter-mm keeps its own files (the store may be opened by the first tracked
    cell of the session, outside any ``.jupyter_mm``)."""
    from ..tracking.data_capture import own_file_prefixes
    from ..tracking.process import state

    return own_file_prefixes(state.store) if state.store is not None else ()


_sessions: dict[int, SessionReads] = {}


def attach(shell: Any) -> SessionReads:
    """Start the session log of ``shell`` (idempotent); installs the library wrappers and
    the child-process spool too, so every cell sees the same data the tracked one does."""
    from . import child_access, library_access

    session = _sessions.get(id(shell))
    if session is None:
        library_access.install()
        child_access.install()
        # git internals and any store's own files (the store may not be open yet)
        session = SessionReads(shell, ignore=["*/.git/*", "*/.jupyter_mm/*"])
        session.register()
        _sessions[id(shell)] = session
    return session


def detach(shell: Any) -> None:
    session = _sessions.pop(id(shell), None)
    if session is not None:
        session.unregister()


def current(shell: Any) -> SessionReads | None:
    return _sessions.get(id(shell))
