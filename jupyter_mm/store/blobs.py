"""Content-addressed blob storage (checkpoints, large outputs, artifacts, models).

Layout: ``<root>/<first 2 hex chars>/<remaining hex>`` of the blob's digest. The digest is
BLAKE3 (hex, 64 chars) of the blob's bytes. Writes go to a temp file in the same
directory, are fsynced, then renamed into place (and the directory fsynced), so a blob is
either absent or complete; callers write blobs before committing any row that names them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import BinaryIO


class BlobStore(ABC):
    """Contract for blob backends (local directory, fsspec)."""

    root: str

    @abstractmethod
    def put_bytes(self, data: bytes) -> str:
        """Store ``data``; return its digest. Idempotent: an existing blob is not rewritten."""

    @abstractmethod
    def put_file(self, path: str, *, progress: bool = False) -> tuple[str, int]:
        """Copy a local file in while hashing it (one read); return (digest, size)."""

    @abstractmethod
    def get_bytes(self, digest: str) -> bytes:
        """The blob's bytes. Raises NotFound. Does not verify (see ``verify``)."""

    @abstractmethod
    def open(self, digest: str) -> BinaryIO:
        """A binary file object for reading. Raises NotFound."""

    @abstractmethod
    def exists(self, digest: str) -> bool: ...

    @abstractmethod
    def size(self, digest: str) -> int:
        """Raises NotFound."""

    @abstractmethod
    def verify(self, digest: str) -> bool:
        """Re-hash the blob; True when its content matches its name. Raises NotFound."""

    @abstractmethod
    def iter_digests(self) -> Iterator[str]:
        """Every stored digest (temp files and foreign files are skipped)."""

    @abstractmethod
    def delete(self, digest: str) -> None:
        """Remove a blob; missing is not an error."""

    def local_path(self, digest: str) -> str | None:
        """A local filesystem path to the blob when the backend has one (for zero-copy
        downloads by the server), else None."""
        return None
