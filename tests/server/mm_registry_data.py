"""Registered versions for the registry REST tests, written through the registry's Python
API into the store the test server opens, and JSON request helpers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mm_api_data import ApiData, store_location

from jupyter_mm import registry
from jupyter_mm.config import StoreLocation
from jupyter_mm.store import open_store

#: the gate the registry tests configure on the server: the base run (acc 0.54) passes it,
#: the edited run (acc 0.53) does not
PRODUCTION_GATE = "metrics.acc >= 0.535"


def register_versions(
    root: Path, data: ApiData, *, promote: bool = True, location: StoreLocation | None = None
) -> None:
    """Model ``churn``: version 1 (base run) and version 2 (edited run), and model
    ``fraud`` version 1 (base run). With ``promote``, churn 1 is in production (with the
    alias ``champion``) and churn 2 in staging. ``location`` defaults to the store a server
    with this root finds by itself."""
    with open_store(location or store_location(root)) as store:
        registry.register_model(data.base_id, "model.pkl", "churn", "forest", store=store)
        registry.register_model(data.edited_id, "model.pkl", "churn", store=store)
        registry.register_model(data.base_id, "model.pkl", "fraud", store=store)
        if promote:
            no_gates = registry.Registry()
            registry.transition(
                "churn", 1, "staging", "offline eval", store=store, registry=no_gates
            )
            registry.transition("churn", 1, "production", "A/B win", store=store, registry=no_gates)
            registry.transition("churn", 2, "staging", "retrained", store=store, registry=no_gates)
            registry.set_alias("churn", 1, "champion", store=store)


async def send_json(
    jp_fetch: Any, method: str, *path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """(status, parsed body or None) of a JSON write to ``/jupyter-mm/api/<path>``."""
    payload = body if isinstance(body, (bytes, str)) else json.dumps(body)
    response = await jp_fetch(
        "jupyter-mm",
        "api",
        *path,
        method=method,
        body=None if method == "DELETE" else payload,
        headers={"Content-Type": "application/json", **(headers or {})},
        raise_error=False,
        allow_nonstandard_methods=True,
    )
    return response.code, json.loads(response.body) if response.body else None


def beat_endpoint(
    root: Path,
    model: str,
    arms: dict[str, tuple[int, float]],
    *,
    endpoint_id: str = "e1",
    port: int = 5001,
    age: float = 0.0,
    rate: float = 12.5,
) -> None:
    """A serving endpoint's heartbeat row, as `jupyter mm serve` writes it: ``arms`` maps
    arm name -> (version, share) in the shape of ``Deployment.describe()``; ``age`` seconds
    since its last beat."""
    import time

    from jupyter_mm.entities import ServingEndpoint

    now = time.time() - age
    described = {
        name: {
            "ref": f"{model}/{version}",
            "version": version,
            "model": model,
            "share": share,
            "problem": None,
        }
        for name, (version, share) in arms.items()
    }
    with open_store(store_location(root)) as store:
        store.heartbeat_endpoint(
            ServingEndpoint(
                id=endpoint_id,
                reference=f"{model}@production",
                host="localhost",
                port=port,
                pid=4242,
                started=now - 60,
                heartbeat=now,
                state={
                    "arms": described,
                    "requests": 300,
                    "requests_per_second": rate,
                    "url": f"http://127.0.0.1:{port}",
                },
            )
        )
