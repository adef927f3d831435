"""Blobs in a local directory: ``<root>/ab/cdef…``, written crash-safely.

Every write goes to a hidden temp file in the blob's own directory, is flushed and fsynced,
then renamed into place with ``os.replace`` and the directory is fsynced, so after a crash a
blob is either absent or complete under its final name (POSIX rename is atomic within one
filesystem). Concurrent writers of the same blob race harmlessly: both renames install
identical bytes.

Listing and deleting never follow a link below the root: a shard directory or a blob that
is a symbolic link is not a blob of this store, and deleting through one could remove a
file anywhere on the machine (``gc`` deletes what it lists).
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Iterator
from typing import BinaryIO

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

#: open flags that refuse a symbolic link as the last component (0 where unsupported)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
#: whether files can be examined and removed relative to an open directory
_AT_CALLS = bool(_NOFOLLOW and _DIRECTORY) and {os.stat, os.unlink} <= os.supports_dir_fd


def _fsync_dir(path: str) -> None:
    """Make a rename or a new entry in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalBlobStore(BlobStore):
    """Content-addressed blobs under a local directory ``root`` (created when missing)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = os.path.abspath(os.fspath(root))
        try:
            os.makedirs(self.root, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"Cannot create the object store directory {self.root}: {exc.strerror or exc}.",
                server_paths=[self.root],
            ) from None
        if not os.path.isdir(os.path.join(self.root, "ff")):
            self._create_shards()

    def _create_shards(self) -> None:
        """Create the 256 shard directories up front, once: a new shard on the write path
        costs a mkdir and an fsync of the root, and a young store (its first few hundred
        checkpoint blobs) would pay that on most tracked runs. Best effort: a read-only
        store is still readable, and ``_shard`` creates a missing one when writing."""
        with contextlib.suppress(OSError):
            for index in range(256):
                os.makedirs(os.path.join(self.root, f"{index:02x}"), exist_ok=True)
            _fsync_dir(self.root)

    def __repr__(self) -> str:
        return f"LocalBlobStore({self.root!r})"

    # -- paths ------------------------------------------------------------------------------

    def _path(self, digest: str) -> str:
        check_digest(digest)
        return os.path.join(self.root, digest[:2], digest[2:])

    def _shard(self, digest: str) -> str:
        """The blob's directory, created (and made durable) when new."""
        shard = os.path.join(self.root, digest[:2])
        if not os.path.isdir(shard):
            try:
                os.makedirs(shard, exist_ok=True)
                _fsync_dir(self.root)
            except OSError as exc:
                raise StoreError(
                    f"Cannot write to the object store {self.root}: {exc.strerror or exc}.",
                    server_paths=[self.root],
                ) from None
        return shard

    def _install(self, tmp_path: str, digest: str) -> None:
        """Rename a fully written, fsynced temp file to the blob's final name."""
        failpoint("blob-before-rename")
        final = self._path(digest)
        os.replace(tmp_path, final)
        _fsync_dir(os.path.dirname(final))

    # -- writes -----------------------------------------------------------------------------

    def _reuse(self, digest: str) -> bool:
        """True when the blob is stored already; an old one gets a fresh modification time
        first (see ``blobs.REFRESH_AFTER``: gc must not take it while our row commits)."""
        path = self._path(digest)
        try:
            found = os.lstat(path)
        except FileNotFoundError:
            return False
        if not stat.S_ISREG(found.st_mode):
            return os.path.exists(path)  # a link: reused as before, never touched through
        if time.time() - found.st_mtime > REFRESH_AFTER and not os.path.islink(
            os.path.dirname(path)
        ):
            with contextlib.suppress(OSError):  # a read-only store: reuse all the same
                os.utime(path, follow_symlinks=False)
        return True

    def put_bytes(self, data: bytes) -> str:
        """Store ``data``; return its digest. An existing blob is not rewritten."""
        digest = hash_bytes(data)
        if self._reuse(digest):
            return digest
        shard = self._shard(digest)
        tmp_path = os.path.join(shard, temp_name(digest[2:]))
        try:
            with open(tmp_path, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            self._install(tmp_path, digest)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp_path)
            raise StoreError(
                f"Cannot write a blob to the object store {self.root}: {exc.strerror or exc}.",
                server_paths=[self.root],
            ) from None
        return digest

    def put_file(self, path: str, *, progress: bool = False) -> tuple[str, int]:
        """Copy the local file ``path`` in, hashing while copying (one read of the source).

        The digest is only known at the end, so the copy goes to a temp file in the root
        (same filesystem) and is renamed into its shard afterwards.
        """
        src, total = open_source(path)
        tmp_path = os.path.join(self.root, temp_name("upload"))
        bar = ByteProgress(progress, total, os.path.basename(path))
        hasher = new_hasher()
        size = 0
        try:
            with src, open(tmp_path, "wb") as out:
                for chunk in read_chunks(src, bar):
                    hasher.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            digest = hasher.hexdigest()
            if self._reuse(digest):
                os.unlink(tmp_path)
                return digest, size
            self._shard(digest)
            self._install(tmp_path, digest)
            return digest, size
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp_path)
            raise StoreError(
                f"Cannot copy {path} into the object store {self.root}: {exc.strerror or exc}.",
                server_paths=[path, self.root],
            ) from None
        finally:
            bar.close()

    # -- reads ------------------------------------------------------------------------------

    def get_bytes(self, digest: str) -> bytes:
        """The blob's bytes (not verified). Raises NotFound."""
        with self.open(digest) as src:
            return src.read()

    def open(self, digest: str) -> BinaryIO:
        """The blob opened for binary reading. Raises NotFound."""
        try:
            return open(self._path(digest), "rb")
        except FileNotFoundError:
            raise blob_missing(digest) from None

    def exists(self, digest: str) -> bool:
        """True when the blob is stored."""
        return os.path.isfile(self._path(digest))

    def size(self, digest: str) -> int:
        """The blob's size in bytes. Raises NotFound."""
        try:
            return os.stat(self._path(digest)).st_size
        except FileNotFoundError:
            raise blob_missing(digest) from None

    def iter_digests(self) -> Iterator[str]:
        """Every stored digest; temp files and anything not named like a blob are skipped."""
        try:
            shards = sorted(os.scandir(self.root), key=lambda e: e.name)
        except FileNotFoundError:
            return
        for shard in shards:
            # a linked shard or blob is not ours (see the module docstring)
            if len(shard.name) != 2 or not shard.is_dir(follow_symlinks=False):
                continue
            for entry in os.scandir(shard.path):
                digest = shard.name + entry.name
                if is_digest(digest) and entry.is_file(follow_symlinks=False):
                    yield digest

    def delete(self, digest: str) -> None:
        """Remove the blob; a missing blob is not an error. Only a regular file in a real
        shard directory is removed: never anything a link leads to, nor the link itself."""
        check_digest(digest)
        self.forget_referenced(digest)
        shard_path, name = os.path.join(self.root, digest[:2]), digest[2:]
        if not _AT_CALLS:  # no *at() calls (Windows): check, then unlink
            with contextlib.suppress(FileNotFoundError):
                path = os.path.join(shard_path, name)
                if not os.path.islink(shard_path) and stat.S_ISREG(os.lstat(path).st_mode):
                    os.unlink(path)
            return
        try:
            # the shard is opened without following a link, and the blob is looked at and
            # unlinked relative to that open directory: a shard swapped for a link in
            # between cannot redirect the unlink
            shard = os.open(shard_path, os.O_RDONLY | _NOFOLLOW | _DIRECTORY)
        except OSError:
            return  # missing, or a link (ELOOP / ENOTDIR)
        try:
            if stat.S_ISREG(os.stat(name, dir_fd=shard, follow_symlinks=False).st_mode):
                os.unlink(name, dir_fd=shard)
        except FileNotFoundError:
            pass
        finally:
            os.close(shard)

    def modified_time(self, digest: str) -> float | None:
        """The blob file's modification time (links are not followed), None when gone."""
        try:
            return os.lstat(self._path(digest)).st_mtime
        except FileNotFoundError:
            return None

    def local_path(self, digest: str) -> str | None:
        """The blob's file path when it is stored, else None."""
        path = self._path(digest)
        return path if os.path.isfile(path) else None

    # -- the root's registry of stores --------------------------------------------------------

    def _record(self, name: str) -> str:
        return os.path.join(self.root, REGISTRY_DIR, check_record_name(name))

    def registry_names(self) -> list[str]:
        """The registry's records (regular files only)."""
        try:
            with os.scandir(os.path.join(self.root, REGISTRY_DIR)) as entries:
                return sorted(
                    e.name
                    for e in entries
                    if not is_temp_name(e.name) and e.is_file(follow_symlinks=False)
                )
        except (FileNotFoundError, NotADirectoryError):
            return []

    def read_registry(self, name: str) -> bytes | None:
        """A record's bytes; None when missing or a link."""
        try:
            fd = os.open(self._record(name), os.O_RDONLY | _NOFOLLOW)
        except OSError:
            return None
        with os.fdopen(fd, "rb") as handle:
            return handle.read()

    def write_registry(self, name: str, data: bytes) -> None:
        """Create or replace a record durably (temp file, fsync, rename)."""
        final = self._record(name)
        folder = os.path.dirname(final)
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, temp_name(name))
        try:
            with open(tmp, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, final)
            _fsync_dir(folder)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise StoreError(
                f"Cannot write to the registry of the object store {self.root}: "
                f"{exc.strerror or exc}.",
                server_paths=[self.root],
            ) from None

    def delete_registry(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._record(name))  # a link is removed itself, never followed
