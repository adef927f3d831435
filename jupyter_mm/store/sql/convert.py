"""Validation of incoming entities and their mapping to and from table rows.

Everything a caller hands the store is checked here first, so a malformed value becomes an
InvalidInput with a full sentence instead of a database error half-way through a write.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, get_args

from ...entities import (
    RUN_STATUSES,
    Artifact,
    CheckpointSource,
    DataRef,
    Environment,
    ExecutionEntry,
    Metric,
    MetricPoint,
    Param,
    ReproFlag,
    Run,
    SessionLogAppend,
    is_later_point,
)
from ...errors import InvalidInput
from ..blobs import check_digest

CHECKPOINT_SOURCES: tuple[str, ...] = get_args(CheckpointSource)
#: "upstream": data read by earlier cells of the session (see capture/session_reads.py)
DATA_ROLES = ("input", "output", "upstream")
DATA_KINDS = ("file", "directory", "object")

# ULIDs in practice; any short alphanumeric id keeps prefixes and URLs unambiguous
_RUN_ID = re.compile(r"[0-9A-Za-z]{1,26}")


def check_run_id(run_id: object) -> str:
    """Return ``run_id`` when it can name a run; InvalidInput otherwise."""
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
        raise InvalidInput(f"{run_id!r} is not a run id (1 to 26 letters and digits).")
    return run_id


def _real(value: object, what: str, *, allow_nan: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(value)  # type: ignore[arg-type]  # numpy scalars, Decimal
        except (TypeError, ValueError):
            raise InvalidInput(f"{what} must be a number, not {value!r}.") from None
    value = float(value)
    if math.isnan(value) and not allow_nan:
        raise InvalidInput(f"{what} must be a number, not NaN.")
    return value


def _optional_text(value: object, what: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, not {type(value).__name__}.")
    return value


def _as_dict(item: object, cls: type[Any], what: str) -> dict[str, Any]:
    if isinstance(item, cls):
        return item.to_dict()
    if isinstance(item, Mapping):
        try:
            return cls.from_dict(dict(item)).to_dict()
        except TypeError:  # a required field is missing
            raise InvalidInput(f"{what} entry {dict(item)!r} is incomplete.") from None
    raise InvalidInput(f"{what} entries must be {cls.__name__} records, not {item!r}.")


def check_json(value: Any, what: str) -> Any:
    """Return ``value`` when both backends can store it in a JSON column: JSON types only,
    no NaN or infinity (PostgreSQL's json type refuses them). Raises InvalidInput."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{what} cannot be stored: {exc}.") from None
    return value


_PLAIN_SCALARS = frozenset((str, int, bool, type(None)))


def _plain(rows: list[dict[str, Any]]) -> bool:
    """True when every value of these flat rows is a str, int, bool or None: storable as
    JSON without serializing them to find out (a run's execution log holds hundreds of rows,
    and ``json.dumps`` of them costs more than building them)."""
    plain = _PLAIN_SCALARS
    return all(type(v) in plain for row in rows for v in row.values())


def _flat_json(items: Sequence[Any], cls: type, what: str) -> list[dict[str, Any]]:
    """``items`` (entities or mappings) as dicts both backends can store as JSON."""
    if all(type(item) is cls for item in items):
        # the common case, a run's own log and flags: flat entities, a dict copy each
        rows = [dict(item.__dict__) for item in items]
    else:
        label = what[:1].upper() + what[1:]
        rows = [_as_dict(item, cls, label) for item in items]
    if _plain(rows):
        return rows
    return check_json(rows, f"The run's {what}")


def run_values(run: Run, *, execution_log: bool = True, flags: bool = True) -> dict[str, Any]:
    """The ``runs`` row for ``run``, validated. Raises InvalidInput. ``execution_log`` /
    ``flags`` False leave those columns out (the caller knows they are stored already)."""
    if not isinstance(run, Run):
        raise InvalidInput(f"Expected a Run, not {type(run).__name__}.")
    check_run_id(run.id)
    if run.status not in RUN_STATUSES:
        raise InvalidInput(
            f"Unknown run status {run.status!r}; expected one of {', '.join(RUN_STATUSES)}."
        )
    if run.checkpoint_source not in CHECKPOINT_SOURCES:
        raise InvalidInput(
            f"Unknown checkpoint source {run.checkpoint_source!r}; expected one of "
            f"{', '.join(CHECKPOINT_SOURCES)}."
        )
    if run.parent_id is not None:
        check_run_id(run.parent_id)
    if run.checkpoint_digest is not None:
        check_digest(run.checkpoint_digest)
    if run.outputs_digest is not None:
        check_digest(run.outputs_digest)
    if run.pid is not None and (isinstance(run.pid, bool) or not isinstance(run.pid, int)):
        raise InvalidInput(f"The run's pid must be an integer, not {run.pid!r}.")
    if not isinstance(run.tags, Mapping) or not all(isinstance(k, str) for k in run.tags):
        raise InvalidInput("Run tags must be a mapping of names to text values.")
    if not all(isinstance(w, str) for w in run.warnings):
        raise InvalidInput("Run warnings must be text.")
    for field in ("name", "notebook_path", "cell_id", "user", "host", "note", "error"):
        _optional_text(getattr(run, field), f"The run's {field}")
    _optional_text(run.environment_id, "The run's environment id")
    if len(_optional_text(run.process_start_time, "The run's process start time") or "") > 64:
        raise InvalidInput("The run's process start time is longer than 64 characters.")
    values: dict[str, Any] = {
        "id": run.id,
        "name": run.name,
        "status": run.status,
        "start_time": _real(run.start_time, "The run's start time"),
        "end_time": None if run.end_time is None else _real(run.end_time, "The run's end time"),
        "notebook_path": run.notebook_path,
        "cell_id": run.cell_id,
        "user": run.user,
        "host": run.host,
        "pid": run.pid,
        "process_start_time": run.process_start_time,
        "parent_id": run.parent_id,
        "note": run.note,
        "checkpoint_digest": run.checkpoint_digest,
        "checkpoint_source": run.checkpoint_source,
        "environment_id": run.environment_id,
        "error": run.error,
        "tags": {k: str(v) for k, v in run.tags.items()},
        "warnings": list(run.warnings),
        "outputs_digest": run.outputs_digest,
    }
    if execution_log:
        values["execution_log"] = _flat_json(run.execution_log, ExecutionEntry, "execution log")
    if flags:
        values["flags"] = _flat_json(run.flags, ReproFlag, "reproducibility flags")
    return values


def written_run(row: Mapping[str, Any], run: Run) -> Run:
    """``row_to_run`` of a ``runs`` row just written from ``run``, sharing ``run``'s own
    log and flag entities (validated by ``run_values``) rather than rebuilding hundreds of
    them from their dicts."""
    entities = all(type(e) is ExecutionEntry for e in run.execution_log) and all(
        type(f) is ReproFlag for f in run.flags
    )
    if not entities:
        return row_to_run(row)
    result = row_to_run({**row, "execution_log": [], "flags": []})
    result.execution_log, result.flags = list(run.execution_log), list(run.flags)
    return result


def row_to_run(row: Mapping[Any, Any]) -> Run:
    """A fresh Run entity from a ``runs`` row."""
    return Run(
        id=row["id"],
        name=row["name"],
        status=row["status"],
        start_time=row["start_time"],
        end_time=row["end_time"],
        notebook_path=row["notebook_path"],
        cell_id=row["cell_id"],
        user=row["user"],
        host=row["host"],
        pid=row["pid"],
        process_start_time=row["process_start_time"],
        parent_id=row["parent_id"],
        tags=dict(row["tags"] or {}),
        note=row["note"],
        checkpoint_digest=row["checkpoint_digest"],
        checkpoint_source=row["checkpoint_source"],
        environment_id=row["environment_id"],
        execution_log=[ExecutionEntry.from_dict(e) for e in row["execution_log"] or []],
        flags=[ReproFlag.from_dict(f) for f in row["flags"] or []],
        warnings=list(row["warnings"] or []),
        error=row["error"],
        outputs_digest=row.get("outputs_digest"),
    )


def session_log_rows(log: SessionLogAppend) -> list[tuple[Any, ...]]:
    """``session_executions`` rows (:data:`EXECUTION_COLUMNS` tuples) for the executions a
    run hands the store, validated. Raises InvalidInput."""
    check_run_id(log.session_id)
    position, start = log.position, log.start
    for value, what in ((position, "position"), (start, "start")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InvalidInput(f"The session log's {what} must be a non-negative integer.")
    if start + len(log.entries) != position:
        raise InvalidInput(
            f"The session log hands executions {start} to {start + len(log.entries) - 1} "
            f"for a run at position {position}; they must end right before it."
        )
    rows = []
    for offset, entry in enumerate(log.entries):
        if type(entry) is not ExecutionEntry:
            entry = ExecutionEntry.from_dict(_as_dict(entry, ExecutionEntry, "Execution log"))
        count, cell_id, digest = entry.count, entry.cell_id, entry.source_hash
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            raise InvalidInput(f"An execution count must be an integer, not {count!r}.")
        _optional_text(cell_id, "An execution's cell id")
        if not isinstance(digest, str) or not 0 < len(digest) <= 64:
            raise InvalidInput(f"An execution's source hash must be text, not {digest!r}.")
        rows.append((log.session_id, start + offset, count, cell_id, digest))
    return rows


#: the order of the fields in a ``session_executions`` row
EXECUTION_COLUMNS = ("session_id", "position", "exec_count", "cell_id", "source_hash")


def row_to_execution(row: Any) -> ExecutionEntry:
    return ExecutionEntry(count=row[0], cell_id=row[1], source_hash=row[2])


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{what} names must be non-empty text, not {value!r}.")
    return value


def param_rows(run_id: str, params: Sequence[Param]) -> list[dict[str, Any]]:
    """Rows for ``params``; a name logged twice in one batch keeps its last value."""
    by_name: dict[str, str] = {}
    for p in params:
        if not isinstance(p, Param):
            raise InvalidInput(f"Expected Param records, not {type(p).__name__}.")
        by_name[_name(p.name, "Param")] = p.value if isinstance(p.value, str) else str(p.value)
    return [{"run_id": run_id, "name": n, "value": v} for n, v in by_name.items()]


#: the order of the fields in a metric row (a tuple: a batch may hold 100k points, and
#: SQLite takes tuples as they are)
METRIC_COLUMNS = ("run_id", "name", "step", "timestamp", "value")
MetricRowTuple = tuple[str, str, int, float, float | None]


def latest_rows(metric_rows: Sequence[MetricRowTuple]) -> list[dict[str, Any]]:
    """Of the metric rows of one batch, the latest per (run, name) as ``latest_metrics``
    rows, by :func:`~jupyter_mm.entities.is_later_point` (the first of equal points is the
    one ``metrics`` keeps). One row per key also keeps PostgreSQL's ON CONFLICT from
    touching a row twice."""
    latest: dict[tuple[str, str], MetricRowTuple] = {}
    for row in metric_rows:
        key = (row[0], row[1])
        kept = latest.get(key)
        if kept is None or is_later_point(row[2], row[3], kept[2], kept[3]):
            latest[key] = row
    return [dict(zip(METRIC_COLUMNS, row, strict=True)) for row in latest.values()]


def metric_rows(run_id: str, metrics: Sequence[Metric | MetricPoint]) -> list[MetricRowTuple]:
    """Rows for metric points (Metric records or ``MetricPoint`` tuples), as
    :data:`METRIC_COLUMNS` tuples. NaN is stored as NULL (SQLite cannot store a NaN REAL)."""
    rows: list[MetricRowTuple] = []
    append = rows.append
    for m in metrics:
        # Fast path for what log_metric buffers (a batch may hold 100k points): a point of
        # str, float, int, float needs no conversion, only the NaN checks.
        kind = type(m)
        # ``type(m) is`` narrows at runtime but not for mypy (only isinstance does, and it
        # costs more in this loop): the three ignores below are that
        if kind is tuple or kind is Metric:
            if kind is tuple:
                if len(m) != 4:  # type: ignore[arg-type]
                    raise InvalidInput(
                        f"A metric point is a (name, value, step, timestamp) tuple, not {m!r}."
                    )
                name, value, step, when = m  # type: ignore[misc]
            else:
                name, value, step, when = m.name, m.value, m.step, m.timestamp  # type: ignore[union-attr]
            if (
                type(name) is str
                and name
                and type(value) is float
                and type(step) is int
                and type(when) is float
                and when == when  # not NaN
            ):
                append((run_id, name, step, when, None if value != value else value))
                continue
            m = Metric(name, value, step, when)
        append(_checked_metric_row(run_id, m))
    return rows


def _checked_metric_row(run_id: str, m: object) -> MetricRowTuple:
    if not isinstance(m, Metric):
        raise InvalidInput(f"Expected Metric records, not {type(m).__name__}.")
    name = _name(m.name, "Metric")
    value = _real(m.value, f"Metric {name!r}", allow_nan=True)
    if isinstance(m.step, bool) or not isinstance(m.step, int):
        try:
            step = int(m.step)  # numpy integers
        except (TypeError, ValueError):
            raise InvalidInput(f"Metric {name!r} step must be an integer.") from None
    else:
        step = m.step
    when = _real(m.timestamp, f"Metric {name!r} timestamp")
    return (run_id, name, step, when, None if math.isnan(value) else value)


def row_to_metric(row: Mapping[Any, Any]) -> Metric:
    """A Metric from a ``metrics`` row (NULL value back to NaN)."""
    value = row["value"]
    return Metric(
        name=row["name"],
        value=math.nan if value is None else value,
        step=row["step"],
        timestamp=row["timestamp"],
    )


def data_rows(run_id: str, data: Sequence[DataRef]) -> list[dict[str, Any]]:
    """Rows for data references, unique by (name, role): the last one wins."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for d in data:
        if not isinstance(d, DataRef):
            raise InvalidInput(f"Expected DataRef records, not {type(d).__name__}.")
        name = _name(d.name, "Data")
        if d.role not in DATA_ROLES:
            raise InvalidInput(
                f"Data role must be 'input', 'output' or 'upstream', not {d.role!r}."
            )
        if d.kind not in DATA_KINDS:
            raise InvalidInput(f"Data kind must be one of {', '.join(DATA_KINDS)}, not {d.kind!r}.")
        if not isinstance(d.digest, str) or not d.digest or not isinstance(d.algorithm, str):
            raise InvalidInput(f"Data {name!r} needs a hash algorithm and a digest.")
        size = d.size
        if size is not None and (isinstance(size, bool) or not isinstance(size, int)):
            raise InvalidInput(f"Data {name!r} size must be an integer.")
        rows[(name, d.role)] = {
            "run_id": run_id,
            "name": name,
            "role": d.role,
            "kind": d.kind,
            "size": size,
            "algorithm": d.algorithm,
            "digest": d.digest,
            "detail": None if d.detail is None else str(d.detail),
        }
    return list(rows.values())


def artifact_rows(run_id: str, artifacts: Sequence[Artifact]) -> list[dict[str, Any]]:
    """Rows for artifacts, unique by name: the last one wins."""
    rows: dict[str, dict[str, Any]] = {}
    for a in artifacts:
        if not isinstance(a, Artifact):
            raise InvalidInput(f"Expected Artifact records, not {type(a).__name__}.")
        name = _name(a.name, "Artifact")
        check_digest(a.digest)
        if isinstance(a.size, bool) or not isinstance(a.size, int) or a.size < 0:
            raise InvalidInput(f"Artifact {name!r} size must be a non-negative integer.")
        rows[name] = {
            "run_id": run_id,
            "name": name,
            "digest": a.digest,
            "size": a.size,
            "media_type": a.media_type or "application/octet-stream",
        }
    return list(rows.values())


def environment_values(env: Environment) -> dict[str, Any]:
    """The ``environments`` row for ``env``, validated."""
    if not isinstance(env, Environment):
        raise InvalidInput(f"Expected an Environment, not {type(env).__name__}.")
    if not isinstance(env.id, str) or not 0 < len(env.id) <= 128:
        raise InvalidInput(f"{env.id!r} is not an environment id (1 to 128 characters).")
    body = env.to_dict()
    del body["id"]
    return {"id": env.id, "body": check_json(body, f"Environment {env.id}")}
