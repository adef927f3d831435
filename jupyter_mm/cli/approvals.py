"""Four-eyes commands: ``request``, ``approve``, ``reject``, ``requests``.

They call :mod:`jupyter_mm.registry.approvals` with the CLI's store and the process's
user (:func:`jupyter_mm.identity.process_user`) as the actor. A refusal (a gate, one's own
request, a request no longer pending) prints its reason and exits with status 1.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from ..vocabulary import APPROVAL_STATUSES

if TYPE_CHECKING:
    from ..entities import ApprovalRequest

from ._common import (
    add_command,
    add_json_flag,
    format_time,
    open_cli_store,
    print_json,
    render_table,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(
        subparsers,
        "request",
        run=cmd_request,
        summary="ask for a transition that needs approval",
        description="Ask for VERSION of NAME to move to a stage listed in "
        "c.Registry.require_approval. The rules and the stage's gates must allow it now; "
        "someone else then approves (`jupyter mm approve`) or rejects it. Requests expire "
        "after c.Registry.approval_expiry_days.",
        examples=["jupyter mm request churn/3 --stage production --reason 'A/B test won'"],
    )
    p.add_argument("ref", metavar="NAME/VERSION")
    p.add_argument("--stage", required=True, help="target stage (e.g. production)")
    p.add_argument("--reason", required=True, help="why the version should move")
    add_json_flag(p)

    for verb, what in (("approve", "the transition happens now"), ("reject", "nothing moves")):
        p = add_command(
            subparsers,
            verb,
            run=cmd_decide,
            decision=verb,
            summary=f"{verb} someone else's transition request",
            description=f"{verb.capitalize()} pending request REQUEST_ID ({what}). Your own "
            "requests are for someone else to decide."
            + (
                " Gates are checked again; a refusal closes the request as failed."
                if verb == "approve"
                else ""
            ),
            examples=[f"jupyter mm {verb} 12 --reason 'reviewed the diff'"],
        )
        p.add_argument("request_id", metavar="REQUEST_ID", type=_request_id)
        p.add_argument("--reason", required=True, help="why")
        add_json_flag(p)

    p = add_command(
        subparsers,
        "requests",
        run=cmd_requests,
        summary="list transition requests",
        description="List approval requests, newest first: who asked, for what, and what "
        "was decided. Overdue pending requests are marked expired first.",
        examples=["jupyter mm requests --pending", "jupyter mm requests --mine --json"],
    )
    p.add_argument("--mine", action="store_true", help="only requests I made")
    p.add_argument("--pending", action="store_true", help="only pending requests")
    p.add_argument("--status", choices=APPROVAL_STATUSES, help="only requests in this state")
    p.add_argument("--model", help="only requests for this model")
    add_json_flag(p)


def _request_id(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a request id is a positive whole number, not {text!r}")
    return int(text)


def _name_version(ref: str) -> tuple[str, int]:
    name, _, number = ref.partition("/")
    if not name or not number.isdigit() or int(number) < 1:
        raise InvalidInput(f"Name the version as NAME/VERSION (e.g. churn/3), not {ref!r}.")
    return name, int(number)


def _summary(request: ApprovalRequest) -> str:
    target = f"{request.model} version {request.version} -> {request.to_stage}"
    return f"Request #{request.id} ({target}) is {request.status}"


def cmd_request(args: argparse.Namespace) -> int:
    from ..registry.approvals import request_transition

    name, number = _name_version(args.ref)
    with open_cli_store() as store:
        made = request_transition(name, number, args.stage, args.reason, store=store)
    if args.json:
        print_json(made.to_dict())
    else:
        print(
            f"{_summary(made)}: requested by {made.requester}, expires {format_time(made.expires_time)}"
        )
    return 0


def cmd_decide(args: argparse.Namespace) -> int:
    from ..registry.approvals import approve, reject

    decide = approve if args.decision == "approve" else reject
    with open_cli_store() as store:
        decided = decide(args.request_id, args.reason, store=store)
    if args.json:
        print_json(decided.to_dict())
    else:
        print(f"{_summary(decided)} by {decided.decided_by}")
    return 0


def cmd_requests(args: argparse.Namespace) -> int:
    from ..identity import process_user
    from ..registry.approvals import requests

    if args.pending and args.status not in (None, "pending"):
        raise InvalidInput("--pending and --status name different states; use one.")
    status = "pending" if args.pending else args.status
    with open_cli_store() as store:
        found = requests(
            store=store,
            status=status,
            model=args.model,
            requester=process_user() if args.mine else None,
        )
    if args.json:
        print_json({"requests": [r.to_dict() for r in found], "count": len(found)})
        return 0
    if not found:
        print("No approval requests.")
        return 0
    print(
        render_table(
            ["ID", "MODEL", "VERSION", "TO", "BY", "STATUS", "DECIDED BY", "WHEN", "REASON"],
            [_row(r) for r in found],
        )
    )
    return 0


def _row(r: ApprovalRequest) -> list[Any]:
    return [
        str(r.id),
        r.model,
        str(r.version),
        r.to_stage,
        r.requester or "",
        r.status,
        r.decided_by or "",
        format_time(r.created_time),
        (r.reason or "")[:60],
    ]
