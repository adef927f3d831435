"""Data hashing: files, directories, the stat cache, in-memory objects, DataRefs."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import blake3
import numpy as np
import pandas as pd
import pytest

from jupyter_mm.capture.data import (
    ALGORITHM,
    StatCache,
    default_cache_path,
    describe_object,
    describe_path,
    hash_bytes,
    hash_directory,
    hash_file,
    hash_object,
)
from jupyter_mm.capture.progress import Progress
from jupyter_mm.errors import InvalidInput


def age(path: Path, seconds: float = 60.0) -> None:
    """Backdate a file's mtime so the racy-mtime guard lets the cache keep it."""
    past = time.time() - seconds
    os.utime(path, (past, past))


def stat_key(path: Path) -> tuple[str, int, int, int, int]:
    st = path.stat()
    return (str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def reference_digest(data: bytes) -> str:
    return blake3.blake3(data).hexdigest()


@pytest.fixture
def cache(tmp_path: Path) -> StatCache:
    with StatCache(tmp_path / "cache" / "statcache.sqlite") as c:
        yield c


# -- files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 1000, (1 << 20) - 1, (1 << 20) + 17, (9 << 20) + 3])
def test_hash_file_matches_blake3_of_content(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    digest, n = hash_file(path)
    assert (digest, n) == (reference_digest(data), size)
    assert hash_bytes(data) == digest
    assert hash_bytes(memoryview(data)) == digest


def test_hash_file_errors_are_one_line_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"^Data path .*missing\.csv does not exist\.$"):
        hash_file(tmp_path / "missing.csv")
    with pytest.raises(InvalidInput, match="is not a regular file"):
        hash_file(tmp_path)


def test_unchanged_file_is_not_read_again(tmp_path: Path, cache: StatCache) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"a" * 5000)
    age(path)
    first = hash_file(path, cache)
    # Overwrite the content but restore size and mtime: only a cache hit can return the
    # old digest now, which proves the file was not read.
    st = path.stat()
    path.write_bytes(b"b" * 5000)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert hash_file(path, cache) == first
    # A real change (size and mtime) is seen.
    path.write_bytes(b"c" * 5001)
    age(path, 30)
    assert hash_file(path, cache)[0] == reference_digest(b"c" * 5001)


def test_recently_modified_file_is_not_cached(tmp_path: Path, cache: StatCache) -> None:
    path = tmp_path / "fresh.txt"
    path.write_text("v1")
    digest = hash_file(path, cache)[0]
    assert cache.get_file(stat_key(path)) is None  # racy: hashed but not remembered
    age(path)
    assert hash_file(path, cache)[0] == digest
    assert cache.get_file(stat_key(path)) == digest


def test_cache_path_honours_xdg_cache_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_path() == str(tmp_path / "xdg" / "jupyter_mm" / "statcache.sqlite")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_path().endswith(os.path.join(".cache", "jupyter_mm", "statcache.sqlite"))


def test_corrupt_cache_file_is_never_fatal(tmp_path: Path) -> None:
    bad = tmp_path / "statcache.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    data = tmp_path / "d.txt"
    data.write_text("hello")
    age(data)
    cache = StatCache(bad)
    assert hash_file(data, cache)[0] == reference_digest(b"hello")
    assert cache.problem and "unusable" in cache.problem
    assert hash_directory(tmp_path, cache)[2] == 2


