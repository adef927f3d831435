"""Approval requests over REST (four eyes, ``c.Registry.require_approval``):
``GET/POST /approvals``, ``GET /approvals/{id}``, ``POST /approvals/{id}/approve|reject``.

Every call goes through :mod:`jupyter_mm.registry.approvals` with the request's
authenticated user as the actor, so "someone else approves" means another authenticated
user, never the server process. The routes share the registry's authorization resource
(``jupyter_mm:registry``): an approval moves a version, so whoever may not write the
registry may not approve either.
"""

from __future__ import annotations

import time
from typing import cast

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...entities import ApprovalRequest, ModelVersion
from ...errors import InvalidInput
from ...registry import Registry
from ...registry import approvals as approving
from ...store.abstract import AbstractStore
from ...store.registry_contract import check_model_name, check_stage
from .. import schema
from ..wire import version_row_body
from . import params
from .models import RegistryHandler, parse_version


def request_body(request: ApprovalRequest) -> schema.ApprovalRequest:
    return cast("schema.ApprovalRequest", request.to_dict())


def parse_request_id(value: str) -> int:
    if not value.isdigit() or int(value) < 1 or len(value) > 18:
        raise InvalidInput(
            f"An approval request id is a positive whole number, not {value[:40]!r}."
        )
    return int(value)


def list_requests(
    store: AbstractStore,
    rules: Registry,
    user: str,
    status: str | None,
    model: str | None,
    scope: str,
) -> schema.ApprovalList:
    found = approving.requests(
        store=store,
        status="pending" if scope == "awaiting" else status,
        model=model,
        requester=user if scope == "mine" else None,
    )
    if scope == "awaiting":
        found = [r for r in found if r.requester != user]
    return {
        "requests": [request_body(r) for r in found],
        "user": user,
        "require_approval": cast("list[schema.Stage]", list(rules.require_approval)),
    }


def _row(store: AbstractStore, version: ModelVersion) -> schema.VersionRow:
    latest = store.latest_metrics([version.run_id]).get(version.run_id, {})
    return version_row_body(version, store.get_run(version.run_id).name, latest)


def _gates(
    store: AbstractStore, rules: Registry, version: ModelVersion, stage: str
) -> list[schema.GateCheck]:
    metrics = store.latest_metrics([version.run_id]).get(version.run_id, {})
    run_params = store.params_of([version.run_id]).get(version.run_id, {})
    return [
        {"gate": r.gate, "passed": r.passed, "values": list(r.values), "problem": r.problem}
        for r in rules.check_gates(stage, metrics, run_params)
    ]


def review(
    store: AbstractStore, rules: Registry, request_id: int, user: str
) -> schema.ApprovalReview:
    """The request with both versions and the gates of its target stage on each."""
    store.expire_approval_requests(time.time())  # an overdue request shows as expired
    request = store.get_approval_request(request_id)
    candidate = store.get_version(request.model, request.version)
    current = next(
        (
            v
            for v in reversed(store.list_versions(request.model))
            if v.stage == request.to_stage and v.version != request.version
        ),
        None,
    )
    return {
        "request": request_body(request),
        "candidate": _row(store, candidate),
        "current": _row(store, current) if current else None,
        "candidate_gates": _gates(store, rules, candidate, request.to_stage),
        "current_gates": _gates(store, rules, current, request.to_stage) if current else [],
        "user": user,
        "can_decide": request.status == "pending" and request.requester != user,
    }


class ApprovalsHandler(RegistryHandler):
    """``GET /approvals`` lists requests; ``POST /approvals`` makes one (201)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        arg = self.get_query_argument
        mine = params.parse_bool("mine", arg("mine", None))
        awaiting = params.parse_bool("awaiting", arg("awaiting", None))
        if mine and awaiting:
            raise InvalidInput("Use mine=1 or awaiting=1, not both.")
        model = params.parse_text("model", arg("model", None))
        scope = "mine" if mine else "awaiting" if awaiting else "all"
        rules = await self.registry_rules()
        store = await self.existing_store()
        if store is None:  # nothing recorded yet: a listing creates no store
            empty: schema.ApprovalList = {
                "requests": [],
                "user": self.actor or "",
                "require_approval": cast("list[schema.Stage]", list(rules.require_approval)),
            }
            self.write_json(empty)
            return
        self.write_json(
            await self.call_store(
                list_requests,
                store,
                rules,
                self.actor,
                params.parse_text("status", arg("status", None)),
                None if model is None else check_model_name(model),
                scope,
            )
        )

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body({"model": str, "version": int, "stage": str, "reason": str}, {})
        name, stage = check_model_name(body["model"]), check_stage(body["stage"])
        number = parse_version(str(body["version"]))
        rules = await self.registry_rules()
        store = await self.get_store()
        made = await self.call_store(
            approving.request_transition,
            name,
            number,
            stage,
            body["reason"],
            store=store,
            registry=rules,
            actor=self.actor,
        )
        self.write_json(request_body(made), status=201)


class ApprovalHandler(RegistryHandler):
    """``GET /approvals/{id}``: the request and what it would change."""

    @web.authenticated
    @authorized
    async def get(self, request_id: str) -> None:
        number = parse_request_id(request_id)
        rules = await self.registry_rules()
        store = await self.get_store()
        self.write_json(await self.call_store(review, store, rules, number, self.actor))


class ApprovalDecisionHandler(RegistryHandler):
    """``POST /approvals/{id}/approve`` (:class:`ApproveHandler`) and ``…/reject``
    (:class:`RejectHandler`), with a reason."""

    decision = "approve"

    @web.authenticated
    @authorized
    async def post(self, request_id: str) -> None:
        number = parse_request_id(request_id)
        body = self.json_body({"reason": str}, {})
        decide = approving.approve if self.decision == "approve" else approving.reject
        rules = await self.registry_rules()
        store = await self.get_store()
        decided = await self.call_store(
            decide, number, body["reason"], store=store, registry=rules, actor=self.actor
        )
        self.write_json(request_body(decided))


class ApproveHandler(ApprovalDecisionHandler):
    decision = "approve"


class RejectHandler(ApprovalDecisionHandler):
    decision = "reject"
