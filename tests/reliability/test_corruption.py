"""Issue #6 d: damaged blobs (a flipped byte, truncation, deletion) and dangling rows are
each named by ``jupyter mm verify`` (every one, no false alarms), and ``load_model``
refuses a tampered artifact instead of unpickling it."""

from __future__ import annotations

import json
import os
import pickle
import random
import sqlite3
import time
from pathlib import Path

import pytest

from jupyter_mm import ids, registry
from jupyter_mm.cli import main as jupyter_mm
from jupyter_mm.config import DB_FILE, ENV_STORE, OBJECTS_DIR, StoreLocation, ensure_store_dir
from jupyter_mm.entities import Artifact, Param, Run
from jupyter_mm.errors import IntegrityError
from jupyter_mm.flavors import MEDIA_TYPE_PICKLE
from jupyter_mm.store import open_store


def sqlite_location(base: Path) -> StoreLocation:
    directory = ensure_store_dir(base / ".jupyter_mm")
    return StoreLocation(f"sqlite:///{directory / DB_FILE}", str(directory / OBJECTS_DIR))


def fill(location: StoreLocation, rng: random.Random, runs: int) -> list[tuple[str, str]]:
    """``runs`` finished runs with two artifacts each; return (run id, digest) per blob."""
    blobs = []
    with open_store(location) as store:
        for _ in range(runs):
            run = store.create_run(Run(id=ids.new_id(), start_time=time.time()))
            artifacts = []
            for name in ("model.bin", "report.html"):
                data = rng.randbytes(rng.randrange(1, 5000))
                artifacts.append(Artifact(name, store.blobs.put_bytes(data), len(data)))
                blobs.append((run.id, artifacts[-1].digest))
            run.status, run.end_time = "finished", time.time()
            store.finish_run(run, params=[Param("lr", "0.1")], artifacts=artifacts)
    return blobs


def blob_file(location: StoreLocation, digest: str) -> Path:
    with open_store(location) as store:
        path = Path(store.blobs.local_path(digest) or "")
    os.chmod(path, 0o644)  # blobs are stored read-only
    return path


def damage(location: StoreLocation, rng: random.Random, blobs: list) -> dict[str, str]:
    """Damage a random subset of the blobs and add dangling rows; return what verify must
    report: digest -> problem kind, and ``"params"`` -> ``"database"`` for the orphan row."""
    expected: dict[str, str] = {}
    for _run_id, digest in rng.sample(blobs, rng.randrange(1, len(blobs) + 1)):
        path = blob_file(location, digest)
        data = bytearray(path.read_bytes())
        how = rng.choice(["flip", "truncate", "delete"])
        if how == "flip":
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            path.write_bytes(bytes(data))
        elif how == "truncate":
            path.write_bytes(bytes(data[: rng.randrange(len(data))]))
        else:
            path.unlink()
        expected[digest] = "missing_blob" if how == "delete" else "corrupt_blob"
    run_id = blobs[0][0]
    dangling_digest = rng.randbytes(32).hex()
    with sqlite3.connect(location.url[len("sqlite:///") :]) as db:
        db.execute("PRAGMA foreign_keys=OFF")
        db.execute(
            "INSERT INTO artifacts (run_id, name, digest, size, media_type) VALUES (?,?,?,?,?)",
            (run_id, "ghost.bin", dangling_digest, 3, "application/octet-stream"),
        )
        db.execute(
            "INSERT INTO params (run_id, name, value) VALUES (?, 'lr', '1')", (ids.new_id(),)
        )
    expected[dangling_digest] = "missing_blob"
    expected["params"] = "database"
    return expected


def verify_report(location: StoreLocation, capsys: pytest.CaptureFixture) -> tuple[int, dict]:
    capsys.readouterr()
    code = jupyter_mm(["--store", location.url, "verify", "--json"])
    return code, json.loads(capsys.readouterr().out)


def corruption_rounds(rounds: int, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.delenv(ENV_STORE, raising=False)
    rng = random.Random(64)
    for index in range(rounds):
        location = sqlite_location(tmp_path / f"round{index}")
        blobs = fill(location, rng, runs=rng.randrange(1, 5))
        assert verify_report(location, capsys)[0] == 0
        expected = damage(location, rng, blobs)
        code, report = verify_report(location, capsys)
        assert code == 1 and report["ok"] is False
        found = {p["digest"]: p["kind"] for p in report["problems"] if p["digest"]}
        database = [p["message"] for p in report["problems"] if p["kind"] == "database"]
        blob_expected = {d: k for d, k in expected.items() if d != "params"}
        # every damaged blob named with the right kind, and nothing healthy accused
        assert found == blob_expected, f"round {index}"
        assert any("params" in message for message in database), database


def test_verify_names_every_damaged_blob_and_dangling_row(tmp_path, monkeypatch, capsys) -> None:
    corruption_rounds(10, tmp_path, monkeypatch, capsys)


@pytest.mark.slow
def test_verify_names_every_damage_over_200_rounds(tmp_path, monkeypatch, capsys) -> None:
    corruption_rounds(200, tmp_path, monkeypatch, capsys)


def test_load_model_refuses_a_tampered_artifact(local_location: StoreLocation) -> None:
    model = {"weights": [0.25, 0.5], "bias": 1.0}
    with open_store(local_location) as store:
        data = pickle.dumps(model)
        digest = store.blobs.put_bytes(data)
        run = store.create_run(Run(id=ids.new_id(), start_time=time.time()))
        run.status, run.end_time = "finished", time.time()
        store.finish_run(
            run, artifacts=[Artifact("model.pkl", digest, len(data), MEDIA_TYPE_PICKLE)]
        )
        registry.register_model(run.id, "model.pkl", "churn", store=store)
        assert registry.load_model("churn/1", trusted=True, store=store) == model
    path = blob_file(local_location, digest)
    # an attacker swaps in a pickle of their own, of the same length
    path.write_bytes(pickle.dumps({"weights": [0.75, 0.5], "bias": 1.0}))
    refused = pytest.raises(IntegrityError, match="does not match its recorded digest")
    with open_store(local_location) as store, refused:
        registry.load_model("churn/1", trusted=True, store=store)
