"""`jupyter mm serve` as a client sees it: a real serving process on a real SQLite store,
requests shaped as MLflow's scoring protocol documents them."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest

import jupyter_mm as mm
from jupyter_mm.errors import Conflict
from jupyter_mm.serving.predlog import read_batch

from .conftest import COLUMNS, register_classifier, serve_env, serving, training_frame

pytestmark = pytest.mark.kernel  # a subprocess of its own, like the kernel tests


def _rows(n: int = 3):
    X, _ = training_frame(seed=7, rows=n)
    return X


def test_mlflow_protocol_every_input_format(registry_store, tmp_path) -> None:
    url, store = registry_store
    X = _rows()
    expected = mm.load_model("churn@production", store=store).predict(X).tolist()
    bodies = {
        "dataframe_split": {"dataframe_split": {"columns": COLUMNS, "data": X.values.tolist()}},
        "dataframe_records": {"dataframe_records": X.to_dict(orient="records")},
        "instances": {"instances": X.to_dict(orient="records")},
        "inputs": {"inputs": {c: X[c].tolist() for c in COLUMNS}},
        # pandas' own split orient, as MLflow's docs build it: with an index
        "dataframe_split (pandas, with index)": {"dataframe_split": X.to_dict(orient="split")},
        "instances (rows)": {"instances": X.values.tolist()},
        "columns out of order": {"dataframe_split": X[COLUMNS[::-1]].to_dict(orient="split")},
    }
    with serving(url, tmp_path, "churn@production") as served:
        for name, body in bodies.items():
            status, headers, answer = served.post("/invocations", body)
            assert status == 200, (name, answer)
            assert answer == {"predictions": expected}, name
            assert headers["X-Model-Version"] == "churn/1"
            assert len(headers["X-Request-Id"]) == 32
        for csv in (X.to_csv(index=False).encode(), X.to_csv().encode()):  # index: ignored
            status, _h, answer = served.post(
                "/invocations", csv, {"Content-Type": "text/csv; charset=utf-8"}
            )
            assert (status, answer) == (200, {"predictions": expected})
        status, _h, _a = served.post("/invocations", bodies["inputs"], {"X-Request-Id": "mine-1"})
        assert _h["X-Request-Id"] == "mine-1"
        status, body = served.get("/version")
        assert json.loads(body)["arms"]["champion"]["version"] == 1
        status, body = served.get("/metrics")
        assert status == 200 and b'jupyter_mm_requests_total{arm="champion"' in body


BAD_BODIES = [
    ({"dataframe_records": [{"age": 1, "balance": 2, "visits": 3}]}, "Missing column: score"),
    ({"dataframe_records": [{"age": 1, "balance": "abc", "visits": 3, "score": 0}]}, "balance"),
    ({"instances": [[1, 2, 3]]}, "named columns"),
    ({"dataframe_split": {"columns": COLUMNS}}, "dataframe_split"),
    ({"inputs": [1], "instances": [1]}, "exactly one"),
    (b"not json", "not valid JSON"),
    (b"[" * 20000 + b"]" * 20000, "nested deeper"),
    ([1, 2], "must be an object"),
]


def test_bad_inputs_are_400_with_one_line(registry_store, tmp_path) -> None:
    url, _store = registry_store
    with serving(url, tmp_path, "churn@production") as served:
        for body, reason in BAD_BODIES:
            status, _h, answer = served.post("/invocations", body)
            assert status == 400, (body, answer)
            assert reason in answer["message"] and "\n" not in answer["message"]
        status, _h, answer = served.post("/nowhere", {})
        assert status == 404 and "see /version" in answer["message"]


def test_swap_under_load_and_the_log_after_sigterm(backend_store, tmp_path) -> None:
    """A promotion while requests flow: none fails, the new version answers soon after, and
    every answered request is in the prediction log once the process is stopped."""
    url, store = backend_store
    X = _rows(1)
    body = {"dataframe_split": {"columns": COLUMNS, "data": X.values.tolist()}}
    answers: list[tuple[str, int, str]] = []
    stop = threading.Event()
    with serving(url, tmp_path, "churn@production") as served:

        def load() -> None:
            while not stop.is_set():
                status, headers, _a = served.post("/invocations", body)
                answers.append(
                    (headers.get("X-Request-Id", ""), status, headers.get("X-Model-Version", ""))
                )

        threads = [threading.Thread(target=load) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        v2 = register_classifier(store, "churn", 0.01, "staging")
        promoted_at = time.monotonic()
        mm.transition("churn", v2.version, "production", store=store)
        deadline = promoted_at + 30
        while time.monotonic() < deadline and (not answers or answers[-1][2] != "churn/2"):
            time.sleep(0.05)
        time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join()
        assert served.stop(signal.SIGTERM) == 0
    statuses = Counter(status for _id, status, _v in answers)
    assert statuses == {200: len(answers)}, statuses
    # in the order the server took the requests (its ids count up), not the order the
    # client threads happened to record the answers
    versions = [v for _id, _s, v in sorted(answers)]
    assert "churn/1" in versions and versions[-1] == "churn/2"
    switched = versions.index("churn/2")
    assert set(versions[switched:]) == {"churn/2"}  # no flapping back
    events = [e.action for e in store.model_events("churn")]
    assert "serve_swap" in events
    logged = sum(b.rows for b in store.prediction_batches("churn"))
    assert logged == len(answers)
    frame = read_batch(store, store.prediction_batches("churn")[0])
    assert {"request_id", "prediction", "latency_ms", "feature.balance", "score.1"} <= set(frame)


def test_feedback_joins_labels_by_request_id(backend_store, tmp_path) -> None:
    url, store = backend_store
    body = {"inputs": {c: v for c, v in _rows(1).iloc[0].items()}}
    body = {"dataframe_records": [body["inputs"]]}
    with serving(url, tmp_path, "churn@production") as served:
        _s, headers, _a = served.post("/invocations", body)
        rid = headers["X-Request-Id"]
        status, _h, answer = served.post("/feedback", {"request_id": rid, "label": 1})
        assert (status, answer) == (200, {"labels": 1})
        status, _h, answer = served.post("/feedback", {"labels": [{"label": 1}]})
        assert status == 400
    assert store.labels_for([rid]) == {rid: "1"}


def test_canary_share_is_sticky_and_shadow_never_answers(registry_store, tmp_path) -> None:
    """20 % of users on the canary, each user always on one arm, and the shadow (the
    canary's version) scoring every request without its answer ever reaching a client of
    the champion: each answer is what the answering arm's model predicts, on rows where
    the two versions disagree too."""
    url, store = registry_store
    register_classifier(store, "churn", 0.01, "staging")
    rows = _rows(400)
    by_arm = {
        "champion": mm.load_model("churn/1", store=store).predict(rows),
        "canary": mm.load_model("churn/2", store=store).predict(rows),
    }
    assert (by_arm["champion"] != by_arm["canary"]).any()  # else a leak could not show
    arms: dict[str, str] = {}
    with serving(
        url, tmp_path, "churn@production", "--canary", "churn@staging:20%", "--shadow", "churn/2"
    ) as served:
        for key in range(400):
            body = {"dataframe_records": rows.iloc[[key]].to_dict(orient="records")}
            _s, headers, answer = served.post(
                "/invocations", body, {"X-Routing-Key": f"user-{key}"}
            )
            arm = arms[f"user-{key}"] = headers["X-Model-Arm"]
            assert answer == {"predictions": [by_arm[arm][key].item()]}, (key, arm)
        for key in range(0, 400, 40):  # the same user lands on the same arm
            body = {"dataframe_records": rows.iloc[[key]].to_dict(orient="records")}
            _s, headers, _a = served.post("/invocations", body, {"X-Routing-Key": f"user-{key}"})
            assert headers["X-Model-Arm"] == arms[f"user-{key}"]
        assert served.stop() == 0
    share = sum(a == "canary" for a in arms.values()) / len(arms)
    assert 0.13 < share < 0.27, share  # 20 % ± 3.5 standard deviations at n = 400
    assert set(arms.values()) == {"champion", "canary"}  # the shadow never answers
    champion_keys = [k for k in range(400) if arms[f"user-{k}"] == "champion"]
    assert any(by_arm["champion"][k] != by_arm["canary"][k] for k in champion_keys)
    shadow_rows = sum(b.rows for b in store.prediction_batches("churn", arms=["shadow"]))
    assert shadow_rows == 410  # every request was also scored by the shadow


def test_bad_reference_and_port_in_use_are_one_line(registry_store, tmp_path) -> None:
    url, _store = registry_store
    cli = [sys.executable, "-m", "jupyter_mm.cli", "serve"]
    done = subprocess.run(
        [*cli, "churn@nowhere"], env=serve_env(url), capture_output=True, text=True, timeout=120
    )
    assert done.returncode in (1, 2) and len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("jupyter mm: error: ")
    with serving(url, tmp_path, "churn@production") as served:
        port = served.url.rsplit(":", 1)[1]
        done = subprocess.run(
            [*cli, "churn@production", "--port", port],
            env=serve_env(url), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert done.returncode == 2 and f"Port {port}" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_log_predictions_and_labels_from_a_notebook(backend_store) -> None:
    _url, store = backend_store
    X = training_frame(seed=3, rows=1000)[0]
    model = mm.load_model("churn@production", store=store)
    ids = mm.log_predictions(
        "churn@production", X, model.predict(X), scores=model.predict_proba(X), store=store
    )
    assert len(ids) == len(set(ids)) == 1000
    assert mm.log_labels(ids[:10], [1] * 10, store=store) == 10
    (batch,) = store.prediction_batches("churn", arms=["batch"])
    assert batch.rows == 1000 and batch.version == 1
    assert store.labels_for(ids[:12]) == dict.fromkeys(ids[:10], "1")
    assert batch.digest in store.referenced_digests()  # gc keeps it


def test_sigkill_keeps_every_flushed_batch(backend_store, tmp_path) -> None:
    """Rows reach the store every --log-interval while serving, not only at shutdown: after
    the writer has caught up, a SIGKILL loses nothing and leaves a readable log."""
    url, store = backend_store
    X = _rows(30)
    with serving(url, tmp_path, "churn@production") as served:
        ids = []
        for i in range(30):
            _s, headers, _a = served.post(
                "/invocations", {"dataframe_split": X.iloc[[i]].to_dict(orient="split")}
            )
            ids.append(headers["X-Request-Id"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if sum(b.rows for b in store.prediction_batches("churn")) == 30:
                break
            time.sleep(0.1)
        served.stop(signal.SIGKILL)
    batches = store.prediction_batches("churn")
    frames = [read_batch(store, b) for b in batches]
    assert sorted(i for f in frames for i in f["request_id"]) == sorted(ids)
    assert all(b.source for b in batches)  # written by the endpoint, not at exit
    assert {b.digest for b in batches} <= store.referenced_digests()


def test_heartbeat_lists_the_endpoint_and_archiving_it_needs_force(backend_store, tmp_path) -> None:
    """The serve process registers itself (arms, split, rate); archiving the version it
    serves is refused from Python and the CLI until forced; SIGTERM unregisters it."""
    url, store = backend_store
    register_classifier(store, "churn", 0.01, "staging")
    cli = [sys.executable, "-m", "jupyter_mm.cli", "promote", "churn", "2", "archived"]
    with serving(url, tmp_path, "churn@production", "--canary", "churn@staging:10%") as served:
        deadline = time.monotonic() + 30
        while not store.serving_endpoints() and time.monotonic() < deadline:
            time.sleep(0.1)  # the first beat is written as the server starts
        (endpoint,) = store.serving_endpoints()
        arms = endpoint.state["arms"]
        assert (arms["champion"]["version"], arms["canary"]["version"]) == (1, 2)
        assert arms["canary"]["share"] == 0.1
        assert endpoint.state["url"] == served.url and endpoint.pid == served.process.pid
        with pytest.raises(Conflict, match=r"being served by .*champion.*force"):
            mm.transition("churn", 1, "archived", store=store)
        done = subprocess.run(cli, env=serve_env(url), capture_output=True, text=True, timeout=120)
        assert done.returncode != 0 and len(done.stderr.strip().splitlines()) == 1
        assert "(canary)" in done.stderr and "--force" in done.stderr
        assert store.get_version("churn", 2).stage == "staging"
        done = subprocess.run(
            [*cli, "--force"], env=serve_env(url), capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert store.get_version("churn", 2).stage == "archived"
        assert served.stop() == 0
    assert store.serving_endpoints() == []
