"""``GET /runs/{id}/checkpoint``: the run's notebook as it was when the run started, its
tracked cell carrying the outputs the run produced."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...errors import NotFound
from ...store.abstract import AbstractStore
from .base import MMAPIHandler


def run_checkpoint(store: AbstractStore, ref: str) -> Any:
    """The nbformat v4 notebook of the run's checkpoint (blocking)."""
    from ...capture.checkpoint import load_run_notebook

    run = store.resolve_run(ref)
    if run.checkpoint_digest is None:
        raise NotFound(f"Run {run.id} has no notebook checkpoint.")
    return load_run_notebook(store.blobs, run)


class CheckpointHandler(MMAPIHandler):
    """The frontend opens the answer read-only or saves it as a new notebook."""

    @web.authenticated
    @authorized
    async def get(self, ref: str) -> None:
        store = await self.get_store()
        self.write_json(await self.call_store(run_checkpoint, store, ref))
