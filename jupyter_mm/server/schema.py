"""The one wire schema of the jupyter-mm REST API.

Every response body the server sends is described here as a ``TypedDict``; the handlers build
their answers with these types, the TypeScript interfaces the lab extension imports are
generated from them (``python -m jupyter_mm.server.schema --ts``), and the tests validate real
responses against the JSON Schema generated from them (``--json-schema``). The renderers are
in :mod:`.schema_render`, which imports this module (never the other way round). One source, so the
server, the frontend and the tests cannot drift apart without a test failing.

The models follow :mod:`jupyter_mm.entities` field for field (``ENTITY_MODELS`` records which
model carries which entity; a test fails when an entity field is missing on the wire), with
these deliberate differences:

* every Run the server returns carries ``notebook_relpath`` (the notebook path relative to the
  server's root directory, or null), so the frontend can open and restore files;
* a listing row (``RunSummary``) drops the execution log and adds latest metric values and
  flag/warning counts;
* metric values that are not finite travel as the strings ``"nan"``, ``"inf"``, ``"-inf"``
  (JSON has no NaN; browsers reject the bare token Python would write).
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict, Union

from .. import entities as E

# -- shared aliases -----------------------------------------------------------------------

RunStatus = Literal["running", "finished", "failed", "crashed"]
#: see entities.CheckpointSource (tests/server/test_api_schema.py checks they agree)
CheckpointSource = Literal["live", "headless", "papermill", "file", "history", "none"]
DataRole = Literal["input", "output", "upstream"]  # upstream: read by an earlier cell
DataKind = Literal["file", "directory", "object"]
#: how a row differs between run A and run B of a diff
Change = Literal["added", "removed", "changed", "same"]
#: a metric value: a finite number, or one of the strings standing for non-finite floats
MetricValue = Union[float, Literal["nan", "inf", "-inf"]]  # noqa: UP007 (compared by value)
#: a registry stage (``none`` = registered, never promoted)
Stage = Literal["none", "staging", "production", "archived"]
#: the state of an approval request
ApprovalStatus = Literal["pending", "approved", "rejected", "expired", "failed"]
#: how a monitored feature is profiled: fixed-bin histogram or category counts
FeatureKind = Literal["numeric", "categorical"]
#: effect-size measures of drift (numeric: wasserstein, psi; categorical: jensenshannon, chi2)
DriftMethod = Literal["wasserstein", "psi", "jensenshannon", "chi2"]
#: what a monitored model does (from its reference profile)
ModelTask = Literal["classification", "regression"]
#: where a timeline window's performance comes from: labels, or a label-free estimate
PerformanceSource = Literal["measured", "estimated", "none"]

#: name -> alias, emitted as TypeScript ``type`` declarations and JSON Schema definitions
ALIASES: dict[str, Any] = {
    "RunStatus": RunStatus,
    "CheckpointSource": CheckpointSource,
    "DataRole": DataRole,
    "DataKind": DataKind,
    "Change": Change,
    "MetricValue": MetricValue,
    "Stage": Stage,
    "ApprovalStatus": ApprovalStatus,
    "FeatureKind": FeatureKind,
    "DriftMethod": DriftMethod,
    "ModelTask": ModelTask,
    "PerformanceSource": PerformanceSource,
}


# -- records ------------------------------------------------------------------------------


class Info(TypedDict):
    """``GET /info``."""

    version: str
    #: where the store is, or will be once something is recorded
    store: str
    #: null while there is no store yet
    schema_version: str | None


class ExecutionEntry(TypedDict):
    count: int | None
    cell_id: str | None
    source_hash: str


class ReproFlag(TypedDict):
    """kind: out_of_order, edited_since_run, deleted_cell, never_run_above, redacted_source."""

    kind: str
    message: str
    cell_id: str | None


class RunFields(TypedDict):
    """The fields of a run entity every interface shows (REST and the CLI's ``--json``,
    which builds on this one): the entity's, without the execution log."""

    id: str
    name: str | None
    status: RunStatus
    start_time: float
    end_time: float | None
    notebook_path: str | None
    cell_id: str | None
    user: str | None
    host: str | None
    pid: int | None
    #: when the process ``pid`` started (an opaque token, compared on the same host)
    process_start_time: str | None
    parent_id: str | None
    tags: dict[str, str]
    note: str | None
    checkpoint_digest: str | None
    checkpoint_source: CheckpointSource
    environment_id: str | None
    flags: list[ReproFlag]
    warnings: list[str]
    error: str | None
    #: blob of the outputs the tracked cell produced (they are in ``RunDetail.outputs``)
    outputs_digest: str | None


