"""``reproduce``: re-execute a run's notebook checkpoint and check that it gives the same result.

Steps, each one reported:

1. the run's recorded input files and directories — those its cell read and the upstream
   ones earlier cells of its session read — are hashed again *first*: a changed or
   missing input is a reason the run cannot reproduce, and (unless ``run_anyway``) nothing
   is executed — re-running on other data proves nothing and may take hours;
2. the checkpoint (the notebook exactly as it was when the run started), cut after the
   tracked cell, is written to a fresh temporary directory and executed top to bottom in a
   fresh kernel by :func:`jupyter_mm.runner.run_notebook`. Inputs (upstream ones too) under the
   notebook's directory are copied to the same relative place, so relative paths in the
   code still resolve (copied, not linked, so the re-run never writes into the user's
   files); inputs elsewhere are read in place by their absolute paths. The re-run records into a scratch
   store inside the temporary directory: the user's store is only read;
3. the re-run's metrics are compared with the recorded ones within a relative tolerance,
   its data digests with the recorded ones (in-memory objects included), and the kernel
   environment is diffed against the recorded one (shown, not a failure by itself).

The run reproduces when every check passes; otherwise ``reasons`` says why, one line each.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import ENV_ARTIFACTS, ENV_STORE
from ..errors import InvalidInput, MMError
from . import _store

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from ..entities import DataRef, RunDetail
    from ..runner import CellProgress
    from ..store.abstract import AbstractStore


@dataclass
class ReproduceReport:
    """What ``reproduce`` found. ``ok`` is True only when every check passed."""

    run_id: str
    ok: bool = False
    executed: bool = False
    new_run_id: str | None = None
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: one per recorded input: name, kind, recorded, current, status (same|changed|missing)
    data: list[dict[str, Any]] = field(default_factory=list)
    #: one per recorded metric: name, recorded, reproduced, relative_difference, ok
    metrics: list[dict[str, Any]] = field(default_factory=list)
    #: python: [recorded, now] when it differs; packages: added/removed/changed
    environment: dict[str, Any] = field(default_factory=dict)
    tolerance: float = 0.0
    duration: float = 0.0
    workdir: str | None = None

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)

    def to_text(self) -> str:
        from ..cli._common import display_path, format_value
        from ..formatting import format_duration, short_digest

        lines = []
        for item in self.data:
            mark = "ok" if item["status"] == "same" else item["status"].upper()
            upstream = " (upstream)" if item.get("role") == "upstream" else ""
            lines.append(
                f"data     {mark:<8} {display_path(item['name'])}{upstream}  "
                f"{short_digest(item['recorded'])} -> {short_digest(item['current']) or '-'}"
            )
        for item in self.metrics:
            reproduced = item["reproduced"]
            shown = "-" if reproduced is None else format_value(reproduced)
            mark = "ok" if item["ok"] else "DIFFERS"
            lines.append(
                f"metric   {mark:<8} {item['name']}: {format_value(item['recorded'])} -> {shown}"
            )
        env = self.environment
        if env.get("python"):
            lines.append(f"env      Python {env['python'][0]} -> {env['python'][1]}")
        packages = env.get("packages") or {}
        for name, version in (packages.get("added") or {}).items():
            lines.append(f"env      + {name}=={version}")
        for name, version in (packages.get("removed") or {}).items():
            lines.append(f"env      - {name}=={version}")
        for name, (old, new) in (packages.get("changed") or {}).items():
            lines.append(f"env      ~ {name} {old} -> {new}")
        if self.executed and not env:
            lines.append("env      same packages and Python as recorded")
        lines += [f"warning  {w}" for w in self.warnings]
        verdict = (
            f"Run {self.run_id} reproduces" if self.ok else f"Run {self.run_id} does not reproduce:"
        )
        lines.append(
            f"{verdict} (tolerance {self.tolerance:g}, {format_duration(self.duration)})"
            if self.ok
            else verdict
        )
        lines += [f"  - {reason}" for reason in self.reasons]
        return "\n".join(lines)


#: data a re-run needs: what the tracked cell read and what earlier cells read (upstream)
_READ_ROLES = ("input", "upstream")


def _described(ref: DataRef) -> str:
    """``input data/x.csv`` / ``upstream input data/x.csv (read by In [2] (cell …))``."""
    if ref.role != "upstream":
        return f"input {ref.name}"
    reader = (ref.detail or "").rpartition("read by ")[2]
    return f"upstream input {ref.name}" + (f" (read by {reader})" if reader else "")


def _check_inputs(detail: RunDetail, report: ReproduceReport) -> None:
    from ..capture.data import describe_path

    for ref in detail.data:
        if ref.role not in _READ_ROLES or ref.kind not in ("file", "directory"):
            continue
        item = {
            "name": ref.name,
            "role": ref.role,
            "kind": ref.kind,
            "recorded": ref.digest,
            "current": None,
        }
        if not os.path.exists(ref.name):
            item["status"] = "missing"
            report.reasons.append(f"{_described(ref)} no longer exists")
        else:
            try:
                current = describe_path(ref.name, "input")
            except InvalidInput as exc:
                item["status"] = "missing"
                report.reasons.append(str(exc).rstrip("."))
            else:
                item["current"] = current.digest
                same = current.digest == ref.digest and current.algorithm == ref.algorithm
                item["status"] = "same" if same else "changed"
                if not same:
                    report.reasons.append(f"{_described(ref)} changed since the run")
        report.data.append(item)


def _notebook_up_to_cell(nb: Any, cell_id: str | None) -> Any:
    """The checkpoint without the cells after the tracked one (they did not produce the
    run's result, and may fail or take long for reasons unrelated to it)."""
    if cell_id:
        for index, cell in enumerate(nb.cells):
            if cell.get("id") == cell_id:
                del nb.cells[index + 1 :]
                break
    return nb


def _copy_inputs(detail: RunDetail, base: Path, workdir: Path) -> None:
    """Copy inputs found under the original notebook directory into ``workdir`` at the
    same relative place, so relative paths in the code resolve as they did. Copies, not
    links: a notebook that regenerates its data would otherwise write through a link into
    the user's own files."""
    for ref in detail.data:
        if ref.role not in _READ_ROLES or ref.kind == "object":
            continue
        try:
            relative = Path(ref.name).relative_to(base)
        except ValueError:
            continue  # outside the notebook's directory: read in place by its absolute path
        target = workdir / relative
        source = Path(ref.name)
        if target.exists() or not source.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)


