"""Content-addressed blob storage (checkpoints, large outputs, artifacts, models).

Layout: ``<root>/<first 2 hex chars>/<remaining hex>`` of the blob's digest. The digest is
BLAKE3 (hex, 64 chars) of the blob's bytes. Writes go to a temp file in the same
directory, are fsynced, then renamed into place (and the directory fsynced), so a blob is
either absent or complete; callers write blobs before committing any row that names them.
"""

from __future__ import annotations

import os
import secrets
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from typing import BinaryIO, cast

import blake3

from ..errors import InvalidInput, NotFound

#: A writer that finds the blob it wants already stored and older than this refreshes its
#: modification time before relying on it. An unreferenced blob (its run was deleted) may be
#: about to be named again by a row being committed; gc keeps blobs younger than its grace
#: period, so the refresh keeps such a blob out of a collection running at the same time.
REFRESH_AFTER = 600.0

#: blobs remembered as referenced per store (about 100 bytes each)
MAX_KNOWN_REFERENCED = 200_000


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

    def verify(self, digest: str) -> bool:
        """Re-hash the blob; True when its content matches its name. Raises NotFound."""
        hasher = new_hasher()
        with self.open(digest) as src:
            for chunk in read_chunks(src, ByteProgress(False, None, "")):
                hasher.update(chunk)
        return hasher.hexdigest() == digest

    @abstractmethod
    def iter_digests(self) -> Iterator[str]:
        """Every stored digest (temp files and foreign files are skipped)."""

    @abstractmethod
    def delete(self, digest: str) -> None:
        """Remove a blob; missing is not an error."""

    def modified_time(self, digest: str) -> float | None:
        """When the blob was last written or refreshed (POSIX seconds, the backend's clock),
        None when the backend cannot tell or the blob is gone. ``gc``'s grace period reads
        it; writers refresh it when they reuse an old blob (:data:`REFRESH_AFTER`)."""
        return None

    def local_path(self, digest: str) -> str | None:
        """A local filesystem path to the blob when the backend has one (for zero-copy
        downloads by the server), else None."""
        return None

    # -- the root's registry of the stores using it (see root_registry) -----------------------
    # Small records in the folder REGISTRY_DIR of the root, beside the shards (whose names
    # have two characters, so iter_digests never mistakes a record for a blob).

    @abstractmethod
    def registry_names(self) -> list[str]:
        """The names of the records in the root's registry (none when it has none)."""

    @abstractmethod
    def read_registry(self, name: str) -> bytes | None:
        """A record's bytes, None when there is no such record (or it is not a plain file)."""

    @abstractmethod
    def write_registry(self, name: str, data: bytes) -> None:
        """Create or replace a record."""

    @abstractmethod
    def delete_registry(self, name: str) -> None:
        """Remove a record; missing is not an error."""

    # -- blobs known to be referenced -------------------------------------------------------
    # Checking that every blob a run names exists costs one filesystem call per blob (one per
    # notebook cell on every tracked run). A blob named by a committed row stays: rows are
    # only written naming blobs that exist, and ``gc`` deletes only blobs no row names. So
    # once this process has committed such a row, the blob's presence is answered from
    # memory. Deleting a run forgets everything (its blobs may become garbage).

    def note_referenced(self, digests: Iterable[str]) -> None:
        """Remember that committed rows of the store name these blobs."""
        known: set[str] = self.__dict__.setdefault("_referenced", set())
        if len(known) > MAX_KNOWN_REFERENCED:
            known.clear()  # bounded memory; the next checks go to the filesystem again
        known.update(digests)

    def forget_referenced(self, digest: str | None = None) -> None:
        """Forget one blob (``digest``) or all of them (runs were deleted)."""
        if digest is None:
            self.__dict__.pop("_referenced", None)
        else:
            self.__dict__.get("_referenced", set()).discard(digest)

    def present(self, digest: str) -> bool:
        """:meth:`exists`, answered from memory for blobs known to be referenced. Raises
        InvalidInput for a malformed digest (as ``exists`` does)."""
        if digest in self.__dict__.get("_referenced", ()):
            return True
        return self.exists(digest)