class RunBase(RunFields):
    """The fields a full Run and a listing row of the REST API share."""

    #: notebook path relative to the server's root directory; null when outside it
    notebook_relpath: str | None


class Run(RunBase):
    execution_log: list[ExecutionEntry]


class RunSummary(RunBase):
    """One row of ``GET /runs``."""

    #: latest value of each requested metric (all, capped to 20 names, when none requested)
    metrics: dict[str, MetricValue]
    flag_count: int
    warning_count: int


class RunPage(TypedDict):
    """``GET /runs``; ``next_token`` is null on the last page."""

    runs: list[RunSummary]
    next_token: str | None


class MetricNames(TypedDict):
    """``GET /runs/metric-names``."""

    names: list[str]


class Param(TypedDict):
    name: str
    value: str


class Metric(TypedDict):
    name: str
    value: MetricValue
    step: int
    timestamp: float


class DataRef(TypedDict):
    name: str
    role: DataRole
    kind: DataKind
    size: int | None
    algorithm: str
    digest: str
    detail: str | None


class Artifact(TypedDict):
    name: str
    digest: str
    size: int
    media_type: str


class Environment(TypedDict):
    id: str
    python: str
    platform: str
    packages: dict[str, str]
    modules: dict[str, str]
    git: dict[str, Any]
    hardware: dict[str, Any]
    env_vars: dict[str, str | None]
    argv: list[str]
    executable: str | None


class RunDetail(TypedDict):
    """``GET /runs/{id}``; metrics are the full history ordered by (name, step)."""

    run: Run
    params: list[Param]
    metrics: list[Metric]
    data: list[DataRef]
    artifacts: list[Artifact]
    environment: Environment | None
    #: what the tracked cell produced: nbformat 4 outputs (stream, display_data,
    #: execute_result, error), text redacted
    outputs: list[dict[str, Any]]


class Notebook(TypedDict):
    """``GET /runs/{id}/checkpoint``: an nbformat v4 notebook (cells as nbformat defines)."""

    nbformat: int
    nbformat_minor: int
    metadata: dict[str, Any]
    cells: list[dict[str, Any]]


class NotebookDiff(TypedDict):
    """nbdime's ``{base, diff}``: render with nbdime's NotebookDiffModel/NotebookDiffWidget."""

    base: Notebook
    diff: list[dict[str, Any]]


class ParamChange(TypedDict):
    name: str
    a: str | None
    b: str | None
    change: Change


class MetricChange(TypedDict):
    name: str
    a: MetricValue | None
    b: MetricValue | None
    delta: MetricValue | None
    change: Change


class DataChange(TypedDict):
    """a and b are ``algorithm:digest`` strings."""

    name: str
    role: DataRole
    kind: DataKind
    a: str | None
    b: str | None
    change: Change


class PackageChange(TypedDict):
    name: str
    a: str | None
    b: str | None
    change: Change


class RunDiff(TypedDict):
    """``GET /runs/{a}/diff/{b}``."""

    a: Run
    b: Run
    notebook: NotebookDiff
    params: list[ParamChange]
    metrics: list[MetricChange]
    data: list[DataChange]
    packages: list[PackageChange]
    ignore_outputs: bool
    warnings: list[str]


class Event(TypedDict):
    """An audit record; action: register, transition, transition_refused, rollback, alias,
    unalias."""

    id: int
    time: float
    user: str | None
    action: str
    model: str | None
    version: int | None
    from_stage: str | None
    to_stage: str | None
    reason: str | None


class EventPage(TypedDict):
    """``GET /events``."""

    events: list[Event]
    next_token: str | None


# -- alerts ---------------------------------------------------------------------------------


class Alert(TypedDict):
    """A monitor rule that fired (``state`` open) or stopped firing (``cleared``), from the
    event log; ``evidence`` holds the windows' values, thresholds and the rule's actions."""

    id: int
    time: float
    state: Literal["open", "cleared"]
    model: str | None
    version: int | None
    rule: str | None
    summary: str | None
    actions: list[str]
    user: str | None
    evidence: dict[str, Any]