@contextmanager
def _scratch_store(workdir: Path) -> Iterator[str]:
    """Point the kernel (it inherits this process's environment) at a store of its own."""
    directory = workdir / ".jupyter_mm"
    (directory / "objects").mkdir(parents=True)
    url = f"sqlite:///{directory / 'mm.db'}"
    saved = {key: os.environ.get(key) for key in (ENV_STORE, ENV_ARTIFACTS)}
    os.environ[ENV_STORE] = url
    os.environ[ENV_ARTIFACTS] = str(directory / "objects")
    try:
        yield url
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _pick_new_run(scratch: AbstractStore, run_ids: list[str], old: RunDetail) -> str | None:
    runs = [scratch.get_run(r) for r in run_ids]
    for match in (
        lambda r: old.run.cell_id is not None and r.cell_id == old.run.cell_id,
        lambda r: old.run.name is not None and r.name == old.run.name,
    ):
        found = [r for r in runs if match(r)]
        if found:
            return found[-1].id
    return runs[0].id if len(runs) == 1 else None


def _compare_metrics(old: RunDetail, new: RunDetail, report: ReproduceReport) -> None:
    from ..entities import latest_metric_values

    recorded, reproduced = latest_metric_values(old.metrics), latest_metric_values(new.metrics)
    for name, value in sorted(recorded.items()):
        again = reproduced.get(name)
        ok = again is not None and (
            (math.isnan(value) and math.isnan(again))
            or math.isclose(value, again, rel_tol=report.tolerance, abs_tol=1e-12)
        )
        relative = None
        if again is not None and not (math.isnan(value) or math.isnan(again)):
            relative = abs(again - value) / max(abs(value), abs(again), 1e-300)
        report.metrics.append(
            {
                "name": name,
                "recorded": value,
                "reproduced": again,
                "relative_difference": relative,
                "ok": ok,
            }
        )
        if again is None:
            report.reasons.append(f"metric {name} was not recorded by the re-run")
        elif not ok:
            shown = f"{relative:.3g}" if relative is not None else "NaN"
            report.reasons.append(
                f"metric {name}: recorded {value!r}, reproduced {again!r} (relative "
                f"difference {shown} > tolerance {report.tolerance:g})"
            )


