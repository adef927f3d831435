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
CheckpointSource = Literal["live", "file", "history", "none"]
DataRole = Literal["input", "output", "upstream"]  # upstream: read by an earlier cell
DataKind = Literal["file", "directory", "object"]
#: how a row differs between run A and run B of a diff
Change = Literal["added", "removed", "changed", "same"]
#: a metric value: a finite number, or one of the strings standing for non-finite floats
MetricValue = Union[float, Literal["nan", "inf", "-inf"]]  # noqa: UP007 (compared by value)
#: a registry stage (``none`` = registered, never promoted)
Stage = Literal["none", "staging", "production", "archived"]

#: name -> alias, emitted as TypeScript ``type`` declarations and JSON Schema definitions
ALIASES: dict[str, Any] = {
    "RunStatus": RunStatus,
    "CheckpointSource": CheckpointSource,
    "DataRole": DataRole,
    "DataKind": DataKind,
    "Change": Change,
    "MetricValue": MetricValue,
    "Stage": Stage,
}


# -- records ------------------------------------------------------------------------------


class Info(TypedDict):
    """``GET /info``."""

    version: str
    store: str
    schema_version: str


class ExecutionEntry(TypedDict):
    count: int | None
    cell_id: str | None
    source_hash: str


class ReproFlag(TypedDict):
    """kind: out_of_order, edited_since_run, deleted_cell, never_run_above, redacted_source."""

    kind: str
    message: str
    cell_id: str | None


class RunBase(TypedDict):
    """The fields a full Run and a listing row share."""

    id: str
    name: str | None
    status: RunStatus
    start_time: float
    end_time: float | None
    notebook_path: str | None
    #: notebook path relative to the server's root directory; null when outside it
    notebook_relpath: str | None
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


class LineageRun(TypedDict):
    id: str
    name: str | None
    status: RunStatus
    start_time: float
    end_time: float | None
    user: str | None
    host: str | None
    notebook_path: str | None
    #: notebook path relative to the server's root directory; null when outside it
    notebook_relpath: str | None
    cell_id: str | None
    params: dict[str, str]
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


class RollbackRequest(TypedDict):
    """Body of ``POST /models/{name}/rollback`` (``reason`` may be left out)."""

    reason: str | None


class AliasRequest(TypedDict):
    """Body of ``PUT /models/{name}/aliases/{alias}`` (``reason`` may be left out);
    ``DELETE`` on the same path removes the alias (204, no body)."""

    version: int
    reason: str | None


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
    Model,
    ModelVersion,
    ModelSummary,
    ModelList,
    VersionRow,
    ModelDetail,
    RollbackResult,
    LineageRun,
    LineageCheckpoint,
    LineageEnvironment,
    Lineage,
    RegisterRequest,
    TransitionRequest,
    RollbackRequest,
    AliasRequest,
    ErrorDetail,
    ErrorBody,
]

#: model -> the models it extends (mirrored as ``interface X extends Y`` in TypeScript)
EXTENDS: dict[type, list[type]] = {
    Run: [RunBase],
    RunSummary: [RunBase],
    VersionRow: [ModelVersion],
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
    "GET /models": ModelList,
    "GET /models/{name}": ModelDetail,
    "POST /models": ModelVersion,
    "POST /models/{name}/versions/{version}/transition": ModelVersion,
    "POST /models/{name}/rollback": RollbackResult,
    "PUT /models/{name}/aliases/{alias}": ModelVersion,
    "GET /models/{name}/versions/{version}/lineage": Lineage,
}

#: JSON request bodies of the write routes -> their model
REQUEST_MODELS: dict[str, type] = {
    "POST /models": RegisterRequest,
    "POST /models/{name}/versions/{version}/transition": TransitionRequest,
    "POST /models/{name}/rollback": RollbackRequest,
    "PUT /models/{name}/aliases/{alias}": AliasRequest,
}


if __name__ == "__main__":
    # ``python -m jupyter_mm.server.schema``: the command lives with the renderers, which
    # import this module (as ``jupyter_mm.server.schema``, so they see one set of models);
    # importing them only here keeps the dependency one-way.
    from jupyter_mm.server.schema_render import main

    raise SystemExit(main())
