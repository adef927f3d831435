"""Entities to wire bodies (the models of :mod:`.schema`).

Two things happen on the way out besides ``to_dict``: every Run gains ``notebook_relpath``
(the frontend only knows paths relative to the server's root directory), and metric values
that are not finite become the strings ``"nan"``/``"inf"``/``"-inf"`` (JSON has no NaN, and
the browser's ``JSON.parse`` rejects the bare token Python's json module would write).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from typing import Any, cast

from ..entities import Metric, Model, ModelVersion, Run, RunDetail
from ..notebook_paths import canonical_notebook_path
from . import schema

#: metric columns a listing row carries when the client names none
DEFAULT_METRIC_COLUMNS = 20


def metric_value(value: float) -> schema.MetricValue:
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


class PathMapper:
    """Maps between absolute notebook paths (as runs record them) and paths relative to the
    server's root directory (as the frontend knows them)."""

    def __init__(self, root_dir: str) -> None:
        self.root = os.path.normpath(os.path.abspath(root_dir))
        # runs record symlink-free paths (jupyter_mm.notebook_paths); a root reached through
        # a link must still contain them
        self._roots = list(dict.fromkeys([os.path.realpath(self.root), self.root]))

    def relative(self, path: str | None) -> str | None:
        """``path`` relative to the root with ``/`` separators, or None when it is not
        strictly below the root."""
        if not path:
            return None
        path = os.path.normpath(path)
        for root in self._roots:
            try:
                if os.path.commonpath([root, path]) != root or path == root:
                    continue
            except ValueError:  # another drive on Windows, or a relative path in an old run
                return None
            return os.path.relpath(path, root).replace(os.sep, "/")
        return None

    def absolute(self, path: str) -> str:
        """The path runs record (absolute, symlink-free: see jupyter_mm.notebook_paths) for
        a notebook given relative to the root or absolute. Used only as a filter value,
        never to open a file."""
        if not os.path.isabs(path):
            path = os.path.join(self.root, *path.split("/"))
        return canonical_notebook_path(os.path.normpath(path)) or path


def run_body(run: Run, paths: PathMapper) -> schema.Run:
    body = run.to_dict()
    body["notebook_relpath"] = paths.relative(run.notebook_path)
    return cast(schema.Run, body)


def run_dict_body(run: Mapping[str, Any], paths: PathMapper) -> schema.Run:
    """As :func:`run_body`, for a run already turned into a dict (inside ``RunDiff``)."""
    body = dict(run)
    body["notebook_relpath"] = paths.relative(body.get("notebook_path"))
    return cast(schema.Run, body)


_SUMMARY_RUN_FIELDS = [f.name for f in dataclasses.fields(Run) if f.name != "execution_log"]


def summary_body(
    run: Run, latest: Mapping[str, float], names: list[str] | None, paths: PathMapper
) -> schema.RunSummary:
    """A listing row: the run without its execution log, with the latest value of the
    requested metrics (or the first DEFAULT_METRIC_COLUMNS by name when none were named)."""
    # Field by field instead of to_dict(): dataclasses.asdict deep-copies the execution log
    # only for it to be thrown away, which was most of a page's cost.
    body: dict[str, Any] = {name: getattr(run, name) for name in _SUMMARY_RUN_FIELDS}
    body["tags"] = dict(run.tags)
    body["flags"] = [flag.to_dict() for flag in run.flags]
    body["warnings"] = list(run.warnings)
    body["notebook_relpath"] = paths.relative(run.notebook_path)
    chosen = sorted(latest)[:DEFAULT_METRIC_COLUMNS] if names is None else names
    body["metrics"] = {n: metric_value(latest[n]) for n in chosen if n in latest}
    body["flag_count"] = len(run.flags)
    body["warning_count"] = len(run.warnings)
    return cast(schema.RunSummary, body)


def _metric_body(metric: Metric) -> schema.Metric:
    body = metric.to_dict()
    body["value"] = metric_value(metric.value)
    return cast(schema.Metric, body)


def detail_body(detail: RunDetail, paths: PathMapper) -> schema.RunDetail:
    return {
        "run": run_body(detail.run, paths),
        "params": [cast(schema.Param, p.to_dict()) for p in detail.params],
        "metrics": [_metric_body(m) for m in detail.metrics],
        "data": [cast(schema.DataRef, d.to_dict()) for d in detail.data],
        "artifacts": [cast(schema.Artifact, a.to_dict()) for a in detail.artifacts],
        "environment": (
            None
            if detail.environment is None
            else cast(schema.Environment, detail.environment.to_dict())
        ),
        "outputs": list(detail.outputs),
    }


def diff_body(diff: dict[str, Any], paths: PathMapper) -> schema.RunDiff:
    """``RunDiff.to_dict()`` with the two runs' relative notebook paths."""
    body = dict(diff)
    body["a"] = run_dict_body(diff["a"], paths)
    body["b"] = run_dict_body(diff["b"], paths)
    return cast(schema.RunDiff, body)


def event_page_body(events: list[Any], next_token: str | None) -> schema.EventPage:
    return {
        "events": [cast(schema.Event, e.to_dict()) for e in events],
        "next_token": next_token,
    }


# -- model registry -------------------------------------------------------------------------


def version_body(version: ModelVersion) -> schema.ModelVersion:
    return cast(schema.ModelVersion, version.to_dict())


def model_summary_body(model: Model, versions: list[ModelVersion]) -> schema.ModelSummary:
    """A ``GET /models`` row from a model and its versions (oldest first)."""
    production = [v.version for v in versions if v.stage == "production"]
    return {
        "name": model.name,
        "description": model.description,
        "created_time": model.created_time,
        "latest_version": versions[-1].version if versions else None,
        "production": production[-1] if production else None,
        "staging": [v.version for v in versions if v.stage == "staging"],
        "aliases": {alias: v.version for v in versions for alias in v.aliases},
        "version_count": len(versions),
    }


def version_row_body(
    version: ModelVersion, run_name: str | None, latest: Mapping[str, float]
) -> schema.VersionRow:
    body = dict(version.to_dict())
    body["run_name"] = run_name
    body["metrics"] = {name: metric_value(value) for name, value in sorted(latest.items())}
    return cast(schema.VersionRow, body)


def lineage_body(lineage: dict[str, Any], paths: PathMapper) -> schema.Lineage:
    """``registry.lineage.lineage()`` for the browser: the run's root-relative notebook path
    and non-finite metrics as strings (the CLI's JSON keeps them as floats)."""
    body = dict(lineage)
    run = dict(lineage["run"])
    run["notebook_relpath"] = paths.relative(run.get("notebook_path"))
    run["metrics"] = {name: metric_value(value) for name, value in run["metrics"].items()}
    body["run"] = run
    return cast(schema.Lineage, body)
