"""The prediction log, labels, serving endpoints and kernel session logs of a team store
belong to the login that wrote them: mallory, a team member with no role on alice's model,
cannot forge or overwrite alice's rows with any SQL her own database login sends, and the
labels she writes for alice's model are ignored by its monitoring — a rule fires on
alice's and the server's labels, never on hers.

Runs on the suite's PostgreSQL with the roles and policies of ``jupyter mm team init-db``
(tests/hub/harness.py: ``team_db``); no hub is started.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from traitlets.config import Config

import jupyter_mm as mm
from jupyter_mm import tracking
from jupyter_mm.alerts.evaluate import check
from jupyter_mm.config import ENV_ARTIFACTS, ENV_STORE, StoreLocation
from jupyter_mm.entities import ExecutionEntry, ServingEndpoint, SessionLogAppend
from jupyter_mm.monitoring.settings import Monitor
from jupyter_mm.monitoring.trust import writer_trust
from jupyter_mm.service import team_db as team_policies
from jupyter_mm.store import open_store

from .harness import OWNER, TeamDatabase

pytestmark = pytest.mark.postgres

MALLORY = "mallory"
MODEL = "fraud-writers"
RULE = {"when": "accuracy < 0.5 over 40 labelled", "actions": ["notify"]}
ROWS = 40


@pytest.fixture(scope="module")
def db(team_db: TeamDatabase) -> TeamDatabase:
    """The package's team database with one more team member, mallory (group role only)."""
    if MALLORY not in team_db.passwords:
        password = secrets.token_urlsafe(12)
        team_policies.apply(team_db.url(OWNER), team_policies.user_statements(MALLORY, password))
        team_db.passwords[MALLORY] = password
    return team_db


def store_of(db: TeamDatabase, role: str) -> Any:
    return open_store(StoreLocation(url=db.url(role), artifact_root=str(db.artifacts)))


@pytest.fixture(scope="module")
def stores(db: TeamDatabase) -> Iterator[dict[str, Any]]:
    opened = {role: store_of(db, role) for role in (OWNER, "alice", MALLORY)}
    yield opened
    for store in opened.values():
        store.close()