# -- helpers shared by the implementations ----------------------------------------------------

#: Digests are BLAKE3 hex: exactly 64 lowercase hex characters. Validating this before a
#: digest becomes a path is what guarantees nothing outside the blob root is ever touched.
DIGEST_LENGTH = 64
_HEX = frozenset("0123456789abcdef")

#: Size of the chunks used when streaming files in and when re-hashing.
CHUNK_SIZE = 1 << 20

#: Crash-test hook: when ``JUPYTER_MM_FAILPOINT`` names a point (``blob-before-rename``) the
#: process dies there with ``os._exit(137)``, as a SIGKILL would, so tests can check that a
#: crash in the middle of a write leaves no partial blob under its final name. Read once at
#: import; tests may also assign it directly.
FAILPOINT: str | None = os.environ.get("JUPYTER_MM_FAILPOINT") or None


def failpoint(name: str) -> None:
    """Die abruptly (exit status 137) when the ``FAILPOINT`` hook names ``name``."""
    if name == FAILPOINT:
        os._exit(137)


def is_digest(text: object) -> bool:
    """True when ``text`` is a well-formed blob digest (64 lowercase hex characters)."""
    return isinstance(text, str) and len(text) == DIGEST_LENGTH and _HEX.issuperset(text)


def check_digest(digest: object) -> str:
    """Return ``digest`` when well formed; raise InvalidInput otherwise."""
    if not is_digest(digest):
        shown = repr(digest) if len(repr(digest)) <= 80 else repr(digest)[:77] + "..."
        raise InvalidInput(f"{shown} is not a blob digest (expected 64 lowercase hex characters).")
    return cast(str, digest)


#: folder of an artifact root holding its registry of stores
REGISTRY_DIR = "stores"
_RECORD_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyz-.")


def check_record_name(name: str) -> str:
    """A registry record name: lowercase letters, digits, '-' and '.', not hidden (it becomes
    a file name: nothing may reach outside the registry folder)."""
    if not name or name.startswith(".") or not _RECORD_CHARS.issuperset(name) or len(name) > 80:
        raise InvalidInput(f"{name[:80]!r} is not a registry record name.")
    return name


def is_temp_name(name: str) -> bool:
    """Temp files of in-flight (or crashed) writes start with a dot."""
    return name.startswith(".")


def temp_name(final_name: str) -> str:
    """A unique hidden temp file name for writing ``final_name`` in the same directory."""
    return f".{final_name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"


def new_hasher() -> blake3.blake3:
    """A fresh BLAKE3 hasher (multi-threaded hashing of large chunks where available)."""
    return blake3.blake3(max_threads=blake3.blake3.AUTO)


def hash_bytes(data: bytes) -> str:
    """The digest of ``data``."""
    return blake3.blake3(data).hexdigest()


def blob_missing(digest: str) -> NotFound:
    """The NotFound raised for a digest that is not stored."""
    return NotFound(f"Blob {digest} is not in the object store.")


class ByteProgress:
    """A tqdm bar over bytes when asked for, else a no-op (tqdm is imported lazily)."""

    def __init__(self, enabled: bool, total: int | None, label: str) -> None:
        self._bar = None
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, unit="B", unit_scale=True, desc=label, leave=False)

    def update(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def read_chunks(src: BinaryIO, progress: ByteProgress) -> Iterator[bytes]:
    """Yield ``CHUNK_SIZE`` chunks of ``src``, advancing ``progress``."""
    while True:
        chunk = src.read(CHUNK_SIZE)
        if not chunk:
            return
        progress.update(len(chunk))
        yield chunk


def open_source(path: str) -> tuple[BinaryIO, int]:
    """Open a local file to copy in; an unreadable path is the caller's InvalidInput."""
    try:
        src = open(path, "rb")  # noqa: SIM115 - closed by the caller
        return src, os.fstat(src.fileno()).st_size
    except IsADirectoryError:
        raise InvalidInput(f"{path} is a directory, not a file.") from None
    except OSError as exc:
        raise InvalidInput(f"Cannot read {path}: {exc.strerror or exc}.") from None
