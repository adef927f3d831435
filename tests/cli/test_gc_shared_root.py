"""``jupyter mm gc --yes`` on an artifact root shared by several stores, and with links
below the root: it deletes only what no store on the root references, deletes nothing when
it cannot tell, and never follows a link. Real SQLite stores, the real CLI."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import pytest

from jupyter_mm.config import ENV_ARTIFACTS
from jupyter_mm.entities import Artifact, Run
from jupyter_mm.ids import new_id
from jupyter_mm.store import open_store
from jupyter_mm.store.local_blobs import LocalBlobStore
from jupyter_mm.store.root_registry import LEGACY_MARKER, store_id

OLD = 5 * 3600  # older than gc's grace period


def _age(root: Path, digest: str) -> None:
    path = root / digest[:2] / digest[2:]
    then = time.time() - OLD
    os.utime(path, (then, then), follow_symlinks=False)


def _store_with_artifact(url: str, root: Path, payload: bytes) -> str:
    """A store with one run whose artifact is ``payload``; returns the artifact's digest."""
    with open_store(url) as store:
        run = store.create_run(Run(id=new_id(), name="b", start_time=time.time()))
        digest = store.blobs.put_bytes(payload)
        store.log_batch(run.id, artifacts=[Artifact("model.bin", digest, len(payload), "x")])
    _age(root, digest)
    return digest


def _orphan(url: str, root: Path, payload: bytes) -> str:
    with open_store(url) as store:
        digest = store.blobs.put_bytes(payload)
    _age(root, digest)
    return digest


def _present(root: Path) -> set[str]:
    return set(LocalBlobStore(root).iter_digests())


