"""``GET /runs/{a}/diff/{b}?ignore_outputs=0|1``: what changed between two runs.

The notebook part is computed by nbdime on the server, in the shape nbdime's own diff widget
renders. nbdime's cost grows faster than the notebooks' size, so checkpoints above a limit
(``MMExtensionApp.max_diff_bytes``, 50 MB by default) are refused with 413 instead of
holding a worker thread for minutes.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...errors import IntegrityError, MMError, NotFound
from ...store.abstract import AbstractStore
from .. import schema
from ..wire import PathMapper, diff_body
from . import params
from .base import MMAPIHandler

#: tornado settings key of the size limit (set by MMExtensionApp)
MAX_DIFF_BYTES_SETTING = "jupyter_mm_max_diff_bytes"
DEFAULT_MAX_DIFF_BYTES = 50 * 1024 * 1024


class TooLarge(MMError):
    """A request whose work would be out of proportion (HTTP 413)."""

    http_status = 413


def _human(size: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def checkpoint_bytes(store: AbstractStore, digest: str | None) -> int:
    """Stored size of a checkpoint (manifest, cells and outputs); 0 when there is none or it
    cannot be read (diff_runs then reports it as a warning)."""
    from ...capture.checkpoint import checkpoint_digests

    if digest is None:
        return 0
    try:
        return sum(store.blobs.size(d) for d in checkpoint_digests(store.blobs, digest))
    except (IntegrityError, NotFound):
        return 0


def run_diff(
    store: AbstractStore,
    ref_a: str,
    ref_b: str,
    *,
    ignore_outputs: bool,
    max_bytes: int,
    paths: PathMapper,
) -> schema.RunDiff:
    """The diff body (blocking)."""
    from ...diffing import diff_runs

    run_a, run_b = store.resolve_run(ref_a), store.resolve_run(ref_b)
    for label, run in (("A", run_a), ("B", run_b)):
        size = checkpoint_bytes(store, run.checkpoint_digest)
        if size > max_bytes:
            raise TooLarge(
                f"The checkpoint of run {label} ({run.id}) is {_human(size)}, more than "
                f"the {_human(max_bytes)} the server diffs; compare the runs with "
                "`jupyter mm diff` in a terminal instead."
            )
    diff = diff_runs(store, run_a, run_b, ignore_outputs=ignore_outputs)
    return diff_body(diff.to_dict(), paths)


class DiffHandler(MMAPIHandler):
    @web.authenticated
    @authorized
    async def get(self, ref_a: str, ref_b: str) -> None:
        ignore = params.parse_bool(
            "ignore_outputs", self.get_query_argument("ignore_outputs", None)
        )
        max_bytes = self.settings.get(MAX_DIFF_BYTES_SETTING, DEFAULT_MAX_DIFF_BYTES)
        store = await self.get_store()
        body = await self.call_store(
            run_diff,
            store,
            ref_a,
            ref_b,
            ignore_outputs=ignore,
            max_bytes=max_bytes,
            paths=self.paths,
        )
        self.write_json(body)
