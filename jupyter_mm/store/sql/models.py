"""ORM rows of the SQL store. They never leave ``jupyter_mm.store.sql``: the store maps them
to and from :mod:`jupyter_mm.entities`.

Types are chosen to behave the same on SQLite and PostgreSQL: ``JSON`` for structured
fields, ``Double`` for times and metric values (float8, exact round trip of Python floats),
``Text`` wherever a user or the OS chooses the length. The migration in
``migrations/versions`` creates exactly this schema; ``tests/store`` compares the two.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Deterministic constraint names, so future migrations (and SQLite batch mode) can refer
#: to them by name on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

RUN_ID = String(26)
DIGEST = String(64)
ENV_ID = String(128)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class EnvironmentRow(Base):
    __tablename__ = "environments"

    id: Mapped[str] = mapped_column(ENV_ID, primary_key=True)
    #: every Environment field except ``id``
    body: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)


class RunRow(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(RUN_ID, primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    start_time: Mapped[float] = mapped_column(Double, nullable=False)
    end_time: Mapped[float | None] = mapped_column(Double)
    notebook_path: Mapped[str | None] = mapped_column(Text)
    cell_id: Mapped[str | None] = mapped_column(Text)
    user: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(Text)
    pid: Mapped[int | None] = mapped_column(Integer)
    #: when the process of ``pid`` started (see store.processes; revision 0003)
    process_start_time: Mapped[str | None] = mapped_column(String(64))
    parent_id: Mapped[str | None] = mapped_column(RUN_ID, ForeignKey("runs.id"))
    note: Mapped[str | None] = mapped_column(Text)
    checkpoint_digest: Mapped[str | None] = mapped_column(DIGEST)
    checkpoint_source: Mapped[str] = mapped_column(String(16), nullable=False)
    environment_id: Mapped[str | None] = mapped_column(ENV_ID, ForeignKey("environments.id"))
    error: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[dict[str, str]] = mapped_column(JSON, nullable=False)
    execution_log: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    flags: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    warnings: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    #: the kernel session whose log (``session_executions``) the run's execution log is,
    #: up to ``log_position`` executions; NULL for runs whose log is inline (before 0004)
    session_id: Mapped[str | None] = mapped_column(RUN_ID)
    log_position: Mapped[int | None] = mapped_column(BigInteger)
    #: blob of the outputs the tracked cell itself produced (see capture.checkpoint)
    outputs_digest: Mapped[str | None] = mapped_column(DIGEST)

    __table_args__ = (
        # listing order and keyset paging: ORDER BY start_time, id
        Index("ix_runs_start_time_id", "start_time", "id"),
        # "this notebook's runs, newest first" is the sidebar's default listing
        Index("ix_runs_notebook_path_start_time_id", "notebook_path", "start_time", "id"),
        Index("ix_runs_status", "status"),
        Index("ix_runs_parent_id", "parent_id"),
    )


class KernelSessionRow(Base):
    """A kernel session whose execution log runs reference."""

    __tablename__ = "kernel_sessions"

    id: Mapped[str] = mapped_column(RUN_ID, primary_key=True)
    start_time: Mapped[float] = mapped_column(Double, nullable=False)
    host: Mapped[str | None] = mapped_column(Text)
    pid: Mapped[int | None] = mapped_column(Integer)
    #: the login role that wrote the row (revision 0009; see ``service.team_db``)
    writer: Mapped[str | None] = mapped_column(Text)


class SessionExecutionRow(Base):
    """One execution of a kernel session, at its position (0-based) in the session's log.
    Appended once; every run of the session names how many of them precede it."""

    __tablename__ = "session_executions"

    session_id: Mapped[str] = mapped_column(
        RUN_ID, ForeignKey("kernel_sessions.id"), primary_key=True
    )
    position: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    exec_count: Mapped[int | None] = mapped_column(Integer)
    cell_id: Mapped[str | None] = mapped_column(Text)
    source_hash: Mapped[str] = mapped_column(DIGEST, nullable=False)
    #: the login role that wrote the row (revision 0009; see ``service.team_db``)
    writer: Mapped[str | None] = mapped_column(Text)


class ParamRow(Base):
    __tablename__ = "params"

    run_id: Mapped[str] = mapped_column(RUN_ID, ForeignKey("runs.id"), primary_key=True)
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)


class MetricRow(Base):
    """One metric point. The primary key (run_id, name, step, timestamp) doubles as the
    (run_id, name, step) index used by history and latest-value queries."""

    __tablename__ = "metrics"

    run_id: Mapped[str] = mapped_column(RUN_ID, ForeignKey("runs.id"), primary_key=True)
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    step: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    timestamp: Mapped[float] = mapped_column(Double, primary_key=True)
    #: NULL stands for NaN: SQLite stores a NaN REAL as NULL, so both backends use NULL
    value: Mapped[float | None] = mapped_column(Double)


class LatestMetricRow(Base):
    """Each run's latest point of each metric (highest step, then latest timestamp), kept
    in step with ``metrics`` by every write of metric points, in the same transaction.

    It makes "sort by a metric" and "metric >= threshold" listings an index walk instead of
    an aggregate over every point of every run."""

    __tablename__ = "latest_metrics"

    run_id: Mapped[str] = mapped_column(RUN_ID, ForeignKey("runs.id"), primary_key=True)
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    step: Mapped[int] = mapped_column(BigInteger, nullable=False)
    timestamp: Mapped[float] = mapped_column(Double, nullable=False)
    #: NULL stands for NaN, as in ``metrics``
    value: Mapped[float | None] = mapped_column(Double)

    __table_args__ = (
        # keyset-paged listings ordered or range-filtered by one metric: (name, value, run_id)
        Index("ix_latest_metrics_name_value_run_id", "name", "value", "run_id"),
    )


class DataRefRow(Base):
    __tablename__ = "data_refs"

    run_id: Mapped[str] = mapped_column(RUN_ID, ForeignKey("runs.id"), primary_key=True)
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    size: Mapped[int | None] = mapped_column(BigInteger)
    algorithm: Mapped[str] = mapped_column(String(32), nullable=False)
    digest: Mapped[str] = mapped_column(String(128), nullable=False)
    detail: Mapped[str | None] = mapped_column(Text)


class ArtifactRow(Base):
    __tablename__ = "artifacts"

    run_id: Mapped[str] = mapped_column(RUN_ID, ForeignKey("runs.id"), primary_key=True)
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    digest: Mapped[str] = mapped_column(DIGEST, nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    media_type: Mapped[str] = mapped_column(Text, nullable=False)


class RunBlobRow(Base):
    """A blob a run references besides its artifacts (checkpoint manifest, large outputs)."""

    __tablename__ = "run_blobs"

    run_id: Mapped[str] = mapped_column(RUN_ID, ForeignKey("runs.id"), primary_key=True)
    digest: Mapped[str] = mapped_column(DIGEST, primary_key=True)


# -- registry (methods arrive with the registry issue; the tables exist from the start) ----


class ModelRow(Base):
    __tablename__ = "models"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_time: Mapped[float] = mapped_column(Double, nullable=False)


class ModelVersionRow(Base):
    __tablename__ = "model_versions"

    model: Mapped[str] = mapped_column(String(255), ForeignKey("models.name"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(RUN_ID, ForeignKey("runs.id"), nullable=False)
    artifact: Mapped[str] = mapped_column(Text, nullable=False)
    digest: Mapped[str] = mapped_column(DIGEST, nullable=False)
    flavor: Mapped[str] = mapped_column(String(64), nullable=False)
    stage: Mapped[str] = mapped_column(String(16), nullable=False)
    aliases: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    signature: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(Text)
    created_time: Mapped[float] = mapped_column(Double, nullable=False)

    __table_args__ = (Index("ix_model_versions_run_id", "run_id"),)


class EventRow(Base):
    """Append-only audit trail of the registry."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[float] = mapped_column(Double, nullable=False)
    user: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    model: Mapped[str | None] = mapped_column(String(255))
    version: Mapped[int | None] = mapped_column(Integer)
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_events_model_version", "model", "version"),)


