"""The kernel session's execution log and the reproducibility flags derived from it.

:class:`ExecutionRecorder` listens to IPython's ``pre_run_cell`` event and keeps one
:class:`~jupyter_mm.entities.ExecutionEntry` (count, cell id, source hash) per execution.
:func:`compute_flags` compares that log with the notebook checkpoint of a run and says why
re-running the checkpoint top to bottom might not give the same result
(``docs/architecture.md#data-model``).

The log is never cut: the store keeps it once per session (each run hands over only the
executions since the previous one, see :meth:`ExecutionRecorder.session_log`), and the flags
need only each cell's latest execution, which :class:`ExecutionIndex` keeps up to date as
executions happen. A run therefore costs the same after five or five thousand executions.
"""

from __future__ import annotations

import functools
import os
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

import blake3

from ..entities import ExecutionEntry, ReproFlag, SessionLogAppend
from .cell_events import CellEventListener, counts, starting_count
from .last_result import LastResult

# The count read at pre_run_cell (cell_events.starting_count) is checked again by the
# post_run_cell handler, whichever IPython bumped it when.


# The same sources are hashed on every tracked run (each cell of the checkpoint); a pure
# function of the text, so remembered.
@functools.lru_cache(maxsize=8192)
def source_hash(text: str) -> str:
    """Canonical hash of a cell's source.

    Normalisation, so that edits that cannot change behaviour do not count as edits:
    line endings become ``\\n``; trailing whitespace is removed from every line; trailing
    blank lines at the end of the cell are removed. Everything else (indentation, comments,
    blank lines inside the cell) is significant. The hash is the first 32 hex digits of
    BLAKE3 over the UTF-8 bytes of the normalised text.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    normalised = "\n".join(line.rstrip() for line in lines).rstrip("\n")
    return blake3.blake3(normalised.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class ExecutionIndex:
    """Each cell's latest execution, kept up to date as executions are added: what
    :func:`compute_flags` needs from a log, in space and time that grow with the number of
    distinct cells (and sources) rather than with the number of executions.

    Keys: the cell id of executions that have one; the source hash of those that have none;
    and the source hash of every execution (the flags match by source when the log's ids are
    not the notebook's). Each maps to ``(position in the log, entry)`` of the latest one.
    """

    def __init__(self, entries: Iterable[ExecutionEntry] = ()) -> None:
        self.by_id: dict[str, tuple[int, ExecutionEntry]] = {}
        self.by_hash_without_id: dict[str, tuple[int, ExecutionEntry]] = {}
        self.by_hash: dict[str, tuple[int, ExecutionEntry]] = {}
        self.last: ExecutionEntry | None = None
        self.size = 0
        for entry in entries:
            self.add(entry)

    def add(self, entry: ExecutionEntry) -> None:
        position = self.size
        # assigning to an existing key keeps its place: dicts stay in first-seen order
        if entry.cell_id:
            self.by_id[entry.cell_id] = (position, entry)
        else:
            self.by_hash_without_id[entry.source_hash] = (position, entry)
        self.by_hash[entry.source_hash] = (position, entry)
        self.last = entry
        self.size += 1


class ExecutionRecorder(CellEventListener):
    """Records every execution of ``shell`` from the moment it is created.

    Executions that happened before (the extension is often loaded mid-session) are
    recovered from the input history, without cell ids. The whole log is kept (an entry is
    ~150 bytes); the store receives each execution once (see :meth:`session_log`).
    """

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        #: names this kernel session's log in the store
        from ..ids import new_id

        self.session_id = new_id()
        self.start_time = time.time()
        self._lock = threading.Lock()
        self._entries: list[ExecutionEntry] = self._recover_history()
        self.index = ExecutionIndex(self._entries)
        self._pending: ExecutionEntry | None = None
        #: per store (its URL): how many executions of the log it holds
        self._stored: dict[str, int] = {}

    def _recover_history(self) -> list[ExecutionEntry]:
        manager = getattr(self.shell, "history_manager", None)
        inputs = list(getattr(manager, "input_hist_raw", None) or [])
        return [
            ExecutionEntry(count=count, cell_id=None, source_hash=source_hash(source))
            for count, source in enumerate(inputs[1:], start=1)
            if source and not source.isspace()
        ]

    def _on_pre_run_cell(self, info: Any) -> None:
        if not counts(info):  # not part of the notebook's story, so not of the log
            return
        raw_cell = getattr(info, "raw_cell", "") or ""
        if not raw_cell or raw_cell.isspace():
            return  # IPython skips empty cells without counting them
        entry = ExecutionEntry(
            count=starting_count(self.shell),
            cell_id=getattr(info, "cell_id", None) or None,
            source_hash=source_hash(raw_cell),
        )
        with self._lock:
            self._entries.append(entry)
            self.index.add(entry)
            self._pending = entry

    def _on_post_run_cell(self, result: Any) -> None:
        with self._lock:
            pending, self._pending = self._pending, None
        count = getattr(result, "execution_count", None)
        if pending is not None and count is not None:
            pending.count = count

    def entries(self) -> list[ExecutionEntry]:
        """A copy of the log, oldest first (the running cell's entry is the last one)."""
        with self._lock:
            return [ExecutionEntry(e.count, e.cell_id, e.source_hash) for e in self._entries]

    def session_log(self, store_key: str) -> SessionLogAppend:
        """The log as a run starting now stands in it, with the executions the store named
        ``store_key`` has not been given yet (all of them for a store new to this session).
        Call :meth:`stored` once the store has taken them."""
        with self._lock:
            position = len(self._entries)
            start = min(self._stored.get(store_key, 0), position)
            entries = [
                ExecutionEntry(e.count, e.cell_id, e.source_hash) for e in self._entries[start:]
            ]
        return SessionLogAppend(
            self.session_id,
            position,
            start,
            entries,
            start_time=self.start_time,
            host=socket.gethostname(),
            pid=os.getpid(),
        )

    def stored(self, store_key: str, position: int) -> None:
        """The store named ``store_key`` now holds the first ``position`` executions."""
        with self._lock:
            self._stored[store_key] = max(self._stored.get(store_key, 0), position)


# -- flags ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _cached_source_hash(source: str) -> str:
    return source_hash(source)


def _notebook_source_hash(source: str) -> str:
    """``source_hash`` of a notebook cell's source, remembered: every run indexes every
    cell of its notebook, and almost all of them are the ones indexed the run before.
    Very long sources are not kept (the cache would hold them alive)."""
    return _cached_source_hash(source) if len(source) <= 65536 else source_hash(source)


def _cell_source(cell: Any) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def describe_cell(index: int, cell: Any) -> str:
    """``cell 3 (`x = load()`)``: the 1-based position and the first non-empty line."""
    return _describe(index, _cell_source(cell))


@functools.lru_cache(maxsize=8192)
def _describe(index: int, source: str) -> str:
    first = next((ln.strip() for ln in source.splitlines() if ln.strip()), "")
    if len(first) > 40:
        first = first[:39] + "…"
    return f"cell {index + 1} (`{first}`)" if first else f"cell {index + 1}"


def _upper_first(text: str) -> str:
    # not str.capitalize(): that would lower-case the quoted code
    return text[:1].upper() + text[1:]


_NotebookIndex = tuple[
    list[Any], list[tuple[int, Any]], dict[int, str], dict[str, int], dict[str, list[int]]
]
# The index of the last notebook given with a key (a saved file's path, mtime and size):
# a saved notebook re-run unchanged is indexed once, and indexing 200 cells is most of
# the cost of the flags.
_LAST_INDEX: LastResult[_NotebookIndex] = LastResult()


def _index_notebook(notebook: Any, key: Any = None) -> _NotebookIndex:
    """(cells, code cells with their positions, source hash per code cell, position per
    cell id, positions per source hash)."""
    if key is not None:
        known = _LAST_INDEX.get(key)
        if known is not None:
            return known
    cells = list(notebook.get("cells", []))
    code = [(i, c) for i, c in enumerate(cells) if c.get("cell_type") == "code"]
    current_hash = {i: _notebook_source_hash(_cell_source(c)) for i, c in code}
    by_id = {c.get("id"): i for i, c in code if c.get("id")}
    by_hash: dict[str, list[int]] = {}
    for i, digest in current_hash.items():
        by_hash.setdefault(digest, []).append(i)
    index = (cells, code, current_hash, by_id, by_hash)
    if key is not None:
        _LAST_INDEX.put(key, index)
    return index


def _latest_runs(
    log: ExecutionIndex, by_id: dict[str, int], by_hash: dict[str, list[int]]
) -> tuple[dict[int, int], dict[int, str], dict[str, ExecutionEntry]]:
    """(cell index -> log position of its latest execution, cell index -> the source hash
    that execution ran, cell id -> latest execution of cells no longer in the notebook)."""
    # When no logged id appears in the notebook the two id spaces are unrelated (e.g. a
    # 4.4 notebook whose ids JupyterLab invents per session): fall back to sources only.
    use_ids = any(cell_id in by_id for cell_id in log.by_id)
    matches: list[tuple[int, ExecutionEntry, list[int]]] = []
    deleted: dict[str, ExecutionEntry] = {}
    if use_ids:
        for cell_id, (position, entry) in log.by_id.items():
            index = by_id.get(cell_id)
            if index is None:
                deleted[cell_id] = entry
            else:
                matches.append((position, entry, [index]))
        without_id = log.by_hash_without_id.items()
    else:
        without_id = log.by_hash.items()
    for digest, (position, entry) in without_id:
        matches.append((position, entry, by_hash.get(digest, [])))
    last_run: dict[int, int] = {}
    last_hash: dict[int, str] = {}
    for position, entry, targets in matches:
        for index in targets:
            if position > last_run.get(index, -1):
                last_run[index] = position
                last_hash[index] = entry.source_hash
    return last_run, last_hash, deleted


def compute_flags(
    entries: Sequence[ExecutionEntry] | ExecutionIndex,
    notebook: Any,
    tracked_cell_id: str | None,
    *,
    notebook_key: Any = None,
) -> list[ReproFlag]:
    """Reproducibility flags for a run whose checkpoint is ``notebook``.

    ``entries`` is the session's log up to the run, or its :class:`ExecutionIndex` (what a
    recorder keeps: the flags then cost nothing per execution in the log). Executions are
    matched to cells by cell id when the log and the notebook share ids, else by source
    hash (history-recovered entries and nbclient runs carry no ids). ``notebook_key``
    identifies unchanged notebook content (see ``NotebookSnapshot``).
    """
    marker = (notebook.get("metadata") or {}).get("jupyter_mm") or {}
    if isinstance(marker, dict) and marker.get("reconstructed_from") == "history":
        # A notebook rebuilt from the history *is* the execution order (re-runs appear
        # as repeated cells): running it top to bottom replays the session exactly.
        return []
    cells, code, current_hash, by_id, by_hash = _index_notebook(notebook, notebook_key)
    log = entries if isinstance(entries, ExecutionIndex) else ExecutionIndex(entries)
    last_run, last_hash, deleted = _latest_runs(log, by_id, by_hash)
    tracked = _tracked_index(cells, by_id, by_hash, log.last, tracked_cell_id)
    flags: list[ReproFlag] = []
    if tracked is not None:
        flags += _out_of_order_flags(cells, code, last_run, tracked)
    flags += _edited_flags(code, last_hash, current_hash)
    flags += _deleted_flags(deleted)
    if tracked is not None:
        flags += _never_run_flags(code, last_run, tracked)
    return flags


def _out_of_order_flags(
    cells: list[Any], code: list[tuple[int, Any]], last_run: dict[int, int], tracked: int
) -> list[ReproFlag]:
    """Cells above the tracked one whose latest run came after a cell beneath them."""
    # Walking upwards, remember the earliest latest-run seen below: a cell whose own
    # latest run is later than that ran after a cell beneath it.
    earliest_below: tuple[int, int] | None = None  # (log position, cell index)
    out_of_order: list[ReproFlag] = []
    for index in reversed([i for i, _ in code if i < tracked]):
        position = last_run.get(index)
        if position is None:
            continue
        if earliest_below is not None and position > earliest_below[0]:
            below = earliest_below[1]
            out_of_order.append(
                ReproFlag(
                    "out_of_order",
                    f"{_upper_first(describe_cell(index, cells[index]))} last ran after "
                    f"{describe_cell(below, cells[below])} below it, so the kernel state "
                    "differs from running the notebook top to bottom.",
                    cells[index].get("id"),
                )
            )
        if earliest_below is None or position < earliest_below[0]:
            earliest_below = (position, index)
    return out_of_order[::-1]


def _edited_flags(
    code: list[tuple[int, Any]], last_hash: dict[int, str], current_hash: dict[int, str]
) -> list[ReproFlag]:
    """Cells whose source changed after their latest run."""
    return [
        ReproFlag(
            "edited_since_run",
            f"{_upper_first(describe_cell(index, cell))} was edited after it last ran; "
            "the kernel state comes from its earlier source.",
            cell.get("id"),
        )
        for index, cell in code
        if index in last_hash and last_hash[index] != current_hash[index]
    ]


def _deleted_flags(deleted: dict[str, ExecutionEntry]) -> list[ReproFlag]:
    """Cells that ran in the session but are gone from the notebook."""
    flags = []
    for cell_id, entry in deleted.items():
        ran_as = f" (last run as In [{entry.count}])" if entry.count is not None else ""
        flags.append(
            ReproFlag(
                "deleted_cell",
                f"A cell that is no longer in the notebook ran in this session{ran_as}; "
                "its effects are still in the kernel.",
                cell_id,
            )
        )
    return flags


def _never_run_flags(
    code: list[tuple[int, Any]], last_run: dict[int, int], tracked: int
) -> list[ReproFlag]:
    """Non-empty cells above the tracked one that never ran with their current source."""
    return [
        ReproFlag(
            "never_run_above",
            f"{_upper_first(describe_cell(index, cell))} above the tracked cell was not "
            "run in this session (not with its current source).",
            cell.get("id"),
        )
        for index, cell in code
        if index < tracked and index not in last_run and _cell_source(cell).strip()
    ]


def _tracked_index(
    cells: list[Any],
    by_id: dict[str, int],
    by_hash: dict[str, list[int]],
    last: ExecutionEntry | None,
    tracked_cell_id: str | None,
) -> int | None:
    """Where the tracked cell is: by id, else the cell whose source is the last execution."""
    if tracked_cell_id and tracked_cell_id in by_id:
        return by_id[tracked_cell_id]
    if last is not None:
        candidates = by_hash.get(last.source_hash, [])
        if len(candidates) == 1:
            return candidates[0]
    return None


def flags_summary(flags: Iterable[ReproFlag]) -> str:
    """One line for a run card: ``2 out_of_order, 1 never_run_above``."""
    counts: dict[str, int] = {}
    for flag in flags:
        counts[flag.kind] = counts.get(flag.kind, 0) + 1
    return ", ".join(f"{n} {kind}" for kind, n in counts.items())
