"""The data a run records: what its cell's recorder saw, and what earlier cells of the
session read (upstream data, see :mod:`jupyter_mm.capture.session_reads`)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..entities import DataRef
from .process import progress, stat_cache

if TYPE_CHECKING:
    from ..capture.file_access import Accesses
    from ..capture.session_reads import UpstreamRead
    from .active import ActiveRun


def own_file_prefixes(store: Any) -> tuple[str, ...]:
    """Path prefixes of jupyter-mm's own files for ``store``, never data: a ``.jupyter_mm``
    directory as a whole; a database file named elsewhere (``sqlite:///mm.db`` in a project
    directory) only with its ``-wal``/``-shm``/``.lock`` siblings, not the directory around
    it; a local blob root; the stat cache."""
    from ..config import STORE_DIR_NAME
    from .process import state, store_directory

    prefixes: list[str] = []
    directory = store_directory(store) if store is not None else None
    if directory:
        if os.path.basename(directory) == STORE_DIR_NAME:
            prefixes.append(os.path.join(directory, ""))
        else:
            prefixes.append(os.path.abspath(str(store.url)[len("sqlite:///") :]))
    root = getattr(getattr(store, "blobs", None), "root", None)
    if isinstance(root, str) and "://" not in root:
        prefixes.append(os.path.join(os.path.abspath(root), ""))
    cache = getattr(state.stat_cache, "path", None)
    if isinstance(cache, str):
        prefixes.append(cache)
    return tuple(prefixes)


def own_file_patterns(store: Any) -> list[str]:
    """:func:`own_file_prefixes` as ignore patterns for :class:`FileAccessRecorder`."""
    import glob

    return [glob.escape(prefix) + "*" for prefix in own_file_prefixes(store)]


def record_accesses(active: ActiveRun, accesses: Accesses) -> None:
    """Take what the cell's :class:`FileAccessRecorder` saw: inputs hashed before the
    cell changed them are recorded with that digest now; the rest is hashed at the end
    (files of one directory read in bulk as that directory)."""
    from ..capture.data import ALGORITHM, storable_path
    from ..capture.file_access import group_by_directory
    from ..capture.session_reads import GROUP_THRESHOLD

    for path, (digest, size, _) in accesses.before.items():
        active.add_data(DataRef(storable_path(path), "input", "file", size, ALGORITHM, digest))
    plain = [path for path in accesses.read if path not in accesses.before]
    files, directories = group_by_directory(plain, GROUP_THRESHOLD)
    for path in sorted(files | directories):
        if path not in accesses.written:
            active.pending_paths.setdefault(path, "input")
    for path in accesses.written:
        active.pending_paths[path] = "output"


def record_upstream(active: ActiveRun, entries: list[UpstreamRead]) -> list[str]:
    """Hash the data earlier cells of the session read (``SessionReads.upstream()``).

    A file whose stat is no longer the one it had when it was read is recorded with
    the digest the stat cache remembers for that stat when there is one (that is the
    content the cell read), else as it is now, with a warning either way. Returns the
    paths that no longer exist (warned about once; the caller forgets them).

    The hashing runs before the cell's body and may be long (the progress bar invites an
    interrupt): an interrupt stops it, is warned about, and is raised again so that the
    cell stops before its body, as an interrupt at any other point of the start does."""
    from ..capture.data import describe_path
    from .interrupts import interruptible, pause_for_tests

    missing: list[str] = []
    if active.store is None:
        return missing
    cache, bars = stat_cache(active.store), progress()
    for done, entry in enumerate(entries):
        try:
            with active.guard(f"hashing upstream data {entry.path}"), interruptible():
                pause_for_tests("upstream")
                if not os.path.exists(entry.path):
                    active.warn(f"{entry.path}, read by {entry.reader()}, no longer exists")
                    missing.append(entry.path)
                    continue
                ref = describe_path(entry.path, "upstream", cache, bars)
                ref = _as_read(active, entry, ref, cache)
                files = f"{ref.detail} files; " if ref.kind == "directory" else ""
                ref.detail = f"{files}read by {entry.reader()}"
                active.upstream[entry.path] = ref
        except KeyboardInterrupt:
            left = len(entries) - done
            active.warn(f"hashing interrupted; {left} upstream data path(s) not recorded")
            raise
    return missing


def _as_read(active: ActiveRun, entry: UpstreamRead, ref: DataRef, cache: Any) -> DataRef:
    if entry.rewritten:
        active.warn(
            f"{entry.path} was rewritten by {entry.reader()} after it read it; recorded as "
            "it is now"
        )
        return ref
    if entry.stat is None:
        return ref
    try:
        st = os.stat(entry.path)
    except OSError:
        return ref
    if (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) == entry.stat:
        return ref
    read_digest = cache.get_file((entry.path, *entry.stat)) if cache is not None else None
    if read_digest is not None:
        ref.digest, ref.size = read_digest, entry.stat[2]
        active.warn(f"{entry.path} changed after {entry.reader()} read it; recorded as read")
    else:
        active.warn(f"{entry.path} changed after {entry.reader()} read it; recorded as it is now")
    return ref


def add_upstream(active: ActiveRun) -> None:
    """Upstream data joins the run's data, except what the cell itself read (an input)."""
    inputs = {ref.name for ref in active.data.values() if ref.role == "input"}
    for _, ref in sorted(active.upstream.items()):
        if ref.name not in inputs:
            active.add_data(ref)
    active.upstream.clear()
