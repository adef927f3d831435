"""Registry commands: ``models``, ``model``, ``register``, ``promote``, ``alias``, ``unalias``,
``rollback``, ``lineage``, ``reproduce``.

They call :mod:`jupyter_mm.registry` with the CLI's store, so the rules (transition table,
gates from ``jupyter_mm_config.py``) and the audit trail are exactly those of the Python API.
A refused promotion prints its reason and exits with status 1; so does a run that does not
reproduce.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from ..formatting import short_id
from ..vocabulary import STAGES
from ._common import (
    add_command,
    add_json_flag,
    format_time,
    open_cli_store,
    print_json,
    render_table,
)

if TYPE_CHECKING:
    from ..entities import ModelVersion

REF_HELP = "name@stage, name@alias, name/VERSION or name/latest"
REASON_HELP = "why (kept in the audit trail)"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(
        subparsers,
        "models",
        run=cmd_models,
        summary="list registered models",
        description="List registered models with their production version, the versions "
        "in staging, aliases and the newest version.",
        examples=["jupyter mm models", "jupyter mm models --json"],
    )
    add_json_flag(p)

    p = add_command(
        subparsers,
        "model",
        run=cmd_model,
        summary="one model's versions and audit trail",
        description="Show one model: every version (stage, aliases, run, flavor) and the "
        "audit trail of every change, refused transitions included.",
        examples=["jupyter mm model churn", "jupyter mm model churn --json"],
    )
    p.add_argument("name", metavar="NAME")
    add_json_flag(p)

    p = add_command(
        subparsers,
        "register",
        run=cmd_register,
        summary="register a run's model artifact as a new version",
        description="Create the next version of model NAME from an artifact of RUN (logged "
        "with mm.log_model or mm.log_artifact). RUN is an id, a unique prefix or 'latest'.",
        examples=[
            "jupyter mm register latest --artifact model --name churn",
            "jupyter mm register 01JD3K --artifact model --name churn -d 'forest, 200 trees'",
        ],
    )
    p.add_argument("run", metavar="RUN")
    p.add_argument("--artifact", default="model", help="artifact name (default: model)")
    p.add_argument("--name", required=True, help="model name")
    p.add_argument("-d", "--description", help="what this version is")
    add_json_flag(p)

    p = add_command(
        subparsers,
        "promote",
        run=cmd_promote,
        summary="move a version to another stage (gates apply)",
        description="Move VERSION of NAME to STAGE. Allowed: none->staging, "
        "staging->production, production->staging, archived->staging, any->archived. "
        "Gates configured for STAGE (c.Registry.gates) must hold for the version's run. "
        "Promoting to production archives the previous production version. A refusal is "
        "recorded in the audit trail and exits with status 1.",
        examples=[
            "jupyter mm promote churn 3 staging --reason 'offline eval ok'",
            "jupyter mm promote churn 3 production --reason 'A/B test won'",
        ],
    )
    _add_version_arguments(p)
    p.add_argument("stage", metavar="STAGE", choices=STAGES)
    p.add_argument("--reason", help=REASON_HELP)
    p.add_argument(
        "--force",
        action="store_true",
        help="archive even a version a live `jupyter mm serve` is serving (refused otherwise)",
    )
    add_json_flag(p)

    p = add_command(
        subparsers,
        "alias",
        run=cmd_alias,
        summary="point an alias (e.g. champion) at a version",
        description="Point ALIAS at VERSION of NAME; a version of NAME holding it loses it. "
        "Load it with mm.load_model('NAME@ALIAS').",
        examples=["jupyter mm alias churn 3 champion"],
    )
    _add_version_arguments(p)
    p.add_argument("alias", metavar="ALIAS")
    p.add_argument("--reason", help=REASON_HELP)

    p = add_command(
        subparsers,
        "unalias",
        run=cmd_unalias,
        summary="remove an alias from a model",
        description="Remove ALIAS from the version of NAME holding it.",
        examples=["jupyter mm unalias churn champion"],
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("alias", metavar="ALIAS")

    p = add_command(
        subparsers,
        "rollback",
        run=cmd_rollback,
        summary="put the previous production version back",
        description="Archive the production version of NAME and put the previous production "
        "version back (the audit trail says which). Gates are not re-checked.",
        examples=["jupyter mm rollback churn --reason 'latency regression'"],
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("--reason", help=REASON_HELP)

    _register_lineage_and_reproduce(subparsers)


def _add_version_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME")
    parser.add_argument("version", metavar="VERSION", type=int)


def _register_lineage_and_reproduce(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(
        subparsers,
        "lineage",
        run=cmd_lineage,
        summary="from a model version back to its run, notebook, data and environment",
        description="Show what produced a model version: its run (params, metrics), the "
        "notebook checkpoint, the data digests, the environment and the version's audit "
        f"trail. REF is {REF_HELP}.",
        examples=["jupyter mm lineage churn@production", "jupyter mm lineage churn/3 --json"],
    )
    p.add_argument("ref", metavar="REF")
    add_json_flag(p)

    p = add_command(
        subparsers,
        "reproduce",
        run=cmd_reproduce,
        summary="re-execute a run's checkpoint and check it gives the same result",
        description="Check the run's input data against the recorded digests, re-execute "
        "its notebook checkpoint in a fresh kernel in a temporary directory, and compare "
        "metrics (relative tolerance), data digests and the environment. Exit status 1 "
        "with the reasons when the run does not reproduce. The store is only read.",
        examples=[
            "jupyter mm reproduce latest",
            "jupyter mm reproduce 01JD3K --tolerance 1e-3 --timeout 600 --json",
        ],
    )
    p.add_argument("run", metavar="RUN")
    p.add_argument(
        "--tolerance",
        type=float,
        metavar="T",
        help="relative metric tolerance (default: c.Registry.metric_tolerance, 1e-6)",
    )
    p.add_argument("--kernel", metavar="NAME", help="kernel name (default: the notebook's)")
    p.add_argument("--timeout", type=float, metavar="S", help="per-cell timeout in seconds")
    p.add_argument(
        "--run-anyway",
        action="store_true",
        help="re-execute even when input data changed (to see how far the result moves)",
    )
    p.add_argument(
        "--keep", action="store_true", help="keep the temporary directory and print its path"
    )
    add_json_flag(p)


def _version_row(v: ModelVersion) -> list[str]:
    return [
        str(v.version),
        v.stage,
        ", ".join(v.aliases) or "-",
        short_id(v.run_id),
        v.flavor,
        format_time(v.created_time),
        v.description or "",
    ]


VERSION_HEADERS = ["VERSION", "STAGE", "ALIASES", "RUN", "FLAVOR", "CREATED", "DESCRIPTION"]


def _print_version(action: str, v: ModelVersion) -> None:
    aliases = f" [{', '.join(v.aliases)}]" if v.aliases else ""
    print(f"{action} {v.model} version {v.version}: {v.stage}{aliases} (run {short_id(v.run_id)})")


def cmd_models(args: argparse.Namespace) -> int:
    with open_cli_store() as store:
        listing = [(m, store.list_versions(m.name)) for m in store.list_models()]
    if args.json:
        print_json(
            {
                "models": [
                    {**m.to_dict(), "versions": [v.to_dict() for v in versions]}
                    for m, versions in listing
                ],
                "count": len(listing),
            }
        )
        return 0
    if not listing:
        print("No registered models yet; register one with `jupyter mm register`.")
        return 0
    rows = []
    for model, versions in listing:
        production = next((str(v.version) for v in versions if v.stage == "production"), "-")
        staging = ", ".join(str(v.version) for v in versions if v.stage == "staging") or "-"
        aliases = ", ".join(f"{a}={v.version}" for v in versions for a in v.aliases) or "-"
        rows.append(
            [
                model.name,
                str(len(versions)),
                production,
                staging,
                aliases,
                format_time(versions[-1].created_time if versions else model.created_time),
            ]
        )
    headers = ["MODEL", "VERSIONS", "PRODUCTION", "STAGING", "ALIASES", "LATEST"]
    print(render_table(headers, rows))
    return 0


def cmd_model(args: argparse.Namespace) -> int:
    from ..registry import get_model

    with open_cli_store() as store:
        detail = get_model(args.name, store=store)
    if args.json:
        print_json(detail.to_dict())
        return 0
    print(f"{detail.model.name}  {detail.model.description or ''}".rstrip())
    print(render_table(VERSION_HEADERS, [_version_row(v) for v in detail.versions]))
    if detail.events:
        print("\nAudit trail:")
        rows = [
            [
                format_time(e.time),
                e.user or "-",
                e.action,
                str(e.version or "-"),
                f"{e.from_stage or '-'} -> {e.to_stage or '-'}"
                if e.from_stage or e.to_stage
                else "",
                e.readable_reason(),
            ]
            for e in detail.events
        ]
        print(render_table(["TIME", "USER", "ACTION", "VERSION", "STAGES", "REASON"], rows))
    return 0


def cmd_register(args: argparse.Namespace) -> int:
    from ..registry import register_model

    with open_cli_store() as store:
        version = register_model(args.run, args.artifact, args.name, args.description, store=store)
    if args.json:
        print_json(version.to_dict())
    else:
        _print_version("Registered", version)
    return 0


def cmd_promote(args: argparse.Namespace) -> int:
    from ..registry import transition

    with open_cli_store() as store:
        before = {v.version: v.stage for v in store.list_versions(args.name)}
        version = transition(
            args.name, args.version, args.stage, args.reason, store=store, force=args.force
        )
        after = {v.version: v.stage for v in store.list_versions(args.name)}
    superseded = [
        n
        for n, stage in after.items()
        if n != args.version and before.get(n) == "production" and stage == "archived"
    ]
    if args.json:
        print_json({"version": version.to_dict(), "archived": superseded})
        return 0
    _print_version("Moved", version)
    for number in superseded:
        print(f"Archived {args.name} version {number} (was in production)")
    return 0


def cmd_alias(args: argparse.Namespace) -> int:
    from ..registry import set_alias

    with open_cli_store() as store:
        version = set_alias(args.name, args.version, args.alias, args.reason, store=store)
    _print_version("Aliased", version)
    return 0


def cmd_unalias(args: argparse.Namespace) -> int:
    from ..registry import remove_alias

    with open_cli_store() as store:
        version = remove_alias(args.name, args.alias, store=store)
    print(f"Removed alias {args.alias} from {version.model} version {version.version}")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from ..registry import rollback

    with open_cli_store() as store:
        version = rollback(args.name, args.reason, store=store)
    _print_version("Rolled back: production is", version)
    return 0


def cmd_lineage(args: argparse.Namespace) -> int:
    from ..registry.lineage import lineage, lineage_text

    with open_cli_store() as store:
        data = lineage(args.ref, store=store)
    if args.json:
        print_json(data)
    else:
        print(lineage_text(data))
    return 0


def _progress(report: Any) -> None:
    if report.done:
        mark = "" if report.ok else "  FAILED"
        print(f"  [{report.position}/{report.total}] {report.summary}{mark}", file=sys.stderr)


def cmd_reproduce(args: argparse.Namespace) -> int:
    from ..registry.reproduce import reproduce

    with open_cli_store() as store:
        report = reproduce(
            args.run,
            tolerance=args.tolerance,
            store=store,
            kernel_name=args.kernel,
            timeout=args.timeout,
            run_anyway=args.run_anyway,
            keep_workdir=args.keep,
            progress=None if args.json else _progress,
        )
    if args.json:
        print_json(report.to_dict())
    else:
        print(report.to_text())
        if report.workdir:
            print(f"Work directory kept at {report.workdir}")
    return 0 if report.ok else 1
