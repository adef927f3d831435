"""The prediction log's part of the store contract (serving and monitoring).

Predictions are written in batches: the rows themselves go to the blob store as one
columnar file per batch (content-addressed, so gc and verify see them), and the SQL
database keeps one index row per batch — model, version, arm, time range, row count — so a
window of predictions is found without reading any other batch. Labels arrive later and are
kept per request id; they join the predictions by that id. Serving processes register
themselves with a heartbeat so the lab can show what is served where.

Batches, labels and endpoints carry their ``writer`` (the database login that wrote them;
the store sets it, see ``store.sql.writers``). Readers may keep only the rows of the
writers they trust (``writers``); a label is kept per request and writer, so one writer's
label never replaces another's.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Sequence

from ..entities import PredictionBatch, ReferenceProfileLink, ServingEndpoint


class AbstractPredictionStore(ABC):
    @abstractmethod
    def add_prediction_batch(self, batch: PredictionBatch) -> PredictionBatch:
        """Index a batch whose blob is already stored (InvalidInput when it is not, or when
        the model version does not exist). Returns it with its id."""

    @abstractmethod
    def prediction_batches(
        self,
        model: str,
        *,
        version: int | None = None,
        since: float | None = None,
        until: float | None = None,
        arms: Sequence[str] | None = None,
        writers: Collection[str] | None = None,
    ) -> list[PredictionBatch]:
        """Batches of ``model`` overlapping ``[since, until]``, oldest first; with
        ``writers``, only those these writers wrote."""

    @abstractmethod
    def replace_prediction_batches(
        self, old_ids: Sequence[int], batch: PredictionBatch
    ) -> PredictionBatch:
        """Compaction: in one transaction, drop the index rows ``old_ids`` (batches of the
        same model, version and arm as ``batch``, written by this store's login) and index
        ``batch`` as this login's, whose blob (already stored) holds their rows. A reader
        lists either the old batches or the new one, never both or neither. Conflict, and
        nothing changed, when one of ``old_ids`` is no longer indexed (another compaction
        took it, or another login wrote it). The old blobs stay until ``gc``."""

    @abstractmethod
    def log_labels(
        self, labels: Iterable[tuple[str, str]], when: float, model: str | None = None
    ) -> int:
        """Store ``(request_id, label)`` pairs (labels as JSON text). Request ids are global
        (the server makes UUIDs; batch users give their own unique ids); a later label of
        the same request by the same writer replaces the earlier one. Returns how many were
        stored."""

    @abstractmethod
    def labels_for(
        self, request_ids: Iterable[str], *, writers: Collection[str] | None = None
    ) -> dict[str, str]:
        """The labels known for these requests (request id -> JSON text; the newest when
        several writers labelled one), of ``writers`` only when given."""

    @abstractmethod
    def labels_since(
        self, since: float, model: str | None = None, *, writers: Collection[str] | None = None
    ) -> dict[str, str]:
        """Labels that arrived at or after ``since`` (request id -> JSON text, the newest
        per request); with ``model``, those given for that model or for none; with
        ``writers``, those these writers wrote. Monitoring joins them with a window's
        predictions: one range read instead of a lookup per request id."""

    @abstractmethod
    def labels_by_writer_since(
        self, since: float, model: str | None = None
    ) -> dict[str, dict[str, str]]:
        """As :meth:`labels_since`, per writer: writer -> {request id -> JSON text}."""

    @abstractmethod
    def heartbeat_endpoint(self, endpoint: ServingEndpoint) -> None:
        """Insert or refresh a serving endpoint's row."""

    @abstractmethod
    def remove_endpoint(self, endpoint_id: str) -> None:
        """Forget an endpoint that shut down (no error when unknown)."""

    @abstractmethod
    def serving_endpoints(
        self, *, fresh_within: float | None = None, writers: Collection[str] | None = None
    ) -> list[ServingEndpoint]:
        """Registered endpoints; with ``fresh_within`` only those whose last heartbeat is at
        most that many seconds old; with ``writers``, only rows these writers wrote."""

    @abstractmethod
    def model_run_owners(self, model: str) -> set[str]:
        """The users whose runs became versions of ``model`` (``Run.user``)."""

    def writer_trust_base(self) -> str | None:
        """The writer every reader trusts (a team store's table owner, which the registry
        service logs in as), or None when the store has no database identities and every
        writer is trusted (a single-machine store)."""
        return None

    @abstractmethod
    def set_reference_profile(self, link: ReferenceProfileLink) -> None:
        """Link a model version to its reference profile blob (already stored), replacing an
        earlier link (InvalidInput when the blob or the version does not exist)."""

    @abstractmethod
    def reference_profile(self, model: str, version: int) -> ReferenceProfileLink | None:
        """The version's reference profile link, or None."""

    @abstractmethod
    def add_request_failures(
        self, model: str, version: int, arm: str, start: float, end: float, failed: int
    ) -> None:
        """Record that ``failed`` scoring requests of the version failed in [start, end]."""

    @abstractmethod
    def request_failures(
        self,
        model: str,
        version: int,
        *,
        since: float,
        until: float | None = None,
        writers: Collection[str] | None = None,
    ) -> int:
        """Failed requests of the version recorded in spans overlapping [since, until]
        (by ``writers`` only, when given)."""
