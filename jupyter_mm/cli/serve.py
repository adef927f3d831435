"""``jupyter mm serve``: serve a registered model over MLflow's scoring protocol."""

from __future__ import annotations

import argparse

from ._common import EPILOG_CLASS


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..serving import DEFAULT_POLL_SECONDS

    p = subparsers.add_parser(
        "serve",
        help="serve a registered model (MLflow scoring protocol), following the registry",
        description="Serve REF (name@stage, name@alias or name/N) on POST /invocations, as "
        "`mlflow models serve` does, plus /ping, /health, /version, /metrics and /feedback. "
        "When the reference moves (a promotion, a rollback, an alias change) the new version "
        "is loaded beside the old one, checked with a smoke prediction and swapped in without "
        "failing a request. Every answered request is logged (inputs, outputs, class scores, "
        "version, arm, latency, request id) in batches, off the request path; SIGTERM writes "
        "what is pending, SIGKILL loses at most the last --log-interval.",
        epilog="examples:\n  jupyter mm serve fraud@production\n"
        "  jupyter mm serve fraud@production --canary fraud@staging:10% --port 8080\n"
        "  jupyter mm serve fraud@champion --shadow fraud@staging --workers 2",
        formatter_class=EPILOG_CLASS,
    )
    p.add_argument("reference", metavar="REF")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=5001, help="port (default 5001)")
    p.add_argument("--workers", type=int, default=1, help="processes sharing the port (default 1)")
    p.add_argument(
        "--canary",
        metavar="REF:P%",
        help="send P%% of requests (sticky per X-Routing-Key) to REF",
    )
    p.add_argument("--shadow", metavar="REF", help="also score every request with REF, logged only")
    p.add_argument(
        "--trust-pickled",
        action="store_true",
        help="allow joblib/pickle models (loading them runs code stored in the model)",
    )
    p.add_argument(
        "--poll",
        type=float,
        default=DEFAULT_POLL_SECONDS,
        metavar="S",
        help=f"seconds between registry checks for swaps (default {DEFAULT_POLL_SECONDS})",
    )
    p.add_argument("--no-log", action="store_true", help="do not log predictions")
    p.add_argument(
        "--log-interval", type=float, default=1.0, metavar="S", help="seconds between log writes"
    )
    p.add_argument(
        "--compact-every",
        type=float,
        default=300.0,
        metavar="S",
        help="seconds between merges of this server's small log files into larger ones "
        "(default 300; 0 never merges)",
    )
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from ..serving.process import ServeOptions, serve

    return serve(
        ServeOptions(
            reference=args.reference,
            host=args.host,
            port=args.port,
            workers=args.workers,
            canary=args.canary,
            shadow=args.shadow,
            trusted=args.trust_pickled,
            poll=args.poll,
            log_predictions=not args.no_log,
            log_interval=args.log_interval,
            compact_every=args.compact_every or None,
        )
    )