@pytest.fixture
def shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One JUPYTER_MM_ARTIFACTS for every store opened in the test, as in one shell."""
    root = tmp_path / "shared-objects"
    monkeypatch.setenv(ENV_ARTIFACTS, str(root))
    return root


def test_gc_keeps_the_blobs_another_store_on_the_root_references(cli, tmp_path, shared):
    a, b = f"sqlite:///{tmp_path / 'a' / 'mm.db'}", f"sqlite:///{tmp_path / 'b' / 'mm.db'}"
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    with open_store(a):
        pass
    theirs = _store_with_artifact(b, shared, b"store B's model " * 100)
    garbage = _orphan(a, shared, b"nobody's")

    listing = cli("--store", a, "gc", "--json").json()
    assert [e["digest"] for e in listing["unreferenced"]] == [garbage]
    assert [(s["id"], s["references"]) for s in listing["other_stores"]] == [(store_id(b), 1)]

    deleted = cli("--store", a, "gc", "--yes")

    assert deleted.code == 0, deleted.err
    assert _present(shared) == {theirs}
    assert cli("--store", b, "verify").code == 0  # store B lost nothing


def test_gc_deletes_nothing_while_another_store_cannot_be_read(cli, tmp_path, shared):
    a, b = f"sqlite:///{tmp_path / 'a' / 'mm.db'}", f"sqlite:///{tmp_path / 'b' / 'mm.db'}"
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    with open_store(a):
        pass
    theirs = _store_with_artifact(b, shared, b"store B's model")
    garbage = _orphan(a, shared, b"nobody's")
    # store B's database moves away (a renamed project, an unmounted disk)
    (tmp_path / "b").rename(tmp_path / "b-moved")
    before = _present(shared)

    refused = cli("--store", a, "gc", "--yes")

    assert refused.code == 1
    message = refused.err.strip()
    assert message.count("\n") == 0 and message.startswith("jupyter mm: error: gc deleted nothing")
    assert b in message and store_id(b) in message and "--forget-store" in message
    assert _present(shared) == before

    # the user says it is gone for good: its blobs are garbage now
    forgotten = cli("--store", a, "gc", "--yes", "--forget-store", store_id(b))
    assert forgotten.code == 0, forgotten.err
    assert _present(shared) == before - {theirs, garbage}


def test_a_root_older_than_its_registry_needs_a_claim(cli, tmp_path, shared):
    # blobs written before any store recorded itself (by an older jupyter-mm, maybe for
    # several stores): nobody can tell whose they are
    earlier = LocalBlobStore(shared).put_bytes(b"written by a store of an older version")
    _age(shared, earlier)
    a = f"sqlite:///{tmp_path / 'mm.db'}"
    with open_store(a) as store:
        assert LEGACY_MARKER in store.blobs.registry_names()

    refused = cli("--store", a, "gc", "--yes")
    assert refused.code == 1 and "--claim-root" in refused.err
    assert earlier in _present(shared)

    claimed = cli("--store", a, "gc", "--yes", "--claim-root")
    assert claimed.code == 0, claimed.err
    assert earlier not in _present(shared)
    assert LEGACY_MARKER not in LocalBlobStore(shared).registry_names()
    assert cli("--store", a, "gc", "--yes").code == 0  # claimed once, for good


@pytest.mark.parametrize("scheme", ["", "file://"], ids=["local", "fsspec-file"])
def test_gc_never_follows_links_below_the_root(cli, tmp_path, monkeypatch, scheme):
    root = tmp_path / "objects"
    monkeypatch.setenv(ENV_ARTIFACTS, scheme + str(root))
    url = f"sqlite:///{tmp_path / 'mm.db'}"
    with open_store(url):
        pass
    # outside the root: files named like blobs, which gc must never touch
    outside = tmp_path / "precious"
    outside.mkdir()
    linked_shard = "ab" + secrets.token_hex(31)
    (outside / linked_shard[2:]).write_bytes(b"a file outside the store")
    target = tmp_path / "precious-file"
    target.write_bytes(b"another file outside the store")
    linked_blob = "cd" + secrets.token_hex(31)
    (root / "ab").mkdir(exist_ok=True)
    (root / "ab").rmdir()
    (root / "ab").symlink_to(outside, target_is_directory=True)  # a linked shard directory
    (root / "cd").mkdir(exist_ok=True)
    (root / "cd" / linked_blob[2:]).symlink_to(target)  # a linked blob
    for path in (outside / linked_shard[2:], target):
        then = time.time() - OLD
        os.utime(path, (then, then))
    garbage = _orphan(url, root, b"a real unreferenced blob")

    deleted = cli("--store", url, "gc", "--yes", "--json")

    assert deleted.code == 0, deleted.err
    assert [e["digest"] for e in deleted.json()["unreferenced"]] == [garbage]
    assert (outside / linked_shard[2:]).read_bytes() == b"a file outside the store"
    assert target.read_bytes() == b"another file outside the store"
    assert (root / "cd" / linked_blob[2:]).is_symlink()  # not even the link is removed
    assert cli("--store", url, "verify").code == 0


def test_gc_on_a_shared_object_store_prefix(cli, tmp_path, monkeypatch):
    """The same on an fsspec root (in memory here, as a team's bucket prefix would be):
    object stores tell no blob ages, so only --grace 0 collects anything."""
    root = f"memory://team-bucket-{secrets.token_hex(4)}/objects"
    monkeypatch.setenv(ENV_ARTIFACTS, root)
    a, b = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    with open_store(a) as store_a:
        garbage = store_a.blobs.put_bytes(b"nobody's")
    with open_store(b) as store_b:
        run = store_b.create_run(Run(id=new_id(), name="b", start_time=time.time()))
        theirs = store_b.blobs.put_bytes(b"store B's model")
        store_b.log_batch(run.id, artifacts=[Artifact("model.bin", theirs, 15, "x")])
        blobs = store_b.blobs

    deleted = cli("--store", a, "gc", "--grace", "0", "--yes", "--json")

    assert deleted.code == 0, deleted.err
    assert [e["digest"] for e in deleted.json()["unreferenced"]] == [garbage]
    assert set(blobs.iter_digests()) == {theirs}


@pytest.mark.postgres
def test_gc_reads_a_postgresql_store_recorded_on_the_root(cli, tmp_path, shared, postgres_url):
    """A team's PostgreSQL store on the same root is read through its recorded URL (its
    password, if any, is never recorded: the throwaway server trusts local connections)."""
    a = f"sqlite:///{tmp_path / 'mm.db'}"
    with open_store(a):
        pass
    theirs = _store_with_artifact(postgres_url, shared, b"the team's model")
    garbage = _orphan(a, shared, b"nobody's")

    deleted = cli("--store", a, "gc", "--yes", "--json")

    assert deleted.code == 0, deleted.err
    report = deleted.json()
    assert [e["digest"] for e in report["unreferenced"]] == [garbage]
    assert [(s["url"], s["references"]) for s in report["other_stores"]] == [(postgres_url, 1)]
    assert _present(shared) == {theirs}
