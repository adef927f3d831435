"""``jupyter mm monitor`` (drift, performance, latency of a served model) and
``jupyter mm profile`` (a reference profile for a version registered without one)."""

from __future__ import annotations

import argparse
import re
import time
from typing import Any

from ..errors import InvalidInput
from ._common import (
    add_command,
    add_json_flag,
    format_time,
    open_cli_store,
    print_json,
    render_table,
)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str, what: str = "--since") -> float:
    """``90s``, ``15m``, ``1h``, ``2d``, ``1w`` -> seconds."""
    match = _DURATION.match(text or "")
    if not match or float(match.group(1)) <= 0:
        raise InvalidInput(f"{what} takes a duration like 90s, 15m, 1h, 2d or 1w, not {text!r}.")
    return float(match.group(1)) * _SECONDS[match.group(2)]


def parse_since(text: str, now: float | None = None) -> float:
    """``90s``, ``15m``, ``1h``, ``2d``, ``1w`` ago -> epoch seconds."""
    return (time.time() if now is None else now) - parse_duration(text)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(
        subparsers,
        "monitor",
        run=cmd_monitor,
        summary="drift, live performance and latency of a model's logged predictions",
        description="Compare a window of REF's logged predictions (from `jupyter mm serve` or "
        "mm.log_predictions) with the version's reference profile: drift per feature and "
        "of the prediction (effect sizes against thresholds calibrated on the reference, "
        "c.Monitor.thresholds to override), performance per timeline window (measured from "
        "labels, estimated from calibrated scores without them), latency percentiles and "
        "error rate. REF: NAME (its production version, else the latest), NAME@stage, "
        "NAME@alias or NAME/N.",
        examples=[
            "jupyter mm monitor fraud",
            "jupyter mm monitor fraud@production --window 5000",
            "jupyter mm monitor fraud/3 --since 1h --json",
        ],
    )
    p.add_argument("reference", metavar="REF")
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--window", type=int, metavar="N", help="the last N predictions (default c.Monitor.window)"
    )
    group.add_argument(
        "--since", metavar="DURATION", help="predictions of the last DURATION (90s, 15m, 1h, 2d)"
    )
    split = p.add_mutually_exclusive_group()
    split.add_argument("--step", type=int, metavar="N", help="rows per timeline window")
    split.add_argument(
        "--every", metavar="DURATION", help="time per timeline window (e.g. 10m, 1h)"
    )
    add_json_flag(p)

    q = add_command(
        subparsers,
        "profile",
        run=cmd_profile,
        summary="store the reference profile of a registered version from its training data",
        description="Profile the data file PATH (CSV, Parquet, Feather or JSON lines: the "
        "model's input columns, as it was trained on) with the version's model, and link the "
        "profile to the version; monitoring compares served data with it. For versions "
        "logged without mm.log_model(..., reference=X).",
        examples=["jupyter mm profile fraud/3 --data data/train.parquet --target is_fraud"],
    )
    q.add_argument("reference", metavar="NAME/VERSION")
    q.add_argument("--data", required=True, metavar="PATH", help="the reference data file")
    q.add_argument(
        "--target",
        metavar="COLUMN",
        help="a label column of PATH: dropped from the inputs, used to calibrate class scores",
    )


def cmd_monitor(args: argparse.Namespace) -> int:
    from ..monitoring import report

    if args.window is not None and args.window < 1:
        raise InvalidInput("--window needs at least one row.")
    if args.step is not None and args.step < 1:
        raise InvalidInput("--step needs at least one row.")
    since = parse_since(args.since) if args.since else None
    with open_cli_store() as store:
        every = parse_duration(args.every, "--every") if args.every else None
        result = report(
            args.reference, args.window, since=since, step=args.step, every=every, store=store
        )
    if args.json:
        print_json(result)
        return 0
    print(render_report(result))
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    from ..monitoring import profile_version
    from ..monitoring.stored import profile_from_file

    frame = profile_from_file(args.data)
    target = None
    if args.target:
        if args.target not in frame.columns:
            raise InvalidInput(f"{args.data} has no column {args.target!r}.")
        target = frame[args.target]
        frame = frame.drop(columns=[args.target])
    with open_cli_store() as store:
        link = profile_version(
            args.reference,
            frame,
            target=target,
            source=f"jupyter mm profile --data {args.data}",
            store=store,
        )
    print(
        f"Profiled {link.model}/{link.version} from {len(frame)} rows: {link.size} bytes ({link.digest[:12]})."
    )
    return 0


def _num(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render_report(result: Any) -> str:
    window, drift, latency = result["window"], result["drift"], result["latency"]
    lines = [
        f"{result['model']}/{result['version']}: {window['rows']} predictions "
        f"({format_time(window['start_time'])} – {format_time(window['end_time'])}), "
        f"reference of {result['profile']['rows']} rows",
        "",
        f"Drift: {drift['drifted']} of {drift['total']} features drifted (share {drift['drift_share']:.2f})",
    ]
    rows = [*drift["features"], *([drift["prediction"]] if drift["prediction"] else [])]
    lines.append(
        render_table(
            ["feature", "kind", "method", "value", "threshold", "drifted", "missing ref/now"],
            [
                [
                    f["feature"],
                    f["kind"],
                    f["method"],
                    _num(f["value"]),
                    f"{f['threshold']:.3f} ({f['threshold_source']})",
                    "DRIFT" if f["drifted"] else "no",
                    f"{f['missing_reference']:.1%}/{f['missing_current']:.1%}",
                ]
                for f in rows
            ],
        )
    )
    lines += ["", "Performance (measured from labels; est. = estimated without labels)"]
    names = sorted({k for w in result["performance"] for k in (*w["measured"], *w["estimated"])})
    table = []
    for w in result["performance"]:
        cells = [
            str(w["index"]),
            format_time(w["start_time"]),
            str(w["rows"]),
            str(w["labelled"]),
            w["source"],
        ]
        for name in names:
            measured, estimated = w["measured"].get(name), w["estimated"].get(name)
            cells.append(
                _num(measured)
                if measured is not None
                else (f"{_num(estimated)} est." if estimated is not None else "-")
            )
        table.append(cells)
    lines.append(render_table(["#", "from", "rows", "labelled", "source", *names], table))
    error_rate = "-" if latency["error_rate"] is None else f"{latency['error_rate']:.2%}"
    lines += [
        "",
        f"Latency over {latency['requests']} served rows: p50 {_num(latency['p50_ms'], 1)} ms, "
        f"p95 {_num(latency['p95_ms'], 1)} ms, p99 {_num(latency['p99_ms'], 1)} ms; error rate {error_rate}",
    ]
    return "\n".join([*lines, *render_trust(result.get("trust"))])


def render_trust(trust: Any) -> list[str]:
    """What the report left out because an untrusted writer logged it (team stores)."""
    if not trust or trust["writers"] is None:
        return []
    lines = ["", f"Trusted writers: {', '.join(trust['writers']) or '-'}"]
    for what, count, writers in (
        ("labels", trust["ignored_labels"], trust["ignored_label_writers"]),
        ("prediction batches", trust["ignored_batches"], trust["ignored_batch_writers"]),
    ):
        if count:
            lines.append(
                f"Ignored {count} {what} from {len(writers)} untrusted "
                f"writer{'s' if len(writers) != 1 else ''}: {', '.join(writers)}"
            )
    return lines
