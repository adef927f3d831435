"""A papermill engine that runs notebooks the way ``jupyter mm run`` does.

``papermill --engine jupyter_mm in.ipynb out.ipynb -p alpha 0.5`` executes with papermill's own
machinery (its parameter injection, output writing, progress and error handling) and adds
the duties a JupyterLab frontend performs for a kernel with ``%load_ext jupyter_mm``:

* the kernel is told which notebook it runs (``JPY_SESSION_NAME`` = the input notebook's
  absolute path, when the input is a local file), so runs belong to that notebook;
* every ``execute_request`` carries the cell's id (``metadata.cellId``);
* just before each ``%%track`` cell the notebook as papermill holds it (parameters injected,
  outputs so far) is sent on the ``jupyter_mm`` comm, so the run's checkpoint is exactly what
  was executed (source ``papermill``) and the ``parameters`` / ``injected-parameters`` cells are
  known to the kernel by their tags.

With papermill's default engine none of this happens: the kernel cannot know the notebook,
so the checkpoint is rebuilt from the session's history; the names papermill injects are
still recorded as params, because the kernel recognises papermill's injected cell by its
``# Parameters`` header (see :func:`jupyter_mm.tracking.cell.parameter_cell_params`).

The engine is registered through papermill's ``papermill.engine`` entry point; papermill is
not a dependency of jupyter-mm, so this module is only imported by papermill itself.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine
from papermill.log import logger
from papermill.utils import merge_kwargs, remove_args

from .runner import _TrackingClient


def _local_notebook(input_path: Any) -> Path | None:
    """The input notebook as an absolute local path, or None (a URL, a notebook object,
    papermill's ``-`` for stdin)."""
    if not isinstance(input_path, (str, os.PathLike)):
        return None
    text = os.fspath(input_path)
    if text == "-" or "://" in text:
        return None
    path = Path(text).expanduser()
    return path.resolve() if path.is_file() else None


class TrackingEngine(NBClientEngine):
    """papermill's nbclient engine plus jupyter-mm's frontend duties (module docstring)."""

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: Any,
        kernel_name: str,
        log_output: bool = False,
        stdout_file: Any = None,
        stderr_file: Any = None,
        start_timeout: int = 60,
        execution_timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        notebook_path = _local_notebook(kwargs.get("input_path"))
        # the same argument handling as papermill's own engine
        kwargs = remove_args(["input_path"], **kwargs)
        safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
        tracker = _TrackingClient(
            nb_man.nb, notebook_path, progress=None, snapshot_source="papermill"
        )
        final_kwargs = merge_kwargs(
            safe_kwargs,
            timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log=logger,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
            on_notebook_start=tracker.on_notebook_start,
            on_cell_execute=tracker.on_cell_execute,
        )
        client = PapermillNotebookClient(nb_man, **final_kwargs)
        tracker.client = client
        env = dict(os.environ)
        if notebook_path is not None:
            env["JPY_SESSION_NAME"] = str(notebook_path)
        else:
            env.pop("JPY_SESSION_NAME", None)
        return client.execute(env=env)
