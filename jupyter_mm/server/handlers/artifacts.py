"""``GET /runs/{id}/artifacts/{name}``: download one artifact of a run.

The name is only ever a key: it is looked up among the run's artifact rows and the blob
those rows name is streamed from the object store. It is never joined onto a filesystem
path, so no name (``../``, absolute, encoded twice, with NUL or backslashes) can make the
server read anything but a blob the run recorded.
"""

from __future__ import annotations

import re
from typing import BinaryIO
from urllib.parse import quote

from jupyter_server.auth.decorator import authorized
from tornado import web
from tornado.iostream import StreamClosedError

from ...entities import Artifact
from ...errors import NotFound
from ...store.abstract import AbstractStore
from .base import MMAPIHandler

#: bytes read from the object store per write to the client
CHUNK_BYTES = 256 * 1024

#: a media type as ``type/subtype`` with optional parameters; anything else (a header
#: injection attempt, a typo) is served as octet-stream
_MEDIA_TYPE = re.compile(r"^[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*(\s*;\s*[\w.+-]+=[\w.+\"-]+)*$")


def find_artifact(store: AbstractStore, ref: str, name: str) -> tuple[Artifact, int, BinaryIO]:
    """(artifact row, blob size, open blob) for the artifact called exactly ``name``
    (blocking)."""
    run = store.resolve_run(ref)
    for artifact in store.get_run_detail(run.id).artifacts:
        if artifact.name == name:
            size = store.blobs.size(artifact.digest)
            return artifact, size, store.blobs.open(artifact.digest)
    # The name is not echoed back: it is whatever the client sent.
    raise NotFound(f"Run {run.id} has no artifact with that name.")


def content_disposition(name: str) -> str:
    """``attachment`` with the artifact's last path segment as file name: RFC 6266's
    ``filename*`` (UTF-8, percent-encoded) plus an ASCII-only ``filename`` for old clients."""
    base = re.split(r"[\\/]", name)[-1] or "artifact"
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", base)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(base, safe='')}"


class ArtifactHandler(MMAPIHandler):
    @web.authenticated
    @authorized
    async def get(self, ref: str, name: str) -> None:
        store = await self.get_store()
        artifact, size, blob = await self.call_store(find_artifact, store, ref, name)
        try:
            media_type = artifact.media_type.strip()
            if not _MEDIA_TYPE.match(media_type):
                media_type = "application/octet-stream"
            self.set_header("Content-Type", media_type)
            self.set_header("Content-Disposition", content_disposition(artifact.name))
            self.set_header("X-Content-Type-Options", "nosniff")
            # an HTML or SVG artifact opened directly must not run script with the user's
            # Jupyter session
            self.set_header("Content-Security-Policy", "sandbox")
            self.set_header("Cache-Control", "private, max-age=0, must-revalidate")
            self.set_header("Content-Length", str(size))
            while True:
                chunk = await self.call_store(blob.read, CHUNK_BYTES)
                if not chunk:
                    break
                self.write(chunk)
                try:
                    await self.flush()
                except StreamClosedError:
                    return  # the client went away; nothing left to answer
        finally:
            blob.close()
        self.finish()
