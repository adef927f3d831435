"""The one wire schema of the jupyter-mm REST API.

Every response body the server sends is described here as a ``TypedDict``; the handlers build
their answers with these types, the TypeScript interfaces the lab extension imports are
generated from them (``python -m jupyter_mm.server.schema --ts``), and the tests validate real
responses against the JSON Schema generated from them (``--json-schema``). One source, so the
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

import argparse
import json
import sys
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypedDict, Union

from .. import entities as E

# -- shared aliases -----------------------------------------------------------------------

RunStatus = Literal["running", "finished", "failed", "crashed"]
CheckpointSource = Literal["live", "file", "history", "none"]
DataRole = Literal["input", "output"]
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
    parent_id: str | None
    tags: dict[str, str]
    note: str | None
    checkpoint_digest: str | None
    checkpoint_source: CheckpointSource
    environment_id: str | None
    flags: list[ReproFlag]
    warnings: list[str]
    error: str | None


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
    """``GET /models/{name}``: versions oldest first, the audit trail oldest first."""

    model: Model
    versions: list[VersionRow]
    events: list[Event]


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
    packages: dict[str, str]


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
_EXTENDS: dict[type, list[type]] = {
    Run: [RunBase],
    RunSummary: [RunBase],
    VersionRow: [ModelVersion],
}

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


# -- introspection ------------------------------------------------------------------------


def fields_of(model: type) -> dict[str, Any]:
    """``{field name: type}`` of a TypedDict model, inherited fields first."""
    return typing.get_type_hints(model)


def _own_fields(model: type) -> dict[str, Any]:
    hints = fields_of(model)
    inherited: set[str] = set()
    for base in _model_bases(model):
        inherited |= set(fields_of(base))
    return {name: tp for name, tp in hints.items() if name not in inherited}


def _model_bases(model: type) -> list[type]:
    # TypedDict classes do not remember their bases at runtime (they are all plain dicts),
    # so the inheritance the TypeScript interfaces mirror is listed by hand.
    return _EXTENDS.get(model, [])


def _alias_name(tp: Any) -> str | None:
    for name, alias in ALIASES.items():
        if tp == alias:
            return name
    return None


def _split_union(tp: Any) -> list[Any] | None:
    origin = typing.get_origin(tp)
    if origin is Union or origin is types.UnionType:
        return list(typing.get_args(tp))
    return None


# -- TypeScript ---------------------------------------------------------------------------

_TS_HEADER = """\
/*
 * GENERATED by `python -m jupyter_mm.server.schema --ts` from jupyter_mm/server/schema.py.
 * DO NOT EDIT: change the Python models and regenerate; tests/server/test_api_schema.py
 * fails when this file and the models differ.
 */