class AlertList(TypedDict):
    """``GET /alerts?model=&after=&limit=``: newest first; ``last_id`` is the largest event
    id seen (pass it as ``after`` to get only newer alerts)."""

    alerts: list[Alert]
    last_id: int | None


# -- model registry -------------------------------------------------------------------------


class Model(TypedDict):
    name: str
    description: str | None
    created_time: float


class ModelVersion(TypedDict):
    """A registered version; ``artifact`` is the artifact's name within run ``run_id``."""

    model: str
    version: int
    run_id: str
    artifact: str
    digest: str
    flavor: str
    stage: Stage
    aliases: list[str]
    signature: dict[str, Any] | None
    description: str | None
    created_time: float


class ModelSummary(TypedDict):
    """One row of ``GET /models``: version numbers by stage and alias."""

    name: str
    description: str | None
    created_time: float
    latest_version: int | None
    production: int | None
    staging: list[int]
    aliases: dict[str, int]
    version_count: int


class ModelList(TypedDict):
    """``GET /models``, ordered by name."""

    models: list[ModelSummary]


class VersionRow(ModelVersion):
    """A version in ``GET /models/{name}``, with its run's name and latest metric values."""

    run_name: str | None
    metrics: dict[str, MetricValue]


class ModelDetail(TypedDict):
    """``GET /models/{name}``: versions oldest first, the audit trail oldest first;
    ``rollback_to`` is the version a rollback would put back in production, null when a
    rollback would be refused (no production version, or none before it)."""

    model: Model
    versions: list[VersionRow]
    events: list[Event]
    rollback_to: int | None


class RollbackResult(TypedDict):
    """``POST /models/{name}/rollback``: the restored production version and the version it
    replaced, now archived. With no earlier production version to restore the answer is
    409 and nothing changes."""

    model: str
    production: ModelVersion
    archived: ModelVersion


class ServingArm(TypedDict):
    """What one arm of a serving process serves. ``share``: the part of the answers it
    gives (champion 1 - canary share; a shadow 0: it scores every request, answers none)."""

    arm: str  # champion, canary or shadow
    ref: str
    model: str | None
    version: int | None
    share: float
    problem: str | None


class ServingEndpoint(TypedDict):
    """A `jupyter mm serve` process as its last heartbeat (every 5 s) reported it; ``live``
    is false once three beats are missed. ``requests_per_second`` over the last beat."""

    id: str
    reference: str
    url: str
    host: str
    port: int
    pid: int
    started: float
    heartbeat: float
    live: bool
    requests: int
    requests_per_second: float
    arms: list[ServingArm]


class ServingEndpointList(TypedDict):
    """``GET /models/{name}/endpoints``: serving processes seen in the last minute."""

    model: str
    endpoints: list[ServingEndpoint]


class LineageRunFields(TypedDict):
    """The run a model version came from, as lineage shows it (REST and ``lineage --json``,
    which adds its own metric values)."""

    id: str
    name: str | None
    status: RunStatus
    start_time: float
    end_time: float | None
    user: str | None
    host: str | None
    notebook_path: str | None
    cell_id: str | None
    params: dict[str, str]


class LineageRun(LineageRunFields):
    #: notebook path relative to the server's root directory; null when outside it
    notebook_relpath: str | None
    metrics: dict[str, MetricValue]


class LineageCheckpoint(TypedDict):
    """The run's notebook checkpoint (``GET /runs/{id}/checkpoint`` serves it)."""

    digest: str | None
    source: CheckpointSource
    flags: list[ReproFlag]


class LineageEnvironment(TypedDict):
    id: str
    python: str
    platform: str
    executable: str | None
    git: dict[str, Any]
    #: every installed distribution -> version
    packages: dict[str, str]
    #: the top-level modules the run's process had imported -> version
    modules: dict[str, str]


class Lineage(TypedDict):
    """``GET /models/{name}/versions/{version}/lineage`` (``jupyter mm lineage --json``):
    version -> run -> checkpoint -> data -> environment, and the version's events."""

    version: ModelVersion
    run: LineageRun
    checkpoint: LineageCheckpoint
    data: list[DataRef]
    environment: LineageEnvironment | None
    events: list[Event]


class RegisterRequest(TypedDict):
    """Body of ``POST /models`` (answers 201 with the new ModelVersion); ``run_id`` may be
    an id, a unique prefix or ``latest``; ``description`` may be left out."""

    run_id: str
    artifact: str
    name: str
    description: str | None


