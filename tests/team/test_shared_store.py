"""The shared store on PostgreSQL + S3 (``team_store``): what works on SQLite works here —
tracking, the registry, loading a model back, the prediction log, verify and gc — and gc on
a shared bucket deletes only what no store and no writer relies on."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import jupyter_mm as mm
from jupyter_mm import tracking
from jupyter_mm.cli.maintenance import collect_garbage, verify_store
from jupyter_mm.config import StoreLocation
from jupyter_mm.serving.predlog import read_batch
from jupyter_mm.store import fsspec_blobs, local_blobs, open_store

pytestmark = [pytest.mark.postgres, pytest.mark.s3]


@pytest.fixture
def default_team_store(team_store, tmp_path, monkeypatch):
    """The team store as the process's default store, found from the environment alone."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    tracking.set_default_store(None)
    store = tracking.default_store()
    yield store
    tracking.set_default_store(None)


def _train() -> tuple[LogisticRegression, np.ndarray]:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    return LogisticRegression().fit(X, y), X


def test_tracking_registry_and_loading_through_s3(default_team_store, team_store, tmp_path):
    store = default_team_store
    assert store.url.startswith("postgresql")
    assert type(store.blobs).__name__ == "FsspecBlobStore"
    model, X = _train()
    (tmp_path / "report.txt").write_text("precision 0.9\n")
    with mm.start_run("train") as run:
        mm.log_params({"C": 1.0})
        mm.log_metric("acc", 0.93)
        mm.log_artifact("report.txt")
        mm.log_model(model, "clf", input_example=X[:3])
    version = mm.register_model(run.id, "clf", "fraud")
    mm.transition("fraud", version.version, "staging")
    mm.transition("fraud", version.version, "production")

    # every blob the rows name is an object in the bucket, under the root's prefix
    keys = set(team_store.objects())
    detail = mm.get_run(run.id)
    for artifact in detail.artifacts:
        digest = artifact.digest
        assert f"mm/{digest[:2]}/{digest[2:]}" in keys
    # read back by another store object, as another process would
    with team_store.open() as other:
        loaded = mm.load_model("fraud@production", store=other)
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
        report = verify_store(other, progress=False)
    assert report["ok"], report["problems"]
    assert report["runs"] == 1


def test_prediction_log_batches_live_in_the_bucket(default_team_store, team_store):
    store = default_team_store
    model, X = _train()
    with mm.start_run("train") as run:
        mm.log_model(model, "clf")
    mm.register_model(run.id, "clf", "scorer")
    ids = mm.log_predictions("scorer/1", X[:10], model.predict(X[:10]))
    batches = store.prediction_batches("scorer")
    assert [b.rows for b in batches] == [10]
    keys = set(team_store.objects())
    assert f"mm/{batches[0].digest[:2]}/{batches[0].digest[2:]}" in keys
    with team_store.open() as other:  # another process reads the Parquet back from S3
        frame = read_batch(other, other.prediction_batches("scorer")[0])
        assert list(frame["request_id"]) == ids
        assert verify_store(other, progress=False)["ok"]


def test_gc_keeps_young_blobs_on_s3_and_collects_old_ones(default_team_store):
    """S3 gives each object's LastModified, so the grace period works there as it does on a
    disk: a fresh unreferenced blob (a writer may be about to commit its row) is kept."""
    store = default_team_store
    with mm.start_run("kept") as run:
        mm.log_artifact(b"referenced bytes", name="data.bin")
    garbage = store.blobs.put_bytes(b"nobody names me")
    report = collect_garbage(store, grace_hours=1.0, delete=True)
    assert report["unreferenced"] == []
    young = {e["digest"]: e for e in report["kept_young"]}
    assert garbage in young and 0 <= young[garbage]["age_seconds"] < 3600
    assert store.blobs.exists(garbage)

    time.sleep(2.1)  # older than a two-second grace period
    report = collect_garbage(store, grace_hours=2 / 3600, delete=True)
    assert [e["digest"] for e in report["unreferenced"]] == [garbage]
    assert not store.blobs.exists(garbage)
    assert verify_store(store, progress=False)["ok"]
    assert mm.get_run(run.id).artifacts[0].digest in set(store.blobs.iter_digests())


@pytest.mark.parametrize("backend", ["s3", "local"])
def test_reusing_an_old_blob_renews_its_age(default_team_store, tmp_path, monkeypatch, backend):
    """A writer that reuses a stored blob (the same bytes again, e.g. after the run that
    named them was deleted) renews its modification time when it is older than
    REFRESH_AFTER, so a gc running meanwhile sees a young blob and keeps it."""
    if backend == "s3":
        blobs, module = default_team_store.blobs, fsspec_blobs
    else:
        blobs, module = local_blobs.LocalBlobStore(tmp_path / "objects"), local_blobs
    payload = f"reused {backend}".encode()
    digest = blobs.put_bytes(payload)
    first = blobs.modified_time(digest)
    assert first is not None
    time.sleep(1.2)  # S3's LastModified has a resolution of one second
    blobs.put_bytes(payload)  # young: reused as it is
    assert blobs.modified_time(digest) == first
    monkeypatch.setattr(module, "REFRESH_AFTER", 0.5)  # now it counts as old
    blobs.put_bytes(payload)
    renewed = blobs.modified_time(digest)
    assert renewed is not None and renewed > first
    source = tmp_path / "again.bin"
    source.write_bytes(payload)
    time.sleep(1.2)
    assert blobs.put_file(str(source)) == (digest, len(payload))
    assert blobs.modified_time(digest) > renewed
    assert blobs.get_bytes(digest) == payload


