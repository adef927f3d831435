"""Model monitoring: reference profiles, drift, live performance (see docs/architecture.md#monitoring).

``report(ref, window=1000)`` is the one entry point the CLI (``jupyter mm monitor``), the
server (``GET /models/{name}/monitoring``) and alert rules use; it returns the wire model
``MonitoringReport`` whose ``metrics`` is a flat dict of the window's values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .report import report, resolve_monitored
from .settings import Monitor, load_monitor

if TYPE_CHECKING:
    from ..entities import ReferenceProfileLink
    from ..store.abstract import AbstractStore

__all__ = ["Monitor", "load_monitor", "profile_version", "report"]


def profile_version(
    ref: str,
    data: Any,
    *,
    target: Any = None,
    source: str | None = None,
    store: AbstractStore | None = None,
) -> ReferenceProfileLink:
    """Build the reference profile of a registered version from ``data`` (its training
    inputs; the model is loaded to profile its predictions) and link it to the version."""
    from ..registry import load_model
    from ..tracking import default_store
    from .profile import build_profile
    from .stored import attach_profile

    store = store or default_store()
    version = resolve_monitored(ref, store)
    model = load_model(f"{version.model}/{version.version}", store=store)
    profile = build_profile(data, model=model, target=target, source=source or "jupyter mm profile")
    return attach_profile(store, version, profile, profile["source"])
