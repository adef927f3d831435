"""``SqlApprovalsMixin``: approval requests (four eyes) of the registry contract on SQL.

Mixed into :class:`~jupyter_mm.store.sql.store.SqlStore` beside
:class:`~.registry.SqlRegistryMixin`, whose helpers (model lock, events, the stage change)
it uses, so an approved transition is the same change, with the same events, as a direct
one, and commits together with the request's new state and its ``transition_approved``
event. A request's row holds its current state; every change of state is an event too.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, select, update

from ...entities import APPROVAL_STATUSES, ApprovalRequest, Event
from ...errors import Conflict, InvalidInput, NotFound
from ..registry_contract import DECISIONS, check_model_name
from .models import APPROVAL_REQUESTS as REQUESTS
from .registry import SqlRegistryMixin, _checked_transition, _text

MAX_LISTED = 1000


def _row_to_request(row: Any) -> ApprovalRequest:
    return ApprovalRequest(**{column.name: row[column.name] for column in REQUESTS.columns})


def check_request_id(request_id: object) -> int:
    if isinstance(request_id, bool) or not isinstance(request_id, int) or request_id < 1:
        raise InvalidInput(
            f"An approval request id is a positive whole number, not {request_id!r}."
        )
    return request_id


def _tagged(request_id: int, text: str | None) -> str:
    """An event reason naming the request, so the audit trail links the events of one."""
    return f"request #{request_id}: {text}" if text else f"request #{request_id}"


class SqlApprovalsMixin(SqlRegistryMixin):
    """Approval requests of SqlStore (see AbstractRegistryStore for the contract)."""

    def _request_row(self, conn: Connection, request_id: int) -> dict[str, Any]:
        row = conn.execute(select(REQUESTS).where(REQUESTS.c.id == request_id)).mappings().first()
        if row is None:
            raise NotFound(f"No approval request #{request_id}.")
        return dict(row)

    def _set_request(self, conn: Connection, request_id: int, **values: Any) -> None:
        conn.execute(update(REQUESTS).where(REQUESTS.c.id == request_id).values(**values))

    def create_approval_request(
        self,
        model: str,
        version: int,
        *,
        from_stage: str,
        to_stage: str,
        user: str | None,
        reason: str | None,
        expires_time: float,
    ) -> ApprovalRequest:
        """A pending request with its ``transition_requested`` event."""
        reason = _checked_transition(model, version, from_stage, to_stage, reason)
        now = time.time()
        with self._write() as conn:
            self._lock_version_at(conn, model, version, from_stage)
            open_id = conn.execute(
                select(REQUESTS.c.id).where(
                    REQUESTS.c.model == model,
                    REQUESTS.c.version == version,
                    REQUESTS.c.to_stage == to_stage,
                    REQUESTS.c.status == "pending",
                )
            ).scalar()
            if open_id is not None:
                raise Conflict(
                    f"{model} version {version} already has a pending request #{open_id} "
                    f"for {to_stage}."
                )
            values = {
                "model": model,
                "version": version,
                "from_stage": from_stage,
                "to_stage": to_stage,
                "requester": user,
                "reason": reason,
                "created_time": now,
                "expires_time": float(expires_time),
                "status": "pending",
            }
            new_id = conn.execute(REQUESTS.insert().returning(REQUESTS.c.id), values).scalar_one()
            self._add_event(
                conn,
                action="transition_requested",
                model=model,
                version=version,
                user=user,
                from_stage=from_stage,
                to_stage=to_stage,
                reason=_tagged(new_id, reason),
            )
            return _row_to_request(self._request_row(conn, new_id))

    def get_approval_request(self, request_id: int) -> ApprovalRequest:
        """One request as stored now."""
        check_request_id(request_id)
        with self._read() as conn:
            return _row_to_request(self._request_row(conn, request_id))

    def list_approval_requests(
        self,
        *,
        model: str | None = None,
        status: str | None = None,
        requester: str | None = None,
        limit: int = 200,
    ) -> list[ApprovalRequest]:
        """Requests, newest first, filtered."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LISTED:
            raise InvalidInput(f"limit must be a whole number from 1 to {MAX_LISTED}.")
        query = select(REQUESTS).order_by(REQUESTS.c.id.desc()).limit(limit)
        if model is not None:
            query = query.where(REQUESTS.c.model == check_model_name(model))
        if status is not None:
            if status not in APPROVAL_STATUSES:
                raise InvalidInput(
                    f"{status!r} is not a request status ({', '.join(APPROVAL_STATUSES)})."
                )
            query = query.where(REQUESTS.c.status == status)
        if requester is not None:
            query = query.where(REQUESTS.c.requester == requester)
        with self._read() as conn:
            return [_row_to_request(row) for row in conn.execute(query).mappings()]

    def expire_approval_requests(self, now: float) -> list[ApprovalRequest]:
        """Pending requests past their expiry become ``expired``, each with its event."""
        due = select(REQUESTS.c.id).where(
            REQUESTS.c.status == "pending", REQUESTS.c.expires_time <= now
        )
        with self._read() as conn:
            if conn.execute(due.limit(1)).first() is None:
                return []  # the usual case: no write transaction at all
        expired: list[ApprovalRequest] = []
        with self._write() as conn:
            # FOR UPDATE: two processes expiring at once each expire a request once
            for request_id in conn.execute(due.order_by(REQUESTS.c.id).with_for_update()).scalars():
                row = self._request_row(conn, request_id)
                self._set_request(conn, request_id, status="expired", decided_time=now)
                self._add_event(
                    conn,
                    action="transition_request_expired",
                    model=row["model"],
                    version=row["version"],
                    user=None,
                    from_stage=row["from_stage"],
                    to_stage=row["to_stage"],
                    reason=_tagged(request_id, f"requested by {row['requester']}, not decided"),
                )
                expired.append(_row_to_request(self._request_row(conn, request_id)))
        return expired

    def decide_approval_request(
        self,
        request_id: int,
        *,
        decision: str,
        user: str,
        reason: str | None,
        now: float,
    ) -> tuple[ApprovalRequest, list[Event]]:
        """Approve (and transition), reject, or fail a pending request, in one transaction."""
        check_request_id(request_id)
        if decision not in DECISIONS:
            raise InvalidInput(f"{decision!r} is not a decision ({', '.join(DECISIONS)}).")
        if not isinstance(user, str) or not user.strip():
            raise InvalidInput("A decision on an approval request needs a named user.")
        reason = _text(reason, "The reason")
        with self._read() as conn:
            model = self._request_row(conn, request_id)["model"]
        with self._write() as conn:
            self._lock_model(conn, model)  # serializes with transitions of the model
            row = self._request_row(conn, request_id)
            _check_decidable(row, user, now)
            current = self._version_row(conn, model, row["version"])["stage"]
            if decision == "approve" and current != row["from_stage"]:
                decision = "fail"
                reason = f"the version is in {current} now, not {row['from_stage']}"
            written = self._apply_decision(conn, row, decision, user, reason)
            self._set_request(
                conn,
                request_id,
                status={"approve": "approved", "reject": "rejected", "fail": "failed"}[decision],
                decided_by=user,
                decided_time=now,
                decision_reason=reason,
            )
            return _row_to_request(self._request_row(conn, request_id)), written

    def _apply_decision(
        self, conn: Connection, row: dict[str, Any], decision: str, user: str, reason: str | None
    ) -> list[Event]:
        """The events of a decision (and for an approval, the stage change)."""
        request_id, model, version = row["id"], row["model"], row["version"]
        stages = {"from_stage": row["from_stage"], "to_stage": row["to_stage"]}
        if decision == "reject":
            return [
                self._add_event(
                    conn,
                    action="transition_rejected",
                    model=model,
                    version=version,
                    user=user,
                    reason=_tagged(request_id, reason),
                    **stages,
                )
            ]
        if decision == "fail":
            return [
                self._add_event(
                    conn,
                    action="transition_refused",
                    model=model,
                    version=version,
                    user=user,
                    reason=_tagged(request_id, f"approved by {user}, but {reason}"),
                    **stages,
                )
            ]
        approved = self._add_event(
            conn,
            action="transition_approved",
            model=model,
            version=version,
            user=user,
            reason=_tagged(request_id, reason),
            **stages,
        )
        requested = f"requested by {row['requester']}" + (
            f": {row['reason']}" if row["reason"] else ""
        )
        moved = self._move(
            conn,
            model,
            version,
            row["from_stage"],
            row["to_stage"],
            user,
            _tagged(request_id, requested),
        )
        return [approved, *moved]


def _check_decidable(row: dict[str, Any], user: str, now: float) -> None:
    """Conflict when the request cannot be decided now, or not by ``user``."""
    label = f"Request #{row['id']} ({row['model']} version {row['version']} -> {row['to_stage']})"
    if row["status"] != "pending":
        by = f" by {row['decided_by']}" if row["decided_by"] else ""
        raise Conflict(f"{label} is {row['status']}{by} already; nothing to decide.")
    if row["expires_time"] <= now:
        raise Conflict(f"{label} has expired; request the transition again.")
    if row["requester"] is not None and row["requester"] == user:
        raise Conflict(
            f"{label} was requested by {user}; someone else has to approve or reject it."
        )
