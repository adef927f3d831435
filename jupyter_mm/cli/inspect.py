"""Reading commands: ``runs``, ``show``, ``diff``, ``checkout``, ``env``."""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Conflict, InvalidInput, NotFound
from ..formatting import checkpoint_source_label, format_duration, short_digest, short_id
from ..notebook_paths import canonical_notebook_path
from ..vocabulary import RUN_STATUSES
from ._common import (
    EPILOG_CLASS,
    add_json_flag,
    display_path,
    format_size,
    format_time,
    format_value,
    iter_all_runs,
    open_cli_store,
    open_existing_cli_store,
    print_json,
    render_table,
    run_summary,
)

if TYPE_CHECKING:
    from ..entities import Run, RunDetail

KEY_METRICS = 3  # metric columns shown in the runs table
RUN_HELP = "a run id, a unique id prefix (4+ characters) or 'latest'"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "runs",
        help="list recorded runs",
        description="List recorded runs, newest first.",
        epilog="examples:\n  jupyter mm runs\n  jupyter mm runs --notebook train.ipynb "
        "--status failed\n  jupyter mm runs --metric-filter 'acc>=0.9' --order metric:acc\n"
        "  jupyter mm runs --all --json > runs.json",
        formatter_class=EPILOG_CLASS,
    )
    p.add_argument("--notebook", metavar="PATH", help="only runs of this notebook")
    p.add_argument("--status", choices=RUN_STATUSES, help="only runs with this status")
    p.add_argument(
        "--metric-filter",
        action="append",
        default=[],
        metavar="NAME<OP>NUMBER",
        help="only runs whose latest value of a metric passes, e.g. 'acc>=0.9' (OP: < <= > "
        ">= ==); repeatable, all must hold",
    )
    p.add_argument(
        "--order",
        default="newest",
        metavar="ORDER",
        help="newest (default), oldest, or metric:NAME[:asc|desc] (by the metric's latest "
        "value, highest first unless :asc; runs without it are left out)",
    )
    p.add_argument("--limit", type=int, default=20, metavar="N", help="at most N (default 20)")
    p.add_argument("--all", action="store_true", help="every matching run (no limit)")
    add_json_flag(p)
    p.set_defaults(func=cmd_runs)

    p = subparsers.add_parser(
        "show",
        help="everything recorded for one run",
        description="Show everything recorded for one run: fields, params, metrics, data, "
        "artifacts, environment, checkpoint, reproducibility flags and warnings.\n"
        "RUN is a full id, a unique prefix (at least 4 characters) or 'latest'.",
        epilog="examples:\n  jupyter mm show latest\n  jupyter mm show 01JD3K --json",
        formatter_class=EPILOG_CLASS,
    )
    p.add_argument("run", metavar="RUN", help=RUN_HELP)
    add_json_flag(p)
    p.set_defaults(func=cmd_show)

    p = subparsers.add_parser(
        "diff",
        help="compare two runs",
        description="Compare two runs: notebook checkpoints (nbdime), params, metrics, data "
        "digests and packages.",
        epilog="examples:\n  jupyter mm diff 01JD3K 01JD4M\n"
        "  jupyter mm diff 01JD3K latest --ignore-outputs --json",
        formatter_class=EPILOG_CLASS,
    )
    p.add_argument("a", metavar="A", help="the base run (" + RUN_HELP + ")")
    p.add_argument("b", metavar="B", help="the run compared with A")
    p.add_argument(
        "--ignore-outputs", action="store_true", help="compare cell sources and metadata only"
    )
    add_json_flag(p)
    p.set_defaults(func=cmd_diff)

    p = subparsers.add_parser(
        "checkout",
        help="write a run's notebook checkpoint to a file",
        description="Write the notebook exactly as it was when the run started to PATH.",
        epilog="examples:\n  jupyter mm checkout latest -o restored.ipynb\n"
        "  jupyter mm checkout 01JD3K -o train.ipynb --force",
        formatter_class=EPILOG_CLASS,
    )
    p.add_argument("run", metavar="RUN", help=RUN_HELP)
    p.add_argument("-o", "--output", required=True, metavar="PATH", help="notebook to write")
    p.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    p.set_defaults(func=cmd_checkout)

    p = subparsers.add_parser(
        "env",
        help="requirements to recreate a run's environment",
        description="Print requirements to recreate the environment a run used: the Python "
        "version, pinned packages and the git commit.",
        epilog="examples:\n  jupyter mm env latest > requirements.txt\n"
        "  jupyter mm env 01JD3K --json",
        formatter_class=EPILOG_CLASS,
    )
    p.add_argument("run", metavar="RUN", help=RUN_HELP)
    add_json_flag(p)
    p.set_defaults(func=cmd_env)


