"""Plain entities: the only objects that cross the store boundary.

These are frozen-ish dataclasses with JSON-friendly fields. The SQL store maps its table
rows to and from them; no database row ever leaves ``jupyter_mm.store.sql``. The server's
wire models are built from these (``to_dict``), the CLI prints them, the kernel creates them.

Times are floats (seconds since the epoch, UTC) everywhere: cheap to produce in the hot
path of tracking, exact through JSON, and trivially turned into datetimes for display.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

# The vocabulary of the data model lives apart (the CLI offers it as choices without
# building every dataclass below) and is part of this module's interface too.
from .vocabulary import (  # noqa: F401
    APPROVAL_STATUSES,
    RUN_STATUSES,
    SNAPSHOT_SOURCES,
    STAGES,
    CheckpointSource,
    DataKind,
    DataRole,
    RunStatus,
    Stage,
)

if TYPE_CHECKING:
    from typing_extensions import Self

_FIELD_NAMES: dict[type, frozenset[str]] = {}


def _field_names(cls: type) -> frozenset[str]:
    """The field names of a dataclass, computed once per class."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = frozenset(f.name for f in dataclasses.fields(cls))
    return names


class _Entity:
    def to_dict(self) -> dict[str, Any]:
        # every _Entity subclass is a dataclass; the base class itself is never instantiated
        return cast("dict[str, Any]", dataclasses.asdict(self))  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        names = _field_names(cls)
        if names.issuperset(data):
            return cls(**data)
        return cls(**{k: v for k, v in data.items() if k in names})


class _FlatEntity(_Entity):
    """An entity whose fields are all scalars: its dict is a shallow copy (``asdict``
    recurses and copies, ten times the cost; execution logs hold thousands of these)."""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ExecutionEntry(_FlatEntity):
    """One execution in the kernel session before (and including) a tracked run."""

    count: int | None
    cell_id: str | None
    source_hash: str


@dataclass
class SessionLogAppend:
    """Where a run stands in its kernel session's execution log, and the executions the
    store has not been given yet: ``entries`` are the log's positions ``start`` to
    ``position - 1`` (the run's log is the first ``position`` executions)."""

    session_id: str
    position: int
    start: int
    entries: list[ExecutionEntry] = field(default_factory=list)
    #: when the kernel session began, and where (kept with the session once)
    start_time: float = 0.0
    host: str | None = None
    pid: int | None = None


@dataclass
class ReproFlag(_FlatEntity):
    """A reason the run may not be reproducible from its checkpoint alone.

    kind is one of ``out_of_order``, ``edited_since_run``, ``deleted_cell``,
    ``never_run_above``, ``redacted_source``.
    """

    kind: str
    message: str
    cell_id: str | None = None


@dataclass
class Run(_Entity):
    """A tracked execution (one ``%%track`` cell run or one ``start_run`` block)."""

    id: str
    name: str | None = None
    status: str = "running"
    start_time: float = 0.0
    end_time: float | None = None
    notebook_path: str | None = None
    cell_id: str | None = None
    user: str | None = None
    host: str | None = None
    pid: int | None = None
    #: when the process ``pid`` started, as a token compared for equality on ``host`` (a
    #: reused pid is another process; see ``store.processes``)
    process_start_time: str | None = None
    parent_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    note: str | None = None
    #: digest of the checkpoint manifest blob (see capture.checkpoint), or None
    checkpoint_digest: str | None = None
    checkpoint_source: str = "none"
    #: content-addressed id of the Environment record
    environment_id: str | None = None
    execution_log: list[ExecutionEntry] = field(default_factory=list)
    flags: list[ReproFlag] = field(default_factory=list)
    #: capture problems shown to the user as the run's single warning line
    warnings: list[str] = field(default_factory=list)
    #: set when the run failed: exception type and message, redacted
    error: str | None = None
    #: digest of the blob holding the outputs the tracked cell itself produced (its
    #: checkpoint is taken as the cell starts, so they are in no checkpoint), or None
    outputs_digest: str | None = None

    @property
    def duration(self) -> float | None:
        return None if self.end_time is None else self.end_time - self.start_time

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Run:
        data = dict(data)
        data["execution_log"] = [
            e if isinstance(e, ExecutionEntry) else ExecutionEntry.from_dict(e)
            for e in data.get("execution_log") or []
        ]
        data["flags"] = [
            f if isinstance(f, ReproFlag) else ReproFlag.from_dict(f)
            for f in data.get("flags") or []
        ]
        return super().from_dict(data)


@dataclass
class Param(_Entity):
    """A named input value. Values are stored as their ``repr``-like string (as MLflow)."""

    name: str
    value: str


@dataclass
class Metric(_Entity):
    name: str
    value: float
    step: int = 0
    timestamp: float = 0.0


