"""Four eyes on the registry: transitions that need a second person's approval.

With ``c.Registry.require_approval = ["production"]`` a version reaches production only
this way::

    req = mm.request_transition("churn", 3, "production", reason="A/B test won")  # alice
    mm.approve(req.id, reason="checked the diff")                                 # bob
    mm.reject(req.id, reason="needs the fairness report")                         # or this

A direct :func:`jupyter_mm.registry.transition` into such a stage is refused (and recorded).
The rules and the gates are checked when the request is made (no request that could never
pass) and again when it is approved, with the configuration in effect then. An approval the
gates refuse marks the request ``failed`` with the reason: a request is approved for one
state of the world, and an approval that did not happen should not turn into a promotion
later, silently, when a gate changes; the requester asks again.

Requests expire after ``c.Registry.approval_expiry_days`` (default 7). Expiry is evaluated
lazily: every call here that reads or decides requests first expires the overdue ones, each
with a ``transition_request_expired`` event. ``rollback`` does not need approval: it is the
emergency path, back to a version that was approved before.

Every call takes ``actor`` like the rest of the registry: the server passes the request's
authenticated user. On a team store the calls go where every registry write goes
(:func:`jupyter_mm.registry.team.route_write`): asking needs the ``stage`` role on the model,
deciding the ``approve`` role. The requester cannot approve or reject their own request; the store
refuses it whatever the caller (:meth:`~jupyter_mm.store.registry_contract.
AbstractRegistryStore.decide_approval_request`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..entities import APPROVAL_STATUSES, ApprovalRequest
from ..errors import Conflict, InvalidInput
from ..store.registry_contract import check_model_name, check_stage, check_version
from .rules import Registry, make_registry, transition_problem
from .team import route_write

if TYPE_CHECKING:
    from ..store.abstract import AbstractStore

__all__ = ["approval_needed", "approve", "reject", "request_transition", "requests"]

DAY = 86_400.0


def approval_needed(registry: Registry, name: str, version: int, stage: str) -> str | None:
    """Why a direct transition into ``stage`` is refused under ``registry``, or None."""
    if stage not in registry.require_approval:
        return None
    return (
        f"{stage} needs an approved request (c.Registry.require_approval): "
        f"jupyter mm request {name}/{version} --stage {stage} --reason '…', then someone else "
        "approves it"
    )


def _reason(reason: object, what: str) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput(f"{what} needs a reason (--reason / reason=).")
    return reason.strip()


def _gate_problem(store: AbstractStore, registry: Registry, run_id: str, stage: str) -> str | None:
    metrics = store.latest_metrics([run_id]).get(run_id, {})
    params = store.params_of([run_id]).get(run_id, {})
    failed = [r for r in registry.check_gates(stage, metrics, params) if not r.passed]
    return "; ".join(r.describe() for r in failed) if failed else None


def request_transition(
    name: str,
    version: int,
    stage: str,
    reason: str,
    *,
    store: AbstractStore | None = None,
    registry: Registry | None = None,
    actor: str | None = None,
) -> ApprovalRequest:
    """Ask for ``name`` version ``version`` to move to ``stage``, a stage listed in
    ``c.Registry.require_approval``. The rules and the gates of ``stage`` must allow the
    move now (a refusal raises Conflict and is recorded as ``transition_refused``). Returns
    the pending request; someone other than ``actor`` approves or rejects it."""
    from . import _actor, _refuse, _store

    registry = registry or make_registry()
    check_version(version)
    check_stage(stage)
    reason = _reason(reason, "A transition request")
    client = route_write(registry, "stage", check_model_name(name), actor)
    if client is not None:
        return client.request_transition(name, version, stage, reason, actor)
    store, actor = _store(store), _actor(actor)
    current = store.get_version(check_model_name(name), version)
    if stage not in registry.require_approval:
        needing = ", ".join(registry.require_approval) or "none"
        raise InvalidInput(
            f"{stage} does not need approval (stages that do: {needing}); "
            f"move the version directly (jupyter mm promote {name} {version} {stage})."
        )
    problem = transition_problem(current.stage, stage) or _gate_problem(
        store, registry, current.run_id, stage
    )
    if problem is not None:
        raise _refuse(store, current, stage, problem, reason, actor)
    return store.create_approval_request(
        name,
        version,
        from_stage=current.stage,
        to_stage=stage,
        user=actor,
        reason=reason,
        expires_time=time.time() + registry.approval_expiry_days * DAY,
    )


def _decide(
    request_id: int,
    decision: str,
    reason: str,
    store: AbstractStore | None,
    registry: Registry | None,
    actor: str | None,
) -> ApprovalRequest:
    from . import _actor, _store

    registry = registry or make_registry()
    if registry.service_url:  # the service checks the role on the request's model
        from ..service.client import ServiceClient

        return ServiceClient.for_registry(registry).decide(request_id, decision, reason, actor)
    store, actor = _store(store), _actor(actor)
    if actor is None:
        raise InvalidInput("Approving or rejecting needs a named user; none is known here.")
    now = time.time()
    store.expire_approval_requests(now)
    request = store.get_approval_request(request_id)
    route_write(registry, "approve", request.model, actor)  # the role, checked here
    if decision == "approve" and request.status == "pending" and request.requester != actor:
        version = store.get_version(request.model, request.version)
        problem = _gate_problem(store, registry, version.run_id, request.to_stage)
        if problem is not None:
            decision, reason = "fail", problem
    decided, _events = store.decide_approval_request(
        request_id, decision=decision, user=actor, reason=reason, now=now
    )
    if decided.status == "failed":
        raise Conflict(
            f"Request #{request_id} approved, but {decided.model} version {decided.version} "
            f"-> {decided.to_stage} was refused: {decided.decision_reason}. "
            "The request is closed as failed."
        )
    return decided


def approve(
    request_id: int,
    reason: str,
    *,
    store: AbstractStore | None = None,
    registry: Registry | None = None,
    actor: str | None = None,
) -> ApprovalRequest:
    """Approve a pending request someone else made: the transition happens now, gates
    checked again. A gate refusal closes the request as ``failed`` and raises Conflict;
    approving one's own request, or one that is no longer pending, raises Conflict."""
    reason = _reason(reason, "An approval")
    return _decide(request_id, "approve", reason, store, registry, actor)


def reject(
    request_id: int,
    reason: str,
    *,
    store: AbstractStore | None = None,
    registry: Registry | None = None,
    actor: str | None = None,
) -> ApprovalRequest:
    """Reject a pending request someone else made; nothing moves."""
    reason = _reason(reason, "A rejection")
    return _decide(request_id, "reject", reason, store, registry, actor)


def requests(
    *,
    model: str | None = None,
    status: str | None = None,
    requester: str | None = None,
    limit: int = 200,
    store: AbstractStore | None = None,
) -> list[ApprovalRequest]:
    """Approval requests, newest first (overdue ones expired first), optionally of one
    model, in one status (pending, approved, rejected, expired, failed), by one requester."""
    from . import _store

    store = _store(store)
    if status is not None and status not in APPROVAL_STATUSES:
        raise InvalidInput(f"{status!r} is not a request status ({', '.join(APPROVAL_STATUSES)}).")
    store.expire_approval_requests(time.time())
    return store.list_approval_requests(
        model=model, status=status, requester=requester, limit=limit
    )