class ApprovalRequestRow(Base):
    """A transition waiting for (or decided by) a second person; its history is in events."""

    __tablename__ = "approval_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model: Mapped[str] = mapped_column(String(255), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    from_stage: Mapped[str] = mapped_column(String(16), nullable=False)
    to_stage: Mapped[str] = mapped_column(String(16), nullable=False)
    requester: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    created_time: Mapped[float] = mapped_column(Double, nullable=False)
    expires_time: Mapped[float] = mapped_column(Double, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    decided_by: Mapped[str | None] = mapped_column(Text)
    decided_time: Mapped[float | None] = mapped_column(Double)
    decision_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_approval_requests_status", "status"),
        Index("ix_approval_requests_model_version", "model", "version"),
    )


class PredictionBatchRow(Base):
    """Index of one batch of logged predictions; the rows are the blob ``digest``."""

    __tablename__ = "prediction_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model: Mapped[str] = mapped_column(String(255), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    arm: Mapped[str] = mapped_column(String(16), nullable=False)
    start_time: Mapped[float] = mapped_column(Double, nullable=False)
    end_time: Mapped[float] = mapped_column(Double, nullable=False)
    rows: Mapped[int] = mapped_column(Integer, nullable=False)
    digest: Mapped[str] = mapped_column(DIGEST, nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    source: Mapped[str | None] = mapped_column(Text)
    #: the login role that wrote the row (revision 0009; see ``service.team_db``)
    writer: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_prediction_batches_model_end", "model", "end_time"),)


class ReferenceProfileRow(Base):
    """The reference profile of a model version: the blob ``digest`` (monitoring)."""

    __tablename__ = "reference_profiles"

    model: Mapped[str] = mapped_column(String(255), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(DIGEST, nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    source: Mapped[str] = mapped_column(Text, nullable=False)
    created_time: Mapped[float] = mapped_column(Double, nullable=False)


class PredictionLabelRow(Base):
    """Ground truth that arrived for a request (JSON text), joined by request id."""

    __tablename__ = "prediction_labels"

    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: the login role that wrote the label; each writer has its own label per request
    #: (revision 0009; '' for labels written before it)
    writer: Mapped[str] = mapped_column(Text, primary_key=True)
    model: Mapped[str | None] = mapped_column(String(255))
    label: Mapped[str] = mapped_column(Text, nullable=False)
    time: Mapped[float] = mapped_column(Double, nullable=False)

    # monitoring reads the labels that arrived since a window began
    __table_args__ = (Index("ix_prediction_labels_time", "time"),)


class ServingEndpointRow(Base):
    """A serving process, refreshed by its heartbeat."""

    __tablename__ = "serving_endpoints"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reference: Mapped[str] = mapped_column(Text, nullable=False)
    host: Mapped[str] = mapped_column(Text, nullable=False)
    port: Mapped[int] = mapped_column(Integer, nullable=False)
    pid: Mapped[int] = mapped_column(Integer, nullable=False)
    started: Mapped[float] = mapped_column(Double, nullable=False)
    heartbeat: Mapped[float] = mapped_column(Double, nullable=False)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    #: the login role that wrote the row (revision 0009; see ``service.team_db``)
    writer: Mapped[str | None] = mapped_column(Text)


class WebhookDeliveryRow(Base):
    """One attempt to deliver a webhook (jupyter_mm.alerts.webhooks); append-only."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery: Mapped[str] = mapped_column(String(32), nullable=False)
    time: Mapped[float] = mapped_column(Double, nullable=False)
    hook: Mapped[str] = mapped_column(String(255), nullable=False)
    event: Mapped[str] = mapped_column(String(64), nullable=False)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    model: Mapped[str | None] = mapped_column(String(255))
    event_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float | None] = mapped_column(Double)

    __table_args__ = (Index("ix_webhook_deliveries_model", "model"),)


class AlertKeyRow(Base):
    """One alert episode of (model, version, rule), hashed into ``key``: the store refuses
    a second alert for the same episode (jupyter_mm.alerts.evaluate)."""

    __tablename__ = "alert_keys"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(255), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    episode: Mapped[int] = mapped_column(Integer, nullable=False)
    alert_id: Mapped[int] = mapped_column(Integer, nullable=False)


class WebhookOutboxRow(Base):
    """A webhook delivery to make (pending) or made (delivered, failed)."""

    __tablename__ = "webhook_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery: Mapped[str] = mapped_column(String(32), nullable=False)
    hook: Mapped[str] = mapped_column(String(255), nullable=False)
    hook_id: Mapped[str] = mapped_column(String(64), nullable=False)
    event: Mapped[str] = mapped_column(String(64), nullable=False)
    model: Mapped[str | None] = mapped_column(String(255))
    event_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    created_time: Mapped[float] = mapped_column(Double, nullable=False)
    next_time: Mapped[float] = mapped_column(Double, nullable=False)
    lease_until: Mapped[float | None] = mapped_column(Double)

    __table_args__ = (Index("ix_webhook_outbox_state_next_time", "state", "next_time"),)


class RequestFailureRow(Base):
    """Scoring requests of a version that failed in a time span (the error rate)."""

    __tablename__ = "request_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    model: Mapped[str] = mapped_column(String(255), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    arm: Mapped[str] = mapped_column(String(16), nullable=False)
    start_time: Mapped[float] = mapped_column(Double, nullable=False)
    end_time: Mapped[float] = mapped_column(Double, nullable=False)
    failed: Mapped[int] = mapped_column(Integer, nullable=False)
    writer: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_request_failures_model_version_end_time", "model", "version", "end_time"),
    )


# -- the tables, for Core statements (the modules of this package use these names) -------


def _table(row_class: type[Base]) -> Table:
    """The Table of a mapped class (SQLAlchemy types ``__table__`` as a FromClause)."""
    return cast(Table, row_class.__table__)


RUNS = _table(RunRow)
PARAMS = _table(ParamRow)
METRICS = _table(MetricRow)
LATEST_METRICS = _table(LatestMetricRow)
DATA = _table(DataRefRow)
ARTIFACTS = _table(ArtifactRow)
RUN_BLOBS = _table(RunBlobRow)
ENVIRONMENTS = _table(EnvironmentRow)
MODELS = _table(ModelRow)
MODEL_VERSIONS = _table(ModelVersionRow)
EVENTS = _table(EventRow)
APPROVAL_REQUESTS = _table(ApprovalRequestRow)
PREDICTION_BATCHES = _table(PredictionBatchRow)
PREDICTION_LABELS = _table(PredictionLabelRow)
REFERENCE_PROFILES = _table(ReferenceProfileRow)
SERVING_ENDPOINTS = _table(ServingEndpointRow)
WEBHOOK_DELIVERIES = _table(WebhookDeliveryRow)
ALERT_KEYS = _table(AlertKeyRow)
WEBHOOK_OUTBOX = _table(WebhookOutboxRow)
REQUEST_FAILURES = _table(RequestFailureRow)
KERNEL_SESSIONS = _table(KernelSessionRow)
SESSION_EXECUTIONS = _table(SessionExecutionRow)