#: a metric point as ``(name, value, step, timestamp)``: what ``log_metric`` buffers, and
#: what the stores take besides Metric records (a flush holds up to 10,000 points; building
#: a Metric for each cost as much as writing it)
MetricPoint = tuple[str, float, int, float]


def is_later_point(step: int, timestamp: float, than_step: int, than_timestamp: float) -> bool:
    """The rule for "the latest value of a metric", everywhere (listings, run cards, diffs,
    gates, ``show``, the SQL store's ``latest_metrics`` table): the point at the highest
    step; among equal steps, the later timestamp; among points equal in both, the first
    recorded stays (so this is a strict comparison)."""
    return step > than_step or (step == than_step and timestamp > than_timestamp)


def latest_metric_values(points: Iterable[Metric]) -> dict[str, float]:
    """``{name: latest value}`` of metric points, by :func:`is_later_point`."""
    latest: dict[str, Metric] = {}
    for point in points:
        kept = latest.get(point.name)
        if kept is None or is_later_point(point.step, point.timestamp, kept.step, kept.timestamp):
            latest[point.name] = point
    return {name: point.value for name, point in latest.items()}


@dataclass
class DataRef(_Entity):
    """A file, directory or in-memory object read or written by a run."""

    name: str  # absolute path for files and directories, variable name for objects
    role: str  # "input" | "output" | "upstream" (read by an earlier cell of the session)
    kind: str  # "file" | "directory" | "object"
    size: int | None
    algorithm: str  # e.g. "blake3"
    digest: str
    #: for objects: type name ("pandas.DataFrame"); for directories: file count
    detail: str | None = None


@dataclass
class Artifact(_Entity):
    name: str
    digest: str  # blob digest in the object store
    size: int
    media_type: str = "application/octet-stream"


@dataclass
class Environment(_Entity):
    """Kernel environment. ``id`` is the digest of the canonical JSON of the other fields."""

    id: str
    python: str
    platform: str
    packages: dict[str, str] = field(default_factory=dict)  # distribution -> version
    modules: dict[str, str] = field(default_factory=dict)  # imported top-level module -> version
    git: dict[str, Any] = field(default_factory=dict)  # commit, branch, dirty, diff_digest, remote
    hardware: dict[str, Any] = field(default_factory=dict)
    env_vars: dict[str, str | None] = field(default_factory=dict)  # None = name only
    argv: list[str] = field(default_factory=list)
    executable: str | None = None


@dataclass
class RunDetail(_Entity):
    """Everything recorded for one run."""

    run: Run
    params: list[Param] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)  # full history, ordered by (name, step)
    data: list[DataRef] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    environment: Environment | None = None
    #: what the tracked cell produced, as nbformat 4 outputs (stream, display_data,
    #: execute_result, error), text redacted
    outputs: list[dict[str, Any]] = field(default_factory=list)


#: comparison operators of a metric filter
METRIC_OPERATORS: tuple[str, ...] = ("<", "<=", ">", ">=", "==")

_FILTER_SYNTAX = re.compile(r"^(?P<name>.+?)\s*(?P<op><=|>=|==|<|>)\s*(?P<value>[^<>=\s]+)$")


@dataclass(frozen=True)
class MetricFilter(_Entity):
    """Keep the runs whose latest value (highest step) of metric ``name`` satisfies
    ``value_of_run <op> value``. A run without the metric, or whose latest value is NaN,
    never matches (NaN compares false with everything)."""

    name: str
    op: str
    value: float

    @classmethod
    def parse(cls, text: str) -> MetricFilter:
        """``acc>=0.9`` (spaces allowed around the operator; the name may contain anything
        but must not end in an operator character). Raises ValueError with a message."""
        match = _FILTER_SYNTAX.match(text.strip())
        # "acc=>1" would otherwise read as metric "acc=" greater than 1
        if match is None or match["name"][-1] in "<>=":
            raise ValueError(
                f"{text!r} is not a metric filter; write NAME OP NUMBER with OP one of "
                f"{' '.join(METRIC_OPERATORS)}, e.g. 'acc>=0.9'."
            )
        try:
            value = float(match["value"])
        except ValueError:
            raise ValueError(
                f"The metric filter {text!r} compares with {match['value']!r}, not a number."
            ) from None
        if not math.isfinite(value):
            raise ValueError(f"The metric filter {text!r} must compare with a finite number.")
        return cls(name=match["name"], op=match["op"], value=value)

    def __str__(self) -> str:
        return f"{self.name}{self.op}{self.value!r}"