def test_unwritable_cache_location_is_never_fatal(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    cache = StatCache(blocker / "sub" / "statcache.sqlite")
    data = tmp_path / "d.txt"
    data.write_text("hello")
    assert hash_file(data, cache)[0] == reference_digest(b"hello")
    assert cache.problem is not None


def test_locked_cache_drops_the_write_and_still_hashes(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    data = tmp_path / "d.txt"
    data.write_text("hello")
    age(data)
    with StatCache(path) as first:
        hash_file(data, first)  # creates the schema
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another kernel holding the write lock
    try:
        other = StatCache(path, timeout=0.05)
        data.write_text("hello again")
        age(data)
        started = time.monotonic()
        assert hash_file(data, other)[0] == reference_digest(b"hello again")
        assert time.monotonic() - started < 2
        assert other.problem is None  # a lock is transient, not a reason to switch off
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert other.get_file(stat_key(data)) is None  # the write was dropped, not queued
    hash_file(data, other)
    assert other.get_file(stat_key(data)) == reference_digest(b"hello again")


def test_cache_is_shared_safely_by_concurrent_writers(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    files = []
    for i in range(40):
        f = tmp_path / f"f{i}.txt"
        f.write_text(f"content {i}")
        age(f)
        files.append(f)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            cache = StatCache(path)
            for f in files:
                assert hash_file(f, cache)[0] == reference_digest(f.read_bytes())
            cache.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    rows = sqlite3.connect(path).execute("SELECT count(*) FROM files").fetchone()[0]
    assert rows == 40


# -- directories -----------------------------------------------------------------------------


def make_tree(root: Path) -> None:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a.csv").write_text("x,y\n1,2\n")
    (root / "sub" / "b.bin").write_bytes(bytes(range(256)))
    (root / "sub" / "deeper" / "c.txt").write_text("c")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ignored")


def test_directory_digest_is_the_documented_canonical_form(tmp_path: Path) -> None:
    make_tree(tmp_path)
    digest, size, count = hash_directory(tmp_path)
    leaves = sorted(
        [
            ("a.csv", b"x,y\n1,2\n"),
            ("sub/b.bin", bytes(range(256))),
            ("sub/deeper/c.txt", b"c"),
        ]
    )
    canonical = b"jupyter-mm directory v1\n" + b"".join(
        rel.encode() + b"\0" + reference_digest(data).encode() + b"\n" for rel, data in leaves
    )
    assert digest == reference_digest(canonical)
    assert (size, count) == (8 + 256 + 1, 3)


def test_directory_digest_changes_on_rename_content_and_addition(tmp_path: Path) -> None:
    make_tree(tmp_path)
    base = hash_directory(tmp_path)[0]
    (tmp_path / "a.csv").rename(tmp_path / "renamed.csv")
    renamed = hash_directory(tmp_path)[0]
    assert renamed != base
    (tmp_path / "renamed.csv").rename(tmp_path / "a.csv")
    assert hash_directory(tmp_path)[0] == base  # same names and content: same digest
    (tmp_path / "sub" / "deeper" / "c.txt").write_text("C")
    assert hash_directory(tmp_path)[0] != base
    (tmp_path / "sub" / "deeper" / "c.txt").write_text("c")
    (tmp_path / "new.txt").write_text("")
    assert hash_directory(tmp_path)[0] != base
    (tmp_path / "new.txt").unlink()
    os.utime(tmp_path / "a.csv", (1, 1))  # metadata is not content
    assert hash_directory(tmp_path)[0] == base


def test_directory_follows_file_symlinks_but_not_directory_symlinks(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "real.txt").write_text("r")
    (root / "link.txt").symlink_to(root / "real.txt")
    (root / "loop").symlink_to(root)  # would recurse forever if followed
    _, _, count = hash_directory(root)
    assert count == 2


def test_unchanged_directory_uses_one_lookup_and_changed_files_only(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    for i in range(50):
        (root / f"f{i:02}.txt").write_text(f"row {i}\n")
        age(root / f"f{i:02}.txt")
    cache = StatCache(tmp_path / "c.sqlite")
    first = hash_directory(root, cache)
    assert hash_directory(root, cache) == first
    # Swap one file's content behind an identical stat tuple: the directory hit answers.
    target = root / "f07.txt"
    st = target.stat()
    target.write_text("row X\n")
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert hash_directory(root, cache) == first
    # A real change to one file: the digest changes and matches an uncached hash.
    target.write_text("row 7 changed\n")
    age(target, 10)
    changed = hash_directory(root, cache)
    assert changed[0] != first[0]
    assert changed == hash_directory(root)


def _same_size_new_mtime(root: Path) -> None:
    target = root / "sub" / "b.bin"
    target.write_bytes(bytes(reversed(range(256))))
    age(target, 30)  # an mtime the cache may trust, other than before


def _same_size_and_mtime_new_inode(root: Path) -> None:
    # Another file (new inode) with the same size and mtime replaces a.csv: only the inode
    # tells them apart.
    target = root / "a.csv"
    st = target.stat()
    replacement = root / "replacement.tmp"
    replacement.write_text("x,y\n3,4\n")
    os.utime(replacement, ns=(st.st_atime_ns, st.st_mtime_ns))
    replacement.replace(target)


def _added(root: Path) -> None:
    (root / "sub" / "new.txt").write_text("new")
    age(root / "sub" / "new.txt")


def _removed(root: Path) -> None:
    (root / "sub" / "deeper" / "c.txt").unlink()


def _renamed(root: Path) -> None:
    (root / "a.csv").rename(root / "sub" / "a.csv")  # same content, same stat, new name


@pytest.mark.parametrize(
    "change",
    [_same_size_new_mtime, _same_size_and_mtime_new_inode, _added, _removed, _renamed],
)
def test_cached_directory_digest_follows_every_change(tmp_path: Path, change) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    make_tree(root)
    for path in root.rglob("*"):
        age(path)
    cache = StatCache(tmp_path / "c.sqlite")
    before = hash_directory(root, cache)
    assert hash_directory(root, cache) == before  # answered by the directory entry
    change(root)
    after = hash_directory(root, cache)
    assert after[0] != before[0]
    assert after == hash_directory(root)  # the same as hashing without any cache
    assert hash_directory(root, cache) == after


def test_directory_order_is_utf8_bytes_with_and_without_cache(tmp_path: Path) -> None:
    # An undecodable name (surrogate-escaped in Python) sorts after "é" by code point but
    # before it by UTF-8 bytes (0x80 < 0xC3); the canonical form uses bytes.
    root = tmp_path / "tree"
    root.mkdir()
    try:
        with open(os.path.join(os.fsencode(root), b"\x80.bin"), "wb") as handle:
            handle.write(b"raw")
    except OSError:
        pytest.skip("the file system refuses undecodable names")
    (root / "\u00e9.txt").write_bytes(b"accent")
    for path in root.iterdir():
        age(path)
    leaves = [(b"\x80.bin", b"raw"), ("\u00e9.txt".encode(), b"accent")]
    canonical = b"jupyter-mm directory v1\n" + b"".join(
        rel + b"\0" + reference_digest(data).encode() + b"\n" for rel, data in leaves
    )
    cache = StatCache(tmp_path / "c.sqlite")
    assert hash_directory(root)[0] == reference_digest(canonical)
    assert hash_directory(root, cache)[0] == reference_digest(canonical)
    assert hash_directory(root, cache)[0] == reference_digest(canonical)  # the cached entry


def test_missing_directory_and_unreadable_entries(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        hash_directory(tmp_path / "nope")
    with pytest.raises(InvalidInput, match="is not a directory"):
        (tmp_path / "f").write_text("x")
        hash_directory(tmp_path / "f")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_unreadable_file_in_directory(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("x")
    (tmp_path / "secret.txt").chmod(0)
    with pytest.raises(InvalidInput, match="permission denied"):
        hash_directory(tmp_path)


# -- objects -----------------------------------------------------------------------------------


def test_bytes_and_str_hash_like_files() -> None:
    assert hash_object(b"abc") == (reference_digest(b"abc"), 3, "bytes")
    assert hash_object(bytearray(b"abc"))[0] == reference_digest(b"abc")
    assert hash_object(memoryview(b"abcdef")[::2])[0] == reference_digest(b"ace")
    assert hash_object("é") == (reference_digest("é".encode()), 2, "str")


def test_dataframe_digest_covers_values_index_columns_and_dtypes() -> None:
    df = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    digest, size, kind = hash_object(df)
    assert kind == "pandas.DataFrame" and size > 0
    assert hash_object(df.copy())[0] == digest  # deterministic, not identity-based
    variants = [
        df.assign(a=[1, 2, 4]),
        df.rename(columns={"b": "c"}),
        df.set_axis([10, 11, 12]),
        df.astype({"a": "float64"}),
        df[["b", "a"]],
        df.iloc[:2],
    ]
    digests = {hash_object(v)[0] for v in variants}
    assert digest not in digests and len(digests) == len(variants)


def test_series_and_ndarray() -> None:
    s = pd.Series([1.0, 2.0], name="x")
    assert hash_object(s)[2] == "pandas.Series"
    assert hash_object(s.rename("y"))[0] != hash_object(s)[0]
    arr = np.arange(12, dtype=np.int32)
    digest = hash_object(arr)[0]
    assert hash_object(arr.copy())[0] == digest
    assert hash_object(arr.reshape(3, 4))[0] != digest  # shape counts
    assert hash_object(arr.astype(np.int64))[0] != digest  # dtype counts
    fortran = np.asfortranarray(arr.reshape(3, 4))
    assert hash_object(fortran)[0] == hash_object(arr.reshape(3, 4))[0]  # values, not layout
    assert hash_object(arr)[1] == 48


def test_unhashable_values_give_none() -> None:
    assert hash_object(np.array([{"a": 1}], dtype=object)) is None
    assert hash_object(pd.DataFrame({"a": [[1], [2]]})) is None
    assert hash_object(object()) is None
    assert hash_object(42) is None


# -- DataRefs ----------------------------------------------------------------------------------


def test_describe_path_file_and_directory(tmp_path: Path) -> None:
    make_tree(tmp_path)
    ref = describe_path(tmp_path / "a.csv", "input")
    assert (ref.kind, ref.role, ref.algorithm, ref.size) == ("file", "input", ALGORITHM, 8)
    assert ref.name == str(tmp_path / "a.csv")
    ref = describe_path(tmp_path / "sub", "output", progress=Progress.quiet())
    assert (ref.kind, ref.detail) == ("directory", "2")
    with pytest.raises(InvalidInput, match="does not exist"):
        describe_path(tmp_path / "nope.csv", "input")
    with pytest.raises(InvalidInput, match="role must be"):
        describe_path(tmp_path / "a.csv", "both")


def test_describe_object(tmp_path: Path) -> None:
    ref = describe_object("df", pd.DataFrame({"a": [1]}), "input")
    assert (ref.name, ref.kind, ref.detail) == ("df", "object", "pandas.DataFrame")
    with pytest.raises(InvalidInput, match=r"^Cannot hash 'model' of type builtins\.object"):
        describe_object("model", object(), "input")


def test_progress_bar_appears_only_after_the_delay(tmp_path: Path) -> None:
    quick = Progress(delay=60).bar(100, "x")
    quick.update(100)
    assert not quick.shown
    quick.close()
    slow = Progress(delay=0).bar(100, "x")
    slow.update(10)
    assert slow.shown
    slow.close()
    silent = Progress.quiet().bar(100, "x")
    silent.update(100)
    assert not silent.shown


def test_long_hashing_shows_a_byte_progress_bar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(os.urandom(20 << 20))
    hash_file(path, progress=Progress(delay=0))
    err = capsys.readouterr().err
    assert "big.bin" in err and "B/s" in err  # a tqdm bar in bytes, labelled with the file
    hash_file(path, progress=Progress(delay=60))
    assert capsys.readouterr().err == ""  # finished before the delay: nothing shown
