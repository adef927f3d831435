"""Blobs on any fsspec filesystem (object storage for teams: ``s3://bucket/prefix`` …).

Same layout and contract as :class:`~jupyter_mm.store.local_blobs.LocalBlobStore`. On object
stores (:data:`ATOMIC_PUT_PROTOCOLS`) a blob whose digest is known is written with one PUT
to its final name: the object appears whole or not at all. Elsewhere, and for files whose
digest is only known once uploaded, writes go to a hidden temp object next to the final
name and are then moved into place (a server-side copy on object stores, a rename on
``file://``). fsspec offers no fsync, which is why local directories use
``LocalBlobStore`` instead.

On a local filesystem (``file://``) listing and deleting skip symbolic links below the
root, as LocalBlobStore does: fsspec itself walks into linked directories.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO

from ..errors import StoreError
from .blobs import (
    REFRESH_AFTER,
    REGISTRY_DIR,
    BlobStore,
    ByteProgress,
    blob_missing,
    check_digest,
    check_record_name,
    failpoint,
    hash_bytes,
    is_digest,
    is_temp_name,
    new_hasher,
    open_source,
    read_chunks,
    temp_name,
)

#: object stores where one PUT makes an object appear whole or not at all (S3 and what
#: speaks its API — MinIO, Ceph RGW —, Google Cloud Storage, Azure Blob Storage)
ATOMIC_PUT_PROTOCOLS = frozenset({"s3", "s3a", "gs", "gcs", "abfs", "abfss", "az"})


class FsspecBlobStore(BlobStore):
    """Content-addressed blobs under an fsspec URL (``memory://``, ``file://``, ``s3://`` …)."""

    def __init__(self, url: str, **storage_options: Any) -> None:
        import fsspec

        # Other processes write and delete under a shared root at any time, so a blob's
        # presence and age are always asked of the server: fsspec would otherwise answer
        # them from directory listings kept from earlier calls (s3fs's ``info`` does), and
        # a listing taken by gc would hide every blob written since.
        storage_options = {"use_listings_cache": False, **storage_options}
        try:
            self.fs, path = fsspec.core.url_to_fs(url, **storage_options)
        except (ImportError, ValueError, TypeError) as exc:
            reason = _without_option_values(exc, storage_options)
            raise StoreError(f"Cannot use the artifact root {url}: {reason}") from None
        self.root = url
        self._base = path.rstrip("/") or "/"
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        self._atomic_put = bool(set(protocols) & ATOMIC_PUT_PROTOCOLS)
        try:
            self.fs.makedirs(self._base, exist_ok=True)
        except Exception as exc:  # s3fs builds its client here: bad options fail only now
            reason = _without_option_values(exc, storage_options)
            raise StoreError(f"Cannot create the artifact root {url}: {reason}") from None

    def __repr__(self) -> str:
        return f"FsspecBlobStore({self.root!r})"

    def _path(self, digest: str) -> str:
        check_digest(digest)
        return posixpath.join(self._base, digest[:2], digest[2:])

    def _write_then_move(self, write: Any, digest: str) -> None:
        """Write through ``write(path)``: on object stores straight to the final name (a PUT
        is all or nothing there, and the temp object's move would cost a copy, a delete and
        the listings s3fs makes around them: about six requests per blob), elsewhere to a
        temp name that is then moved to the final one."""
        final = self._path(digest)
        if self._atomic_put:
            try:
                failpoint("blob-before-rename")
                write(final)
            except Exception as exc:
                raise StoreError(f"Cannot write a blob to {self.root}: {exc}") from None
            return
        shard = posixpath.dirname(final)
        self.fs.makedirs(shard, exist_ok=True)
        tmp = posixpath.join(shard, temp_name(digest[2:]))
        try:
            write(tmp)
            failpoint("blob-before-rename")
            self.fs.mv(tmp, final)
        except Exception as exc:
            with contextlib.suppress(Exception):
                self.fs.rm(tmp)
            raise StoreError(f"Cannot write a blob to {self.root}: {exc}") from None

    def _stored_age(self, path: str) -> float | None:
        """Seconds since the object at ``path`` was written, None when there is none (or
        it is not a plain object); one HEAD request on object stores, like ``exists``."""
        try:
            info = self.fs.info(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        if info.get("type") != "file":
            return None
        modified = _modified_from_info(info)
        return 0.0 if modified is None else time.time() - modified

    def put_bytes(self, data: bytes) -> str:
        """Store ``data``; return its digest. An existing blob is not rewritten unless it is
        older than ``REFRESH_AFTER``: object stores cannot touch an object, so the bytes
        are written again to renew its LastModified (see ``blobs.REFRESH_AFTER``)."""
        digest = hash_bytes(data)
        age = self._stored_age(self._path(digest))
        if age is None or age > REFRESH_AFTER:
            self._write_then_move(lambda tmp: self.fs.pipe_file(tmp, data), digest)
        return digest

    def put_file(self, path: str, *, progress: bool = False) -> tuple[str, int]:
        """Copy the local file ``path`` in, hashing while uploading (one read of the source)."""
        src, total = open_source(path)
        tmp = posixpath.join(self._base, temp_name("upload"))
        bar = ByteProgress(progress, total, posixpath.basename(path))
        hasher = new_hasher()
        size = 0
        try:
            with src, self.fs.open(tmp, "wb") as out:
                for chunk in read_chunks(src, bar):
                    hasher.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            digest = hasher.hexdigest()
            age = self._stored_age(self._path(digest))
            if age is not None and age <= REFRESH_AFTER:
                self.fs.rm(tmp)
            else:
                self.fs.makedirs(posixpath.dirname(self._path(digest)), exist_ok=True)
                failpoint("blob-before-rename")
                self.fs.mv(tmp, self._path(digest))
            return digest, size
        except OSError as exc:
            with contextlib.suppress(Exception):
                self.fs.rm(tmp)
            raise StoreError(
                f"Cannot copy {path} into {self.root}: {exc}", server_paths=[path]
            ) from None
        finally:
            bar.close()

    def get_bytes(self, digest: str) -> bytes:
        """The blob's bytes (not verified). Raises NotFound."""
        try:
            return self.fs.cat_file(self._path(digest))
        except FileNotFoundError:
            raise blob_missing(digest) from None

    def open(self, digest: str) -> BinaryIO:
        """The blob opened for binary reading. Raises NotFound."""
        try:
            return self.fs.open(self._path(digest), "rb")
        except FileNotFoundError:
            raise blob_missing(digest) from None

    def exists(self, digest: str) -> bool:
        """True when the blob is stored."""
        return bool(self.fs.isfile(self._path(digest)))

    def size(self, digest: str) -> int:
        """The blob's size in bytes. Raises NotFound."""
        try:
            return int(self.fs.size(self._path(digest)))
        except FileNotFoundError:
            raise blob_missing(digest) from None

    def modified_time(self, digest: str) -> float | None:
        """The object's last modification (LastModified on S3), None when gone or unknown."""
        try:
            return _modified_from_info(self.fs.info(self._path(digest)))
        except FileNotFoundError:
            return None

    def _linked(self, path: str) -> bool:
        """True when ``path`` is a symbolic link (only a local filesystem has them)."""
        from fsspec.implementations.local import LocalFileSystem

        return isinstance(self.fs, LocalFileSystem) and os.path.islink(path)

    def iter_digests(self) -> Iterator[str]:
        """Every stored digest; temp objects, foreign names and links are skipped."""
        prefix = self._base.rstrip("/") + "/"
        linked: dict[str, bool] = {}
        for found in sorted(self.fs.find(self._base)):
            rel = found[len(prefix) :] if found.startswith(prefix) else found.lstrip("/")
            parts = rel.split("/")
            if len(parts) != 2 or is_temp_name(parts[1]):
                continue
            if not (is_digest(parts[0] + parts[1]) and len(parts[0]) == 2):
                continue
            shard = posixpath.dirname(found)
            if shard not in linked:
                linked[shard] = self._linked(shard)
            if not linked[shard] and not self._linked(found):
                yield parts[0] + parts[1]

    def delete(self, digest: str) -> None:
        """Remove the blob; a missing blob is not an error, a linked one is left alone."""
        self.forget_referenced(digest)
        path = self._path(digest)
        if self._linked(posixpath.dirname(path)) or self._linked(path):
            return
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(path)

    def local_path(self, digest: str) -> str | None:
        """A filesystem path for ``file://`` roots (when stored), else None."""
        from fsspec.implementations.local import LocalFileSystem

        check_digest(digest)
        if isinstance(self.fs, LocalFileSystem) and self.exists(digest):
            return self._path(digest)
        return None

    # -- the root's registry of stores --------------------------------------------------------

    def _record(self, name: str) -> str:
        return posixpath.join(self._base, REGISTRY_DIR, check_record_name(name))

    def registry_names(self) -> list[str]:
        folder = posixpath.join(self._base, REGISTRY_DIR)
        try:
            found = self.fs.ls(folder, detail=False)
        except (FileNotFoundError, NotADirectoryError):
            return []
        names = (posixpath.basename(str(p).rstrip("/")) for p in found)
        return sorted(n for n in names if n and not is_temp_name(n))

    def read_registry(self, name: str) -> bytes | None:
        path = self._record(name)
        if self._linked(path):
            return None
        try:
            return bytes(self.fs.cat_file(path))
        except (FileNotFoundError, IsADirectoryError):
            return None

    def write_registry(self, name: str, data: bytes) -> None:
        path = self._record(name)
        try:
            self.fs.makedirs(posixpath.dirname(path), exist_ok=True)
            self.fs.pipe_file(path, data)  # one PUT on object stores: all or nothing
        except Exception as exc:
            raise StoreError(f"Cannot write to the registry of {self.root}: {exc}") from None

    def delete_registry(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._record(name))


def _modified_from_info(info: dict[str, Any]) -> float | None:
    """A modification time from an fsspec ``info`` entry: filesystems name it differently
    (s3fs ``LastModified``, local ``mtime``, gcsfs ``updated``) and give a datetime, an ISO
    string or seconds."""
    for key in ("LastModified", "mtime", "last_modified", "updated", "modified"):
        value = info.get(key)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return None


def _without_option_values(exc: BaseException, options: dict[str, Any]) -> str:
    """The first line of an error, with every string value of the storage options masked:
    options may hold keys, and a library's message may quote what it was given."""
    message = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    values: list[str] = []
    stack: list[Any] = [options]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, str) and len(item) >= 4:
            values.append(item)
    for value in sorted(values, key=len, reverse=True):
        message = message.replace(value, "‹option value›")
    return message
