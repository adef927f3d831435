"""``jupyter mm run``: execute a notebook headless and report the runs it recorded."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import MMError
from ..formatting import format_duration, short_id
from ..store_names import ENV_ARTIFACTS, ENV_STORE
from ._common import (
    EPILOG_CLASS,
    format_value,
    open_cli_store,
)

if TYPE_CHECKING:
    from ..runner import CellProgress

SUMMARY_WIDTH = 48  # characters of a cell's first line shown in progress lines


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run",
        help="execute a notebook headless, tracking its %%%%track cells",
        description="Execute NOTEBOOK top to bottom in a fresh kernel. %%track cells record "
        "runs exactly as in JupyterLab (the live notebook is sent to the kernel as their "
        "checkpoint). Parameters are injected papermill-style after the cell tagged "
        "'parameters' (else at the top). The input notebook is never modified; use -o to "
        "keep the executed copy. Exit status 1 when a cell fails.",
        epilog="examples:\n  jupyter mm run train.ipynb\n"
        "  jupyter mm run train.ipynb -p C=0.5 -p model=rf -o out/train-rf.ipynb\n"
        "  jupyter mm run train.ipynb --kernel python3 --timeout 600 --cwd data/",
        formatter_class=EPILOG_CLASS,
    )
    p.add_argument("notebook", metavar="NOTEBOOK")
    p.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a parameter (a Python literal, else a string); repeatable",
    )
    p.add_argument("-o", "--output", metavar="PATH", help="write the executed notebook here")
    p.add_argument("--kernel", metavar="NAME", help="kernel name (default: the notebook's)")
    p.add_argument(
        "--timeout", type=float, metavar="S", help="fail a cell running longer than S seconds"
    )
    p.add_argument("--cwd", metavar="DIR", help="kernel working directory (default: notebook's)")
    p.set_defaults(func=cmd_run)


def _print_progress(report: CellProgress) -> None:
    """One line per cell. On a terminal the line starts when the cell starts (a long
    training cell shows what is running) and is completed when it ends; in a log file
    only the finished line is written."""
    summary = report.summary
    if len(summary) > SUMMARY_WIDTH:
        summary = summary[: SUMMARY_WIDTH - 1] + "…"
    head = f"[{report.position}/{report.total}] cell {report.cell_index}  {summary}  "
    interactive = sys.stdout.isatty()
    if not report.done:
        if interactive:
            print(head, end="", flush=True)
        return
    mark = "" if report.ok else "  FAILED"
    runs = "".join(f"  -> run {short_id(r)}" for r in report.run_ids)
    tail = f"{format_duration(report.duration)}{runs}{mark}"
    print(tail if interactive else head + tail, flush=True)


def _print_runs(run_ids: list[str], cwd: str) -> None:
    """One line per recorded run, read back from the store the kernel wrote to."""
    try:
        with open_cli_store(cwd=cwd) as store:
            runs = [store.get_run(r) for r in run_ids]
            metrics = store.latest_metrics(run_ids)
    except MMError as exc:
        # The runs exist (the kernel displayed them); only the summary lacks details.
        print(f"(could not read the store for details: {exc})", file=sys.stderr)
        for run_id in run_ids:
            print(f"  {run_id}")
        return
    for run in runs:
        shown = " ".join(
            f"{k}={format_value(v)}" for k, v in list(metrics.get(run.id, {}).items())[:3]
        )
        print(f"  {run.id}  {run.name or '-'}  {run.status}  {shown}".rstrip())


def _pin_store_for_kernel() -> None:
    """Resolve the store from where the user typed the command and hand it to the kernel.

    The kernel runs in the notebook's directory; left to itself it would resolve (and, with
    no store above it, create) a store there, and the ``jupyter mm runs`` typed next in the
    same terminal would not find those runs. Resolving here keeps CLI and kernel on one store.

    The store is also opened once here: one that cannot be used (written by a newer
    jupyter-mm, read-only, broken) is reported before a possibly long notebook runs with
    nothing recorded.
    """
    if not os.environ.get(ENV_STORE):
        from ..config import resolve_store

        location = resolve_store(cwd=os.getcwd(), create=True)
        os.environ[ENV_STORE] = location.url
        os.environ[ENV_ARTIFACTS] = location.artifact_root
    from ..store import open_store

    open_store(cwd=os.getcwd(), for_writing=True).close()


def cmd_run(args: argparse.Namespace) -> int:
    from ..runner import parse_parameters, run_notebook  # not at import: see docs of main()

    parameters = parse_parameters(args.param)
    result = run_notebook(
        args.notebook,
        parameters=parameters,
        output=args.output,
        kernel_name=args.kernel,
        timeout=args.timeout,
        cwd=args.cwd,
        progress=_print_progress,
        before_kernel=_pin_store_for_kernel,
    )
    executed = len(result.cells)
    print(
        f"Executed {executed} cell{'s' if executed != 1 else ''} in "
        f"{format_duration(result.duration)}; "
        f"{len(result.run_ids)} run{'s' if len(result.run_ids) != 1 else ''} recorded"
        + (":" if result.run_ids else ".")
    )
    if result.run_ids:
        kernel_cwd = args.cwd or str(Path(result.path).parent)
        _print_runs(result.run_ids, kernel_cwd)
    if result.output:
        print(f"Executed notebook written to {result.output}")
    if result.failure is not None:
        print(f"jupyter mm: error: {result.failure}", file=sys.stderr)
        return 1
    return 0
