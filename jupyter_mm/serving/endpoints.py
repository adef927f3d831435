"""Which `jupyter mm serve` processes are live and what they serve, from their heartbeats.

A serving process writes its row (``serving_endpoints``) every ``HEARTBEAT_SECONDS`` with
what each arm serves, the traffic split and its request rate; it deletes the row when it
stops. A process killed without a chance to delete it stops beating: its row is then not
*live* (no beat within ``LIVE_WITHIN``), and listings older than ``SHOWN_WITHIN`` are
dropped. Read by the lab's model view and by the archive guard of
:func:`jupyter_mm.registry.transition`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..entities import ServingEndpoint
    from ..store.abstract import AbstractStore

HEARTBEAT_SECONDS = 5.0
#: three missed beats and an endpoint is no longer counted as serving
LIVE_WITHIN = 3 * HEARTBEAT_SECONDS
#: endpoints silent for longer are not listed at all
SHOWN_WITHIN = 60.0


def traffic_share(name: str, arms: dict[str, Any]) -> float:
    """The share of answers an arm gives: the canary its share when it has a version
    loaded, the champion the rest; a shadow answers nothing (it sees every request)."""
    canary = arms.get("canary") or {}
    canary_share = float(canary.get("share") or 0.0) if canary.get("version") else 0.0
    if name == "champion":
        return 1.0 - canary_share
    if name == "canary":
        return canary_share
    return 0.0


def serving_arms(endpoint: ServingEndpoint, model: str) -> list[dict[str, Any]]:
    """The arms of ``endpoint`` that reference ``model``, each with its traffic share."""
    arms = (endpoint.state or {}).get("arms") or {}
    found = []
    for name, arm in arms.items():
        if not isinstance(arm, dict):
            continue
        ref = str(arm.get("ref") or "")
        if arm.get("model") == model or ref.split("@")[0].split("/")[0] == model:
            found.append(
                {
                    "arm": name,
                    "ref": ref,
                    "model": arm.get("model"),
                    "version": arm.get("version"),
                    "share": traffic_share(name, arms),
                    "problem": arm.get("problem"),
                }
            )
    return found


def endpoints_of(
    store: AbstractStore, model: str, *, within: float = SHOWN_WITHIN
) -> list[tuple[ServingEndpoint, list[dict[str, Any]], bool]]:
    """Recently seen endpoints serving ``model``: (endpoint, its arms for the model, live)."""
    now = time.time()
    found = []
    for endpoint in store.serving_endpoints(fresh_within=within):
        arms = serving_arms(endpoint, model)
        if arms:
            found.append((endpoint, arms, now - endpoint.heartbeat <= LIVE_WITHIN))
    return found


def served_by(store: AbstractStore, model: str, version: int) -> list[str]:
    """Live endpoints answering with (or shadowing) ``model`` version ``version``, as
    ``url (arm)`` descriptions; empty when none."""
    found = []
    for endpoint, arms, live in endpoints_of(store, model, within=LIVE_WITHIN):
        url = (endpoint.state or {}).get("url") or f"{endpoint.host}:{endpoint.port}"
        for arm in arms:
            if live and arm["version"] == version:
                found.append(f"{url} ({arm['arm']})")
    return found
