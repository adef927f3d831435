"""jupyter-mm: model management where the work happens, in the notebook.

``import jupyter_mm as mm`` is cheap: the public API is imported lazily on first use so
that ``%load_ext jupyter_mm`` and ``jupyter lab`` start-up stay fast.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> module that defines it (imported on first attribute access)
_LAZY: dict[str, str] = {
    "start_run": "jupyter_mm.tracking",
    "active_run": "jupyter_mm.tracking",
    "log_param": "jupyter_mm.tracking",
    "log_params": "jupyter_mm.tracking",
    "log_metric": "jupyter_mm.tracking",
    "log_metrics": "jupyter_mm.tracking",
    "log_input": "jupyter_mm.tracking",
    "log_output": "jupyter_mm.tracking",
    "log_artifact": "jupyter_mm.tracking",
    "log_model": "jupyter_mm.tracking",
    "runs": "jupyter_mm.tracking",
    "get_run": "jupyter_mm.tracking",
    "diff": "jupyter_mm.diffing",
    "open_store": "jupyter_mm.store",
    "register_model": "jupyter_mm.registry",
    "transition": "jupyter_mm.registry",
    "set_alias": "jupyter_mm.registry",
    "remove_alias": "jupyter_mm.registry",
    "rollback": "jupyter_mm.registry",
    "load_model": "jupyter_mm.registry",
    "get_model": "jupyter_mm.registry",
    "models": "jupyter_mm.registry",
    "request_transition": "jupyter_mm.registry.approvals",
    "approve": "jupyter_mm.registry.approvals",
    "reject": "jupyter_mm.registry.approvals",
    "requests": "jupyter_mm.registry.approvals",
    "browse": "jupyter_mm.browser",
    "log_predictions": "jupyter_mm.serving.predlog",
    "log_labels": "jupyter_mm.serving.predlog",
}

__all__ = sorted(_LAZY)


def _version() -> str:
    # read on first use: importlib.metadata costs a fifth of `jupyter mm --help`
    try:
        from importlib.metadata import version as dist_version

        return dist_version("jupyter-mm")
    except Exception:  # pragma: no cover - running from a source tree that is not installed
        return "0.0.0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        globals()[name] = value = _version()
        return value
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'jupyter_mm' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_mm``: register ``%%track``, ``%mm`` and the frontend comm."""
    from .magics import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .magics import unload_ipython_extension as _unload

    _unload(ipython)


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .server.app import MMExtensionApp

    return [{"module": "jupyter_mm", "app": MMExtensionApp}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-mm"}]