# -- runs -----------------------------------------------------------------------------------


def _listed_runs(
    args: argparse.Namespace, filters: dict[str, Any]
) -> tuple[list[Run], dict[str, dict[str, float]], dict[str, dict[str, str]]]:
    """The runs ``jupyter mm runs`` lists, their latest metrics and params (none without a
    store: the listing is empty and creates nothing)."""
    opened = open_existing_cli_store()
    if opened is None:
        return [], {}, {}
    with opened as store:
        if args.all:
            runs = list(iter_all_runs(store, **filters))
        else:
            runs = store.search_runs(limit=args.limit, **filters).runs
        ids = [r.id for r in runs]
        metrics = store.latest_metrics(ids) if ids else {}
        params = store.params_of(ids) if ids else {}
    return runs, metrics, params


def cmd_runs(args: argparse.Namespace) -> int:
    if not args.all and not 1 <= args.limit <= 1000:
        raise InvalidInput("--limit must be between 1 and 1000 (use --all for every run).")
    filters: dict[str, Any] = {"status": args.status, "order": args.order}
    from ..entities import MetricFilter  # the dataclasses cost start-up time: not at import

    try:
        filters["metric_filters"] = [MetricFilter.parse(text) for text in args.metric_filter]
    except ValueError as exc:
        raise InvalidInput(f"--metric-filter: {exc}") from None
    if args.notebook:
        filters["notebook_path"] = canonical_notebook_path(args.notebook, os.getcwd())
    runs, metrics, params = _listed_runs(args, filters)

    if args.json:
        rows = []
        for run in runs:
            row = run_summary(run)
            row["params"] = params.get(run.id, {})
            row["metrics"] = metrics.get(run.id, {})
            rows.append(row)
        print_json({"runs": rows, "count": len(rows)})
        return 0
    if not runs:
        narrowed = args.notebook or args.status or args.metric_filter or args.order != "newest"
        print("No runs." if narrowed else "No runs recorded yet.")
        return 0
    table = []
    for run in runs:
        shown = list(metrics.get(run.id, {}).items())[:KEY_METRICS]
        table.append(
            [
                short_id(run.id),
                run.name or "-",
                run.status + (" !" if run.warnings or run.flags else ""),
                format_time(run.start_time),
                format_duration(run.duration),
                display_path(run.notebook_path),
                " ".join(f"{k}={format_value(v)}" for k, v in shown),
            ]
        )
    headers = ["ID", "NAME", "STATUS", "START", "DURATION", "NOTEBOOK", "METRICS"]
    print(render_table(headers, table))
    if any(run.warnings or run.flags for run in runs):
        print("! = warnings or reproducibility flags; see `jupyter mm show RUN`")
    return 0


# -- show -----------------------------------------------------------------------------------


