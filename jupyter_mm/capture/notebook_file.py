"""The ``file`` checkpoint source: a notebook as last saved, read and validated once per
content (see :mod:`.notebook` for the sources and their order)."""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict

from ..errors import InvalidInput
from . import nbschema
from .nbschema import NotebookNode

# (path, mtime_ns, size) -> parsed and validated notebook, or the error text. Reading and
# validating a 200-cell notebook costs ~30 ms; a tracked cell re-run without a save in
# between must not pay that again.
_FILE_CACHE: OrderedDict[tuple[str, int, int], NotebookNode | str] = OrderedDict()
_FILE_CACHE_SIZE = 4
_FILE_CACHE_LOCK = threading.Lock()


def read_notebook_file(path: str) -> NotebookNode:
    """Read and validate an .ipynb, converting older formats to v4. Cached on
    (path, mtime, size). Raises InvalidInput with a readable reason; the cached notebook is
    shared, so callers must copy before mutating."""
    return read_notebook_file_keyed(path)[0]


def read_notebook_file_keyed(path: str) -> tuple[NotebookNode, tuple[str, int, int]]:
    """:func:`read_notebook_file` and the cache key it was found under."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise InvalidInput(f"The notebook {path} cannot be read ({exc.strerror}).") from None
    key = (os.path.abspath(path), st.st_mtime_ns, st.st_size)
    with _FILE_CACHE_LOCK:
        cached = _FILE_CACHE.get(key)
        if cached is not None:
            _FILE_CACHE.move_to_end(key)
    if cached is None:
        cached = _parse_notebook_file(path)
        with _FILE_CACHE_LOCK:
            _FILE_CACHE[key] = cached
            while len(_FILE_CACHE) > _FILE_CACHE_SIZE:
                _FILE_CACHE.popitem(last=False)
    if isinstance(cached, str):
        raise InvalidInput(cached)
    return cached, key


def private_copy(notebook: NotebookNode) -> NotebookNode:
    """An independent copy of a cached notebook. This runs on every tracked cell: a JSON round
    trip of a 200-cell notebook costs about a quarter of ``copy.deepcopy`` (which walks every
    NotebookNode attribute) and yields the same plain JSON structure."""
    return nbschema.from_dict(json.loads(json.dumps(notebook)))


def _parse_notebook_file(path: str) -> NotebookNode | str:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except UnicodeDecodeError:
        return f"The notebook {path} is not valid UTF-8."
    except OSError as exc:
        return f"The notebook {path} cannot be read ({exc.strerror})."
    try:
        notebook = nbschema.reads(text)
    except nbschema.NotebookInvalid as exc:
        reason = str(exc.message).splitlines()[0]
        return f"The notebook {path} is not a valid nbformat 4 notebook ({reason})."
    except Exception as exc:  # nbformat raises bare JSON/Reader errors for malformed files
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"The notebook {path} is not a readable notebook ({reason})."
    return notebook
