"""``SqlStore``: the AbstractStore contract on SQLite or PostgreSQL (SQLAlchemy 2 Core on
the tables of :mod:`.models`).

Reads run in plain transactions; writes go through the write engine, whose transactions
start with ``BEGIN IMMEDIATE`` on SQLite (see :mod:`.engine`). Each public write method is
exactly one transaction. Database errors never escape raw: constraint violations become
InvalidInput, everything else StoreError, each with a one-line message.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, select, update
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from ...entities import (
    Artifact,
    DataRef,
    Environment,
    Event,
    ExecutionEntry,
    Metric,
    MetricFilter,
    MetricOrder,
    MetricPoint,
    Param,
    ReproFlag,
    Run,
    RunDetail,
    RunPage,
    SessionLogAppend,
)
from ...errors import Conflict, InvalidInput, NotFound, StoreError
from ..abstract import AbstractStore
from ..blobs import BlobStore
from . import (
    convert,
    listing,
    maintenance,
    record_writes,
    run_columns,
    run_listing,
    run_reference,
)
from .approvals import SqlApprovalsMixin
from .deliveries import SqlDeliveriesMixin
from .engine import current_revision, write_engine
from .maintenance import RUN_CHILDREN
from .models import (
    ARTIFACTS,
    DATA,
    ENVIRONMENTS,
    METRICS,
    MODEL_VERSIONS,
    PARAMS,
    RUNS,
)
from .outbox import SqlOutboxMixin
from .predictions import SqlPredictionsMixin
from .session_log import append as append_session_log
from .session_log import with_log
from .writers import SqlWritersMixin

#: the run fields update_run may change; the rest are fixed when the run starts
MUTABLE_RUN_FIELDS = (
    "name",
    "status",
    "end_time",
    "tags",
    "note",
    "checkpoint_digest",
    "checkpoint_source",
    "environment_id",
    "execution_log",
    "flags",
    "warnings",
    "error",
    "outputs_digest",
)
FIXED_RUN_COLUMNS = tuple(c for c in RUNS.c if c.name not in MUTABLE_RUN_FIELDS)


@dataclass
class _WrittenRun:
    """A run as :meth:`SqlStore.create_run` (or ``update_run``) wrote it."""

    fixed: dict[str, Any]
    execution_log: list[dict[str, Any]]
    flags: list[dict[str, Any]]


def _unchanged(entities: Sequence[Any], written: list[dict[str, Any]], cls: type) -> bool:
    """True when ``entities`` are exactly the rows written (compared field by field, which
    costs a fraction of serializing them again)."""
    return len(entities) == len(written) and all(
        type(e) is cls and e.__dict__ == row for e, row in zip(entities, written, strict=True)
    )


def _first_line(exc: DBAPIError) -> str:
    return (str(exc.orig).strip().splitlines() or ["unknown database error"])[0].rstrip(".")


class SqlStore(
    SqlApprovalsMixin,
    SqlPredictionsMixin,
    SqlDeliveriesMixin,
    SqlOutboxMixin,
    SqlWritersMixin,
    AbstractStore,
):
    """Runs, records and environments in SQL; blobs in ``blobs``.

    Use :func:`jupyter_mm.store.open_store` to get one: it resolves the location, checks or
    upgrades the schema and marks crashed runs.
    """

    def __init__(self, engine: Engine, blobs: BlobStore, url: str) -> None:
        self._engine = engine
        self._writer = write_engine(engine)
        self._dialect = engine.dialect.name
        self.blobs = blobs
        self.url = url
        # What this store wrote when it created a run it is still writing: the run's end
        # (on the user's critical path) then neither re-serializes an unchanged execution log
        # or flag list (a 200-cell notebook's run carries hundreds of entries) nor reads the
        # fixed fields back. Bounded: a run that never ends here is forgotten.
        self._written: OrderedDict[str, _WrittenRun] = OrderedDict()
        # environments this store wrote or found: a run naming one needs no lookup (they
        # are immutable, and the foreign key still guards the write)
        self._known_environments: set[str] = set()

    def __repr__(self) -> str:
        return f"SqlStore({self.url!r}, blobs={self.blobs!r})"

    # -- transactions -------------------------------------------------------------------------

    @contextmanager
    def _translate_errors(self) -> Iterator[None]:
        try:
            yield
        except SAIntegrityError as exc:
            raise InvalidInput(
                f"The change conflicts with data already in the store: {_first_line(exc)}."
            ) from None
        except DBAPIError as exc:
            message = _first_line(exc)
            # a SQLite URL names a file of this machine: kept out of HTTP answers
            paths = [self.url] if self.url.startswith("sqlite:") else []
            if "locked" in message.lower():
                raise StoreError(
                    f"The store at {self.url} stayed locked by another process; try again.",
                    server_paths=paths,
                ) from None
            raise StoreError(
                f"The store at {self.url} failed: {message}.", server_paths=paths
            ) from None
        except StatementError as exc:  # a value the driver cannot bind, e.g. not JSON-able
            reason = str(exc.orig or exc).strip().splitlines()[0].rstrip(".")
            raise InvalidInput(f"A value cannot be stored: {reason}.") from None

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._translate_errors(), self._engine.connect() as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._translate_errors(), self._writer.begin() as conn:
            yield conn

    def _insert(self, table: Table) -> Any:
        """A dialect INSERT, for ON CONFLICT clauses (same syntax on both backends)."""
        return record_writes.insert(self._dialect, table)

    # -- checks shared by writers --------------------------------------------------------------

    def _require_run(
        self, conn: Connection, run_id: str, *, fixed_only: bool = False
    ) -> dict[str, Any]:
        """The stored run's row; with ``fixed_only`` only the fields update_run cannot
        change (ending a run must not pay for decoding its log and flags again)."""
        columns = FIXED_RUN_COLUMNS if fixed_only else (RUNS,)
        row = conn.execute(select(*columns).where(RUNS.c.id == run_id)).mappings().first()
        if row is None:
            raise NotFound(f"No run with id {run_id}.")
        return dict(row)

    def _require_blobs(self, digests: Iterable[str], what: str) -> None:
        present = self.blobs.present  # checks the digest's form unless it is known
        for digest in digests:
            if not present(digest):
                raise InvalidInput(f"{what} names blob {digest}, which is not in the store.")

    def _require_run_blobs(self, values: dict[str, Any]) -> None:
        if values["checkpoint_digest"]:
            self._require_blobs([values["checkpoint_digest"]], "The run's checkpoint")
        if values["outputs_digest"]:
            self._require_blobs([values["outputs_digest"]], "The run's outputs")

    def _check_references(self, conn: Connection, values: dict[str, Any]) -> None:
        env_id = values["environment_id"]
        if env_id is not None and env_id not in self._known_environments:
            found = conn.execute(select(ENVIRONMENTS.c.id).where(ENVIRONMENTS.c.id == env_id))
            if found.first() is None:
                raise InvalidInput(f"Environment {env_id} is not in the store.")
            self._known_environments.add(env_id)

    # -- runs ----------------------------------------------------------------------------------

    def create_run(self, run: Run, *, session_log: SessionLogAppend | None = None) -> Run:
        """Insert ``run`` (and the executions ``session_log`` hands over); see
        AbstractStore.create_run."""
        values = convert.run_values(run)
        self._require_run_blobs(values)
        values["session_id"] = None if session_log is None else session_log.session_id
        values["log_position"] = None if session_log is None else session_log.position
        try:
            with self._write() as conn:
                if session_log is not None:
                    append_session_log(conn, self._dialect, session_log, self._row_writer(conn))
                if values["parent_id"] is not None:
                    parent = select(RUNS.c.id).where(RUNS.c.id == values["parent_id"])
                    if conn.execute(parent).first() is None:
                        raise NotFound(f"No parent run with id {values['parent_id']}.")
                self._check_references(conn, values)
                # a taken id shows as a primary-key conflict: no lookup before every insert
                conn.execute(RUNS.insert(), values)
        except InvalidInput:
            if self._run_exists(run.id):
                raise InvalidInput(f"A run with id {run.id} exists already.") from None
            raise
        self._remember(values)
        return convert.written_run(values, run)

    def _run_exists(self, run_id: str) -> bool:
        with self._read() as conn:
            return conn.execute(select(RUNS.c.id).where(RUNS.c.id == run_id)).first() is not None

    def _remember(self, values: dict[str, Any]) -> None:
        fixed = {c.name: values[c.name] for c in FIXED_RUN_COLUMNS}
        self._written[values["id"]] = _WrittenRun(fixed, values["execution_log"], values["flags"])
        while len(self._written) > 64:
            self._written.popitem(last=False)

    def _changes(self, run: Run) -> tuple[dict[str, Any], dict[str, Any], _WrittenRun | None]:
        """(the validated row of ``run``, its mutable fields to write, what this store
        wrote when it created it). The execution log and flags are left out of both when
        they are what was written then."""
        written = self._written.pop(run.id, None)
        same_log = written is not None and _unchanged(
            run.execution_log, written.execution_log, ExecutionEntry
        )
        same_flags = written is not None and _unchanged(run.flags, written.flags, ReproFlag)
        values = convert.run_values(run, execution_log=not same_log, flags=not same_flags)
        changes = {key: values[key] for key in MUTABLE_RUN_FIELDS if key in values}
        return values, changes, written

    def update_run(self, run: Run) -> Run:
        """Replace the mutable fields of a stored run; see AbstractStore.update_run."""
        values = convert.run_values(run)
        self._require_run_blobs(values)
        changes = {key: values[key] for key in MUTABLE_RUN_FIELDS}
        self._written.pop(run.id, None)
        with self._write() as conn:
            stored = self._require_run(conn, run.id, fixed_only=True)
            self._check_references(conn, values)
            conn.execute(update(RUNS).where(RUNS.c.id == run.id).values(changes))
        stored.update(changes)
        self._remember(stored)
        if stored.get("session_id") is None:
            return convert.row_to_run(stored)
        with self._read() as conn:
            return with_log(conn, stored)

    def get_run(self, run_id: str) -> Run:
        """The run with exactly this id. Raises NotFound."""
        if not isinstance(run_id, str):
            raise InvalidInput(f"{run_id!r} is not a run id.")
        with self._read() as conn:
            row = conn.execute(select(RUNS).where(RUNS.c.id == run_id)).mappings().first()
            if row is None:
                raise NotFound(f"No run with id {run_id}.")
            return with_log(conn, dict(row))

    def resolve_run(self, ref: str) -> Run:
        """A full id, a unique id prefix (>= 4 characters, any case) or ``latest``."""
        if not isinstance(ref, str) or not ref.strip():
            raise InvalidInput("A run reference must be an id, an id prefix or 'latest'.")
        with self._read() as conn:
            return with_log(conn, run_reference.resolve(conn, self._dialect, ref.strip()))

    def get_run_detail(self, run_id: str) -> RunDetail:
        """The run with params, full metric history, data, artifacts and environment."""
        with self._read() as conn, conn.begin():
            run = with_log(conn, self._require_run(conn, run_id))
            params = conn.execute(
                select(PARAMS.c.name, PARAMS.c.value)
                .where(PARAMS.c.run_id == run_id)
                .order_by(PARAMS.c.name)
            ).mappings()
            params_list = [Param(name=r["name"], value=r["value"]) for r in params]
            metrics = conn.execute(
                select(METRICS)
                .where(METRICS.c.run_id == run_id)
                .order_by(METRICS.c.name, METRICS.c.step, METRICS.c.timestamp)
            ).mappings()
            metrics_list = [convert.row_to_metric(r) for r in metrics]
            data = conn.execute(
                select(DATA).where(DATA.c.run_id == run_id).order_by(DATA.c.role, DATA.c.name)
            ).mappings()
            data_list = [
                DataRef.from_dict({k: v for k, v in r.items() if k != "run_id"}) for r in data
            ]
            artifacts = conn.execute(
                select(ARTIFACTS).where(ARTIFACTS.c.run_id == run_id).order_by(ARTIFACTS.c.name)
            ).mappings()
            artifact_list = [
                Artifact.from_dict({k: v for k, v in r.items() if k != "run_id"}) for r in artifacts
            ]
            environment = None
            if run.environment_id is not None:
                environment = self._environment(conn, run.environment_id)
        return RunDetail(
            run=run,
            params=params_list,
            metrics=metrics_list,
            data=data_list,
            artifacts=artifact_list,
            environment=environment,
            outputs=self._outputs(run),
        )

    def _outputs(self, run: Run) -> list[dict[str, Any]]:
        """The tracked cell's outputs; a missing or damaged blob becomes a warning of the
        returned run (``verify`` names it), not an unreadable run."""
        if run.outputs_digest is None:
            return []
        from ...capture.checkpoint import load_outputs
        from ...errors import IntegrityError

        try:
            return load_outputs(self.blobs, run.outputs_digest)
        except IntegrityError as exc:
            run.warnings.append(f"The cell's outputs cannot be shown: {exc}")
            return []

    def search_runs(
        self,
        *,
        notebook_path: str | None = None,
        status: str | None = None,
        text: str | None = None,
        metric_filters: Sequence[MetricFilter] = (),
        order: str | MetricOrder = "newest",
        limit: int = 50,
        page_token: str | None = None,
        user: str | None = None,
    ) -> RunPage:
        """One page of matching runs, keyset-paged on (start_time, id) or, ordered by a
        metric, on (latest value, id); see :mod:`.run_listing`."""
        with self._read() as conn:
            return run_listing.search_runs(
                conn,
                notebook_path=notebook_path,
                status=status,
                text=text,
                metric_filters=metric_filters,
                order=order,
                limit=limit,
                page_token=page_token,
                user=user,
            )

    def delete_run(self, run_id: str) -> None:
        """Delete a run and its rows (not its blobs). Raises NotFound, and Conflict while a
        registered model version was made by the run (the audit trail must stay complete)."""
        with self._write() as conn:
            self._require_run(conn, run_id)
            version = conn.execute(
                select(MODEL_VERSIONS.c.model, MODEL_VERSIONS.c.version)
                .where(MODEL_VERSIONS.c.run_id == run_id)
                .limit(1)
            ).first()
            if version is not None:
                raise Conflict(
                    f"Run {run_id} produced model {version[0]} version {version[1]}; "
                    "it cannot be deleted while that version is registered."
                )
            # nested runs outlive their parent as top-level runs
            conn.execute(update(RUNS).where(RUNS.c.parent_id == run_id).values(parent_id=None))
            for table in RUN_CHILDREN:
                conn.execute(delete(table).where(table.c.run_id == run_id))
            conn.execute(delete(RUNS).where(RUNS.c.id == run_id))
        # its blobs may be garbage now: check the filesystem again from here on
        self.blobs.forget_referenced()

    def mark_crashed(self, host: str, alive: Callable[[int, str | None], bool]) -> list[str]:
        """Mark ``running`` runs of ``host`` whose process is gone as ``crashed``."""
        query = select(RUNS.c.id, RUNS.c.pid, RUNS.c.process_start_time, RUNS.c.warnings).where(
            RUNS.c.status == "running", RUNS.c.host == host
        )
        with self._read() as conn:
            candidates = conn.execute(query).all()
        dead = [
            row
            for row in candidates
            if row.pid is not None and not alive(row.pid, row.process_start_time)
        ]
        if not dead:
            return []
        changed = []
        with self._write() as conn:
            for row in dead:
                note = f"The process (pid {row.pid}) ended while the run was still running."
                # the status guard skips a run that finished since we looked
                result = conn.execute(
                    update(RUNS)
                    .where(RUNS.c.id == row.id, RUNS.c.status == "running")
                    .values(status="crashed", warnings=[*(row.warnings or []), note])
                )
                if result.rowcount:
                    changed.append(row.id)
        return changed

    # -- run records ---------------------------------------------------------------------------

    def log_batch(
        self,
        run_id: str,
        *,
        params: Sequence[Param] = (),
        metrics: Sequence[Metric | MetricPoint] = (),
        data: Sequence[DataRef] = (),
        artifacts: Sequence[Artifact] = (),
    ) -> None:
        """Record params, metric points, data refs and artifacts in one transaction."""
        convert.check_run_id(run_id)
        rows = self._record_rows(run_id, params, metrics, data, artifacts)
        with self._write() as conn:
            if conn.execute(select(RUNS.c.id).where(RUNS.c.id == run_id)).first() is None:
                raise NotFound(f"No run with id {run_id}.")
            self._write_records(conn, rows)

    def _record_rows(
        self,
        run_id: str,
        params: Sequence[Param],
        metrics: Sequence[Metric | MetricPoint],
        data: Sequence[DataRef],
        artifacts: Sequence[Artifact],
    ) -> dict[Table, list[Any]]:
        """Validated rows per table; artifact blobs are checked here, before the write lock
        is taken, because they may live on object storage."""
        artifact_rows = convert.artifact_rows(run_id, artifacts)
        rows: dict[Table, list[Any]] = {
            PARAMS: convert.param_rows(run_id, params),
            METRICS: convert.metric_rows(run_id, metrics),
            DATA: convert.data_rows(run_id, data),
            ARTIFACTS: artifact_rows,
        }
        self._require_blobs({r["digest"] for r in artifact_rows}, "An artifact")
        return rows

    def _write_records(self, conn: Connection, rows: dict[Table, list[Any]]) -> None:
        record_writes.write_records(conn, self._dialect, rows)

    def _link(self, conn: Connection, run_id: str, digests: Sequence[str]) -> None:
        record_writes.link_blobs(conn, self._dialect, run_id, digests)

    def link_blobs(self, run_id: str, digests: Iterable[str]) -> None:
        """Record that the run references these (existing) blobs. Idempotent."""
        convert.check_run_id(run_id)
        wanted = sorted(set(digests))
        self._require_blobs(wanted, f"Run {run_id}")
        with self._write() as conn:
            self._require_run(conn, run_id)
            self._link(conn, run_id, wanted)
        self.blobs.note_referenced(wanted)

    def finish_run(
        self,
        run: Run,
        *,
        params: Sequence[Param] = (),
        metrics: Sequence[Metric | MetricPoint] = (),
        data: Sequence[DataRef] = (),
        artifacts: Sequence[Artifact] = (),
        blob_digests: Iterable[str] = (),
    ) -> Run:
        """Records, blob links and the run's final fields in one transaction (the end of a
        tracked cell is on the user's critical path); see AbstractStore.finish_run."""
        convert.check_run_id(run.id)
        rows = self._record_rows(run.id, params, metrics, data, artifacts)
        wanted = sorted(set(blob_digests))
        self._require_blobs(wanted, f"Run {run.id}")
        values, changes, written = self._changes(run)
        self._require_run_blobs(values)
        with self._write() as conn:
            self._check_references(conn, values)
            # the UPDATE first: it finds a missing run before any record is written
            found = conn.execute(update(RUNS).where(RUNS.c.id == run.id).values(changes))
            if found.rowcount == 0:
                raise NotFound(f"No run with id {run.id}.")
            # the fixed fields cannot change once stored: read back only if not remembered
            stored = written.fixed if written else self._require_run(conn, run.id, fixed_only=True)
            self._write_records(conn, rows)
            self._link(conn, run.id, wanted)
        self.blobs.note_referenced(wanted)
        row = {**stored, **changes}
        if written is not None:  # the log and flags left out because they did not change
            row.setdefault("execution_log", written.execution_log)
            row.setdefault("flags", written.flags)
        return convert.written_run(row, run)

    def latest_metrics(
        self, run_ids: Iterable[str], names: Iterable[str] | None = None
    ) -> dict[str, dict[str, float]]:
        """``{run id: {metric: value at the highest step}}`` for every id given."""
        ids = list(dict.fromkeys(run_ids))
        wanted = None if names is None else list(dict.fromkeys(names))
        with self._read() as conn:
            return listing.latest_metrics(conn, ids, wanted)

    def params_of(self, run_ids: Iterable[str]) -> dict[str, dict[str, str]]:
        """``{run id: {param: value}}`` for every id given."""
        ids = list(dict.fromkeys(run_ids))
        result: dict[str, dict[str, str]] = {run_id: {} for run_id in ids}
        with self._read() as conn:
            for chunk in listing.chunks(ids):
                for run_id, name, value in conn.execute(
                    listing.params_statement(), {"ids": list(chunk)}
                ):
                    result[run_id][name] = value
        return result

    def run_columns(
        self, *, notebook_path: str | None = None, status: str | None = None, limit: int = 1000
    ) -> dict[str, list[Any]]:
        """Runs with params and latest metrics, column by column, in three bulk reads of one
        transaction; see :mod:`.run_columns`."""
        with self._read() as conn, conn.begin():
            return run_columns.run_columns(
                conn, notebook_path=notebook_path, status=status, limit=limit
            )

    def metric_names(self, *, notebook_path: str | None = None) -> list[str]:
        """Distinct metric names (of one notebook's runs when given), sorted."""
        with self._read() as conn:
            return listing.metric_names(conn, notebook_path)

    # -- audit trail ---------------------------------------------------------------------------

    def list_events(
        self, *, model: str | None = None, limit: int = 50, page_token: str | None = None
    ) -> tuple[list[Event], str | None]:
        """Audit events newest first, keyset-paged on the event id."""
        with self._read() as conn:
            return listing.list_events(conn, model=model, limit=limit, page_token=page_token)

    # -- environments --------------------------------------------------------------------------

    def put_environment(self, env: Environment) -> str:
        """Store ``env`` under ``env.id``; storing it again changes nothing."""
        values = convert.environment_values(env)
        with self._write() as conn:
            conn.execute(self._insert(ENVIRONMENTS).on_conflict_do_nothing(), [values])
        self._known_environments.add(env.id)
        return env.id

    def _environment(self, conn: Connection, env_id: str) -> Environment:
        row = conn.execute(select(ENVIRONMENTS.c.body).where(ENVIRONMENTS.c.id == env_id)).first()
        if row is None:
            raise NotFound(f"No environment with id {env_id}.")
        return Environment.from_dict({**row.body, "id": env_id})

    def get_environment(self, env_id: str) -> Environment:
        """The environment stored under ``env_id``. Raises NotFound."""
        with self._read() as conn:
            return self._environment(conn, env_id)

    # -- maintenance ---------------------------------------------------------------------------

    def referenced_digests(self) -> set[str]:
        """Every blob digest named by a checkpoint, outputs, a blob link, an artifact, a
        model or a batch of logged predictions."""
        with self._read() as conn, conn.begin():
            return maintenance.referenced_digests(conn)

    def checkpoint_manifests(self) -> set[str]:
        """The distinct checkpoint manifests runs name."""
        with self._read() as conn:
            return maintenance.checkpoint_manifests(conn)

    def check_integrity(self) -> list[str]:
        """Database problems, one line each; empty when healthy."""
        with self._read() as conn, conn.begin():
            return maintenance.check_integrity(conn, self._dialect)

    def schema_version(self) -> str:
        """The Alembic revision the database is at."""
        with self._translate_errors():
            return current_revision(self._engine) or ""

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()
