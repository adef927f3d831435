"""Data hashing: a large file first time and unchanged, against ``dvc add``, and an unchanged
directory of many small files against ``dvc status``.

Both sides read the same file from the page cache (it was just written), so the comparison
is hashing + bookkeeping, not disk speed. DVC runs as its own CLI, as users run it, with its
default cache settings; its first-time cost includes copying the file into its cache, which
is part of what ``dvc add`` costs a user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import Result, median_seconds

CHUNK = 64 * 1024 * 1024


def _make_file(path: Path, size: int) -> None:
    # Random-looking but cheap: one random 64 MiB block with a counter mixed in per chunk,
    # so no two chunks are identical (dedup-aware tools must not get a free ride).
    block = bytearray(os.urandom(CHUNK))
    with open(path, "wb") as handle:
        written = 0
        counter = 0
        while written < size:
            block[:8] = counter.to_bytes(8, "little")
            part = bytes(block[: min(CHUNK, size - written)])
            handle.write(part)
            written += len(part)
            counter += 1


def ours(path: Path, repeat: int) -> tuple[float, float]:
    """(first time, unchanged) median seconds for ``describe_path`` with a stat cache."""
    from jupyter_mm.capture.data import StatCache, hash_file

    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(10_000))

        def first() -> None:
            cache = StatCache(Path(tmp) / f"cache-{next(counter)}.sqlite")
            hash_file(str(path), cache=cache)

        first_time = median_seconds(first, repeat, warmup=1)
        warm = StatCache(Path(tmp) / "warm.sqlite")
        # the racy-mtime guard refuses to cache a file modified in the last seconds
        age = time.time() - path.stat().st_mtime
        if age < 3:
            time.sleep(3 - age)
        hash_file(str(path), cache=warm)
        unchanged = median_seconds(lambda: hash_file(str(path), cache=warm), repeat * 5)
    return first_time, unchanged


def _dvc(args: list[str], cwd: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "dvc", *args],
        cwd=cwd,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def dvc(path: Path, repeat: int) -> tuple[float, float] | None:
    """(first time, unchanged) median seconds of ``dvc add`` on the same file."""
    try:
        import dvc as _dvc_module  # noqa: F401
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        samples: list[float] = []
        repo = Path(tmp)
        for index in range(repeat):
            repo = Path(tmp) / f"repo{index}"
            repo.mkdir()
            _dvc(["init", "--no-scm", "-q"], repo)
            os.link(path, repo / "data.bin")
            start = time.perf_counter()
            _dvc(["add", "-q", "data.bin"], repo)
            samples.append(time.perf_counter() - start)
            if index < repeat - 1:
                shutil.rmtree(repo)
        samples.sort()
        first_time = samples[len(samples) // 2]
        unchanged = median_seconds(lambda: _dvc(["add", "-q", "data.bin"], repo), repeat)
    return first_time, unchanged


def _make_small_files(root: Path, count: int) -> None:
    # 100 subdirectories of small distinct files, like an image or text data set
    for index in range(count):
        folder = root / f"part{index % 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"item{index:06d}.txt").write_bytes(f"sample {index}\n".encode() * 8)


def directory_unchanged(workdir: Path, count: int, repeat: int) -> tuple[float, float | None]:
    """(ours, ``dvc status``) median seconds on an unchanged directory of ``count`` files."""
    from jupyter_mm.capture.data import StatCache, hash_directory

    repo = workdir / "dirrepo"
    data = repo / "data"
    _make_small_files(data, count)
    time.sleep(3)  # past the racy-mtime window, so both tools may trust their stat caches
    with tempfile.TemporaryDirectory() as tmp:
        cache = StatCache(Path(tmp) / "cache.sqlite")
        _, _, files = hash_directory(data, cache=cache)
        if files != count:
            raise RuntimeError(f"hash_directory saw {files} files, expected {count}.")
        ours_unchanged = median_seconds(lambda: hash_directory(data, cache=cache), repeat * 3)
    try:
        import dvc as _dvc_module  # noqa: F401
    except ImportError:
        return ours_unchanged, None
    _dvc(["init", "--no-scm", "-q"], repo)
    _dvc(["add", "-q", "data"], repo)
    peer = median_seconds(lambda: _dvc(["status", "-q"], repo), repeat)
    shutil.rmtree(repo)
    return ours_unchanged, peer


def run(quick: bool, workdir: Path) -> list[Result]:
    size = (128 if quick else 1024) * 1024 * 1024
    repeat = 3 if quick else 5
    label = f"{size // (1024 * 1024)} MiB file"
    path = workdir / "big.bin"
    _make_file(path, size)
    try:
        our_first, our_unchanged = ours(path, repeat)
        peer = dvc(path, repeat)
    finally:
        path.unlink(missing_ok=True)
    note = "" if peer else "dvc not installed: pip install -e '.[bench]'"
    files = 2_000 if quick else 10_000
    dir_ours, dir_peer = directory_unchanged(workdir, files, repeat)
    gbps = size / our_first / 1e9
    return [
        Result(
            target=f"hash {label}, first time",
            ours=our_first,
            peer=peer[0] if peer else None,
            peer_name="dvc add",
            min_ratio=4.0,
            note=(note or f"ours = {gbps:.2f} GB/s"),
        ),
        Result(
            target=f"hash {label}, unchanged",
            ours=our_unchanged,
            peer=peer[1] if peer else None,
            peer_name="dvc add",
            max_ours=0.005,
            note=note,
        ),
        Result(
            target=f"directory of {files:,} small files, unchanged",
            ours=dir_ours,
            peer=dir_peer,
            peer_name="dvc status",
            max_ours=0.050,
            note=note or "dvc status exits 0 only when nothing changed; it runs as a CLI",
        ),
    ]
