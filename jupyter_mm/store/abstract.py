"""The store contract.

Modelled on MLflow's stores, which keep the tracking store and the model-registry store as
two abstract classes: :class:`AbstractRunStore` (runs, their records, environments, blobs)
here and :class:`~jupyter_mm.store.registry_contract.AbstractRegistryStore` (models,
versions, the audit trail) in its own module. :class:`AbstractStore` is both — what
``open_store()`` returns and what a backend implements (``SqlStore``). The docstrings are
the contract; contract test suites (``tests/store/test_contract*.py``,
``tests/registry/test_registry_contract.py``) check every implementation. Callers
(tracking, CLI, server) only ever see these interfaces and the entities in
:mod:`jupyter_mm.entities`; argument checks are in :mod:`.validation`. Overview:
``docs/architecture.md#the-store-contract``.

General rules every implementation keeps:

* Entities in, entities out. Returned objects are fresh copies; mutating them changes nothing.
* Unknown ids raise :class:`~jupyter_mm.errors.NotFound`; malformed arguments raise
  :class:`~jupyter_mm.errors.InvalidInput`. Nothing else escapes except
  :class:`~jupyter_mm.errors.StoreError` for an unusable backend.
* Every write method is atomic: it fully happens or not at all.
* A row never names a blob that is not durable: blobs are written (temp file, fsync, rename)
  before the transaction that references them commits.
* Safe to use from several processes at once (SQLite: WAL, ``BEGIN IMMEDIATE``, busy
  timeout; PostgreSQL: ordinary transactions). Instances are safe to share between threads.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .deliveries_contract import AbstractDeliveryStore
from .predictions_contract import AbstractPredictionStore
from .registry_contract import AbstractRegistryStore
from .validation import add_value_columns, check_listing_limit

if TYPE_CHECKING:
    from ..entities import (
        Artifact,
        DataRef,
        Environment,
        Metric,
        MetricFilter,
        MetricOrder,
        MetricPoint,
        Param,
        Run,
        RunDetail,
        RunPage,
        SessionLogAppend,
    )
    from .blobs import BlobStore


class AbstractRunStore(ABC):
    """Runs, their records, environments and blobs."""

    #: URL the store was opened with (credentials removed), for display
    url: str
    #: the content-addressed object store holding checkpoints and artifacts
    blobs: BlobStore

    # -- runs ---------------------------------------------------------------------------

    @abstractmethod
    def create_run(self, run: Run, *, session_log: SessionLogAppend | None = None) -> Run:
        """Insert ``run`` (its ``id`` is chosen by the caller, normally ``ids.new_id()``).

        Raises InvalidInput if the id exists already or the status is unknown, NotFound if
        ``parent_id`` names no run. Returns the stored run.

        ``session_log`` places the run in its kernel session's execution log, which the
        store keeps once per session: the executions it hands over (those the store has not
        been given yet) are appended in the same transaction, and the run's
        ``execution_log`` reads back as the session's first ``session_log.position``
        executions (``run.execution_log`` itself is then not stored). What a run writes thus
        does not grow with the length of the session.
        """

    @abstractmethod
    def update_run(self, run: Run) -> Run:
        """Replace the mutable fields of an existing run with those of ``run``.

        Mutable: name, status, end_time, tags, note, checkpoint_digest, checkpoint_source,
        environment_id, execution_log, flags, warnings, error. ``id``, ``start_time``,
        ``user``, ``host``, ``pid`` and ``parent_id`` never change. Raises NotFound.
        A referenced ``checkpoint_digest`` must already exist in ``blobs`` (InvalidInput
        otherwise) and ``environment_id`` must name a stored environment.
        """

    @abstractmethod
    def get_run(self, run_id: str) -> Run:
        """The run with exactly this id. Raises NotFound."""

    @abstractmethod
    def resolve_run(self, ref: str) -> Run:
        """Resolve a user reference: a full id, a unique id prefix (case-insensitive,
        at least 4 characters) or ``latest`` (newest run by start). Raises NotFound when
        nothing matches and AmbiguousReference when a prefix matches several runs.
        """

    @abstractmethod
    def get_run_detail(self, run_id: str) -> RunDetail:
        """The run with params, full metric history, data, artifacts and environment."""

    @abstractmethod
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
        """Runs matching all the given filters, one page at a time.

        ``text`` matches (case-insensitively) name, note, notebook path or id prefix.
        ``user`` keeps the runs recorded for exactly that user (the team's "my runs").
        ``metric_filters`` (AND-ed) compare each run's latest value of a metric (the value
        :meth:`latest_metrics` reports) with a finite number; a run without that metric, or
        whose latest value is NaN, never matches.

        ``order`` is ``newest`` (default) or ``oldest`` by start time, or a
        :class:`~jupyter_mm.entities.MetricOrder` (also accepted as its text form
        ``metric:NAME[:asc|desc]``): by the latest value of that metric, equal values in id
        order of the same direction. Ordered by a metric, only the runs with a (non-NaN)
        latest value of it are listed.

        Paging is keyset-based: the cost of a page does not grow with its position, a page
        token continues the listing after the last run of its page even when values tie;
        ``next_token`` is None on the last page. ``limit`` is 1..1000 (InvalidInput
        otherwise); a malformed token, or one made for another order, is InvalidInput, and
        so is a malformed filter or order.
        """

    @abstractmethod
    def delete_run(self, run_id: str) -> None:
        """Delete a run and its params, metrics, data and artifact rows (not the blobs;
        ``gc`` collects those). Raises NotFound, and Conflict while a registered model
        version names the run (the audit trail must stay complete)."""

    @abstractmethod
    def mark_crashed(self, host: str, alive: Callable[[int, str | None], bool]) -> list[str]:
        """Mark as ``crashed`` every ``running`` run recorded on ``host`` whose process
        ``alive(pid, process_start_time)`` reports gone (ended, a zombie, or the pid taken
        by another process). Returns the ids changed. Called when a store opens."""

    # -- run records ------------------------------------------------------------------------

    @abstractmethod
    def log_batch(
        self,
        run_id: str,
        *,
        params: Sequence[Param] = (),
        metrics: Sequence[Metric | MetricPoint] = (),
        data: Sequence[DataRef] = (),
        artifacts: Sequence[Artifact] = (),
    ) -> None:
        """Record params, metric points, data references and artifacts in one transaction.

        Params are unique by name: logging a name again with the same value is a no-op,
        with a different value it overwrites (a notebook re-runs cells; the last value is
        the one that produced the result). Metric points are append-only, unique by
        (name, step, timestamp). Data refs are unique by (name, role); artifacts by name
        (re-logging replaces). Artifact digests must exist in ``blobs``. Raises NotFound
        for an unknown run. A metric point may be given as a Metric or as a
        ``(name, value, step, timestamp)`` tuple (``entities.MetricPoint``), checked alike.
        """

    @abstractmethod
    def link_blobs(self, run_id: str, digests: Iterable[str]) -> None:
        """Record that the run references these blobs (e.g. the parts of its checkpoint:
        the manifest and the large outputs stored separately). Idempotent. Every digest must
        exist in ``blobs`` (InvalidInput otherwise). ``gc`` keeps linked blobs and ``verify``
        reports links to missing ones."""

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
        """End a run with one call: the records as :meth:`log_batch`, the links as
        :meth:`link_blobs`, then the mutable fields as :meth:`update_run`; same rules and
        errors as those three. Returns the stored run.

        It exists because ending a tracked cell is on the user's critical path: an
        implementation should do it all in one transaction (SqlStore does), so it also
        happens fully or not at all. This default composes the three calls for stores that
        have no cheaper way, and is then atomic per call only.
        """
        self.log_batch(run.id, params=params, metrics=metrics, data=data, artifacts=artifacts)
        digests = sorted(set(blob_digests))
        if digests:
            self.link_blobs(run.id, digests)
        return self.update_run(run)

    @abstractmethod
    def latest_metrics(
        self, run_ids: Iterable[str], names: Iterable[str] | None = None
    ) -> dict[str, dict[str, float]]:
        """For each run id, ``{metric name: value at the highest step}`` (for listings).

        With ``names``, only those metrics are looked up (a listing's chosen columns)."""

    @abstractmethod
    def metric_names(self, *, notebook_path: str | None = None) -> list[str]:
        """The distinct names of all metrics recorded by runs (of ``notebook_path`` when
        given), sorted: the columns a listing can show."""

    @abstractmethod
    def params_of(self, run_ids: Iterable[str]) -> dict[str, dict[str, str]]:
        """For each run id, ``{param name: value}`` (for listings and DataFrames)."""

    #: the columns :meth:`run_columns` always returns, in this order
    RUN_COLUMNS: tuple[str, ...] = (
        "id",
        "name",
        "status",
        "start_time",
        "end_time",
        "notebook_path",
    )

    def run_columns(
        self, *, notebook_path: str | None = None, status: str | None = None, limit: int = 1000
    ) -> dict[str, list[Any]]:
        """The newest ``limit`` runs matching the filters, column by column (for DataFrames).

        The runs are those :meth:`search_runs` lists with the same filters, in the same
        order (newest first), but all at once: ``limit`` is any positive integer
        (InvalidInput otherwise, and for an unknown status). Keys: :attr:`RUN_COLUMNS`, then
        ``params.<name>`` (the value) and ``metrics.<name>`` (the latest value, as
        :meth:`latest_metrics` reports it) for every param and metric name any listed run
        has. Every value is a list with one item per run; a run without a param or metric
        has None there.

        This default pages through :meth:`search_runs` and asks :meth:`params_of` and
        :meth:`latest_metrics`; an implementation should read the columns in bulk without
        building Run entities (SqlStore does: tens of ms for 10,000 runs).
        """
        check_listing_limit(limit)
        runs: list[Run] = []
        token = None
        while len(runs) < limit:
            page = self.search_runs(
                notebook_path=notebook_path,
                status=status,
                limit=min(1000, limit - len(runs)),
                page_token=token,
            )
            runs.extend(page.runs)
            token = page.next_token
            if token is None:
                break
        columns: dict[str, list[Any]] = {
            name: [getattr(r, name) for r in runs] for name in self.RUN_COLUMNS
        }
        ids = columns["id"]
        if ids:
            params = self.params_of(ids)
            metrics = self.latest_metrics(ids)
            add_value_columns(
                columns, "params.", ((i, k, v) for i in ids for k, v in params[i].items())
            )
            add_value_columns(
                columns, "metrics.", ((i, k, v) for i in ids for k, v in metrics[i].items())
            )
        return columns

    # -- environments -----------------------------------------------------------------------

    @abstractmethod
    def put_environment(self, env: Environment) -> str:
        """Store an environment under its content id (``env.id``); idempotent."""

    @abstractmethod
    def get_environment(self, env_id: str) -> Environment:
        """Raises NotFound."""

    # -- maintenance ------------------------------------------------------------------------

    @abstractmethod
    def referenced_digests(self) -> set[str]:
        """Every blob digest named by any row: checkpoints, outputs, linked blobs,
        artifacts, model versions. The parts of a checkpoint (cells, chunks, large outputs)
        are named by its manifest: see ``capture.checkpoint.checkpoint_digests``."""

    def checkpoint_manifests(self) -> set[str]:
        """The distinct checkpoint manifest digests runs name (``gc`` and ``verify`` find
        each checkpoint's parts through them). This default pages through every run; an
        implementation should ask its index instead (SqlStore does)."""
        found: set[str] = set()
        token = None
        while True:
            page = self.search_runs(order="oldest", limit=1000, page_token=token)
            found.update(r.checkpoint_digest for r in page.runs if r.checkpoint_digest)
            token = page.next_token
            if token is None:
                return found

    @abstractmethod
    def check_integrity(self) -> list[str]:
        """Database-level problems, one human-readable line each (empty when healthy):
        the engine's own integrity check, and rows naming missing runs/environments."""

    @abstractmethod
    def schema_version(self) -> str:
        """The Alembic revision the database is at."""

    @abstractmethod
    def close(self) -> None:
        """Release connections. The store must not be used afterwards."""


class AbstractStore(
    AbstractRunStore, AbstractRegistryStore, AbstractPredictionStore, AbstractDeliveryStore
):
    """The whole store: the run store, the registry store and the prediction log over one
    database, so that a registered version and the run it came from stay consistent (a run
    named by a version cannot be deleted)."""

    def __enter__(self) -> AbstractStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