class TransitionRequest(TypedDict):
    """Body of ``POST /models/{name}/versions/{version}/transition`` (``reason`` may be left
    out); a gate or rule refusal answers 409 with the refusal sentence (and is recorded as
    an event)."""

    stage: Stage
    reason: str | None
    #: archive even a version a live serving process serves (refused with 409 otherwise)
    force: bool | None


class RollbackRequest(TypedDict):
    """Body of ``POST /models/{name}/rollback`` (``reason`` may be left out)."""

    reason: str | None


class AliasRequest(TypedDict):
    """Body of ``PUT /models/{name}/aliases/{alias}`` (``reason`` may be left out);
    ``DELETE`` on the same path removes the alias (204, no body)."""

    version: int
    reason: str | None


# -- approvals (four eyes, ``c.Registry.require_approval``) --------------------------------


class ApprovalRequest(TypedDict):
    """A transition waiting for a second person, or decided: ``decided_by`` approved or
    rejected it; ``failed``: approved but refused by a gate or a rule (``decision_reason``)."""

    id: int
    model: str
    version: int
    from_stage: Stage
    to_stage: Stage
    requester: str | None
    reason: str | None
    created_time: float
    expires_time: float
    status: ApprovalStatus
    decided_by: str | None
    decided_time: float | None
    decision_reason: str | None


class ApprovalList(TypedDict):
    """``GET /approvals`` (``?status=``, ``?model=``, ``?mine=1``: requested by me,
    ``?awaiting=1``: pending requests by others), newest first; ``user``: who asked;
    ``require_approval``: the stages a version enters only through an approved request."""

    requests: list[ApprovalRequest]
    user: str
    require_approval: list[Stage]


class GateCheck(TypedDict):
    """One gate of the target stage on one version's run; ``values``: what it read."""

    gate: str
    passed: bool
    values: list[str]
    problem: str | None


class ApprovalReview(TypedDict):
    """``GET /approvals/{id}``: the request, its version and the one in the target stage now
    (null if none), each with the gates of the target stage. The notebook, data and package
    diff is ``GET /runs/{current.run_id}/diff/{candidate.run_id}``. ``can_decide``: the
    asking user may approve or reject it now (pending, and not their own request)."""

    request: ApprovalRequest
    candidate: VersionRow
    current: VersionRow | None
    candidate_gates: list[GateCheck]
    current_gates: list[GateCheck]
    user: str
    can_decide: bool


class ApprovalCreate(TypedDict):
    """Body of ``POST /approvals`` (answers 201 with the pending ApprovalRequest)."""

    model: str
    version: int
    stage: Stage
    reason: str


class ApprovalDecision(TypedDict):
    """Body of ``POST /approvals/{id}/approve`` and ``…/reject``; the requester's own
    decision, a request no longer pending, or a gate refusing at approval answer 409."""

    reason: str


# -- monitoring -----------------------------------------------------------------------------


class FeatureHistogram(TypedDict):
    """Reference and current distributions of one feature on the same bins, as shares of
    the non-missing values. Numeric: ``edges`` has one more entry than the shares (the
    outer bins are open: they also hold values beyond the reference range). Categorical:
    ``categories`` names each share; the last one is ``"__other__"`` (categories the
    reference did not keep)."""

    edges: list[float] | None
    categories: list[str] | None
    reference: list[float]
    current: list[float]


class FeatureDrift(TypedDict):
    """One feature's (or the prediction's) drift. ``value`` is the effect size of ``method``
    (the one compared with ``threshold``); ``statistics`` holds every measure computed for
    the feature kind (numeric: wasserstein, psi; categorical: jensenshannon, chi2 — chi2 as
    Cohen's w, an effect size). ``threshold_source``: calibrated on the reference
    (bootstrap, stored in the profile), configured (``c.Monitor.thresholds``), or the
    method's default effect size (a profile without calibration)."""

    feature: str
    kind: FeatureKind
    method: DriftMethod
    value: float | None
    threshold: float
    threshold_source: Literal["calibrated", "configured", "default"]
    drifted: bool
    statistics: dict[str, float | None]
    missing_reference: float
    missing_current: float
    rows: int
    histogram: FeatureHistogram


class DriftSummary(TypedDict):
    """Drift of every profiled feature and of the prediction; ``drift_share`` is the share
    of drifted input features (the prediction is not counted)."""

    features: list[FeatureDrift]
    prediction: FeatureDrift | None
    drifted: int
    total: int
    drift_share: float


