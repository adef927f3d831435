"""Paths read and written by libraries that do their I/O in native code.

pyarrow reads and writes through its own C++ file system layer, so Python's ``open`` audit
event never fires for parquet, feather, ORC, Arrow CSV/JSON or datasets — nor for pandas'
``read_parquet``/``to_parquet``, which hand local paths to pyarrow. There is no hook inside
pyarrow's C++ file systems, and its Python ``LocalFileSystem`` methods are not on the path
``pq.read_table`` or a dataset scan takes. What every one of those calls does have is a
Python entry point that receives the path: this module wraps those entry points (the
functions and constructors listed in ``_ENTRY_POINTS``) so that each call raises the
``jupyter_mm.file`` audit event with the path and whether it is read or written, before the
library touches the file. A path naming a directory (a partitioned dataset) is recorded as
that directory.

Wrapping happens when the module is imported (an import-system finder that only answers for
the modules listed, so other imports pay one set lookup) or at once if it already is. The
wrapper costs one truth test while nothing is recorded. Only local paths are recorded:
URIs with another scheme (``s3://``) and calls given a non-local ``filesystem`` are remote
data, which the run records only through ``--data``/``mm.log_input``.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import os
import sys
from collections.abc import Callable
from typing import Any

from . import file_access

#: module -> (attribute, "r" | "w", position of the path argument, its keyword)
#: ``Class.__init__`` entries count ``self`` as position 0.
_ENTRY_POINTS: dict[str, list[tuple[str, str, int, str]]] = {
    "pyarrow.parquet": [
        ("read_table", "r", 0, "source"),
        ("read_pandas", "r", 0, "source"),
        ("read_metadata", "r", 0, "where"),
        ("read_schema", "r", 0, "where"),
        ("ParquetFile.__init__", "r", 1, "source"),
        ("ParquetDataset.__init__", "r", 1, "path_or_paths"),
        ("write_table", "w", 1, "where"),
        ("write_to_dataset", "w", 1, "root_path"),
        ("ParquetWriter.__init__", "w", 1, "where"),
    ],
    "pyarrow.dataset": [
        ("dataset", "r", 0, "source"),
        ("parquet_dataset", "r", 0, "metadata_path"),
        ("write_dataset", "w", 1, "base_dir"),
    ],
    "pyarrow.csv": [
        ("read_csv", "r", 0, "input_file"),
        ("open_csv", "r", 0, "input_file"),
        ("write_csv", "w", 1, "output_file"),
    ],
    "pyarrow.json": [("read_json", "r", 0, "input_file")],
    "pyarrow.feather": [
        ("read_table", "r", 0, "source"),
        ("read_feather", "r", 0, "source"),
        ("write_feather", "w", 1, "dest"),
    ],
    "pyarrow.orc": [
        ("read_table", "r", 0, "source"),
        ("ORCFile.__init__", "r", 1, "source"),
        ("write_table", "w", 1, "where"),
    ],
    # pandas opens local parquet targets with pa.OSFile (native, not patchable): its
    # engine methods receive the path first; fastparquet opens through Python anyway
    "pandas.io.parquet": [
        ("PyArrowImpl.read", "r", 1, "path"),
        ("PyArrowImpl.write", "w", 2, "path"),
    ],
    "pyarrow": [
        ("memory_map", "r", 0, "path"),
        ("input_stream", "r", 0, "source"),
        ("output_stream", "w", 0, "source"),
    ],
}
#: the same functions are often re-exported by a submodule (pyarrow.parquet.core)
_ALSO_IN = {"pyarrow.parquet": ["pyarrow.parquet.core"]}

_LOCAL_FILESYSTEMS = {"LocalFileSystem", "SubTreeFileSystem"}
_installed = False


def _report(target: Any, mode: str, filesystem: Any) -> None:
    if filesystem is not None and type(filesystem).__name__ not in _LOCAL_FILESYSTEMS:
        return
    targets = target if isinstance(target, (list, tuple)) else [target]
    for item in targets:
        if isinstance(item, os.PathLike):
            item = os.fspath(item)
        if isinstance(item, bytes):
            item = os.fsdecode(item)
        if not isinstance(item, str) or not item:
            continue  # a buffer or an open file: Python opened it, the hook saw it
        if "://" in item:
            if not item.startswith("file://"):
                continue
            item = item[len("file://") :]
        file_access.note_library_access(item, mode)


def _wrap(function: Callable[..., Any], mode: str, position: int, keyword: str) -> Any:
    if getattr(function, "_jupyter_mm_wrapped", False):
        return function

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if file_access._active or file_access.child_sink is not None:
            try:
                target = kwargs[keyword] if keyword in kwargs else args[position]
                mode_now = mode
                if function.__name__ == "memory_map" and "+" in str(
                    kwargs.get("mode", args[1] if len(args) > 1 else "r")
                ):
                    mode_now = "w"
                _report(target, mode_now, kwargs.get("filesystem"))
            except Exception:  # never in the way of the user's call
                pass
        return function(*args, **kwargs)

    wrapper._jupyter_mm_wrapped = True  # type: ignore[attr-defined]
    return wrapper


def _patch(module: Any, entries: list[tuple[str, str, int, str]]) -> None:
    for dotted, mode, position, keyword in entries:
        owner_name, _, attribute = dotted.rpartition(".")
        owner = getattr(module, owner_name, None) if owner_name else module
        function = getattr(owner, attribute, None) if owner is not None else None
        if function is None or not callable(function):
            continue
        try:
            setattr(owner, attribute, _wrap(function, mode, position, keyword))
        except (AttributeError, TypeError):
            continue  # an extension type: its methods cannot be replaced


def _patch_loaded(name: str, module: Any) -> None:
    from . import child_access

    if name in _ENTRY_POINTS:
        entries = _ENTRY_POINTS[name]
        _patch(module, entries)
        for alias in _ALSO_IN.get(name, []):
            if alias in sys.modules:
                _patch(sys.modules[alias], entries)
    elif name in _SPAWN_MODULES:
        child_access.patch_spawn(module)


_SPAWN_MODULES = {"multiprocessing.spawn", "joblib.externals.loky.backend.spawn"}
_WATCHED = set(_ENTRY_POINTS) | _SPAWN_MODULES


class _PatchingLoader(importlib.abc.Loader):
    """Runs the real loader, then wraps the module's entry points."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self.loader.exec_module(module)
        try:
            _patch_loaded(module.__name__, module)
        except Exception:
            pass

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package, …
        return getattr(self.loader, name)


class _Finder(importlib.abc.MetaPathFinder):
    """Answers only for the watched modules, by asking the rest of ``sys.meta_path``."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname not in _WATCHED:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _PatchingLoader(spec.loader)
                return spec
        return None


def install() -> None:
    """Wrap the entry points of the listed modules, now or when they are imported."""
    global _installed
    if _installed:
        return
    _installed = True
    for name in _WATCHED:
        module = sys.modules.get(name)
        if module is not None:
            _patch_loaded(name, module)
    sys.meta_path.insert(0, _Finder())
