"""``verify`` and ``gc`` on a real store: damage is made on disk and in the database the way
it happens in practice (a flipped byte, a deleted file, a row edited behind our back)."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from jupyter_mm.cli import maintenance
from jupyter_mm.store import open_store


def blob_path(url: str, digest: str) -> Path:
    with open_store(url) as store:
        path = store.blobs.local_path(digest)
    assert path is not None
    return Path(path)


def test_verify_a_healthy_store(cli, populated) -> None:
    result = cli("verify")
    assert result.code == 0, result.out + result.err
    lines = result.out.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("checked ") and lines[0].endswith(" blobs, 3 runs: OK")
    report = cli("verify", "--json").json()
    assert report["ok"] is True and report["problems"] == [] and report["runs"] == 3
    assert report["blobs"] == int(lines[0].split()[1]) > 0


def test_verify_names_a_flipped_byte_a_deleted_blob_and_a_dangling_row(cli, populated) -> None:
    # 1. a flipped byte in the first run's model
    corrupt = blob_path(populated.url, populated.artifact_digest)
    os.chmod(corrupt, 0o644)  # blobs may be stored read-only
    data = bytearray(corrupt.read_bytes())
    data[0] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    # 2. the second run's checkpoint manifest deleted
    with open_store(populated.url) as store:
        second_checkpoint = store.get_run(populated.second).checkpoint_digest
    blob_path(populated.url, second_checkpoint).unlink()
    # 3. a row naming an environment that does not exist
    db = sqlite3.connect(populated.url[len("sqlite:///") :])
    db.execute("PRAGMA foreign_keys=OFF")
    db.execute("UPDATE runs SET environment_id = 'f00d' WHERE id = ?", (populated.failed,))
    db.commit()
    db.close()

    result = cli("verify")
    assert result.code == 1, result.err
    lines = result.out.splitlines()
    assert lines, result.err
    assert lines[-1].endswith(f" blobs, 3 runs: {len(lines) - 1} problem(s)"), lines
    problems = lines[:-1]
    assert any(
        populated.artifact_digest in line and "corrupt" in line and populated.first in line
        for line in problems
    ), problems
    assert any(
        second_checkpoint in line and "missing" in line and populated.second in line
        for line in problems
    ), problems
    assert any("runs" in line and "environment" in line for line in problems), problems
    assert len(problems) <= 4, problems  # SQLite may report the bad row from two checks

    report = cli("verify", "--json").json()
    assert report["ok"] is False
    assert len(report["problems"]) == len(problems)
    kinds = {p["kind"]: p for p in report["problems"]}
    assert set(kinds) == {"corrupt_blob", "missing_blob", "database"}
    assert kinds["corrupt_blob"]["digest"] == populated.artifact_digest
    assert kinds["corrupt_blob"]["runs"] == [populated.first]
    assert kinds["missing_blob"]["digest"] == second_checkpoint
    assert kinds["missing_blob"]["runs"] == [populated.second]


def test_verify_shows_progress_for_many_blobs(cli, populated, monkeypatch) -> None:
    monkeypatch.setattr(maintenance, "PROGRESS_AFTER_BLOBS", 1)
    result = cli("verify")
    assert result.code == 0
    assert "verifying" in result.err  # tqdm writes to stderr, stdout stays parseable


def _orphan(url: str, payload: bytes, age_hours: float = 0.0) -> str:
    with open_store(url) as store:
        digest = store.blobs.put_bytes(payload)
        path = store.blobs.local_path(digest)
    if age_hours:
        old = time.time() - age_hours * 3600
        os.utime(path, (old, old))
    return digest


def test_gc_lists_then_deletes_only_unreferenced_old_blobs(cli, populated) -> None:
    old = _orphan(populated.url, b"x" * 3000, age_hours=5)
    young = _orphan(populated.url, b"written by a kernel that has not committed yet")
    with open_store(populated.url) as store:
        referenced = store.referenced_digests()
        before = set(store.blobs.iter_digests())
    assert old not in referenced and young not in referenced

    listing = cli("gc")
    assert listing.code == 0, listing.err
    assert old[:12] in listing.out and "2.9 KB" in listing.out
    assert young[:12] not in listing.out
    assert "kept 1 unreferenced blob(s) younger than 1 h" in listing.out
    assert "1 unreferenced blob(s), 2.9 KB in total; run with --yes" in listing.out
    with open_store(populated.url) as store:
        assert set(store.blobs.iter_digests()) == before  # listing deletes nothing

    report = cli("gc", "--json").json()
    assert [e["digest"] for e in report["unreferenced"]] == [old]
    assert report["total_bytes"] == 3000 and report["deleted"] is False
    assert [e["digest"] for e in report["kept_young"]] == [young]

    deleted = cli("gc", "--yes")
    assert deleted.code == 0 and "deleted 1 unreferenced blob(s), 2.9 KB" in deleted.out
    with open_store(populated.url) as store:
        assert set(store.blobs.iter_digests()) == before - {old}
    assert cli("verify").code == 0  # nothing referenced was touched

    # --grace 0: the caller says no kernel is writing, so the young one goes too
    assert young[:12] in cli("gc", "--grace", "0", "--yes").out
    with open_store(populated.url) as store:
        remaining = set(store.blobs.iter_digests())
    assert remaining == before - {old, young}
    assert referenced <= remaining
    assert "No unreferenced blobs to delete." in cli("gc").out


def test_gc_rejects_a_negative_grace(cli, populated) -> None:
    result = cli("gc", "--grace", "-1")
    assert result.code == 2 and result.err.startswith("jupyter mm: error: --grace")
