"""``jupyter mm serve`` on the shared store: the model loads from S3, and the prediction
log's Parquet batches land in the bucket, indexed in PostgreSQL, read back by another
process; verify passes."""

from __future__ import annotations

import signal

import pytest

from jupyter_mm import tracking
from jupyter_mm.cli.maintenance import verify_store
from jupyter_mm.serving.predlog import read_batch

from .conftest import COLUMNS, REPO, register_classifier, serving, training_frame

pytestmark = [pytest.mark.kernel, pytest.mark.postgres, pytest.mark.s3]


def test_served_predictions_are_logged_to_the_bucket(team_store, tmp_path) -> None:
    store = team_store.open()
    tracking.set_default_store(store)
    try:
        register_classifier(store, "churn", 1.0, "production")
        X, _ = training_frame(seed=7, rows=3)
        body = {"dataframe_split": {"columns": COLUMNS, "data": X.values.tolist()}}
        env = team_store.env()
        env["PYTHONPATH"] = str(REPO)
        with serving(team_store.url, tmp_path, "churn@production", env=env) as served:
            answers = [served.post("/invocations", body) for _ in range(5)]
            assert served.stop(signal.SIGTERM) == 0
        assert [status for status, _h, _b in answers] == [200] * 5
        batches = store.prediction_batches("churn")
        assert sum(b.rows for b in batches) == 15
        keys = set(team_store.objects())
        assert all(f"mm/{b.digest[:2]}/{b.digest[2:]}" in keys for b in batches)
        with team_store.open() as other:
            frames = [read_batch(other, b) for b in other.prediction_batches("churn")]
            ids = [request_id for frame in frames for request_id in frame["request_id"]]
            assert len(set(ids)) == 15  # <request id>/<row>: five requests of three rows
            assert len({request_id.split("/")[0] for request_id in ids}) == 5
            assert verify_store(other, progress=False)["ok"]
    finally:
        tracking.set_default_store(None)
        store.close()