/* eslint-disable */
"""


def _ts_string(value: str) -> str:
    # the lab extension's prettier config uses single quotes
    return "'" + json.dumps(value)[1:-1].replace("'", "\\'").replace('\\"', '"') + "'"


def _ts_type(tp: Any, *, top: bool = False) -> str:
    name = _alias_name(tp)
    if name is not None and not top:
        return name
    if tp is Any:
        return "unknown"
    if tp is type(None):
        return "null"
    if tp is str:
        return "string"
    if tp is bool:
        return "boolean"
    if tp in (int, float):
        return "number"
    if tp in MODELS:
        return tp.__name__
    members = _split_union(tp)
    if members is not None:
        return " | ".join(_ts_type(m) for m in members)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        return " | ".join(_ts_string(a) for a in args)
    if origin is list:
        inner = _ts_type(args[0])
        return f"({inner})[]" if " | " in inner else f"{inner}[]"
    if origin is dict:
        return f"{{ [key: string]: {_ts_type(args[1])} }}"
    raise TypeError(f"No TypeScript rendering for {tp!r}.")


def _ts_doc(model: type, indent: str = "") -> list[str]:
    doc = (model.__doc__ or "").strip()
    if not doc or model.__doc__ == dict.__doc__:
        return []
    return [f"{indent}/** {' '.join(doc.split()).replace('``', '`')} */"]


def typescript() -> str:
    """The TypeScript module ``labextension/src/api/schema.ts``."""
    out = [_TS_HEADER]
    for name, alias in ALIASES.items():
        out.append(f"export type {name} = {_ts_type(alias, top=True)};\n")
    out.append("export const RUN_STATUSES: RunStatus[] = [")
    out.append(",\n".join(f"  {_ts_string(s)}" for s in E.RUN_STATUSES))
    out.append("];")
    out.append("")
    for model in MODELS:
        bases = _model_bases(model)
        extends = f" extends {', '.join(b.__name__ for b in bases)}" if bases else ""
        out += _ts_doc(model)
        out.append(f"export interface {model.__name__}{extends} {{")
        for field_name, tp in _own_fields(model).items():
            out.append(f"  {field_name}: {_ts_type(tp)};")
        out.append("}\n")
    out.append("/** The body each JSON route answers with on success. */")
    out.append("export interface RouteResponses {")
    for route, model in ROUTE_MODELS.items():
        out.append(f"  {_ts_string(route)}: {model.__name__};")
    out.append("}\n")
    out.append("/** The JSON body each write route expects. */")
    out.append("export interface RouteRequests {")
    for route, model in REQUEST_MODELS.items():
        out.append(f"  {_ts_string(route)}: {model.__name__};")
    out.append("}")
    return "\n".join(out) + "\n"


# -- JSON Schema ----------------------------------------------------------------------------


def _js_type(tp: Any, *, top: bool = False) -> dict[str, Any]:
    name = _alias_name(tp)
    if name is not None and not top:
        return {"$ref": f"#/$defs/{name}"}
    if tp is Any:
        return {}
    if tp is type(None):
        return {"type": "null"}
    if tp is str:
        return {"type": "string"}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if tp in MODELS:
        return {"$ref": f"#/$defs/{tp.__name__}"}
    members = _split_union(tp)
    if members is not None:
        return {"anyOf": [_js_type(m) for m in members]}
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        return {"enum": list(args)}
    if origin is list:
        return {"type": "array", "items": _js_type(args[0])}
    if origin is dict:
        return {"type": "object", "additionalProperties": _js_type(args[1])}
    raise TypeError(f"No JSON Schema rendering for {tp!r}.")


#: models whose objects may carry more keys than listed (nbformat documents)
_OPEN_MODELS = {Notebook}


def json_schema() -> dict[str, Any]:
    """A JSON Schema (2020-12) document with one definition per model and alias. Models are
    closed (``additionalProperties: false``) so a field the server adds without declaring it
    here fails validation."""
    defs: dict[str, Any] = {name: _js_type(alias, top=True) for name, alias in ALIASES.items()}
    for model in MODELS:
        hints = fields_of(model)
        defs[model.__name__] = {
            "type": "object",
            "properties": {name: _js_type(tp) for name, tp in hints.items()},
            "required": list(hints),
            "additionalProperties": model in _OPEN_MODELS,
        }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/jupyter-mm/jupyter-mm/schema/rest-api.json",
        "title": "jupyter-mm REST API wire models",
        "$defs": defs,
    }


def schema_for(model: type) -> dict[str, Any]:
    """A schema validating one body of ``model`` (the definitions document plus a $ref)."""
    document = json_schema()
    document["$ref"] = f"#/$defs/{model.__name__}"
    return document


#: where the generated TypeScript lives in a source checkout
TS_PATH = Path(__file__).resolve().parents[2] / "labextension" / "src" / "api" / "schema.ts"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jupyter_mm.server.schema",
        description="Generate the wire types of the jupyter-mm REST API.",
    )
    parser.add_argument(
        "--ts",
        nargs="?",
        const=str(TS_PATH),
        metavar="PATH",
        help=f"write the TypeScript interfaces (default: {TS_PATH}; '-' for stdout)",
    )
    parser.add_argument("--json-schema", action="store_true", help="print the JSON Schema document")
    args = parser.parse_args(argv)
    if args.ts is None and not args.json_schema:
        parser.error("give --ts and/or --json-schema")
    if args.ts == "-":
        sys.stdout.write(typescript())
    elif args.ts is not None:
        Path(args.ts).write_text(typescript(), encoding="utf-8")
        print(f"wrote {args.ts}", file=sys.stderr)
    if args.json_schema:
        json.dump(json_schema(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