@dataclass(frozen=True)
class MetricOrder(_Entity):
    """List runs by the latest value of metric ``name`` (ties broken by run id in the same
    direction). Runs without the metric, or whose latest value is NaN, are not listed."""

    name: str
    descending: bool = True

    @classmethod
    def parse(cls, text: str) -> MetricOrder:
        """``metric:NAME`` (descending), ``metric:NAME:desc`` or ``metric:NAME:asc``.
        Raises ValueError with a message."""
        if not text.startswith("metric:") or len(text) <= len("metric:"):
            raise ValueError(
                f"{text!r} is not a metric order; write metric:NAME, metric:NAME:desc or "
                "metric:NAME:asc."
            )
        rest = text[len("metric:") :]
        name, _, direction = rest.rpartition(":")
        if not name or direction not in ("asc", "desc"):
            name, direction = rest, "desc"
        return cls(name=name, descending=direction == "desc")

    def __str__(self) -> str:
        return f"metric:{self.name}:{'desc' if self.descending else 'asc'}"


@dataclass
class RunPage(_Entity):
    """One page of a run listing; ``next_token`` is opaque (keyset paging) or None at the end."""

    runs: list[Run]
    next_token: str | None = None


# -- registry (filled in by the registry issue; the shapes are fixed now) -----------------


@dataclass
class Model(_Entity):
    name: str
    description: str | None = None
    created_time: float = 0.0


@dataclass
class ModelVersion(_Entity):
    model: str
    version: int
    run_id: str
    artifact: str  # artifact name within the run
    digest: str
    flavor: str
    stage: str = "none"
    aliases: list[str] = field(default_factory=list)
    signature: dict[str, Any] | None = None
    description: str | None = None
    created_time: float = 0.0


@dataclass
class Event(_Entity):
    """Append-only audit record."""

    id: int
    time: float
    user: str | None
    action: str  # register, transition, transition_refused, rollback, alias, unalias
    model: str | None
    version: int | None
    from_stage: str | None = None
    to_stage: str | None = None
    reason: str | None = None

    def readable_reason(self) -> str:
        """The reason as a person reads it. Alerts and retrain steps keep their evidence as
        JSON in ``reason``; of those, the evidence's one-line ``summary``."""
        if self.action in EVIDENCE_ACTIONS and self.reason:
            try:
                summary = json.loads(self.reason).get("summary")
            except (ValueError, AttributeError):
                return self.reason
            if isinstance(summary, str):
                return summary
        return self.reason or ""


#: events whose ``reason`` is JSON evidence with a ``summary`` (see Event.readable_reason)
EVIDENCE_ACTIONS: tuple[str, ...] = ("alert", "alert_cleared", "retrain")


@dataclass
class Rollback(_Entity):
    """What a rollback did: the version put back in production and the one it archived,
    both as they are after the rollback."""

    restored: ModelVersion
    archived: ModelVersion


@dataclass
class ApprovalRequest(_Entity):
    """A request to move a version to a stage that needs a second person's approval.

    ``status`` is ``pending`` until someone other than the requester approves (the
    transition then happened), rejects, or it expires; ``failed`` when it was approved but
    the transition could not happen (a gate or the rules refused it, or the version moved
    meanwhile). ``decision_reason`` says why, in the decider's or the rules' words."""

    id: int
    model: str
    version: int
    from_stage: str
    to_stage: str
    requester: str | None
    reason: str | None
    created_time: float
    expires_time: float
    status: str = "pending"
    decided_by: str | None = None
    decided_time: float | None = None
    decision_reason: str | None = None


# -- serving: the prediction log ------------------------------------------------------------


@dataclass
class PredictionBatch(_Entity):
    """Predictions of one model version and arm, stored together as one columnar blob
    (Parquet: request_id, time, latency_ms, prediction, score_*, and the features as
    ``feature.<name>``). ``id`` is assigned by the store."""

    model: str
    version: int
    arm: str  # champion, canary, shadow or batch
    start_time: float
    end_time: float
    rows: int
    digest: str
    size: int
    source: str | None = None  # the serving endpoint, or None for mm.log_predictions
    id: int | None = None
    #: the login role that wrote the batch, set by the store (see store.sql.writers)
    writer: str | None = None


@dataclass
class ReferenceProfileLink(_Entity):
    """Where a model version's reference profile (monitoring) is: the blob ``digest`` of
    ``size`` bytes, made from ``source`` (``log_model``, a tracked cell's input, or a file
    given to ``jupyter mm profile``)."""

    model: str
    version: int
    digest: str
    size: int
    source: str
    created_time: float


@dataclass
class ServingEndpoint(_Entity):
    """A `jupyter mm serve` process, as it last reported itself (heartbeat)."""

    id: str
    reference: str
    host: str
    port: int
    pid: int
    started: float
    heartbeat: float
    #: arms with their reference, version and share; request counters
    state: dict[str, Any] = field(default_factory=dict)
    #: the login role that wrote the row, set by the store (see store.sql.writers)
    writer: str | None = None
