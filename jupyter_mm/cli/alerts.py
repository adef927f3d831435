"""``jupyter mm watch``, ``alerts``, ``deliveries``, ``retrain``: monitor rules and what they do.

``watch`` evaluates ``c.Monitor.rules`` (``jupyter mm monitor`` prints the monitoring
report itself; ``watch`` acts on it).
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
from typing import Any

from ..errors import InvalidInput
from ._common import (
    add_command,
    add_json_flag,
    format_time,
    open_cli_store,
    print_json,
    render_table,
    terminal_text,
)

_EVERY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$")


def parse_every(text: str) -> float:
    """``60s``, ``5m``, ``1h``, ``90`` (seconds) -> seconds."""
    match = _EVERY.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise InvalidInput(f"--every {text!r}: write a positive duration such as 60s, 5m or 1h.")
    return float(match.group(1)) * {"s": 1, "m": 60, "h": 3600}[match.group(2) or "s"]


def register(subparsers: argparse._SubParsersAction) -> None:
    _register_watch(subparsers)
    _register_logs(subparsers)
    _register_retrain(subparsers)


def _register_watch(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(
        subparsers,
        "watch",
        run=cmd_watch,
        summary="evaluate the monitor rules (once, or every N seconds) and run their actions",
        description="Evaluate c.Monitor.rules on the production version of each model they "
        "name (or of NAME): a rule that starts firing appends an alert event with its "
        "evidence and runs its actions (notify, rollback, retrain). A rule that stays firing "
        "does not alert again; one that stops firing is recorded as cleared. --every keeps "
        "evaluating until SIGTERM or Ctrl-C (the pass in progress finishes first). With "
        "c.Webhooks.hooks set, it also delivers the webhooks queued in the store (its own, "
        "and those other processes left).",
        examples=[
            "jupyter mm watch fraud --check",
            "jupyter mm watch --every 60s",
            "jupyter mm watch fraud --check --dry-run --json",
        ],
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="only this model")
    when = p.add_mutually_exclusive_group(required=True)
    when.add_argument("--check", action="store_true", help="one pass, then exit")
    when.add_argument("--every", metavar="DURATION", help="a pass every DURATION (60s, 5m)")
    p.add_argument(
        "--dry-run", action="store_true", help="show verdicts; write no alert, run no action"
    )
    add_json_flag(p)


def _register_logs(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(
        subparsers,
        "alerts",
        run=cmd_alerts,
        summary="list monitor alerts with their evidence",
        description="Alerts (open and cleared) from the event log, newest first.",
        examples=["jupyter mm alerts", "jupyter mm alerts --model fraud --json"],
    )
    p.add_argument("--model", help="only this model")
    p.add_argument("--limit", type=int, default=50, help="how many (default 50)")
    add_json_flag(p)

    p = add_command(
        subparsers,
        "deliveries",
        run=cmd_deliveries,
        summary="the webhook delivery log",
        description="Every attempt to deliver a webhook, newest first: hook, event, attempt, "
        "HTTP status or error, outcome (delivered, retrying, failed).",
        examples=["jupyter mm deliveries", "jupyter mm deliveries --model fraud --json"],
    )
    p.add_argument("--model", help="only deliveries about this model")
    p.add_argument("--hook", help="only this hook (its name, or host:port)")
    p.add_argument("--limit", type=int, default=50, help="how many (default 50)")
    add_json_flag(p)


def _register_retrain(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(
        subparsers,
        "retrain",
        run=cmd_retrain,
        summary="re-execute the production version's notebook and register what it logs",
        description="Re-execute the checkpoint of NAME's production version headless, in a "
        "scratch directory, with parameters injected after its parameters cell (--data PATH "
        "is data_path=PATH), register the model the re-run logs as a new version and move it "
        "to staging (gates apply). --promote: to production too, if it scores higher than "
        "the production version on the same recent labelled predictions. Every step is an "
        "event; a failure leaves production untouched.",
        examples=[
            "jupyter mm retrain fraud --data data/latest.csv",
            "jupyter mm retrain fraud -p n_estimators=200 --promote --json",
        ],
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("--data", metavar="PATH", help="injected as data_path=PATH")
    p.add_argument(
        "-p", "--parameter", action="append", default=[], metavar="NAME=VALUE", dest="parameters"
    )
    p.add_argument("--promote", action="store_true", help="promote to production if it wins")
    p.add_argument("--timeout", type=float, default=None, help="seconds per cell")
    add_json_flag(p)


def _outcome_rows(outcomes: list[Any]) -> list[list[str]]:
    return [
        [
            o.model,
            str(o.version),
            o.state,
            str(o.alert_id or "-"),
            o.summary if o.state != "undecided" else f"{o.rule} ({o.evidence.get('why')})",
            ", ".join(f"{a['action']}: {a['detail']}" for a in o.actions) or "-",
        ]
        for o in outcomes
    ]


def _show_pass(outcomes: list[Any], as_json: bool) -> None:
    if as_json:
        print_json({"outcomes": [o.to_dict() for o in outcomes]})
        return
    if not outcomes:
        print("No rule applies to a model with a production version (c.Monitor.rules).")
        return
    headers = ["model", "version", "state", "alert", "rule", "actions"]
    print(terminal_text(render_table(headers, _outcome_rows(outcomes))))
    sys.stdout.flush()


def cmd_watch(args: argparse.Namespace) -> int:
    from ..alerts.evaluate import check
    from ..alerts.outbox import drain, start_deliverer, wake_deliverer
    from ..alerts.rules import make_monitor
    from ..alerts.webhooks import make_webhooks

    models = [args.name] if args.name else None
    make_monitor()  # a bad rule is one line before anything runs
    webhooks = make_webhooks()
    with open_cli_store() as store:
        if args.check:
            if webhooks.hooks:  # also deliver what other processes left queued
                wake_deliverer(store, webhooks)
            outcomes = check(store, models=models, dry_run=args.dry_run)
            _show_pass(outcomes, args.json)
            drain(store, webhooks.exit_wait)  # before the store closes
            return 0
        every = parse_every(args.every)
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        deliverer = start_deliverer(store, webhooks) if webhooks.hooks else None
        while not stop.is_set():
            _show_pass(check(store, models=models, dry_run=args.dry_run), args.json)
            stop.wait(every)
        if deliverer is not None:
            deliverer.stop(timeout=webhooks.exit_wait)
    return 0


def cmd_alerts(args: argparse.Namespace) -> int:
    from ..server.handlers.alerts import alert_body

    with open_cli_store() as store:
        events = store.alert_events(model=args.model, limit=args.limit)
    alerts = [alert_body(e) for e in events]
    if args.json:
        print_json({"alerts": alerts, "last_id": max((a["id"] for a in alerts), default=None)})
        return 0
    rows = [
        [str(a["id"]), format_time(a["time"]), a["state"], str(a["summary"] or a["rule"])]
        for a in alerts
    ]
    print(
        terminal_text(render_table(["id", "time", "state", "alert"], rows))
        if rows
        else "No alerts."
    )
    return 0


def cmd_deliveries(args: argparse.Namespace) -> int:
    with open_cli_store() as store:
        found = store.list_deliveries(model=args.model, hook=args.hook, limit=args.limit)
    if args.json:
        print_json({"deliveries": [d.to_dict() for d in found]})
        return 0
    rows = [
        [
            format_time(d.time),
            d.hook,
            d.event,
            d.model or "-",
            str(d.attempt),
            str(d.status or "-"),
            d.outcome,
            d.error or "",
        ]
        for d in found
    ]
    headers = ["time", "hook", "event", "model", "attempt", "status", "outcome", "error"]
    print(terminal_text(render_table(headers, rows)) if rows else "No webhook deliveries.")
    return 0


def cmd_retrain(args: argparse.Namespace) -> int:
    from ..alerts.retrain import retrain
    from ..runner import parse_parameters

    parameters = parse_parameters(args.parameters)
    with open_cli_store() as store:
        report = retrain(
            args.name,
            store=store,
            parameters=parameters,
            data=args.data,
            promote=args.promote,
            timeout=args.timeout,
        )
    if args.json:
        print_json(report.to_dict())
    else:
        for step in report.steps:
            print(terminal_text(str(step["summary"])))
        print(terminal_text(report.summary()))
    return 0 if report.ok else 1