@pytest.fixture
def isolated(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No configuration but the test's own; no default store left behind."""
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "jupyter-config"))
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", "")
    monkeypatch.delenv(ENV_STORE, raising=False)
    monkeypatch.delenv(ENV_ARTIFACTS, raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.chdir(tmp_path)
    yield
    tracking.set_default_store(None)


def acting_as(env: pytest.MonkeyPatch, user: str) -> None:
    """This process acts as hub user ``user``, as a kernel of their server does (the runs it
    makes name them; the database accepts them from that user's login only)."""
    from jupyter_mm.tracking import process

    env.setattr(process.state, "user", user)


@pytest.fixture(scope="module")
def alices_model(stores: dict[str, Any]) -> Any:
    """A production model whose version comes from alice's run (registered by the store's
    owner, as the registry service does), with a batch of predictions alice logged."""
    from alerts.conftest import classifier_data
    from sklearn.linear_model import LogisticRegression

    X, y = classifier_data(0, 200)
    tracking.set_default_store(stores["alice"])
    try:
        with pytest.MonkeyPatch.context() as env:
            acting_as(env, "alice")
            with mm.start_run("alices-training", checkpoint=False) as run:
                mm.log_model(LogisticRegression().fit(X, y), "model", input_example=X.head(3))
    finally:
        tracking.set_default_store(None)
    owner = stores[OWNER]
    version = mm.register_model(run.id, "model", MODEL, store=owner)
    mm.transition(MODEL, version.version, "staging", store=owner)
    mm.transition(MODEL, version.version, "production", store=owner)
    ids = mm.log_predictions(f"{MODEL}@production", X.head(ROWS), [1] * ROWS, store=stores["alice"])
    return version, ids


def refused(conn: psycopg.Connection, sql: str, *args: Any) -> None:
    """The statement fails: the database does not let this login do it."""
    with pytest.raises((psycopg.errors.InsufficientPrivilege, psycopg.errors.NotNullViolation)):
        conn.execute(sql, args)


def test_rows_name_their_real_writer(
    db: TeamDatabase, stores: dict[str, Any], alices_model
) -> None:
    _, ids = alices_model
    stores["alice"].log_labels([(ids[0], "1")], time.time(), model=MODEL)
    stores[MALLORY].log_labels([(ids[0], "0")], time.time(), model=MODEL)
    labels = db.rows(
        "SELECT writer, label FROM prediction_labels WHERE request_id = %s ORDER BY writer",
        ids[0],
    )
    # mallory's label is a row of its own: alice's is neither replaced nor blocked
    assert labels == [("alice", "1"), (MALLORY, "0")]
    writers = db.rows("SELECT DISTINCT writer FROM prediction_batches WHERE model = %s", MODEL)
    assert writers == [("alice",)]


def test_mallory_cannot_write_as_alice_or_change_her_rows(
    db: TeamDatabase, stores: dict[str, Any], alices_model, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, ids = alices_model
    alice = stores["alice"]
    alice.log_labels([(rid, "1") for rid in ids[:5]], time.time(), model=MODEL)
    endpoint = ServingEndpoint("ep-alice-" + secrets.token_hex(4), f"{MODEL}@production",
                               "host-a", 8080, 1234, time.time(), time.time(),
                               {"requests": 10, "failed": 0})  # fmt: skip
    alice.heartbeat_endpoint(endpoint)
    alice.add_request_failures(MODEL, 1, "champion", time.time() - 1, time.time(), 2)
    acting_as(monkeypatch, "alice")
    session = "01J" + secrets.token_hex(12)[:23].upper()
    alice.create_run(
        mm.tracking.new_run("logged", notebook_path=None),
        session_log=SessionLogAppend(
            session_id=session,
            position=1,
            start=0,
            entries=[ExecutionEntry(count=1, cell_id="c1", source_hash="a" * 64)],
            start_time=time.time(),
            host="host-a",
            pid=1,
        ),
    )
    before = {
        table: db.rows(f"SELECT * FROM {table} WHERE writer = 'alice' ORDER BY 1")
        for table in ("prediction_labels", "prediction_batches", "serving_endpoints",
                      "kernel_sessions", "session_executions", "request_failures")
    }  # fmt: skip
    with db.connect(MALLORY) as conn:
        # a label, batch, endpoint or session in alice's name is refused, so is no name
        refused(conn, "INSERT INTO prediction_labels (request_id, writer, model, label, time) "
                "VALUES (%s, 'alice', %s, '0', 0)", ids[6], MODEL)  # fmt: skip
        refused(conn, "INSERT INTO prediction_labels (request_id, model, label, time) "
                "VALUES (%s, %s, '0', 0)", ids[6], MODEL)  # fmt: skip
        refused(conn, "INSERT INTO prediction_batches (model, version, arm, start_time, "
                "end_time, rows, digest, size, writer) SELECT model, version, arm, start_time, "
                "end_time, rows, digest, size, 'alice' FROM prediction_batches LIMIT 1")  # fmt: skip
        refused(conn, "INSERT INTO prediction_batches (model, version, arm, start_time, "
                "end_time, rows, digest, size) SELECT model, version, arm, start_time, "
                "end_time, rows, digest, size FROM prediction_batches LIMIT 1")  # fmt: skip
        refused(conn, "INSERT INTO kernel_sessions (id, start_time, writer) "
                "VALUES ('01JFORGED', 0, 'alice')")  # fmt: skip
        # failed requests in alice's name would raise her model's error rate
        refused(conn, "INSERT INTO request_failures (model, version, arm, start_time, "
                "end_time, failed, writer) VALUES (%s, 1, 'champion', 0, 1, 99, 'alice')",
                MODEL)  # fmt: skip
        # positions of alice's session are predictable: the next one is still hers alone
        refused(conn, "INSERT INTO session_executions (session_id, position, source_hash, "
                "writer) VALUES (%s, 7, 'x', %s)", session, MALLORY)  # fmt: skip
        # nor moved there from a session of her own
        own = "01J" + secrets.token_hex(12)[:23].upper()
        conn.execute("INSERT INTO kernel_sessions (id, start_time, writer) VALUES (%s, 0, %s)",
                     (own, MALLORY))  # fmt: skip
        conn.execute("INSERT INTO session_executions (session_id, position, source_hash, "
                     "writer) VALUES (%s, 0, 'x', %s)", (own, MALLORY))  # fmt: skip
        refused(conn, "UPDATE session_executions SET session_id = %s, position = 7 "
                "WHERE session_id = %s", session, own)  # fmt: skip
        # overwriting alice's endpoint through an upsert fails loudly
        refused(conn, "INSERT INTO serving_endpoints (id, reference, host, port, pid, started, "
                "heartbeat, state, writer) VALUES (%s, 'x', 'h', 1, 1, 0, 0, '{}', %s) "
                "ON CONFLICT (id) DO UPDATE SET state = '{\"requests\": 0}'",
                endpoint.id, MALLORY)  # fmt: skip
        # and her existing rows are out of reach of UPDATE and DELETE
        for table in before:
            changed = conn.execute(f"UPDATE {table} SET writer = %s WHERE writer = 'alice'",
                                   (MALLORY,)).rowcount  # fmt: skip
            assert changed == 0, table
            assert conn.execute(f"DELETE FROM {table} WHERE writer = 'alice'").rowcount == 0
        assert conn.execute("UPDATE prediction_labels SET label = '0' "
                            "WHERE writer = 'alice'").rowcount == 0  # fmt: skip
        # her own row cannot be handed to alice either
        conn.execute("INSERT INTO prediction_labels (request_id, writer, model, label, time) "
                     "VALUES (%s, %s, %s, '0', 0)", (ids[7], MALLORY, MODEL))  # fmt: skip
        refused(conn, "UPDATE prediction_labels SET writer = 'alice' WHERE writer = %s", MALLORY)
        # environments: new ones may be added, none changed
        refused(conn, "UPDATE environments SET body = '{}'")
        refused(conn, "DELETE FROM environments")
    after = {table: db.rows(f"SELECT * FROM {table} WHERE writer = 'alice' ORDER BY 1")
             for table in before}  # fmt: skip
    assert after == before
    assert all(before[t] for t in ("prediction_labels", "serving_endpoints", "kernel_sessions",
                                   "request_failures"))  # fmt: skip
    # the failures mallory may write in her own name do not count for alice's model
    stores[MALLORY].add_request_failures(MODEL, 1, "champion", 0.0, 1.0, 50)
    trusted = writer_trust(stores[OWNER], MODEL).writers
    assert MALLORY not in trusted
    assert alice.request_failures(MODEL, 1, since=0.0, writers=trusted) == 2
    assert alice.request_failures(MODEL, 1, since=0.0) == 52


def test_alice_changes_and_removes_her_own_rows(stores: dict[str, Any], db: TeamDatabase) -> None:
    alice = stores["alice"]
    endpoint = ServingEndpoint("ep-own-" + secrets.token_hex(4), f"{MODEL}@production",
                               "host-a", 8081, 99, time.time(), time.time(), {})  # fmt: skip
    alice.heartbeat_endpoint(endpoint)
    endpoint.state = {"requests": 3}
    alice.heartbeat_endpoint(endpoint)
    rows = db.rows("SELECT writer, state FROM serving_endpoints WHERE id = %s", endpoint.id)
    assert rows == [("alice", {"requests": 3})]
    stores[MALLORY].remove_endpoint(endpoint.id)  # not hers: nothing happens
    assert len(db.rows("SELECT 1 FROM serving_endpoints WHERE id = %s", endpoint.id)) == 1
    alice.remove_endpoint(endpoint.id)
    assert db.rows("SELECT 1 FROM serving_endpoints WHERE id = %s", endpoint.id) == []


def monitor(**extra: Any) -> Monitor:
    config = Config()
    config.Monitor.rules = [RULE]
    for key, value in extra.items():
        setattr(config.Monitor, key, value)
    return Monitor(config=config)


def alert_states(store: Any, settings: Monitor, *, dry_run: bool = False) -> list[str]:
    return [o.state for o in check(store, models=[MODEL], monitor=settings, dry_run=dry_run)]


def test_a_rule_ignores_mallorys_labels_and_fires_on_alices(
    stores: dict[str, Any], alices_model, isolated: None
) -> None:
    _, ids = alices_model
    owner = stores[OWNER]
    assert writer_trust(owner, MODEL).writers == frozenset({OWNER, "alice"})
    # every prediction was 1; mallory says the truth was 0 for all of them
    stores[MALLORY].log_labels([(rid, "0") for rid in ids], time.time(), model=MODEL)
    assert alert_states(owner, monitor()) == ["undecided"]
    # were mallory trusted (configured), the same labels would fire the rule
    trusting = monitor(trusted_writers={"fraud-*": [MALLORY]})
    assert alert_states(owner, trusting, dry_run=True) == ["fired"]
    # the store's owner (the service) labels half, alice the other half: it fires
    half = len(ids) // 2
    owner.log_labels([(rid, "0") for rid in ids[:half]], time.time(), model=MODEL)
    stores["alice"].log_labels([(rid, "0") for rid in ids[half:]], time.time(), model=MODEL)
    assert alert_states(owner, monitor()) == ["fired"]


def test_the_report_counts_what_untrusted_writers_logged(
    stores: dict[str, Any], alices_model, isolated: None
) -> None:
    from alerts.conftest import classifier_data

    from jupyter_mm.cli.monitor import render_report
    from jupyter_mm.monitoring import profile_version, report

    _, ids = alices_model
    owner = stores[OWNER]
    X, _ = classifier_data(0, 200)
    profile_version(f"{MODEL}@production", X, store=owner)
    stores[MALLORY].log_labels([(rid, "0") for rid in ids], time.time(), model=MODEL)
    # a forged batch: 500 predictions that never happened
    X_forged, _ = classifier_data(5, 500)
    mm.log_predictions(f"{MODEL}@production", X_forged, [0] * 500, store=stores[MALLORY])

    result = report(MODEL, window=1000, store=owner, settings=monitor())
    assert result["window"]["rows"] == ROWS  # alice's batch only
    assert result["trust"] == {
        "writers": sorted([OWNER, "alice"]),
        "ignored_labels": ROWS,
        "ignored_label_writers": [MALLORY],
        "ignored_batches": 1,
        "ignored_batch_writers": [MALLORY],
    }
    text = render_report(result)
    assert f"Ignored {ROWS} labels from 1 untrusted writer: {MALLORY}" in text
    assert f"Ignored 1 prediction batches from 1 untrusted writer: {MALLORY}" in text
