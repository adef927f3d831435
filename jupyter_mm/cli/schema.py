"""The typed shapes of the CLI's ``--json`` outputs, built from the REST API's wire schema.

Each output is a ``TypedDict`` here; the pieces both interfaces share (flags, data refs,
artifacts, model versions, events, diff rows) are the very models of
:mod:`jupyter_mm.server.schema`. ``JSON_SHAPES`` (the documented shapes, in
:mod:`jupyter_mm.cli`) is rendered from these types, and ``tests/cli/test_cli_json_schema.py``
validates real outputs against the JSON Schema generated from them, so the documentation,
the code and the output cannot drift apart.

Runs are the REST API's ``RunFields`` (one definition of a run on the wire). Deliberate
differences from the REST models: CLI runs carry no ``notebook_relpath`` (a terminal has no
server root directory), listing rows carry ``duration``, and metric values
are JSON numbers (NaN written as the bare token ``NaN``, which Python's ``json`` reads).
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from ..server.schema import (
    AlertList,
    ApprovalRequest,
    Artifact,
    CheckpointSource,
    DataChange,
    DataRef,
    Event,
    ExecutionEntry,
    LineageEnvironment,
    LineageRunFields,
    MetricChange,
    Model,
    ModelVersion,
    MonitoringReport,
    NotebookDiff,
    PackageChange,
    ParamChange,
    ReproFlag,
    RunFields,
)


class RunRecord(RunFields):
    """A whole run entity (``diff --json``)."""

    execution_log: list[ExecutionEntry]


class RunSummary(RunFields):
    """``<run>`` in the README: a run with its duration (seconds, null while running)."""

    duration: float | None


class RunsRow(RunSummary):
    params: dict[str, str]
    #: the latest value of each metric (docs/architecture.md#data-model)
    metrics: dict[str, float]


class RunsOutput(TypedDict):
    runs: list[RunsRow]
    count: int


class ShowRun(RunSummary):
    execution_log: list[ExecutionEntry]


class ShowMetric(TypedDict):
    value: float
    step: int
    points: int


class ShowEnvironment(TypedDict):
    id: str
    python: str
    platform: str
    executable: str | None
    #: the number of installed distributions (``env --json`` lists them)
    packages: int
    git: dict[str, Any]


class Checkpoint(TypedDict):
    digest: str | None
    source: CheckpointSource


class ShowOutput(TypedDict):
    run: ShowRun
    params: dict[str, str]
    metrics: dict[str, ShowMetric]
    data: list[DataRef]
    artifacts: list[Artifact]
    environment: ShowEnvironment | None
    checkpoint: Checkpoint
    flags: list[ReproFlag]
    warnings: list[str]
    #: nbformat 4 outputs of the tracked cell (text redacted)
    outputs: list[dict[str, Any]]


class DiffOutput(TypedDict):
    """``RunDiff.to_dict()`` of :mod:`jupyter_mm.diffing`."""

    a: RunRecord
    b: RunRecord
    notebook: NotebookDiff
    params: list[ParamChange]
    metrics: list[MetricChange]
    data: list[DataChange]
    packages: list[PackageChange]
    ignore_outputs: bool
    warnings: list[str]


class EnvOutput(TypedDict):
    run_id: str
    environment_id: str
    python: str
    platform: str
    executable: str | None
    git: dict[str, Any]
    packages: dict[str, str]
    #: the text ``jupyter mm env`` prints
    requirements: str


class VerifyProblem(TypedDict):
    kind: Literal["corrupt_blob", "missing_blob", "unreadable_checkpoint", "database"]
    digest: str | None
    runs: list[str]
    message: str


class VerifyOutput(TypedDict):
    ok: bool
    #: blobs checked
    blobs: int
    runs: int
    problems: list[VerifyProblem]


class GcBlob(TypedDict):
    digest: str
    size: int
    age_seconds: float | None


class GcOtherStore(TypedDict):
    id: str
    url: str | None
    references: int | None
    problem: str | None


class GcOutput(TypedDict):
    unreferenced: list[GcBlob]
    total_bytes: int
    deleted: bool
    grace_hours: float
    kept_young: list[GcBlob]
    #: the other stores recorded on the artifact root, and what keeps gc from deleting
    other_stores: list[GcOtherStore]
    blockers: list[str]


class ModelWithVersions(Model):
    versions: list[ModelVersion]


class ModelsOutput(TypedDict):
    models: list[ModelWithVersions]
    count: int


class ModelOutput(TypedDict):
    model: Model
    versions: list[ModelVersion]
    events: list[Event]


class PromoteOutput(TypedDict):
    version: ModelVersion
    #: the versions archived because this one went to production
    archived: list[int]


class LineageRun(LineageRunFields):
    metrics: dict[str, float]


class LineageCheckpoint(Checkpoint):
    flags: list[ReproFlag]


class LineageOutput(TypedDict):
    version: ModelVersion
    run: LineageRun
    checkpoint: LineageCheckpoint
    data: list[DataRef]
    environment: LineageEnvironment | None
    events: list[Event]


class ReproducedInput(TypedDict):
    name: str
    #: "input", or "upstream" for data an earlier cell of the session read
    role: str
    kind: str
    recorded: str
    current: str | None
    status: Literal["same", "changed", "missing"]


class ReproducedMetric(TypedDict):
    name: str
    recorded: float
    reproduced: float | None
    relative_difference: float | None
    ok: bool


class ReproduceOutput(TypedDict):
    run_id: str
    ok: bool
    executed: bool
    new_run_id: str | None
    reasons: list[str]
    warnings: list[str]
    data: list[ReproducedInput]
    metrics: list[ReproducedMetric]
    #: only the keys that differ: python [recorded, now], packages added/removed/changed
    environment: dict[str, Any]
    tolerance: float
    duration: float
    workdir: str | None


class ConfigOutput(TypedDict):
    #: the jupyter_mm_config files read, in order (a later one wins)
    files: list[str]
    environment: dict[str, str | None]
    MMConfig: dict[str, Any]
    Registry: dict[str, Any]


class RequestsOutput(TypedDict):
    requests: list[ApprovalRequest]
    count: int


#: ``<command> --json`` -> the model of its output
class WhoamiOutput(TypedDict):
    """``whoami --json``: the identity registry writes from here are recorded for."""

    name: str | None
    #: how it is known: "hub API", "$JUPYTERHUB_USER (unverified)", "OS user", or
    #: "registry service <url>" (then the service answered for this process's token)
    source: str
    authenticated: bool
    groups: list[str]
    #: model name pattern -> the roles held on models matching it
    roles: dict[str, list[str]]


class RuleOutcome(TypedDict):
    """One rule on one model in a ``watch`` pass; state: fired (a new alert), firing
    (already alerted), cleared, ok, undecided, error."""

    model: str
    version: int
    rule: str
    state: Literal["fired", "firing", "cleared", "ok", "undecided", "error"]
    summary: str
    alert_id: int | None
    evidence: dict[str, Any]
    actions: list[dict[str, Any]]


class WatchOutput(TypedDict):
    outcomes: list[RuleOutcome]


class Delivery(TypedDict):
    """One webhook delivery attempt (outcome: delivered, retrying, failed)."""

    id: int
    delivery: str
    time: float
    hook: str
    event: str
    attempt: int
    outcome: Literal["delivered", "retrying", "failed"]
    model: str | None
    event_id: int | None
    status: int | None
    error: str | None
    duration_ms: float | None


class DeliveriesOutput(TypedDict):
    deliveries: list[Delivery]


class RetrainOutput(TypedDict):
    """``retrain --json``: each step as recorded in its ``retrain`` event."""

    model: str
    ok: bool
    alert_id: int | None
    from_version: int | None
    new_version: int | None
    run_id: str | None
    stage: str | None
    steps: list[dict[str, Any]]
    comparison: dict[str, Any] | None
    problem: str | None


CLI_JSON_MODELS: dict[str, type] = {
    "runs --json": RunsOutput,
    "show --json": ShowOutput,
    "diff --json": DiffOutput,
    "env --json": EnvOutput,
    "verify --json": VerifyOutput,
    "gc --json": GcOutput,
    "models --json": ModelsOutput,
    "model --json": ModelOutput,
    "register --json": ModelVersion,
    "promote --json": PromoteOutput,
    "lineage --json": LineageOutput,
    "reproduce --json": ReproduceOutput,
    "config --json": ConfigOutput,
    "request --json": ApprovalRequest,
    "approve --json": ApprovalRequest,
    "reject --json": ApprovalRequest,
    "requests --json": RequestsOutput,
    "whoami --json": WhoamiOutput,
    "monitor --json": MonitoringReport,
    "watch --json": WatchOutput,
    "alerts --json": AlertList,
    "deliveries --json": DeliveriesOutput,
    "retrain --json": RetrainOutput,
}

#: every model the CLI outputs use that the REST schema does not define
CLI_MODELS: list[type] = [
    RuleOutcome,
    WatchOutput,
    Delivery,
    DeliveriesOutput,
    RetrainOutput,
    RunFields,
    RunRecord,
    RunSummary,
    RunsRow,
    RunsOutput,
    ShowRun,
    ShowMetric,
    ShowEnvironment,
    Checkpoint,
    ShowOutput,
    DiffOutput,
    EnvOutput,
    VerifyProblem,
    VerifyOutput,
    GcBlob,
    GcOtherStore,
    GcOutput,
    ModelWithVersions,
    ModelsOutput,
    ModelOutput,
    PromoteOutput,
    LineageRun,
    LineageCheckpoint,
    LineageOutput,
    ReproducedInput,
    ReproducedMetric,
    ReproduceOutput,
    ConfigOutput,
    RequestsOutput,
    WhoamiOutput,
]