def _compare_data(
    old: RunDetail, new: RunDetail, workdir: Path, base: Path | None, report: ReproduceReport
) -> None:
    """Inputs the re-run read (files via their original paths, objects by name) must have
    the recorded digests; files read from the work directory's copies map back."""

    def original(ref: DataRef) -> str:
        if base is not None and ref.kind != "object":
            try:
                return str(base / Path(ref.name).relative_to(workdir))
            except ValueError:
                pass
        return ref.name

    recorded = {r.name: r for r in old.data if r.role in _READ_ROLES}
    for ref in new.data:
        if ref.role not in _READ_ROLES:
            continue
        before = recorded.get(original(ref))
        if before is not None and before.digest != ref.digest:
            report.reasons.append(f"the re-run read different data as {original(ref)}")


def _compare_environment(old: RunDetail, new: RunDetail, report: ReproduceReport) -> None:
    from ..capture.environment import diff_packages

    if old.environment is None or new.environment is None:
        report.warnings.append("no environment recorded for the original run; not compared")
        return
    if old.environment.python != new.environment.python:
        report.environment["python"] = [old.environment.python, new.environment.python]
    packages = diff_packages(old.environment, new.environment)
    if any(packages.values()):
        report.environment["packages"] = packages


def reproduce(
    run: str,
    *,
    tolerance: float | None = None,
    store: AbstractStore | None = None,
    kernel_name: str | None = None,
    timeout: float | None = None,
    run_anyway: bool = False,
    keep_workdir: bool = False,
    progress: Callable[[CellProgress], None] | None = None,
) -> ReproduceReport:
    """Re-execute run ``run`` (an id, a prefix or ``latest``) and compare; see the module
    docstring. ``tolerance`` defaults to ``c.Registry.metric_tolerance``."""
    import nbformat

    from ..capture.checkpoint import load_checkpoint
    from ..runner import run_notebook
    from ..store import open_store
    from .rules import make_registry

    store = _store(store)
    if tolerance is None:
        tolerance = make_registry().metric_tolerance
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or tolerance < 0:
        raise InvalidInput(f"The tolerance must be a number >= 0, not {tolerance!r}.")
    started = time.monotonic()
    old = store.get_run_detail(store.resolve_run(run).id)
    report = ReproduceReport(run_id=old.run.id, tolerance=float(tolerance))
    if not old.run.checkpoint_digest:
        report.reasons.append("the run has no notebook checkpoint to re-execute")
        return report
    _check_inputs(old, report)
    if report.reasons and not run_anyway:
        report.reasons.append("not re-executed: its inputs differ from the recorded ones")
        report.duration = time.monotonic() - started
        return report
    for flag in old.run.flags:
        report.warnings.append(f"{flag.message} (the re-run executes top to bottom)")

    nb = _notebook_up_to_cell(
        load_checkpoint(store.blobs, old.run.checkpoint_digest), old.run.cell_id
    )
    workdir = Path(tempfile.mkdtemp(prefix="mm-reproduce-")).resolve()
    recorded_path = old.run.notebook_path
    base = Path(recorded_path).parent if recorded_path else None
    notebook = workdir / (Path(recorded_path).name if recorded_path else "checkpoint.ipynb")
    try:
        nbformat.write(nb, str(notebook))
        if base is not None:
            _copy_inputs(old, base, workdir)
        with _scratch_store(workdir) as url:
            result = run_notebook(
                notebook, kernel_name=kernel_name, timeout=timeout, cwd=workdir, progress=progress
            )
        report.executed = True
        if result.failure is not None:
            report.reasons.append(f"the re-run failed: {result.failure}")
        with open_store(url) as scratch:
            new_id = _pick_new_run(scratch, result.run_ids, old) if result.run_ids else None
            if new_id is None:
                report.reasons.append("the re-run recorded no run for the tracked cell")
            else:
                report.new_run_id = new_id
                new = scratch.get_run_detail(new_id)
                if new.run.status != "finished":
                    report.reasons.append(f"the re-run ended {new.run.status}: {new.run.error}")
                _compare_metrics(old, new, report)
                _compare_data(old, new, workdir, base, report)
                _compare_environment(old, new, report)
    except MMError as exc:
        report.reasons.append(f"the re-run could not be executed: {exc}")
    finally:
        if keep_workdir:
            report.workdir = str(workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report.ok = report.executed and not report.reasons
    report.duration = time.monotonic() - started
    return report