def test_gc_on_a_shared_bucket_keeps_what_another_store_names(
    team_store, postgres_server, tmp_path
):
    """Two databases (two teams, or a project and its sandbox) on one bucket prefix: gc of
    one never deletes a blob the other names, and a store reached under another user name
    (same database) is recognised as the same store, not a second one to read."""
    suffix = team_store.bucket.replace("-", "_")
    other_db, role = f"mm_other_{suffix}", f"member_{suffix}"
    postgres_server.admin(f"CREATE DATABASE {other_db}")
    postgres_server.admin(f"CREATE ROLE {role} LOGIN SUPERUSER")
    first = team_store.open()
    other_url = postgres_server.url(other_db)
    second = open_store(StoreLocation(url=other_url, artifact_root=team_store.artifact_root))

    def run_naming(store, payloads: list[bytes]) -> str:
        tracking.set_default_store(store)
        with mm.start_run("r") as run:
            for i, payload in enumerate(payloads):
                mm.log_artifact(payload, name=f"a{i}.bin")
        tracking.set_default_store(None)
        return run.id

    try:
        both, mine = b"named by both stores", b"named by the first store, then deleted"
        shared, only_first = first.blobs.put_bytes(both), first.blobs.put_bytes(mine)
        first.delete_run(run_naming(first, [both, mine]))
        run_naming(second, [both])
        # the same database as `first`, reached as another role: recorded in the root
        bob = team_store.url.replace("postgres@", f"{role}@")
        with open_store(StoreLocation(url=bob, artifact_root=team_store.artifact_root)) as as_bob:
            assert as_bob.url != first.url
        report = collect_garbage(first, grace_hours=0, delete=True)
        assert report["blockers"] == []
        assert [s["url"] for s in report["other_stores"]] == [second.url]
        assert [e["digest"] for e in report["unreferenced"]] == [only_first]
        assert first.blobs.exists(shared)
        assert verify_store(second, progress=False)["ok"]
        assert verify_store(first, progress=False)["ok"]
    finally:
        tracking.set_default_store(None)
        second.close()
        first.close()
        postgres_server.admin(f"DROP DATABASE IF EXISTS {other_db} WITH (FORCE)")
        postgres_server.admin(f"DROP ROLE IF EXISTS {role}")


def test_recorded_store_urls_carry_no_credentials(team_store, postgres_server):
    """The root's record of the stores using it names the database, never a password."""
    password = "pg-" + team_store.credentials["AWS_SECRET_ACCESS_KEY"][:12]
    with_password = team_store.url.replace("postgres@", f"postgres:{password}@")
    with open_store(StoreLocation(url=with_password, artifact_root=team_store.artifact_root)):
        pass  # trust authentication: the password is accepted and not needed
    records = {k: v for k, v in team_store.objects().items() if k.startswith("mm/stores/")}
    assert records
    secrets = [password, *team_store.credentials.values()]
    for record in records.values():
        assert not [s for s in secrets if s.encode() in record]


def test_storage_options_reach_the_filesystem(team_store, tmp_path, monkeypatch):
    """``c.MMConfig.artifact_storage_options`` is how MinIO/Ceph endpoints are configured
    when AWS_ENDPOINT_URL is not wanted; a wrong option fails in one line naming the root."""
    from jupyter_mm.config import MMConfig
    from jupyter_mm.errors import StoreError

    monkeypatch.delenv("AWS_ENDPOINT_URL")
    config = MMConfig(artifact_storage_options={"endpoint_url": team_store.s3.endpoint})
    with open_store(team_store.location, config=config) as store:
        digest = store.blobs.put_bytes(b"through the configured endpoint")
    assert f"mm/{digest[:2]}/{digest[2:]}" in team_store.objects()
    bad = MMConfig(artifact_storage_options={"no_such_option": 1, "secret": "s3cr3t-value"})
    with pytest.raises(StoreError) as caught:
        open_store(team_store.location, config=bad)
    message = str(caught.value)
    assert "\n" not in message and team_store.artifact_root in message
    assert "s3cr3t-value" not in message


def test_storage_option_values_are_not_shown_by_config(tmp_path, monkeypatch):
    from jupyter_mm.cli.settings import settings_dict

    (tmp_path / "jupyter_mm_config.py").write_text(
        "c.MMConfig.artifact_storage_options = "
        "{'endpoint_url': 'http://minio:9000', 'secret': 'abc-SECRET-123', 'key': 'AKIAXXXX'}\n"
    )
    monkeypatch.chdir(tmp_path)
    options = settings_dict()["MMConfig"]["artifact_storage_options"]
    assert options["endpoint_url"] == "http://minio:9000"
    assert "abc-SECRET-123" not in str(options) and "AKIAXXXX" not in str(options)
