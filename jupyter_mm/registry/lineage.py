"""Lineage: from a registered version back to everything that produced it.

version → run → notebook checkpoint → data digests → environment, plus the version's audit
trail. This is what an auditor starts from ("which notebook, data and packages made the
model in production?"), so it is one plain dict with a stable shape (``jupyter mm lineage
--json`` prints it) and a text rendering for the terminal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _store, resolve_version

if TYPE_CHECKING:
    from ..store.abstract import AbstractStore

#: packages shown in the text rendering (the JSON has all of them)
SHOWN_PACKAGES = 12


def lineage(ref: str, *, store: AbstractStore | None = None) -> dict[str, Any]:
    """The lineage of the version ``ref`` names (``churn@production``, ``churn/3``)."""
    from ..entities import latest_metric_values

    store = _store(store)
    version = resolve_version(ref, store=store)
    detail = store.get_run_detail(version.run_id)
    run = detail.run
    env = detail.environment
    return {
        "version": version.to_dict(),
        "run": {
            "id": run.id,
            "name": run.name,
            "status": run.status,
            "start_time": run.start_time,
            "end_time": run.end_time,
            "user": run.user,
            "host": run.host,
            "notebook_path": run.notebook_path,
            "cell_id": run.cell_id,
            "params": {p.name: p.value for p in detail.params},
            "metrics": latest_metric_values(detail.metrics),
        },
        "checkpoint": {
            "digest": run.checkpoint_digest,
            "source": run.checkpoint_source,
            "flags": [flag.to_dict() for flag in run.flags],
        },
        "data": [ref.to_dict() for ref in detail.data],
        "environment": None
        if env is None
        else {
            "id": env.id,
            "python": env.python,
            "platform": env.platform,
            "executable": env.executable,
            "git": env.git,
            "packages": env.packages,
            "modules": env.modules,
        },
        "events": [e.to_dict() for e in store.model_events(version.model, version.version)],
    }


def lineage_text(data: dict[str, Any]) -> str:
    """The lineage as indented text, top (version) to bottom (environment)."""
    from ..cli._common import display_path, format_time, format_value
    from ..formatting import short_digest

    v, run, checkpoint, env = data["version"], data["run"], data["checkpoint"], data["environment"]
    aliases = f" [{', '.join(v['aliases'])}]" if v["aliases"] else ""
    lines = [
        f"{v['model']} version {v['version']}  {v['stage']}{aliases}  flavor {v['flavor']}",
        f"  artifact  {v['artifact']}  blake3:{short_digest(v['digest'])}",
        f"  run       {run['id']}  {run['name'] or '-'}  {run['status']}  "
        f"{format_time(run['start_time'])}  by {run['user'] or '-'}@{run['host'] or '-'}",
    ]
    if run["params"]:
        lines.append(
            "            params: " + ", ".join(f"{k}={val}" for k, val in run["params"].items())
        )
    if run["metrics"]:
        lines.append(
            "            metrics: "
            + ", ".join(f"{k}={format_value(val)}" for k, val in run["metrics"].items())
        )
    notebook = display_path(run["notebook_path"])
    if checkpoint["digest"]:
        lines.append(
            f"  notebook  {notebook} (cell {run['cell_id'] or '-'})  checkpoint "
            f"{short_digest(checkpoint['digest'])} ({checkpoint['source']})"
        )
    else:
        lines.append(f"  notebook  {notebook}  no checkpoint recorded")
    lines += [f"            ! {flag['message']}" for flag in checkpoint["flags"]]
    lines.append(f"  data      {len(data['data'])} reference(s)")
    for ref in data["data"]:
        lines.append(
            f"            {ref['role']:<8} {ref['kind']:<9} {display_path(ref['name'])}  "
            f"{ref['algorithm']}:{short_digest(ref['digest'])}"
        )
    if env is None:
        lines.append("  env       not recorded")
    else:
        git = env["git"] or {}
        commit = git.get("commit")
        lines.append(
            f"  env       Python {env['python']} on {env['platform']}"
            + (
                f"  git {str(commit)[:10]}{' (dirty)' if git.get('dirty') else ''}"
                if commit
                else ""
            )
        )
        packages = sorted(env["packages"].items())
        shown = ", ".join(f"{name}=={ver}" for name, ver in packages[:SHOWN_PACKAGES])
        more = len(packages) - SHOWN_PACKAGES
        lines.append(f"            {shown}" + (f" … and {more} more" if more > 0 else ""))
    if data["events"]:
        lines.append("  events")
        for event in data["events"]:
            move = (
                f"{event['from_stage'] or '-'} -> {event['to_stage'] or '-'}"
                if event["from_stage"] or event["to_stage"]
                else ""
            )
            lines.append(
                f"            {format_time(event['time'])}  {event['user'] or '-'}  "
                f"{event['action']}  {move}  {event['reason'] or ''}".rstrip()
            )
    return "\n".join(lines)
