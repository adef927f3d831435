"""The run lifecycle and the Python API (``import jupyter_mm as mm``).

One process-wide default store is opened lazily on first use, so importing the package and
loading the IPython extension cost nothing until a run starts. An :class:`ActiveRun` buffers
metric points in memory and writes them with one ``log_batch`` transaction at most every
``METRIC_FLUSH_SECONDS`` (a background timer) or every ``METRIC_FLUSH_POINTS`` points, and
at the end — a training loop logging thousands of points costs a handful of transactions,
and a killed kernel loses at most the last interval.

The rule that shapes every method below: tracking never costs the user their work. Mistakes
in the user's own call (a metric that is not a number, a path that does not exist) raise
:class:`~jupyter_mm.errors.InvalidInput` at the call; anything going wrong inside capture or
the store is recorded in ``run.warnings`` and reported at the end of the run as exactly one
line on stderr, never as a traceback.

Layout: ``process`` holds what is created once per process (store, config, redactor, stat
cache), ``active`` the :class:`ActiveRun`, ``cell`` the AST reading of ``%%track`` cells;
this module is the public API on top of them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..entities import RUN_STATUSES, Artifact, Run, RunDetail
from ..errors import InvalidInput
from ..ids import new_id
from ..notebook_paths import canonical_notebook_path
from . import process as _proc
from .active import NO_ACTIVE_RUN, ActiveRun, check_name
from .process import (
    default_store,
    describe_exception,
    get_config,
    redact,
    redactor,
    set_default_store,
    stat_cache,
    store_directory,
)

if TYPE_CHECKING:
    import pandas

__all__ = [
    "NO_ACTIVE_RUN",
    "ActiveRun",
    "active_run",
    "default_store",
    "describe_exception",
    "get_config",
    "get_run",
    "log_artifact",
    "log_input",
    "log_metric",
    "log_metrics",
    "log_model",
    "log_output",
    "log_param",
    "log_params",
    "new_run",
    "prepare_run",
    "redact",
    "redactor",
    "runs",
    "set_default_store",
    "start_run",
    "stat_cache",
    "store_directory",
]


# -- module-level API ---------------------------------------------------------------------


def new_run(
    name: str | None = None,
    *,
    tags: Mapping[str, Any] | None = None,
    note: str | None = None,
    parent: ActiveRun | Run | str | None = None,
    notebook_path: str | None = None,
    cell_id: str | None = None,
) -> Run:
    """Build (but do not store) a Run entity with this process's user, host and pid. The
    parent defaults to the active run, so a ``start_run`` inside a tracked cell nests."""
    if name is not None and not isinstance(name, str):
        raise InvalidInput(f"A run name must be a string, not {type(name).__name__}.")
    if tags is not None and not isinstance(tags, Mapping):
        raise InvalidInput(f"Run tags must be a mapping of names to values, not {tags!r}.")
    clean_tags = {
        check_name("tag", k): v if isinstance(v, str) else repr(v) for k, v in (tags or {}).items()
    }
    if parent is None and _proc.state.stack:
        parent = _proc.state.stack[-1]
    parent_id = parent if isinstance(parent, str) or parent is None else parent.id
    return Run(
        id=new_id(),
        name=name,
        status="running",
        start_time=time.time(),
        notebook_path=canonical_notebook_path(notebook_path, os.getcwd()),
        cell_id=cell_id,
        user=_proc.state.user,
        host=_proc.state.host,
        pid=os.getpid(),
        process_start_time=_proc.process_start_time(),
        parent_id=parent_id,
        tags={k: _proc.redact_pair(k, v) for k, v in clean_tags.items()},
        note=redact(note) if note else None,
    )


def prepare_run(run: Run) -> ActiveRun:
    """An ActiveRun bound to the default store, not yet begun. If the store cannot be
    opened the run is detached: it still accepts every call and reports one warning line."""
    try:
        return ActiveRun(run, default_store())
    except Exception as exc:
        return ActiveRun(run, None, store_problem=describe_exception(exc))


def start_run(
    name: str | None = None,
    *,
    tags: Mapping[str, Any] | None = None,
    note: str | None = None,
    parent: ActiveRun | Run | str | None = None,
    notebook_path: str | None = None,
    checkpoint: bool = True,
) -> ActiveRun:
    """Start a run (also outside a kernel, in plain Python). Use it as a context manager::

        with mm.start_run("baseline", tags={"team": "fraud"}) as run:
            mm.log_param("lr", 0.1)
            mm.log_metric("loss", 0.3)

    A run started while another is active becomes its child (``parent_id``). In a notebook
    (a Jupyter kernel running a cell) the run gets the notebook checkpoint, parameter-cell
    params and reproducibility flags a ``%%track`` cell gets
    (:mod:`jupyter_mm.tracking.notebook_checkpoint`); ``checkpoint=False`` skips them.
    """
    if notebook_path is None:
        notebook_path = os.environ.get("JPY_SESSION_NAME") or None
    run = new_run(name, tags=tags, note=note, parent=parent, notebook_path=notebook_path)
    active = prepare_run(run)
    if checkpoint:
        from .notebook_checkpoint import begin_in_kernel

        if begin_in_kernel(active):
            return active
    return active.begin()


def active_run() -> ActiveRun | None:
    """The innermost active run of this process, or None."""
    return _proc.state.stack[-1] if _proc.state.stack else None


def _require_active() -> ActiveRun:
    if not _proc.state.stack:
        raise InvalidInput(NO_ACTIVE_RUN)
    return _proc.state.stack[-1]


def log_param(name: str, value: Any) -> None:
    """Record a param on the active run (stored as str; ``repr`` for non-strings)."""
    _require_active().log_param(name, value)


def log_params(params: Mapping[str, Any]) -> None:
    _require_active().log_params(params)


def log_metric(name: str, value: Any, step: int | None = None) -> None:
    """Record a metric point on the active run; ``step`` defaults to 0, 1, 2… per name."""
    stack = _proc.state.stack  # inlined _require_active: this is called in training loops
    if not stack:
        raise InvalidInput(NO_ACTIVE_RUN)
    stack[-1].log_metric(name, value, step)


def log_metrics(metrics: Mapping[str, Any], step: int | None = None) -> None:
    _require_active().log_metrics(metrics, step=step)


def log_input(path_or_obj: Any, name: str | None = None) -> None:
    _require_active().log_input(path_or_obj, name=name)


def log_output(path_or_obj: Any, name: str | None = None) -> None:
    _require_active().log_output(path_or_obj, name=name)


def log_artifact(
    path_or_bytes: Any, name: str | None = None, media_type: str | None = None
) -> Artifact | None:
    return _require_active().log_artifact(path_or_bytes, name=name, media_type=media_type)


def log_model(
    model: Any,
    name: str = "model",
    input_example: Any = None,
    *,
    reference: Any = None,
    reference_target: Any = None,
) -> Artifact | None:
    """Record a model on the active run (flavors: see jupyter_mm.flavors); ``input_example``
    also records its input signature; ``reference`` (training inputs, and optionally
    ``reference_target``) its reference profile for monitoring."""
    return _require_active().log_model(
        model,
        name=name,
        input_example=input_example,
        reference=reference,
        reference_target=reference_target,
    )


def _flush_active(run_id: str) -> None:
    for active in _proc.state.stack:
        if active.id == run_id:
            active.flush()


def get_run(ref: str | ActiveRun | Run) -> RunDetail:
    """Everything recorded for a run: a full id, a unique prefix (4+ characters) or
    ``latest``. Raises NotFound / AmbiguousReference."""
    if isinstance(ref, (ActiveRun, Run)):
        ref = ref.id
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidInput(f"A run reference is an id, an id prefix or 'latest', not {ref!r}.")
    store = default_store()
    run = store.resolve_run(ref.strip())
    _flush_active(run.id)
    return store.get_run_detail(run.id)


def runs(
    notebook: str | None = None, status: str | None = None, limit: int = 1000
) -> pandas.DataFrame:
    """Recent runs, newest first, as a DataFrame: id, name, status, start, end, duration
    (seconds), notebook, then one ``params.<name>`` and ``metrics.<name>`` (latest value)
    column per name seen."""
    if status is not None and status not in RUN_STATUSES:
        raise InvalidInput(f"Unknown run status {status!r}; use one of {', '.join(RUN_STATUSES)}.")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidInput(f"limit must be a positive integer, not {limit!r}.")
    if notebook is not None:
        notebook = canonical_notebook_path(os.fspath(notebook), os.getcwd())
    import pandas as pd

    store = default_store()
    columns = store.run_columns(notebook_path=notebook, status=status, limit=limit)
    start, end = columns.pop("start_time"), columns.pop("end_time")
    data: dict[str, Any] = {
        "id": columns.pop("id"),
        "name": columns.pop("name"),
        "status": columns.pop("status"),
        "start": pd.to_datetime(pd.Series(start, dtype="float64"), unit="s", utc=True),
        "end": pd.to_datetime(pd.Series(end, dtype="float64"), unit="s", utc=True),
        "duration": pd.Series(end, dtype="float64") - pd.Series(start, dtype="float64"),
        "notebook": columns.pop("notebook_path"),
    }
    # what is left are the params.<name> and metrics.<name> columns
    data.update(sorted(columns.items()))
    if data["id"]:
        return pd.DataFrame(data)
    # no rows to infer types from: the empty frame pandas builds from names alone
    frame = pd.DataFrame(columns=list(data))
    for column in ("start", "end"):
        frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
    return frame