def show_dict(detail: RunDetail) -> dict[str, Any]:
    """The ``show --json`` shape (documented in ``jupyter_mm.cli.JSON_SHAPES``)."""
    from ..entities import is_later_point

    run = detail.run
    metrics: dict[str, dict[str, Any]] = {}
    latest: dict[str, Any] = {}
    for point in detail.metrics:
        entry = metrics.setdefault(point.name, {"points": 0})
        entry["points"] += 1
        kept = latest.get(point.name)
        if kept is None or is_later_point(point.step, point.timestamp, kept.step, kept.timestamp):
            latest[point.name] = point
            entry["value"], entry["step"] = point.value, point.step
    env = detail.environment
    environment = None
    if env is not None:
        environment = {
            "id": env.id,
            "python": env.python,
            "platform": env.platform,
            "executable": env.executable,
            "packages": len(env.packages),
            "git": env.git,
        }
    data = run_summary(run)
    data["execution_log"] = [e.to_dict() for e in run.execution_log]
    return {
        "run": data,
        "params": {p.name: p.value for p in detail.params},
        "metrics": metrics,
        "data": [d.to_dict() for d in detail.data],
        "artifacts": [a.to_dict() for a in detail.artifacts],
        "environment": environment,
        "checkpoint": {"digest": run.checkpoint_digest, "source": run.checkpoint_source},
        "flags": [f.to_dict() for f in run.flags],
        "warnings": list(run.warnings),
        "outputs": list(detail.outputs),
    }


#: lines of one output `show` prints before it says how many more there are
SHOWN_OUTPUT_LINES = 12
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|[\x00-\x08\x0b-\x1f\x7f]")


def _terminal_text(value: Any) -> list[str]:
    """Lines of a stored text value, ANSI sequences and control characters removed (stored
    text comes from user code and must not drive the terminal)."""
    text = "".join(value) if isinstance(value, list) else str(value)
    lines = _CONTROL.sub("", text).splitlines()
    if len(lines) > SHOWN_OUTPUT_LINES:
        more = len(lines) - SHOWN_OUTPUT_LINES
        lines = [*lines[:SHOWN_OUTPUT_LINES], f"… {more} more line{'s' if more != 1 else ''}"]
    return lines


def _output_lines(output: dict[str, Any]) -> list[str]:
    """``show``'s few lines for one nbformat output."""
    kind = output.get("output_type")
    if kind == "stream":
        return [f"[{output.get('name')}]", *(f"  {ln}" for ln in _terminal_text(output["text"]))]
    if kind == "error":
        message = f"{output.get('ename')}: {output.get('evalue')}"
        return [f"[error] {_CONTROL.sub('', message)}"]
    data = output.get("data") or {}
    label = "[result]" if kind == "execute_result" else "[display]"
    kinds = ", ".join(f"{mime} ({format_size(len(str(value)))})" for mime, value in data.items())
    lines = [f"{label} {kinds}"]
    if "text/plain" in data:
        lines += [f"  {ln}" for ln in _terminal_text(data["text/plain"])]
    return lines


def cmd_show(args: argparse.Namespace) -> int:
    with open_cli_store() as store:
        run = store.resolve_run(args.run)
        detail = store.get_run_detail(run.id)
    shown = show_dict(detail)
    if args.json:
        print_json(shown)
        return 0
    print(_show_text(shown))
    return 0


def _section(title: str, lines: list[str]) -> list[str]:
    return ["", title, *(f"  {line}" for line in lines)] if lines else []