class PerformanceWindow(TypedDict):
    """One point of the performance timeline. ``source`` is ``measured`` when the window
    has labels (their metrics replace the estimate), ``estimated`` when it has none and the
    model gives scores (confidence-based estimation). ``metrics`` is the flat dict of this
    window's values (see ``MonitoringReport.metrics``)."""

    index: int
    start_time: float
    end_time: float
    rows: int
    labelled: int
    source: PerformanceSource
    measured: dict[str, float | None]
    estimated: dict[str, float | None]
    metrics: dict[str, float | None]


class LatencySummary(TypedDict):
    """Latency of the logged predictions in the window (served requests; batch-logged
    predictions carry none), and the error rate of the window: failed requests recorded in
    its time span (to now, for the current window) over those plus the requests it answered
    (null when no serving process answered or failed in it)."""

    requests: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    error_rate: float | None


class MonitoringWindow(TypedDict):
    """The predictions the report covers: the last ``size`` rows (``kind`` count) or those
    logged at or after ``since`` (``kind`` time); ``rows`` were found, between
    ``start_time`` and ``end_time``; the timeline splits them into windows of ``step`` rows,
    or of ``every`` seconds (then ``step`` is 0)."""

    kind: Literal["count", "time"]
    size: int | None
    since: float | None
    step: int
    every: float | None
    rows: int
    start_time: float | None
    end_time: float | None


class ProfileSummary(TypedDict):
    """The reference profile the report compares with (stored with the model version)."""

    digest: str
    size: int
    rows: int
    features: int
    task: ModelTask | None
    created_time: float
    source: str


class MonitoringTrust(TypedDict):
    """Whose rows the report used. On a team store, ``writers``: the database login roles
    trusted for the model (the store's owner, the users whose runs became its versions,
    users named with a role above read, ``c.Monitor.trusted_writers``); labels and batches
    of other writers are left out and counted here (``(unknown)``: written before writers
    were recorded). ``writers`` is null on a single-machine store, which trusts everyone."""

    writers: list[str] | None
    ignored_labels: int
    ignored_label_writers: list[str]
    ignored_batches: int
    ignored_batch_writers: list[str]


class MetricThreshold(TypedDict):
    """A bound a monitored metric is drawn against: ``metric op value`` must hold
    (``roc_auc >= 0.78``). ``source``: ``gate:<stage>`` for a condition of
    ``c.Registry.gates`` on that stage."""

    metric: str
    op: Literal["<", "<=", ">", ">="]
    value: float
    source: str


class MonitoringReport(TypedDict):
    """``GET /models/{name}/monitoring``, ``jupyter mm monitor --json`` and
    ``jupyter_mm.monitoring.report()``. ``metrics`` is one flat dict for rules: the whole
    window's values — ``accuracy``, ``f1``, ``roc_auc``, ``log_loss`` (classifiers),
    ``rmse``, ``mae`` (regressors), ``estimated_<metric>`` (label-free estimate),
    ``labelled``, ``rows``, ``drift_share``, ``drifted_features``,
    ``drift.<feature>`` and ``drift.prediction`` (effect sizes), ``p50_latency_ms``,
    ``p95_latency_ms``, ``p99_latency_ms``, ``error_rate``; a value the window cannot give
    is null. ``thresholds``: the metric bounds of the production gates, for charts."""

    model: str
    version: int
    generated_time: float
    profile: ProfileSummary
    window: MonitoringWindow
    drift: DriftSummary
    performance: list[PerformanceWindow]
    latency: LatencySummary
    metrics: dict[str, float | None]
    thresholds: list[MetricThreshold]
    trust: MonitoringTrust


class ErrorDetail(TypedDict):
    status: int
    message: str


class ErrorBody(TypedDict):
    """Every error response (4xx/5xx)."""

    error: ErrorDetail


