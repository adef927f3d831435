"""Tables of the SQL store, as SQLAlchemy Core ``Table`` objects on one ``METADATA``. They
never leave ``jupyter_mm.store.sql``: the store maps rows to and from
:mod:`jupyter_mm.entities`.

The store issues Core statements only, so the tables are plain Core: declaring them as ORM
classes would import and configure ``sqlalchemy.orm`` on every start of every process that
opens a store (the CLI's start-up time is mostly imports).

Types are chosen to behave the same on SQLite and PostgreSQL: ``JSON`` for structured
fields, ``Double`` for times and metric values (float8, exact round trip of Python floats),
``Text`` wherever a user or the OS chooses the length. A column is NOT NULL when it says
``nullable=False`` or is part of the primary key; any other column is nullable (Core's
default). The migration in ``migrations/versions`` creates exactly this schema;
``tests/store`` compares the two.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

#: Deterministic constraint names, so future migrations (and SQLite batch mode) can refer
#: to them by name on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

METADATA = MetaData(naming_convention=NAMING_CONVENTION)

RUN_ID = String(26)
DIGEST = String(64)
ENV_ID = String(128)

ENVIRONMENTS = Table(
    "environments",
    METADATA,
    Column("id", ENV_ID, primary_key=True),
    # every Environment field except ``id``
    Column("body", JSON, nullable=False),
)

RUNS = Table(
    "runs",
    METADATA,
    Column("id", RUN_ID, primary_key=True),
    Column("name", Text),
    Column("status", String(16), nullable=False),
    Column("start_time", Double, nullable=False),
    Column("end_time", Double),
    Column("notebook_path", Text),
    Column("cell_id", Text),
    Column("user", Text),
    Column("host", Text),
    Column("pid", Integer),
    # when the process of ``pid`` started (see store.processes; revision 0003)
    Column("process_start_time", String(64)),
    Column("parent_id", RUN_ID, ForeignKey("runs.id")),
    Column("note", Text),
    Column("checkpoint_digest", DIGEST),
    Column("checkpoint_source", String(16), nullable=False),
    Column("environment_id", ENV_ID, ForeignKey("environments.id")),
    Column("error", Text),
    Column("tags", JSON, nullable=False),  # {name: value}
    Column("execution_log", JSON, nullable=False),  # [ExecutionEntry as dict]
    Column("flags", JSON, nullable=False),  # [ReproFlag as dict]
    Column("warnings", JSON, nullable=False),  # [str]
    # the kernel session whose log (``session_executions``) the run's execution log is, up
    # to ``log_position`` executions; NULL for runs whose log is inline (before 0004)
    Column("session_id", RUN_ID),
    Column("log_position", BigInteger),
    # blob of the outputs the tracked cell itself produced (see capture.checkpoint)
    Column("outputs_digest", DIGEST),
    # listing order and keyset paging: ORDER BY start_time, id
    Index("ix_runs_start_time_id", "start_time", "id"),
    # "this notebook's runs, newest first" is the sidebar's default listing
    Index("ix_runs_notebook_path_start_time_id", "notebook_path", "start_time", "id"),
    Index("ix_runs_status", "status"),
    Index("ix_runs_parent_id", "parent_id"),
)

# A kernel session whose execution log runs reference.
KERNEL_SESSIONS = Table(
    "kernel_sessions",
    METADATA,
    Column("id", RUN_ID, primary_key=True),
    Column("start_time", Double, nullable=False),
    Column("host", Text),
    Column("pid", Integer),
    # the login role that wrote the row (revision 0009; see ``service.team_db``)
    Column("writer", Text),
)

# One execution of a kernel session, at its position (0-based) in the session's log.
# Appended once; every run of the session names how many of them precede it.
SESSION_EXECUTIONS = Table(
    "session_executions",
    METADATA,
    Column("session_id", RUN_ID, ForeignKey("kernel_sessions.id"), primary_key=True),
    Column("position", BigInteger, primary_key=True),
    Column("exec_count", Integer),
    Column("cell_id", Text),
    Column("source_hash", DIGEST, nullable=False),
    # the login role that wrote the row (revision 0009; see ``service.team_db``)
    Column("writer", Text),
)

PARAMS = Table(
    "params",
    METADATA,
    Column("run_id", RUN_ID, ForeignKey("runs.id"), primary_key=True),
    Column("name", Text, primary_key=True),
    Column("value", Text, nullable=False),
)

# One metric point. The primary key (run_id, name, step, timestamp) doubles as the
# (run_id, name, step) index used by history and latest-value queries.
METRICS = Table(
    "metrics",
    METADATA,
    Column("run_id", RUN_ID, ForeignKey("runs.id"), primary_key=True),
    Column("name", Text, primary_key=True),
    Column("step", BigInteger, primary_key=True),
    Column("timestamp", Double, primary_key=True),
    # NULL stands for NaN: SQLite stores a NaN REAL as NULL, so both backends use NULL
    Column("value", Double),
)

# Each run's latest point of each metric (highest step, then latest timestamp), kept in
# step with ``metrics`` by every write of metric points, in the same transaction. It makes
# "sort by a metric" and "metric >= threshold" listings an index walk instead of an
# aggregate over every point of every run.
LATEST_METRICS = Table(
    "latest_metrics",
    METADATA,
    Column("run_id", RUN_ID, ForeignKey("runs.id"), primary_key=True),
    Column("name", Text, primary_key=True),
    Column("step", BigInteger, nullable=False),
    Column("timestamp", Double, nullable=False),
    # NULL stands for NaN, as in ``metrics``
    Column("value", Double),
    # keyset-paged listings ordered or range-filtered by one metric: (name, value, run_id)
    Index("ix_latest_metrics_name_value_run_id", "name", "value", "run_id"),
)

DATA = Table(
    "data_refs",
    METADATA,
    Column("run_id", RUN_ID, ForeignKey("runs.id"), primary_key=True),
    Column("name", Text, primary_key=True),
    Column("role", String(16), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("size", BigInteger),
    Column("algorithm", String(32), nullable=False),
    Column("digest", String(128), nullable=False),
    Column("detail", Text),
)

ARTIFACTS = Table(
    "artifacts",
    METADATA,
    Column("run_id", RUN_ID, ForeignKey("runs.id"), primary_key=True),
    Column("name", Text, primary_key=True),
    Column("digest", DIGEST, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("media_type", Text, nullable=False),
)

# A blob a run references besides its artifacts (checkpoint manifest, large outputs).
RUN_BLOBS = Table(
    "run_blobs",
    METADATA,
    Column("run_id", RUN_ID, ForeignKey("runs.id"), primary_key=True),
    Column("digest", DIGEST, primary_key=True),
)

# -- registry ------------------------------------------------------------------------------

MODELS = Table(
    "models",
    METADATA,
    Column("name", String(255), primary_key=True),
    Column("description", Text),
    Column("created_time", Double, nullable=False),
)

MODEL_VERSIONS = Table(
    "model_versions",
    METADATA,
    Column("model", String(255), ForeignKey("models.name"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("run_id", RUN_ID, ForeignKey("runs.id"), nullable=False),
    Column("artifact", Text, nullable=False),
    Column("digest", DIGEST, nullable=False),
    Column("flavor", String(64), nullable=False),
    Column("stage", String(16), nullable=False),
    Column("aliases", JSON, nullable=False),  # [str]
    Column("signature", JSON),  # {inputs, outputs} or NULL
    Column("description", Text),
    Column("created_time", Double, nullable=False),
    Index("ix_model_versions_run_id", "run_id"),
)

# Append-only audit trail of the registry.
EVENTS = Table(
    "events",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", Double, nullable=False),
    Column("user", Text),
    Column("action", String(32), nullable=False),
    Column("model", String(255)),
    Column("version", Integer),
    Column("from_stage", String(16)),
    Column("to_stage", String(16)),
    Column("reason", Text),
    Index("ix_events_model_version", "model", "version"),
    # the alert listings the lab polls (``action IN (...) ORDER BY id DESC``) read only the
    # alert events, however long the audit trail
    Index("ix_events_action_id", "action", "id"),
)

# A transition waiting for (or decided by) a second person; its history is in events.
APPROVAL_REQUESTS = Table(
    "approval_requests",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model", String(255), nullable=False),
    Column("version", Integer, nullable=False),
    Column("from_stage", String(16), nullable=False),
    Column("to_stage", String(16), nullable=False),
    Column("requester", Text),
    Column("reason", Text),
    Column("created_time", Double, nullable=False),
    Column("expires_time", Double, nullable=False),
    Column("status", String(16), nullable=False),
    Column("decided_by", Text),
    Column("decided_time", Double),
    Column("decision_reason", Text),
    Index("ix_approval_requests_status", "status"),
    Index("ix_approval_requests_model_version", "model", "version"),
)

# -- monitoring and serving ----------------------------------------------------------------

# Index of one batch of logged predictions; the rows are the blob ``digest``.
PREDICTION_BATCHES = Table(
    "prediction_batches",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model", String(255), nullable=False),
    Column("version", Integer, nullable=False),
    Column("arm", String(16), nullable=False),
    Column("start_time", Double, nullable=False),
    Column("end_time", Double, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("digest", DIGEST, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("source", Text),
    # the login role that wrote the row (revision 0009; see ``service.team_db``)
    Column("writer", Text),
    Index("ix_prediction_batches_model_end", "model", "end_time"),
)

# The reference profile of a model version: the blob ``digest`` (monitoring).
REFERENCE_PROFILES = Table(
    "reference_profiles",
    METADATA,
    Column("model", String(255), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("digest", DIGEST, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("source", Text, nullable=False),
    Column("created_time", Double, nullable=False),
)

# Ground truth that arrived for a request (JSON text), joined by request id.
PREDICTION_LABELS = Table(
    "prediction_labels",
    METADATA,
    Column("request_id", String(64), primary_key=True),
    # the login role that wrote the label; each writer has its own label per request
    # (revision 0009; '' for labels written before it)
    Column("writer", Text, primary_key=True),
    Column("model", String(255)),
    Column("label", Text, nullable=False),
    Column("time", Double, nullable=False),
    # monitoring reads the labels that arrived since a window began
    Index("ix_prediction_labels_time", "time"),
)

# A serving process, refreshed by its heartbeat.
SERVING_ENDPOINTS = Table(
    "serving_endpoints",
    METADATA,
    Column("id", String(64), primary_key=True),
    Column("reference", Text, nullable=False),
    Column("host", Text, nullable=False),
    Column("port", Integer, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started", Double, nullable=False),
    Column("heartbeat", Double, nullable=False),
    Column("state", JSON, nullable=False),
    # the login role that wrote the row (revision 0009; see ``service.team_db``)
    Column("writer", Text),
)

# One attempt to deliver a webhook (jupyter_mm.alerts.webhooks); append-only.
WEBHOOK_DELIVERIES = Table(
    "webhook_deliveries",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery", String(32), nullable=False),
    Column("time", Double, nullable=False),
    Column("hook", String(255), nullable=False),
    Column("event", String(64), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("model", String(255)),
    Column("event_id", Integer),
    Column("status", Integer),
    Column("error", Text),
    Column("duration_ms", Double),
    Index("ix_webhook_deliveries_model", "model"),
)

# One alert episode of (model, version, rule), hashed into ``key``: the store refuses a
# second alert for the same episode (jupyter_mm.alerts.evaluate).
ALERT_KEYS = Table(
    "alert_keys",
    METADATA,
    Column("key", String(64), primary_key=True),
    Column("model", String(255), nullable=False),
    Column("version", Integer, nullable=False),
    Column("episode", Integer, nullable=False),
    Column("alert_id", Integer, nullable=False),
)

# A webhook delivery to make (pending) or made (delivered, failed).
WEBHOOK_OUTBOX = Table(
    "webhook_outbox",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery", String(32), nullable=False),
    Column("hook", String(255), nullable=False),
    Column("hook_id", String(64), nullable=False),
    Column("event", String(64), nullable=False),
    Column("model", String(255)),
    Column("event_id", Integer),
    Column("payload", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_time", Double, nullable=False),
    Column("next_time", Double, nullable=False),
    Column("lease_until", Double),
    Index("ix_webhook_outbox_state_next_time", "state", "next_time"),
)

# Scoring requests of a version that failed in a time span (the error rate).
REQUEST_FAILURES = Table(
    "request_failures",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model", String(255), nullable=False),
    Column("version", Integer, nullable=False),
    Column("arm", String(16), nullable=False),
    Column("start_time", Double, nullable=False),
    Column("end_time", Double, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("writer", Text),
    Index("ix_request_failures_model_version_end_time", "model", "version", "end_time"),
)