def _show_text(shown: dict[str, Any]) -> str:
    run = shown["run"]
    out = [
        f"Run {run['id']}" + (f"  {run['name']}" if run["name"] else ""),
        f"  status    {run['status']}" + (f" ({run['error']})" if run["error"] else ""),
        f"  started   {format_time(run['start_time'])}   duration "
        f"{format_duration(run['duration'])}",
        f"  notebook  {display_path(run['notebook_path'])}"
        + (f"  cell {run['cell_id']}" if run["cell_id"] else ""),
        f"  by        {run['user'] or '-'}@{run['host'] or '-'} (pid {run['pid'] or '-'})",
    ]
    if run["parent_id"]:
        out.append(f"  parent    {run['parent_id']}")
    if run["tags"]:
        out.append("  tags      " + ", ".join(f"{k}={v}" for k, v in run["tags"].items()))
    if run["note"]:
        out.append(f"  note      {run['note']}")
    out += _section("Params", [f"{k} = {v}" for k, v in shown["params"].items()])
    out += _section(
        "Metrics",
        [
            f"{name} = {format_value(m['value'])}  (step {m['step']}, {m['points']} point"
            f"{'s' if m['points'] != 1 else ''})"
            for name, m in shown["metrics"].items()
        ],
    )
    out += _section(
        "Data",
        [
            f"{d['role']:<8} {d['kind']:<9} {display_path(d['name'])}  {d['algorithm']}:"
            f"{short_digest(d['digest'])}  {format_size(d['size'])}"
            + (f"  {d['detail']}" if d.get("detail") else "")
            for d in shown["data"]
        ],
    )
    out += _section(
        "Artifacts",
        [
            f"{a['name']}  {short_digest(a['digest'])}  {format_size(a['size'])}  {a['media_type']}"
            for a in shown["artifacts"]
        ],
    )
    env = shown["environment"]
    if env is not None:
        git = env["git"] or {}
        git_line = "-"
        if git.get("commit"):
            git_line = f"{str(git['commit'])[:10]}" + (
                f" on {git['branch']}" if git.get("branch") else ""
            )
            git_line += " (dirty)" if git.get("dirty") else ""
        out += _section(
            "Environment",
            [
                f"python    {env['python']}",
                f"platform  {env['platform']}",
                f"git       {git_line}",
                f"packages  {env['packages']}",
            ],
        )
    checkpoint = shown["checkpoint"]
    out += _section(
        "Checkpoint",
        [
            f"{short_digest(checkpoint['digest']) or 'none'}  "
            f"(source: {checkpoint_source_label(checkpoint['source'])})"
        ],
    )
    out += _section(
        "Reproducibility",
        [f"{f['kind']}: {f['message']}" for f in shown["flags"]],
    )
    out += _section("Outputs", [ln for o in shown["outputs"] for ln in _output_lines(o)])
    out += _section("Warnings", list(shown["warnings"]))
    return "\n".join(out)


# -- diff -----------------------------------------------------------------------------------


def cmd_diff(args: argparse.Namespace) -> int:
    from ..diffing import diff_runs

    with open_cli_store() as store:
        a = store.resolve_run(args.a)
        b = store.resolve_run(args.b)
        result = diff_runs(store, a.id, b.id, ignore_outputs=args.ignore_outputs)
        if args.json:
            print_json(result.to_dict())
        else:
            print(result.to_text())
    return 0


# -- checkout -------------------------------------------------------------------------------


def cmd_checkout(args: argparse.Namespace) -> int:
    import nbformat

    from ..capture.checkpoint import load_run_notebook

    target = Path(args.output).expanduser()
    if target.is_dir():
        raise InvalidInput(f"{target} is a directory; give -o the notebook file to write.")
    if target.exists() and not args.force:
        raise Conflict(f"{target} exists already; pass --force to overwrite it.")
    if not target.parent.is_dir():
        raise InvalidInput(f"Cannot write {target}: its directory does not exist.")
    with open_cli_store() as store:
        run = store.resolve_run(args.run)
        if not run.checkpoint_digest:
            raise NotFound(
                f"Run {run.id} has no notebook checkpoint (it was recorded outside a notebook)."
            )
        # the tracked cell carries what it produced (the checkpoint is taken as it starts)
        nb = load_run_notebook(store.blobs, run)
    nbformat.validate(nb)
    # Write next to the target and rename so a failure never leaves half a notebook behind.
    fd, tmp = tempfile.mkstemp(prefix=".checkout-", suffix=".ipynb", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            nbformat.write(nb, handle)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    print(f"Wrote the checkpoint of run {short_id(run.id)} to {target}")
    return 0


# -- env ------------------------------------------------------------------------------------


def cmd_env(args: argparse.Namespace) -> int:
    from ..capture.environment import environment_requirements

    with open_cli_store() as store:
        run = store.resolve_run(args.run)
        if not run.environment_id:
            raise NotFound(f"Run {run.id} has no recorded environment.")
        env = store.get_environment(run.environment_id)
    requirements = environment_requirements(env)
    if args.json:
        print_json(
            {
                "run_id": run.id,
                "environment_id": env.id,
                "python": env.python,
                "platform": env.platform,
                "executable": env.executable,
                "git": env.git,
                "packages": env.packages,
                "requirements": requirements,
            }
        )
        return 0
    sys.stdout.write(requirements if requirements.endswith("\n") else requirements + "\n")
    return 0