#: every model in declaration order (the order of the generated files)
MODELS: list[type] = [
    Info,
    ExecutionEntry,
    ReproFlag,
    RunFields,
    RunBase,
    Run,
    RunSummary,
    RunPage,
    MetricNames,
    Param,
    Metric,
    DataRef,
    Artifact,
    Environment,
    RunDetail,
    Notebook,
    NotebookDiff,
    ParamChange,
    MetricChange,
    DataChange,
    PackageChange,
    RunDiff,
    Event,
    EventPage,
    Alert,
    AlertList,
    Model,
    ModelVersion,
    ModelSummary,
    ModelList,
    VersionRow,
    ModelDetail,
    RollbackResult,
    LineageRunFields,
    ServingArm,
    ServingEndpoint,
    ServingEndpointList,
    LineageRun,
    LineageCheckpoint,
    LineageEnvironment,
    Lineage,
    RegisterRequest,
    TransitionRequest,
    RollbackRequest,
    AliasRequest,
    ApprovalRequest,
    ApprovalList,
    GateCheck,
    ApprovalReview,
    ApprovalCreate,
    ApprovalDecision,
    FeatureHistogram,
    FeatureDrift,
    DriftSummary,
    PerformanceWindow,
    LatencySummary,
    MonitoringWindow,
    ProfileSummary,
    MetricThreshold,
    MonitoringTrust,
    MonitoringReport,
    ErrorDetail,
    ErrorBody,
]

#: model -> the models it extends (mirrored as ``interface X extends Y`` in TypeScript)
EXTENDS: dict[type, list[type]] = {
    RunBase: [RunFields],
    Run: [RunBase],
    RunSummary: [RunBase],
    VersionRow: [ModelVersion],
    LineageRun: [LineageRunFields],
}

#: models whose objects may carry more keys than listed (nbformat documents)
OPEN_MODELS: set[type] = {Notebook}

#: entity class -> wire model carrying all its fields (checked by the schema test)
ENTITY_MODELS: dict[type, type] = {
    E.ExecutionEntry: ExecutionEntry,
    E.ReproFlag: ReproFlag,
    E.Run: Run,
    E.Param: Param,
    E.Metric: Metric,
    E.DataRef: DataRef,
    E.Artifact: Artifact,
    E.Environment: Environment,
    E.RunDetail: RunDetail,
    E.Event: Event,
    E.Model: Model,
    E.ModelVersion: ModelVersion,
    E.ApprovalRequest: ApprovalRequest,
}

#: JSON routes (relative to the API prefix, as the TypeScript client spells them) -> model
#: of their success body (200; 201 for ``POST /models``). Artifact downloads answer bytes
#: and ``DELETE /models/{name}/aliases/{alias}`` answers 204: neither is listed.
ROUTE_MODELS: dict[str, type] = {
    "GET /info": Info,
    "GET /runs": RunPage,
    "GET /runs/metric-names": MetricNames,
    "GET /runs/{id}": RunDetail,
    "GET /runs/{id}/checkpoint": Notebook,
    "GET /runs/{a}/diff/{b}": RunDiff,
    "GET /events": EventPage,
    "GET /alerts": AlertList,
    "GET /models": ModelList,
    "GET /models/{name}": ModelDetail,
    "POST /models": ModelVersion,
    "POST /models/{name}/versions/{version}/transition": ModelVersion,
    "POST /models/{name}/rollback": RollbackResult,
    "GET /models/{name}/endpoints": ServingEndpointList,
    "PUT /models/{name}/aliases/{alias}": ModelVersion,
    "GET /models/{name}/versions/{version}/lineage": Lineage,
    "GET /approvals": ApprovalList,
    "POST /approvals": ApprovalRequest,
    "GET /approvals/{id}": ApprovalReview,
    "POST /approvals/{id}/approve": ApprovalRequest,
    "POST /approvals/{id}/reject": ApprovalRequest,
    "GET /models/{name}/monitoring": MonitoringReport,
}

#: JSON request bodies of the write routes -> their model
REQUEST_MODELS: dict[str, type] = {
    "POST /models": RegisterRequest,
    "POST /models/{name}/versions/{version}/transition": TransitionRequest,
    "POST /models/{name}/rollback": RollbackRequest,
    "PUT /models/{name}/aliases/{alias}": AliasRequest,
    "POST /approvals": ApprovalCreate,
    "POST /approvals/{id}/approve": ApprovalDecision,
    "POST /approvals/{id}/reject": ApprovalDecision,
}


if __name__ == "__main__":
    # ``python -m jupyter_mm.server.schema``: the command lives with the renderers, which
    # import this module (as ``jupyter_mm.server.schema``, so they see one set of models);
    # importing them only here keeps the dependency one-way.
    from jupyter_mm.server.schema_render import main

    raise SystemExit(main())
