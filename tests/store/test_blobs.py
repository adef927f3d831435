"""Blob stores: a local directory and fsspec (``file://`` and ``memory://``), one contract."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import blake3
import pytest

from jupyter_mm.errors import InvalidInput, NotFound, StoreError
from jupyter_mm.store import open_blobs
from jupyter_mm.store.fsspec_blobs import FsspecBlobStore
from jupyter_mm.store.local_blobs import LocalBlobStore

REPO = Path(__file__).parents[2]
BAD_DIGESTS = [
    "../../../etc/passwd",
    "ab/../../cd" + "0" * 53,
    "A" * 64,  # upper case
    "0" * 63,
    "0" * 65,
    "g" * 64,
    "",
]


@pytest.fixture(params=["local", "file", "memory"])
def blobs(request, tmp_path):
    if request.param == "local":
        store = open_blobs(str(tmp_path / "objects"))
        assert isinstance(store, LocalBlobStore)
    elif request.param == "file":
        store = open_blobs(f"file://{tmp_path / 'objects'}")
        assert isinstance(store, FsspecBlobStore)
    else:
        store = open_blobs(f"memory://mm-test-{secrets.token_hex(6)}")
        assert isinstance(store, FsspecBlobStore)
    yield store
    if request.param == "memory":
        store.fs.rm(store._base, recursive=True)


def _write_raw(blobs, rel_path: str, data: bytes) -> None:
    """Write a file inside the blob root behind the store's back."""
    if isinstance(blobs, LocalBlobStore):
        target = Path(blobs.root, rel_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    else:
        path = f"{blobs._base}/{rel_path}"
        blobs.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        blobs.fs.pipe_file(path, data)


def test_round_trip(blobs):
    data = b"\x00checkpoint bytes\xff" * 1000
    digest = blobs.put_bytes(data)
    assert digest == blake3.blake3(data).hexdigest()
    assert blobs.exists(digest)
    assert blobs.get_bytes(digest) == data
    with blobs.open(digest) as f:
        assert f.read() == data
    assert blobs.size(digest) == len(data)
    assert blobs.verify(digest)
    assert list(blobs.iter_digests()) == [digest]
    path = blobs.local_path(digest)
    if isinstance(blobs, FsspecBlobStore) and blobs.root.startswith("memory://"):
        assert path is None
    else:
        assert Path(path).read_bytes() == data
        assert Path(path).relative_to(Path(path).parents[1]).as_posix() == (
            f"{digest[:2]}/{digest[2:]}"
        )
    blobs.delete(digest)
    blobs.delete(digest)  # missing is not an error
    assert not blobs.exists(digest)
    assert blobs.local_path(digest) is None


def test_empty_blob(blobs):
    digest = blobs.put_bytes(b"")
    assert blobs.get_bytes(digest) == b""
    assert blobs.size(digest) == 0


def test_put_is_idempotent(blobs):
    digest = blobs.put_bytes(b"same")
    if isinstance(blobs, LocalBlobStore):
        before = os.stat(blobs.local_path(digest)).st_mtime_ns
    assert blobs.put_bytes(b"same") == digest
    if isinstance(blobs, LocalBlobStore):
        assert os.stat(blobs.local_path(digest)).st_mtime_ns == before  # not rewritten
    assert list(blobs.iter_digests()) == [digest]


def test_put_file_streams_large_files(blobs, tmp_path):
    data = os.urandom(3 * (1 << 20) + 12345)  # several 1 MiB chunks and a partial one
    source = tmp_path / "model.bin"
    source.write_bytes(data)
    digest, size = blobs.put_file(str(source), progress=True)
    assert (digest, size) == (blake3.blake3(data).hexdigest(), len(data))
    assert blobs.get_bytes(digest) == data
    assert blobs.put_file(str(source)) == (digest, size)
    assert blobs.put_bytes(data) == digest
    assert list(blobs.iter_digests()) == [digest]
    if isinstance(blobs, LocalBlobStore):  # no temp file left behind
        assert sorted(p.name for p in Path(blobs.root).rglob("*") if p.is_file()) == [digest[2:]]


def test_put_file_refuses_unreadable_sources(blobs, tmp_path):
    with pytest.raises(InvalidInput, match="Cannot read"):
        blobs.put_file(str(tmp_path / "missing.csv"))
    with pytest.raises(InvalidInput, match="directory"):
        blobs.put_file(str(tmp_path))


def test_missing_blobs_are_not_found(blobs):
    digest = blake3.blake3(b"never stored").hexdigest()
    assert not blobs.exists(digest)
    for method in (blobs.get_bytes, blobs.open, blobs.size, blobs.verify):
        with pytest.raises(NotFound, match=digest):
            method(digest)


def test_verify_catches_a_flipped_byte(blobs):
    data = b"model weights " * 100
    digest = blobs.put_bytes(data)
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x01
    _write_raw(blobs, f"{digest[:2]}/{digest[2:]}", bytes(flipped))
    assert blobs.exists(digest)
    assert not blobs.verify(digest)


def test_invalid_digests_never_touch_the_filesystem(blobs, tmp_path):
    sentinel = tmp_path / "etc" / "passwd"
    sentinel.parent.mkdir()
    sentinel.write_text("keep me")
    for bad in BAD_DIGESTS:
        for method in (
            blobs.get_bytes,
            blobs.open,
            blobs.exists,
            blobs.size,
            blobs.verify,
            blobs.delete,
            blobs.local_path,
        ):
            with pytest.raises(InvalidInput, match="not a blob digest"):
                method(bad)
    assert sentinel.read_text() == "keep me"


def test_iter_digests_skips_temp_and_foreign_files(blobs):
    digest = blobs.put_bytes(b"real")
    _write_raw(blobs, f"{digest[:2]}/.{digest[2:]}.123.abcd.tmp", b"half written")
    _write_raw(blobs, ".upload.99.beef.tmp", b"half uploaded")
    _write_raw(blobs, "README", b"not a blob")
    _write_raw(blobs, "zz/" + "0" * 62, b"bad shard name")
    _write_raw(blobs, f"{digest[:2]}/short", b"bad blob name")
    assert list(blobs.iter_digests()) == [digest]


@pytest.mark.parametrize("kind", ["local", "file"])
@pytest.mark.parametrize("method", ["put_bytes", "put_file"])
def test_crash_before_rename_leaves_no_blob_under_its_final_name(tmp_path, kind, method):
    root = str(tmp_path / "objects") if kind == "local" else f"file://{tmp_path / 'objects'}"
    data = b"a checkpoint that must be all or nothing " * 5000
    source = tmp_path / "source.bin"
    source.write_bytes(data)
    call = "put_bytes(data)" if method == "put_bytes" else f"put_file({str(source)!r})"
    code = (
        "from pathlib import Path\n"
        "from jupyter_mm.store import open_blobs\n"
        f"data = Path({str(source)!r}).read_bytes()\n"
        f"blobs = open_blobs({root!r})\n"
        f"blobs.{call}\n"
        "print('survived the failpoint')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "JUPYTER_MM_FAILPOINT": "blob-before-rename"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 137, out.stderr
    assert "survived" not in out.stdout
    digest = blake3.blake3(data).hexdigest()
    objects = tmp_path / "objects"
    written = [p for p in objects.rglob("*") if p.is_file() and p != source]
    # the crash happened inside the write: the complete temp file exists, the blob does not
    assert len(written) == 1 and written[0].name.startswith(".")
    assert written[0].read_bytes() == data
    blobs = open_blobs(root)
    assert not blobs.exists(digest)
    assert list(blobs.iter_digests()) == []
    # the next write succeeds normally
    assert blobs.put_bytes(data) == digest
    assert blobs.verify(digest)
    assert list(blobs.iter_digests()) == [digest]


def test_an_unknown_artifact_protocol_is_a_store_error():
    with pytest.raises(StoreError, match="no-such-proto://bucket"):
        open_blobs("no-such-proto://bucket/objects")


def test_referenced_blobs_are_answered_from_memory_until_deleted(blobs):
    digest = blobs.put_bytes(b"cell")
    absent = "0" * 64
    assert blobs.present(digest) and not blobs.present(absent)
    # what committed rows name is trusted without asking the backend again...
    blobs.note_referenced([absent])
    assert blobs.present(absent)
    # ...until the blob is deleted through the store, or everything is forgotten
    blobs.delete(absent)
    assert not blobs.present(absent)
    blobs.note_referenced([absent])
    blobs.forget_referenced()
    assert not blobs.present(absent)


def test_a_new_local_store_has_every_shard_directory_ready(tmp_path):
    """The write path then never creates a directory (a mkdir and an fsync of the root)."""
    blobs = LocalBlobStore(tmp_path / "objects")
    shards = sorted(p.name for p in (tmp_path / "objects").iterdir())
    assert shards == [f"{i:02x}" for i in range(256)]
    digest = blobs.put_bytes(b"first blob")
    assert blobs.get_bytes(digest) == b"first blob" and list(blobs.iter_digests()) == [digest]
    # an older store without them still gets a blob into a missing shard
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "ff").mkdir()  # looks prepared: no shard is created up front
    old = LocalBlobStore(tmp_path / "old")
    assert old.get_bytes(old.put_bytes(b"x")) == b"x"
