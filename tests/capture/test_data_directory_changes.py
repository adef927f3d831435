"""The unchanged-directory shortcut of ``hash_directory`` must still see every change that
matters.

Each test builds a real tree in a tmp dir, hashes it through a real StatCache until the
directory entry answers, changes the tree, and checks that the new digest differs and is
the digest of hashing without any cache. Every test runs twice: stat'ing names relative
to an open directory (the fast path on POSIX) and by full path (the fallback).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from jupyter_mm.capture import data
from jupyter_mm.capture.data import StatCache, hash_directory

FILES = {
    "top.txt": b"top\n",
    "a/one.csv": b"x,y\n1,2\n",
    "a/b/two.bin": bytes(range(64)),
    "a/b/c/deep.txt": b"deep\n",
    "a/b/c/empty.txt": b"",
}


@pytest.fixture(params=["dir_fd", "full_path"])
def walk_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "full_path":
        monkeypatch.setattr(data, "_STAT_IN_DIR_FD", False)
    elif not data._STAT_IN_DIR_FD:
        pytest.skip("this OS cannot stat relative to a directory descriptor")
    return str(request.param)


def age(path: Path, seconds: float = 60.0) -> None:
    """Backdate a file so the racy-mtime rule lets the cache keep it."""
    past = time.time() - seconds
    os.utime(path, (past, past))


def make_tree(root: Path) -> None:
    for rel, content in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        age(path)
    (root / "link.txt").symlink_to(root / "a" / "one.csv")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ignored")


def directory_rows(cache: StatCache, root: Path) -> int:
    with sqlite3.connect(cache.path) as conn:
        return int(
            conn.execute("SELECT count(*) FROM dirs WHERE path=?", (str(root),)).fetchone()[0]
        )


def cached_tree(tmp_path: Path) -> tuple[Path, StatCache, tuple[str, int, int]]:
    """A tree whose digest the cache now answers from its directory entry."""
    root = tmp_path / "tree"
    make_tree(root)
    cache = StatCache(tmp_path / "cache.sqlite")
    before = hash_directory(root, cache)
    assert directory_rows(cache, root) == 1
    assert hash_directory(root, cache) == before
    assert before == hash_directory(root)
    assert before[2] == len(FILES) + 1  # the symlinked file counts, .git does not
    return root, cache, before


# -- changes that must give a new digest ---------------------------------------------------


def _deep_same_size_new_mtime(root: Path) -> None:
    target = root / "a" / "b" / "c" / "deep.txt"
    target.write_bytes(b"DEEP\n")
    age(target, 30)


def _same_size_and_mtime_new_inode(root: Path) -> None:
    target = root / "a" / "b" / "two.bin"
    st = target.stat()
    replacement = root / "a" / "b" / "two.tmp"
    replacement.write_bytes(bytes(reversed(range(64))))
    os.utime(replacement, ns=(st.st_atime_ns, st.st_mtime_ns))
    replacement.replace(target)


def _size_changed_mtime_restored(root: Path) -> None:
    target = root / "a" / "one.csv"
    st = target.stat()
    with open(target, "ab") as handle:
        handle.write(b"3,4\n")
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # only the size tells


def _added_empty_file(root: Path) -> None:
    (root / "a" / "b" / "c" / "new-empty.txt").write_bytes(b"")
    age(root / "a" / "b" / "c" / "new-empty.txt")


def _added_in_new_subdirectory(root: Path) -> None:
    (root / "a" / "fresh").mkdir()
    (root / "a" / "fresh" / "f.txt").write_bytes(b"f")
    age(root / "a" / "fresh" / "f.txt")


def _removed_empty_file(root: Path) -> None:
    (root / "a" / "b" / "c" / "empty.txt").unlink()


def _renamed_in_place(root: Path) -> None:
    (root / "a" / "one.csv").rename(root / "a" / "uno.csv")  # same inode, size and mtime
    (root / "link.txt").unlink()
    (root / "link.txt").symlink_to(root / "a" / "uno.csv")


def _moved_to_another_directory(root: Path) -> None:
    (root / "a" / "b" / "two.bin").rename(root / "a" / "b" / "c" / "two.bin")


def _directory_renamed(root: Path) -> None:
    # Every file keeps its inode, size and mtime; only the relative paths change.
    (root / "a" / "b" / "c").rename(root / "a" / "b" / "d")


def _file_replaced_by_symlink(root: Path) -> None:
    target = root / "a" / "b" / "c" / "deep.txt"
    target.unlink()
    target.symlink_to(root / "top.txt")


def _symlink_retargeted(root: Path) -> None:
    (root / "link.txt").unlink()
    (root / "link.txt").symlink_to(root / "a" / "b" / "two.bin")


def _file_replaced_by_symlink_to_directory(root: Path) -> None:
    target = root / "top.txt"
    target.unlink()
    target.symlink_to(root / "a")  # symlinked directories are not descended into


def _file_replaced_by_directory(root: Path) -> None:
    target = root / "top.txt"
    target.unlink()
    target.mkdir()
    (target / "inside.txt").write_bytes(b"top\n")
    age(target / "inside.txt")


@pytest.mark.parametrize(
    "change",
    [
        _deep_same_size_new_mtime,
        _same_size_and_mtime_new_inode,
        _size_changed_mtime_restored,
        _added_empty_file,
        _added_in_new_subdirectory,
        _removed_empty_file,
        _renamed_in_place,
        _moved_to_another_directory,
        _directory_renamed,
        _file_replaced_by_symlink,
        _symlink_retargeted,
        _file_replaced_by_symlink_to_directory,
        _file_replaced_by_directory,
    ],
)
def test_every_change_gives_a_new_digest_through_the_cache(
    tmp_path: Path, walk_mode: str, change: Callable[[Path], None]
) -> None:
    root, cache, before = cached_tree(tmp_path)
    change(root)
    after = hash_directory(root, cache)
    assert after[0] != before[0]
    assert after == hash_directory(root)  # the same as hashing without any cache
    assert hash_directory(root, cache) == after


def test_same_size_rewrite_in_the_same_mtime_tick_is_seen(tmp_path: Path, walk_mode: str) -> None:
    # "Racy git": a file written just now may be rewritten within the same mtime tick after
    # we read it, leaving its stat tuple unchanged. A fresh file deep in the tree must keep
    # the whole directory out of the cache.
    root, cache, _ = cached_tree(tmp_path)
    fresh = root / "a" / "b" / "c" / "fresh.txt"
    fresh.write_bytes(b"version 1\n")
    first = hash_directory(root, cache)
    st = fresh.stat()
    fresh.write_bytes(b"version 2\n")
    os.utime(fresh, ns=(st.st_atime_ns, st.st_mtime_ns))  # the same tick
    after = fresh.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        st.st_ino,
        st.st_size,
        st.st_mtime_ns,
    )
    second = hash_directory(root, cache)
    assert second[0] != first[0]
    assert second == hash_directory(root)


# -- changes that must not ------------------------------------------------------------------


def test_metadata_skipped_directories_and_special_files_do_not_count(
    tmp_path: Path, walk_mode: str
) -> None:
    root, cache, before = cached_tree(tmp_path)
    (root / "a" / "one.csv").chmod(0o600)  # the digest covers content, not mode
    (root / ".git" / "HEAD").write_text("changed")
    (root / "a" / "__pycache__").mkdir()
    (root / "a" / "__pycache__" / "m.pyc").write_bytes(b"pyc")
    (root / "a" / "dangling").symlink_to(root / "missing")
    (root / "a" / "empty-dir").mkdir()
    if hasattr(os, "mkfifo"):
        os.mkfifo(root / "a" / "pipe")
    assert hash_directory(root, cache) == before
    assert hash_directory(root) == before


def test_a_file_changed_while_it_was_read_is_not_cached(tmp_path, monkeypatch):
    """The directory's files are read after the walk: one rewritten in between (here right
    after its read) must leave neither its digest nor the directory's in the cache, so the
    next call sees the new content."""
    root = tmp_path / "tree"
    make_tree(root)
    cache = StatCache(tmp_path / "cache.sqlite")
    target = root / "a" / "one.csv"
    real = data._read_and_hash

    def read_then_rewrite(path, size, bar):
        digest = real(path, size, bar)
        if path == str(target):
            target.write_bytes(b"rewritten while the directory was hashed\n")
            age(target, 30)
        return digest

    monkeypatch.setattr(data, "_read_and_hash", read_then_rewrite)
    hash_directory(root, cache)
    monkeypatch.setattr(data, "_read_and_hash", real)
    assert directory_rows(cache, root) == 0
    assert hash_directory(root, cache) == hash_directory(root)
