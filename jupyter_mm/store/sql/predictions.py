"""The prediction log of SqlStore (see AbstractPredictionStore for the contract)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import and_, delete, func, or_, select

from ...entities import PredictionBatch, ReferenceProfileLink, ServingEndpoint
from ...errors import Conflict, InvalidInput
from ..predictions_contract import AbstractPredictionStore
from .models import (
    MODEL_VERSIONS,
    PREDICTION_BATCHES,
    PREDICTION_LABELS,
    REFERENCE_PROFILES,
    REQUEST_FAILURES,
    RUNS,
    SERVING_ENDPOINTS,
)

#: rows per statement when labels arrive in bulk (SQLite's variable limit is 999)
LABEL_CHUNK = 300
#: batches one compaction may replace (one IN list, under SQLite's variable limit)
MAX_REPLACED = 500


class SqlPredictionsMixin(AbstractPredictionStore):
    # provided by SqlStore
    _write: Any
    _read: Any
    _insert: Any
    _row_writer: Any
    blobs: Any

    def add_prediction_batch(self, batch: PredictionBatch) -> PredictionBatch:
        if not self.blobs.exists(batch.digest):
            raise InvalidInput(f"The batch's blob {batch.digest[:12]} is not in the store.")
        values = {k: v for k, v in batch.to_dict().items() if k != "id"}
        with self._write() as conn:
            values["writer"] = self._row_writer(conn)
            known = conn.execute(
                select(MODEL_VERSIONS.c.version).where(
                    MODEL_VERSIONS.c.model == batch.model,
                    MODEL_VERSIONS.c.version == batch.version,
                )
            ).first()
            if known is None:
                raise InvalidInput(f"Model {batch.model} has no version {batch.version}.")
            new_id = conn.execute(
                PREDICTION_BATCHES.insert().returning(PREDICTION_BATCHES.c.id), values
            ).scalar_one()
        return PredictionBatch(**{**values, "id": new_id})

    def replace_prediction_batches(
        self, old_ids: Sequence[int], batch: PredictionBatch
    ) -> PredictionBatch:
        wanted = sorted(set(old_ids))
        if not wanted or len(wanted) > MAX_REPLACED:
            raise InvalidInput(f"Compaction replaces 1 to {MAX_REPLACED} batches at once.")
        if not self.blobs.exists(batch.digest):
            raise InvalidInput(f"The batch's blob {batch.digest[:12]} is not in the store.")
        table = PREDICTION_BATCHES
        values = {k: v for k, v in batch.to_dict().items() if k != "id"}
        with self._write() as conn:
            # the merged batch is this login's, made of this login's batches only
            values["writer"] = writer = self._row_writer(conn)
            dropped = conn.execute(
                delete(table).where(
                    table.c.id.in_(wanted),
                    table.c.model == batch.model,
                    table.c.version == batch.version,
                    table.c.arm == batch.arm,
                    table.c.writer == writer,
                )
            ).rowcount
            if dropped != len(wanted):  # raising rolls the delete back
                raise Conflict(
                    f"{len(wanted) - dropped} of the {len(wanted)} batches are no longer "
                    "indexed (compacted elsewhere); nothing was replaced."
                )
            new_id = conn.execute(table.insert().returning(table.c.id), values).scalar_one()
        return PredictionBatch(**{**values, "id": new_id})

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
        table = PREDICTION_BATCHES
        query = select(table).where(table.c.model == model)
        if version is not None:
            query = query.where(table.c.version == version)
        if since is not None:
            query = query.where(table.c.end_time >= since)
        if until is not None:
            query = query.where(table.c.start_time <= until)
        if arms:
            query = query.where(table.c.arm.in_(list(arms)))
        if writers is not None:
            query = query.where(table.c.writer.in_(list(writers)))
        with self._read() as conn:
            rows = conn.execute(query.order_by(table.c.start_time, table.c.id)).mappings()
            return [PredictionBatch(**dict(row)) for row in rows]

    def log_labels(
        self, labels: Iterable[tuple[str, str]], when: float, model: str | None = None
    ) -> int:
        rows: list[dict[str, Any]] = [
            {"model": model, "request_id": str(rid), "label": label, "time": when}
            for rid, label in labels
        ]
        for row in rows:
            if not row["request_id"] or len(str(row["request_id"])) > 64:
                raise InvalidInput("A request id must be 1 to 64 characters.")
        table = PREDICTION_LABELS
        with self._write() as conn:
            writer = self._row_writer(conn)
            for row in rows:
                row["writer"] = writer
            for start in range(0, len(rows), LABEL_CHUNK):
                chunk = rows[start : start + LABEL_CHUNK]
                statement = self._insert(table).values(chunk)
                conn.execute(
                    statement.on_conflict_do_update(
                        index_elements=[table.c.request_id, table.c.writer],
                        set_={
                            "label": statement.excluded.label,
                            "time": statement.excluded.time,
                            "model": statement.excluded.model,
                        },
                    )
                )
        return len(rows)

    def labels_for(
        self, request_ids: Iterable[str], *, writers: Collection[str] | None = None
    ) -> dict[str, str]:
        wanted = list(dict.fromkeys(str(r) for r in request_ids))
        table = PREDICTION_LABELS
        found: dict[str, str] = {}
        with self._read() as conn:
            for start in range(0, len(wanted), LABEL_CHUNK):
                chunk = wanted[start : start + LABEL_CHUNK]
                query = _newest_last(table.c.request_id.in_(chunk), writers)
                found.update((rid, label) for rid, label, _ in conn.execute(query))
        return found

    def labels_since(
        self, since: float, model: str | None = None, *, writers: Collection[str] | None = None
    ) -> dict[str, str]:
        with self._read() as conn:
            query = _newest_last(_arrived(since, model), writers)
            return {rid: label for rid, label, _ in conn.execute(query)}

    def labels_by_writer_since(
        self, since: float, model: str | None = None
    ) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = {}
        with self._read() as conn:
            for rid, label, writer in conn.execute(_newest_last(_arrived(since, model), None)):
                found.setdefault(writer, {})[rid] = label
        return found

    def heartbeat_endpoint(self, endpoint: ServingEndpoint) -> None:
        table = SERVING_ENDPOINTS
        values = endpoint.to_dict()
        with self._write() as conn:
            values["writer"] = self._row_writer(conn)
            statement = self._insert(table).values(values)
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[table.c.id],
                    set_={
                        "heartbeat": statement.excluded.heartbeat,
                        "state": statement.excluded.state,
                    },
                )
            )

    def remove_endpoint(self, endpoint_id: str) -> None:
        with self._write() as conn:
            conn.execute(delete(SERVING_ENDPOINTS).where(SERVING_ENDPOINTS.c.id == endpoint_id))

    def serving_endpoints(
        self, *, fresh_within: float | None = None, writers: Collection[str] | None = None
    ) -> list[ServingEndpoint]:
        import time

        query = select(SERVING_ENDPOINTS).order_by(SERVING_ENDPOINTS.c.started)
        if fresh_within is not None:
            query = query.where(SERVING_ENDPOINTS.c.heartbeat >= time.time() - fresh_within)
        if writers is not None:
            query = query.where(SERVING_ENDPOINTS.c.writer.in_(list(writers)))
        with self._read() as conn:
            return [ServingEndpoint(**dict(row)) for row in conn.execute(query).mappings()]

    def model_run_owners(self, model: str) -> set[str]:
        query = (
            select(RUNS.c.user)
            .distinct()
            .join(MODEL_VERSIONS, MODEL_VERSIONS.c.run_id == RUNS.c.id)
            .where(MODEL_VERSIONS.c.model == model, RUNS.c.user.is_not(None))
        )
        with self._read() as conn:
            return {str(user) for (user,) in conn.execute(query)}

    def set_reference_profile(self, link: ReferenceProfileLink) -> None:
        if not self.blobs.exists(link.digest):
            raise InvalidInput(f"The profile's blob {link.digest[:12]} is not in the store.")
        table = REFERENCE_PROFILES
        values = link.to_dict()
        statement = self._insert(table).values(values)
        with self._write() as conn:
            known = conn.execute(
                select(MODEL_VERSIONS.c.version).where(
                    MODEL_VERSIONS.c.model == link.model,
                    MODEL_VERSIONS.c.version == link.version,
                )
            ).first()
            if known is None:
                raise InvalidInput(f"Model {link.model} has no version {link.version}.")
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[table.c.model, table.c.version],
                    set_={
                        k: statement.excluded[k]
                        for k in ("digest", "size", "source", "created_time")
                    },
                )
            )

    def reference_profile(self, model: str, version: int) -> ReferenceProfileLink | None:
        table = REFERENCE_PROFILES
        query = select(table).where(table.c.model == model, table.c.version == version)
        with self._read() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else ReferenceProfileLink(**dict(row))

    def add_request_failures(
        self, model: str, version: int, arm: str, start: float, end: float, failed: int
    ) -> None:
        if failed < 1 or end < start:
            raise InvalidInput("A failure record needs a count >= 1 and start <= end.")
        values = {
            "model": model,
            "version": version,
            "arm": arm,
            "start_time": start,
            "end_time": end,
            "failed": failed,
        }
        with self._write() as conn:
            values["writer"] = self._row_writer(conn)
            conn.execute(REQUEST_FAILURES.insert(), values)

    def request_failures(
        self,
        model: str,
        version: int,
        *,
        since: float,
        until: float | None = None,
        writers: Collection[str] | None = None,
    ) -> int:
        table = REQUEST_FAILURES
        query = select(func.coalesce(func.sum(table.c.failed), 0)).where(
            table.c.model == model, table.c.version == version, table.c.end_time >= since
        )
        if until is not None:
            query = query.where(table.c.start_time <= until)
        if writers is not None:
            query = query.where(table.c.writer.in_(list(writers)))
        with self._read() as conn:
            return int(conn.execute(query).scalar_one())


def _arrived(since: float, model: str | None) -> Any:
    """Labels that arrived at or after ``since``, given for ``model`` or for none."""
    table = PREDICTION_LABELS
    condition = table.c.time >= since
    if model is not None:
        condition = and_(condition, or_(table.c.model == model, table.c.model.is_(None)))
    return condition


def _newest_last(condition: Any, writers: Collection[str] | None) -> Any:
    """(request id, label, writer) of the labels matching ``condition`` from ``writers``
    (every writer when None), oldest first: read into a dict, a request keeps its newest."""
    table = PREDICTION_LABELS
    query = select(table.c.request_id, table.c.label, table.c.writer).where(condition)
    if writers is not None:
        query = query.where(table.c.writer.in_(list(writers)))
    return query.order_by(table.c.time, table.c.writer)
