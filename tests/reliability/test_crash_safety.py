"""Issue #6 c: a process recording runs is killed at random points (SIGKILL, or dying inside
a blob write through the ``blob-before-rename`` failpoint). After each kill the store must
be intact: SQLite's integrity check passes, ``jupyter mm verify`` exits 0, every run is
finished or (once the store is reopened) crashed, and no row names a missing blob."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jupyter_mm.cli import main as jupyter_mm
from jupyter_mm.cli._common import iter_all_runs
from jupyter_mm.config import DB_FILE, ENV_STORE, OBJECTS_DIR, StoreLocation, ensure_store_dir
from jupyter_mm.store import open_store

WRITER = Path(__file__).with_name("crash_writer.py")


def sqlite_location(base: Path) -> StoreLocation:
    directory = ensure_store_dir(base / ".jupyter_mm")
    return StoreLocation(f"sqlite:///{directory / DB_FILE}", str(directory / OBJECTS_DIR))


def kill_writer_once(location: StoreLocation, rng: random.Random, trial: int) -> int:
    """Run one writer and end it abruptly; return its exit status."""
    # every third trial dies inside a blob write, after 0-2 complete runs; the others are
    # SIGKILLed after a random delay, anywhere in the loop
    arm_after = rng.randrange(3) if trial % 3 == 0 else -1
    argv = [location.url, location.artifact_root, str(trial), str(arm_after)]
    writer = subprocess.Popen(
        [sys.executable, str(WRITER), *argv],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready", "the writer could not open the store"
        if arm_after < 0:
            time.sleep(rng.uniform(0, 0.6))
            writer.send_signal(signal.SIGKILL)
        return writer.wait(timeout=60)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()


def check_store_intact(location: StoreLocation, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    db_file = location.url[len("sqlite:///") :]
    with sqlite3.connect(db_file) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    with open_store(location) as store:  # reopening marks the dead writer's run crashed
        statuses = {run.id: run.status for run in iter_all_runs(store)}
        missing = store.referenced_digests() - set(store.blobs.iter_digests())
    assert set(statuses.values()) <= {"finished", "crashed"}, statuses
    assert missing == set(), f"rows name missing blobs: {missing}"
    monkeypatch.setenv(ENV_STORE, location.url)
    assert jupyter_mm(["verify"]) == 0
    return {run_id for run_id, status in statuses.items() if status == "crashed"}


def crash_trials(trials: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(6)
    exits: list[int] = []
    crashed: set[str] = set()
    for trial in range(trials):
        # a fresh store every 10 trials: verify re-hashes every blob after each kill, and on
        # one ever-growing store the long variant would spend its time re-hashing
        if trial % 10 == 0:
            location = sqlite_location(tmp_path / f"store{trial // 10}")
            open_store(location).close()
        exits.append(kill_writer_once(location, rng, trial))
        crashed |= check_store_intact(location, monkeypatch)
    # the trials really crashed the writer both ways, and left runs behind that were
    # in progress (a test that never interrupted anything would prove nothing)
    assert -signal.SIGKILL in exits and 137 in exits, exits
    assert crashed, "no kill landed inside a run"


def test_killing_a_writer_10_times_leaves_the_store_intact(tmp_path, monkeypatch) -> None:
    crash_trials(10, tmp_path, monkeypatch)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_killing_a_writer_200_times_leaves_the_store_intact(tmp_path, monkeypatch) -> None:
    crash_trials(200, tmp_path, monkeypatch)
