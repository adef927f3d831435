"""``SqlRegistryMixin``: the registry contract (:mod:`..registry_contract`) on the SQL store.

Mixed into :class:`~jupyter_mm.store.sql.store.SqlStore`, whose transaction helpers it uses.
Every write starts by locking the model's row (``SELECT … FOR UPDATE`` on PostgreSQL; on
SQLite the write transaction already holds the database's write lock) so that two people
promoting at the same moment are serialized and "one production version per model" and
"aliases unique per model" hold across processes. Each write and its events commit together.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, func, select, update

from ...entities import Event, Model, ModelVersion, Rollback
from ...errors import Conflict, InvalidInput, NotFound
from ..registry_contract import (
    EVENT_ACTIONS,
    AbstractRegistryStore,
    check_alias,
    check_model_name,
    check_stage,
    check_version,
    rollback_target,
)
from ..validation import check_unicode
from .convert import check_json, check_run_id
from .models import (
    ARTIFACTS,
    EVENTS,
    MODELS,
    RUNS,
)
from .models import MODEL_VERSIONS as VERSIONS

MAX_TEXT = 10_000  # reasons and descriptions: a paragraph, not a document


def _text(value: object, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be text, not {type(value).__name__}.")
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"{what} is longer than {MAX_TEXT} characters.")
    check_unicode(value, what)
    return value or None


def _checked_transition(
    model: str, version: int, from_stage: str, to_stage: str, reason: str | None
) -> str | None:
    """Validate the names of a stage change; returns the reason as it is stored."""
    check_model_name(model)
    check_version(version)
    check_stage(from_stage)
    check_stage(to_stage)
    return _text(reason, "The reason")


def _row_to_version(row: Any) -> ModelVersion:
    return ModelVersion(
        model=row["model"],
        version=row["version"],
        run_id=row["run_id"],
        artifact=row["artifact"],
        digest=row["digest"],
        flavor=row["flavor"],
        stage=row["stage"],
        aliases=list(row["aliases"] or []),
        signature=row["signature"],
        description=row["description"],
        created_time=row["created_time"],
    )


def _row_to_event(row: Any) -> Event:
    names = [column.name for column in EVENTS.columns]
    return Event(**{name: row[name] for name in names})


class SqlRegistryMixin(AbstractRegistryStore):
    """Registry methods of SqlStore (see AbstractRegistryStore for the contract)."""

    # provided by SqlStore
    _write: Any
    _read: Any
    _insert: Any

    # -- helpers --------------------------------------------------------------------------------

    def _lock_model(self, conn: Connection, name: str) -> dict[str, Any]:
        query = select(MODELS).where(MODELS.c.name == name).with_for_update()
        row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFound(f"No model named {name}.")
        return dict(row)

    def _version_row(self, conn: Connection, model: str, version: int) -> dict[str, Any]:
        query = select(VERSIONS).where(VERSIONS.c.model == model, VERSIONS.c.version == version)
        row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFound(f"Model {model} has no version {version}.")
        return dict(row)

    def _add_event(self, conn: Connection, **fields: Any) -> Event:
        values = {
            "time": time.time(),
            "user": fields.get("user"),
            "action": fields["action"],
            "model": fields.get("model"),
            "version": fields.get("version"),
            "from_stage": fields.get("from_stage"),
            "to_stage": fields.get("to_stage"),
            "reason": fields.get("reason"),
        }
        new_id = conn.execute(EVENTS.insert().returning(EVENTS.c.id), values).scalar_one()
        return Event(id=new_id, **values)

    def _set_stage(self, conn: Connection, model: str, version: int, stage: str) -> None:
        conn.execute(
            update(VERSIONS)
            .where(VERSIONS.c.model == model, VERSIONS.c.version == version)
            .values(stage=stage)
        )

    # -- models and versions --------------------------------------------------------------------

    def register_version(
        self,
        model: str,
        run_id: str,
        artifact: str,
        *,
        flavor: str,
        user: str | None,
        signature: dict[str, Any] | None = None,
        description: str | None = None,
        model_description: str | None = None,
    ) -> ModelVersion:
        """Create the next version of ``model`` from a run's artifact, with its event."""
        check_model_name(model)
        check_run_id(run_id)
        if not isinstance(artifact, str) or not artifact:
            raise InvalidInput(f"{artifact!r} is not an artifact name.")
        if not isinstance(flavor, str) or not flavor or len(flavor) > 64:
            raise InvalidInput(f"{flavor!r} is not a model flavor.")
        if signature is not None:
            if not isinstance(signature, dict):
                raise InvalidInput("A model signature must be a JSON object.")
            check_json(signature, "The model signature")
        description = _text(description, "The version description")
        model_description = _text(model_description, "The model description")
        now = time.time()
        with self._write() as conn:
            if conn.execute(select(RUNS.c.id).where(RUNS.c.id == run_id)).first() is None:
                raise NotFound(f"No run with id {run_id}.")
            found = conn.execute(
                select(ARTIFACTS.c.digest).where(
                    ARTIFACTS.c.run_id == run_id, ARTIFACTS.c.name == artifact
                )
            ).first()
            if found is None:
                raise NotFound(f"Run {run_id} has no artifact named {artifact!r}.")
            conn.execute(
                self._insert(MODELS).on_conflict_do_nothing(),
                [{"name": model, "description": model_description, "created_time": now}],
            )
            self._lock_model(conn, model)
            latest = conn.execute(
                select(func.max(VERSIONS.c.version)).where(VERSIONS.c.model == model)
            ).scalar()
            values = {
                "model": model,
                "version": (latest or 0) + 1,
                "run_id": run_id,
                "artifact": artifact,
                "digest": found[0],
                "flavor": flavor,
                "stage": "none",
                "aliases": [],
                "signature": signature,
                "description": description,
                "created_time": now,
            }
            conn.execute(VERSIONS.insert(), values)
            self._add_event(
                conn,
                action="register",
                model=model,
                version=values["version"],
                user=user,
                to_stage="none",
                reason=f"from run {run_id}, artifact {artifact}",
            )
        return _row_to_version(values)

    def get_model(self, name: str) -> Model:
        """The model called ``name``. Raises NotFound."""
        check_model_name(name)
        with self._read() as conn:
            row = conn.execute(select(MODELS).where(MODELS.c.name == name)).mappings().first()
        if row is None:
            raise NotFound(f"No model named {name}.")
        return Model(**dict(row))

    def list_models(self) -> list[Model]:
        """Every model, by name."""
        with self._read() as conn:
            rows = conn.execute(select(MODELS).order_by(MODELS.c.name)).mappings().all()
        return [Model(**dict(row)) for row in rows]

    def get_version(self, model: str, version: int) -> ModelVersion:
        """One version. Raises NotFound naming what is missing."""
        check_model_name(model)
        check_version(version)
        with self._read() as conn:
            try:
                return _row_to_version(self._version_row(conn, model, version))
            except NotFound:
                if conn.execute(select(MODELS.c.name).where(MODELS.c.name == model)).first():
                    raise
                raise NotFound(f"No model named {model}.") from None

    def list_versions(self, model: str) -> list[ModelVersion]:
        """The versions of ``model``, oldest first. Raises NotFound for an unknown model."""
        check_model_name(model)
        with self._read() as conn, conn.begin():
            if conn.execute(select(MODELS.c.name).where(MODELS.c.name == model)).first() is None:
                raise NotFound(f"No model named {model}.")
            rows = conn.execute(
                select(VERSIONS).where(VERSIONS.c.model == model).order_by(VERSIONS.c.version)
            ).mappings()
            return [_row_to_version(row) for row in rows]

    def versions_of_run(self, run_id: str) -> list[ModelVersion]:
        """The versions registered from ``run_id``."""
        check_run_id(run_id)
        with self._read() as conn:
            rows = conn.execute(
                select(VERSIONS)
                .where(VERSIONS.c.run_id == run_id)
                .order_by(VERSIONS.c.model, VERSIONS.c.version)
            ).mappings()
            return [_row_to_version(row) for row in rows]

    # -- stages ---------------------------------------------------------------------------------

    def transition_version(
        self,
        model: str,
        version: int,
        *,
        from_stage: str,
        to_stage: str,
        user: str | None,
        reason: str | None,
    ) -> list[Event]:
        """Move a version between stages with its event(s), in one transaction."""
        reason = _checked_transition(model, version, from_stage, to_stage, reason)
        if from_stage == to_stage:
            raise InvalidInput(f"Version {version} of {model} is already in {to_stage}.")
        with self._write() as conn:
            self._lock_version_at(conn, model, version, from_stage)
            return self._move(conn, model, version, from_stage, to_stage, user, reason)

    def _lock_version_at(self, conn: Connection, model: str, version: int, stage: str) -> None:
        """Take the model's lock and check the version is still in ``stage``: what the
        caller decided from may have changed since it read it."""
        self._lock_model(conn, model)
        current = self._version_row(conn, model, version)["stage"]
        if current != stage:
            raise Conflict(
                f"Version {version} of {model} is in {current} now, not {stage}; "
                "someone changed it meanwhile. Check its stage and try again."
            )

    def _move(
        self,
        conn: Connection,
        model: str,
        version: int,
        from_stage: str,
        to_stage: str,
        user: str | None,
        reason: str | None,
    ) -> list[Event]:
        """The stage change and its events, inside the caller's transaction (which holds the
        model's lock and has checked ``from_stage``)."""
        written: list[Event] = []
        others: list[int] = []
        if to_stage == "production":
            others = list(
                conn.execute(
                    select(VERSIONS.c.version).where(
                        VERSIONS.c.model == model,
                        VERSIONS.c.stage == "production",
                        VERSIONS.c.version != version,
                    )
                ).scalars()
            )
        self._set_stage(conn, model, version, to_stage)
        # the user's transition first, then what it caused
        written.append(
            self._add_event(
                conn,
                action="transition",
                model=model,
                version=version,
                user=user,
                from_stage=from_stage,
                to_stage=to_stage,
                reason=reason,
            )
        )
        for other in others:
            self._set_stage(conn, model, other, "archived")
            written.append(
                self._add_event(
                    conn,
                    action="superseded",
                    model=model,
                    version=other,
                    user=user,
                    from_stage="production",
                    to_stage="archived",
                    reason=f"version {version} promoted to production",
                )
            )
        return written

    def append_event(
        self,
        action: str,
        *,
        model: str | None,
        version: int | None,
        user: str | None,
        from_stage: str | None = None,
        to_stage: str | None = None,
        reason: str | None = None,
    ) -> Event:
        """Append one event, nothing else."""
        if action not in EVENT_ACTIONS:
            raise InvalidInput(
                f"Unknown event action {action!r}; expected one of {', '.join(EVENT_ACTIONS)}."
            )
        for stage in (from_stage, to_stage):
            if stage is not None:
                check_stage(stage)
        if model is not None:
            check_model_name(model)
        if version is not None:
            check_version(version)
        reason = _text(reason, "The reason")
        with self._write() as conn:
            return self._add_event(
                conn,
                action=action,
                model=model,
                version=version,
                user=user,
                from_stage=from_stage,
                to_stage=to_stage,
                reason=reason,
            )

    # -- aliases --------------------------------------------------------------------------------

    def set_alias(
        self, model: str, version: int, alias: str, *, user: str | None, reason: str | None = None
    ) -> ModelVersion:
        """Point ``alias`` at ``version`` (moving it off another version) with its event."""
        check_model_name(model)
        check_version(version)
        check_alias(alias)
        reason = _text(reason, "The reason")
        with self._write() as conn:
            self._lock_model(conn, model)
            target = self._version_row(conn, model, version)
            if alias in (target["aliases"] or []):
                return _row_to_version(target)
            moved_from = None
            holders = conn.execute(select(VERSIONS).where(VERSIONS.c.model == model)).mappings()
            for row in list(holders):
                if alias in (row["aliases"] or []):
                    moved_from = row["version"]
                    kept = [a for a in row["aliases"] if a != alias]
                    conn.execute(
                        update(VERSIONS)
                        .where(VERSIONS.c.model == model, VERSIONS.c.version == row["version"])
                        .values(aliases=kept)
                    )
            target["aliases"] = sorted([*(target["aliases"] or []), alias])
            conn.execute(
                update(VERSIONS)
                .where(VERSIONS.c.model == model, VERSIONS.c.version == version)
                .values(aliases=target["aliases"])
            )
            note = alias if moved_from is None else f"{alias} (moved from version {moved_from})"
            self._add_event(
                conn,
                action="alias",
                model=model,
                version=version,
                user=user,
                reason=f"{note}: {reason}" if reason else note,
            )
        return _row_to_version(target)

    def remove_alias(self, model: str, alias: str, *, user: str | None) -> ModelVersion:
        """Remove ``alias`` from the version holding it, with its event."""
        check_model_name(model)
        check_alias(alias)
        with self._write() as conn:
            self._lock_model(conn, model)
            rows = conn.execute(select(VERSIONS).where(VERSIONS.c.model == model)).mappings()
            holder = next((dict(r) for r in rows if alias in (r["aliases"] or [])), None)
            if holder is None:
                raise NotFound(f"No version of {model} has the alias {alias!r}.")
            holder["aliases"] = [a for a in holder["aliases"] if a != alias]
            conn.execute(
                update(VERSIONS)
                .where(VERSIONS.c.model == model, VERSIONS.c.version == holder["version"])
                .values(aliases=holder["aliases"])
            )
            self._add_event(
                conn,
                action="unalias",
                model=model,
                version=holder["version"],
                user=user,
                reason=alias,
            )
        return _row_to_version(holder)

    # -- rollback -------------------------------------------------------------------------------

    def rollback(self, model: str, *, user: str | None, reason: str | None) -> Rollback:
        """Restore the previous production version and archive the current one."""
        check_model_name(model)
        reason = _text(reason, "The reason")
        with self._write() as conn:
            self._lock_model(conn, model)
            current = conn.execute(
                select(VERSIONS.c.version).where(
                    VERSIONS.c.model == model, VERSIONS.c.stage == "production"
                )
            ).scalar()
            if current is None:
                raise Conflict(f"Model {model} has no version in production to roll back.")
            events = self._events(conn, model=model)
            previous = rollback_target(events, current)
            if previous is None:
                raise Conflict(
                    f"Model {model} has no earlier production version to roll back to "
                    f"(version {current} is the first one in production)."
                )
            previous_row = self._version_row(conn, model, previous)
            current_row = self._version_row(conn, model, current)
            note = f" ({reason})" if reason else ""
            self._set_stage(conn, model, current, "archived")
            self._add_event(
                conn,
                action="rollback",
                model=model,
                version=current,
                user=user,
                from_stage="production",
                to_stage="archived",
                reason=f"rolled back to version {previous}{note}",
            )
            self._set_stage(conn, model, previous, "production")
            self._add_event(
                conn,
                action="rollback",
                model=model,
                version=previous,
                user=user,
                from_stage=previous_row["stage"],
                to_stage="production",
                reason=f"restored in place of version {current}{note}",
            )
            previous_row["stage"], current_row["stage"] = "production", "archived"
        return Rollback(
            restored=_row_to_version(previous_row), archived=_row_to_version(current_row)
        )

    # -- events ---------------------------------------------------------------------------------

    def _events(self, conn: Connection, model: str, version: int | None = None) -> list[Event]:
        query = select(EVENTS).where(EVENTS.c.model == model)
        if version is not None:
            query = query.where(EVENTS.c.version == version)
        rows = conn.execute(query.order_by(EVENTS.c.id)).mappings().all()
        return [_row_to_event(row) for row in rows]

    def model_events(self, model: str, version: int | None = None) -> list[Event]:
        """One model's (or version's) events, oldest first."""
        check_model_name(model)
        if version is not None:
            check_version(version)
        with self._read() as conn:
            return self._events(conn, model, version)
