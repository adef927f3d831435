"""Run a notebook headless, as a frontend that jupyter-mm's kernel side understands.

``run_notebook`` executes a notebook top to bottom with nbclient and behaves like JupyterLab
does towards a kernel with ``%load_ext jupyter_mm``:

* the kernel's environment carries ``JPY_SESSION_NAME`` = the notebook's absolute path (what
  jupyter_server sets), so the kernel side can fall back to the file on disk;
* every ``execute_request`` carries ``metadata.cellId`` (what JupyterLab sends), so a tracked
  run knows which cell it is;
* just before each ``%%track`` cell, the in-memory notebook (parameters injected, outputs so
  far) is pushed on the ``jupyter_mm`` comm. Messages on the shell channel are handled in
  order, so the snapshot has arrived when the magic runs, and the run's checkpoint is the
  notebook exactly as it was executed (source ``headless``), not a stale file on disk. The
  snapshot is always whole (no ``seq``, so the kernel keeps no delta base for this comm;
  the delta protocol JupyterLab uses is in :mod:`jupyter_mm.capture.notebook`).

The comm is opened lazily, just before the first ``%%track`` cell: a notebook that never
tracks anything never sees it, so the kernel logs no "No such comm target" noise for
notebooks that do not use jupyter-mm.

Parameters are injected papermill-style: a new cell tagged ``injected-parameters`` goes
after the cell tagged ``parameters`` (else at the top), replacing an earlier injected cell.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import json
import os
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from nbformat import NotebookNode

# nbformat (and zmq) are imported where they are used: importing nbformat costs seconds
# (jsonschema's format checkers), which `jupyter mm --help` and every other command that
# never runs a notebook would pay at start-up.

#: MIME type of the output a ``%%track`` cell displays for its run
RUN_MIME = "application/vnd.jupyter-mm.run+json"
COMM_TARGET = "jupyter_mm"
PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"


@dataclass
class CellProgress:
    """Reported to the ``progress`` callback twice per code cell: when it starts
    (``done=False``, so a long cell shows what is running) and when it has finished."""

    position: int  # 1-based among the code cells that execute
    total: int  # number of code cells that execute
    cell_index: int  # index in the notebook's cell list
    cell_id: str | None
    summary: str  # first non-empty source line, for display
    duration: float
    ok: bool
    run_ids: list[str] = field(default_factory=list)  # runs this cell created
    done: bool = True


@dataclass
class CellFailure:
    """The first cell that raised (execution stops there, as in papermill)."""

    cell_index: int
    cell_id: str | None
    ename: str
    evalue: str

    def __str__(self) -> str:
        message = f"{self.ename}: {self.evalue}" if self.evalue else self.ename
        return f"cell {self.cell_index} failed with {message}"


@dataclass
class RunnerResult:
    notebook: NotebookNode  # the executed notebook (outputs filled in)
    path: str  # absolute path of the input notebook
    output: str | None  # where the executed notebook was written, if anywhere
    run_ids: list[str]  # jupyter-mm runs created, in execution order
    cells: list[CellProgress]
    failure: CellFailure | None = None
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failure is None


ProgressCallback = Callable[[CellProgress], None]


# -- parameters ---------------------------------------------------------------------------


def parse_parameter(text: str) -> tuple[str, Any]:
    """``"name=value"`` -> ``(name, value)``; the value is a Python literal when it parses
    as one (``0.5``, ``[1, 2]``, ``'a'``, ``True``), else the raw string."""
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep:
        raise InvalidInput(f"Parameter {text!r} is not of the form name=value.")
    if not name.isidentifier():
        raise InvalidInput(f"Parameter name {name!r} is not a valid Python identifier.")
    try:
        value = ast.literal_eval(raw.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        value = raw
    return name, value


def parse_parameters(items: Iterable[str]) -> dict[str, Any]:
    """Parse several ``name=value`` strings; a later name overrides an earlier one."""
    return dict(parse_parameter(item) for item in items)


def inject_parameters(nb: NotebookNode, parameters: Mapping[str, Any]) -> None:
    """Insert (or replace) the ``injected-parameters`` cell in ``nb``, in place."""
    for name in parameters:
        if not str(name).isidentifier():
            raise InvalidInput(f"Parameter name {name!r} is not a valid Python identifier.")
    lines = ["# Parameters (injected by jupyter mm run)"]
    lines += [f"{name} = {value!r}" for name, value in parameters.items()]
    import nbformat

    cell = nbformat.v4.new_code_cell("\n".join(lines) + "\n")
    cell.metadata["tags"] = [INJECTED_TAG]

    cells = nb.cells
    previous = [i for i, c in enumerate(cells) if INJECTED_TAG in c.metadata.get("tags", [])]
    for index in reversed(previous):
        del cells[index]
    tagged = [i for i, c in enumerate(cells) if PARAMETERS_TAG in c.metadata.get("tags", [])]
    position = tagged[0] + 1 if tagged else 0
    cells.insert(position, cell)


# -- execution ----------------------------------------------------------------------------


def _summary(source: str) -> str:
    for line in source.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _is_tracked(source: str) -> bool:
    return source.lstrip().startswith("%%track")


def _run_ids_in(outputs: Iterable[Mapping[str, Any]]) -> list[str]:
    """Run ids from the run MIME bundles a ``%%track`` cell displayed."""
    found: list[str] = []
    for output in outputs:
        bundle = output.get("data", {}).get(RUN_MIME)
        if isinstance(bundle, Mapping):
            run_id = bundle.get("id") or bundle.get("run_id")
            if isinstance(run_id, str) and run_id not in found:
                found.append(run_id)
    return found


def _load_notebook(path: Path) -> NotebookNode:
    import nbformat

    if not path.is_file():
        raise NotFound(f"Notebook {path} does not exist.")
    try:
        text = path.read_text(encoding="utf-8")
        # nbformat assumes the JSON is an object (an AttributeError otherwise), and its own
        # messages for undecodable bytes or broken JSON do not say where the problem is
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("its JSON is not an object")
        if "nbformat" not in raw:  # nbformat would call it a broken version 1 notebook
            raise ValueError('it has no "nbformat" key, so it is not a Jupyter notebook')
        nb = nbformat.reads(text, as_version=4)
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"{path} is not a readable notebook: it is not UTF-8 text "
            f"(byte 0x{exc.object[exc.start]:02x} at offset {exc.start})."
        ) from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{path} is not a readable notebook: it is not valid JSON "
            f"({exc.msg} at line {exc.lineno}, column {exc.colno})."
        ) from None
    except (OSError, ValueError, KeyError, nbformat.ValidationError) as exc:
        raise InvalidInput(f"{path} is not a readable notebook: {exc}.") from None
    # Old notebooks (nbformat < 4.5) have no cell ids; snapshots and runs need them.
    for cell in nb.cells:
        if not cell.get("id"):
            cell["id"] = uuid.uuid4().hex[:8]
    nb.nbformat_minor = max(nb.nbformat_minor, 5)
    return nb


class _TrackingClient:
    """Wraps an nbclient ``NotebookClient`` with the frontend duties described above."""

    def __init__(
        self,
        nb: NotebookNode,
        path: Path | None,
        progress: ProgressCallback | None,
        snapshot_source: str = "headless",
    ):
        self.nb = nb
        self.path = path
        self.progress = progress
        self.comm_id: str | None = None
        self.current_cell_id: str | None = None
        self.current_index = -1
        self.started = 0.0
        self.total = sum(
            1 for c in nb.cells if c.cell_type == "code" and c.source.strip()
        )  # nbclient skips empty code cells too
        self.cells: list[CellProgress] = []
        self.run_ids: list[str] = []
        self.kernel_pid: int | None = None  # set once the kernel has started
        #: the NotebookClient whose hooks these are (set once it is made, with the hooks)
        self.client: Any = None
        #: the checkpoint source of the runs (``entities.SNAPSHOT_SOURCES``)
        self.snapshot_source = snapshot_source

    # nbclient hooks -----------------------------------------------------------------

    def on_notebook_start(self, notebook: NotebookNode) -> None:
        session = self.client.kc.session
        original = session.msg

        def msg_with_cell_id(msg_type: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
            msg = original(msg_type, *args, **kwargs)
            if msg_type == "execute_request" and self.current_cell_id:
                msg["metadata"]["cellId"] = self.current_cell_id
            return msg

        # The kernel client builds execute requests through its session; tagging them here
        # gives the kernel the same metadata JupyterLab sends without re-implementing execute.
        session.msg = msg_with_cell_id

    def on_cell_execute(self, cell: NotebookNode, cell_index: int) -> None:
        self.current_cell_id = cell.get("id")
        self.current_index = cell_index
        self.started = time.monotonic()
        if _is_tracked(cell.source):
            self._send_snapshot(cell, cell_index)
        if self.progress is not None:
            self.progress(
                CellProgress(
                    position=len(self.cells) + 1,
                    total=self.total,
                    cell_index=cell_index,
                    cell_id=cell.get("id"),
                    summary=_summary(cell.source),
                    duration=0.0,
                    ok=True,
                    done=False,
                )
            )

    def on_cell_executed(
        self, cell: NotebookNode, cell_index: int, execute_reply: dict[str, Any]
    ) -> None:
        ok = execute_reply.get("content", {}).get("status") == "ok"
        run_ids = _run_ids_in(cell.outputs)
        self.run_ids += [r for r in run_ids if r not in self.run_ids]
        report = CellProgress(
            position=len(self.cells) + 1,
            total=self.total,
            cell_index=cell_index,
            cell_id=cell.get("id"),
            summary=_summary(cell.source),
            duration=time.monotonic() - self.started,
            ok=ok,
            run_ids=run_ids,
        )
        self.cells.append(report)
        if self.progress is not None:
            self.progress(report)

    # comm -----------------------------------------------------------------------------

    def _send(self, msg_type: str, content: dict[str, Any]) -> None:
        kc = self.client.kc
        kc.shell_channel.send(kc.session.msg(msg_type, content))

    def _send_snapshot(self, cell: NotebookNode, cell_index: int) -> None:
        if self.comm_id is None:
            self.comm_id = uuid.uuid4().hex
            self._send(
                "comm_open",
                {"comm_id": self.comm_id, "target_name": COMM_TARGET, "data": {}},
            )
        snapshot = copy.deepcopy(self.nb)
        current = snapshot.cells[cell_index]
        current.outputs = []
        current.execution_count = None
        for snapshot_cell in snapshot.cells:
            # nbclient's per-cell timestamps: JupyterLab does not record them by default, and
            # in a checkpoint they would make every run's notebook differ from the last.
            snapshot_cell.metadata.pop("execution", None)
        data = {
            "type": "snapshot",
            "cell_id": cell.get("id"),
            "notebook": snapshot,
            # not an editor's notebook: the run says who executed it (capture.notebook)
            "source": self.snapshot_source,
        }
        if self.path is not None:  # papermill may run a notebook that is not a local file
            data["path"] = str(self.path)
        self._send("comm_msg", {"comm_id": self.comm_id, "data": data})

    def close_comm(self) -> None:
        import zmq

        if self.comm_id is not None and self.client.kc is not None:
            # the kernel may be gone already (dead, timed out); nothing to clean up then
            with contextlib.suppress(OSError, RuntimeError, zmq.ZMQError):
                self._send("comm_close", {"comm_id": self.comm_id, "data": {}})


def run_notebook(
    path: str | os.PathLike[str],
    *,
    parameters: Mapping[str, Any] | None = None,
    output: str | os.PathLike[str] | None = None,
    kernel_name: str | None = None,
    timeout: float | None = None,
    cwd: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
    before_kernel: Callable[[], None] | None = None,
    env: Mapping[str, str] | None = None,
) -> RunnerResult:
    """Execute the notebook at ``path`` in a fresh kernel and report what it recorded.

    ``parameters`` are injected as a cell (see the module docstring). The kernel runs in
    ``cwd`` (default: the notebook's directory) and inherits this process's environment,
    including ``JUPYTER_MM_STORE``. ``timeout`` is per cell in seconds (None: no limit).
    Execution stops at the first failing cell; the result then has ``failure`` set instead of
    raising, so the caller can still save and report what ran. The executed notebook is
    written to ``output`` when given (even after a failure); the input file is never changed.
    Raises NotFound / InvalidInput for a missing or malformed notebook, unknown kernel or
    bad working directory. ``before_kernel`` is called once those inputs are checked and
    before the kernel starts (the CLI resolves, and may create, the store there, so that a
    mistyped notebook leaves nothing behind). ``env`` is added to the kernel's environment
    (a retrain names the store there rather than changing this process's environment).
    """
    import nbformat
    from nbclient import NotebookClient

    notebook_path, nb, work_dir, output_path = _prepare(path, parameters, cwd, output)
    if before_kernel is not None:
        before_kernel()
    tracker = _TrackingClient(nb, notebook_path, progress)
    tracker.client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel_name or "",
        resources={"metadata": {"path": str(work_dir)}},
        on_notebook_start=tracker.on_notebook_start,
        on_cell_execute=tracker.on_cell_execute,
        on_cell_executed=tracker.on_cell_executed,
    )
    started = time.monotonic()
    started_at = time.time()
    failure = _run_in_kernel(
        tracker, _kernel_options(notebook_path, work_dir, env), kernel_name, timeout
    )
    if failure is not None:
        # nbclient raised before its on_cell_executed hook for a timed out / dead kernel;
        # the run ids displayed before the failure are still worth reporting.
        for cell in nb.cells:
            if cell.cell_type == "code":
                tracker.run_ids += [
                    r for r in _run_ids_in(cell.outputs) if r not in tracker.run_ids
                ]
    recorded = _recorded_runs(work_dir, notebook_path, tracker.kernel_pid, started_at)
    tracker.run_ids += [r for r in recorded if r not in tracker.run_ids]
    if output_path is not None:
        nbformat.write(nb, str(output_path))
    return RunnerResult(
        notebook=nb,
        path=str(notebook_path),
        output=str(output_path) if output_path else None,
        run_ids=tracker.run_ids,
        cells=tracker.cells,
        failure=failure,
        duration=time.monotonic() - started,
    )


def _recorded_runs(
    work_dir: Path, notebook_path: Path, kernel_pid: int | None, since: float
) -> list[str]:
    """The runs the kernel wrote to the store, oldest first. The run cards the cells
    displayed are not enough: ``%%track -q`` cells, runs started with ``mm.start_run`` and
    nested runs show none. The kernel is told the notebook's path and resolves the store
    from ``work_dir``; its runs are the ones of this notebook with its pid since the start."""
    if not isinstance(kernel_pid, int):
        return []
    from .store import open_store

    found: list[str] = []
    try:
        with open_store(cwd=work_dir, create=False) as store:
            token = None
            while True:
                page = store.search_runs(
                    notebook_path=str(notebook_path), limit=200, page_token=token
                )
                for run in page.runs:
                    if run.start_time >= since - 1 and run.pid == kernel_pid:
                        found.append(run.id)
                token = page.next_token
                if token is None or not page.runs or page.runs[-1].start_time < since - 1:
                    break
    except Exception:  # no store (nothing tracked) or an unreadable one: the cards count
        return []
    return sorted(found)


def _prepare(
    path: str | os.PathLike[str],
    parameters: Mapping[str, Any] | None,
    cwd: str | os.PathLike[str] | None,
    output: str | os.PathLike[str] | None,
) -> tuple[Path, NotebookNode, Path, Path | None]:
    """Every input checked before anything starts: (notebook path, the notebook with its
    parameters injected, working directory, output path)."""
    notebook_path = Path(path).expanduser().resolve()
    nb = _load_notebook(notebook_path)
    if parameters:
        inject_parameters(nb, parameters)
    work_dir = Path(cwd).expanduser().resolve() if cwd else notebook_path.parent
    if not work_dir.is_dir():
        raise InvalidInput(f"Working directory {work_dir} does not exist.")
    output_path = Path(output).expanduser().resolve() if output else None
    if output_path is not None and not output_path.parent.is_dir():
        raise InvalidInput(f"Cannot write {output_path}: its directory does not exist.")
    return notebook_path, nb, work_dir, output_path


def _kernel_options(
    notebook_path: Path, work_dir: Path, extra: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """How the kernel starts: this process's environment with the notebook as its session
    path, in ``work_dir``, with encrypted traffic when the kernelspec supports it."""
    import zmq

    env = {**os.environ, **(extra or {}), "JPY_SESSION_NAME": str(notebook_path)}
    kernel_options: dict[str, Any] = {"env": env, "cwd": str(work_dir)}
    if zmq.has("curve"):
        # Encrypt kernel traffic when the kernelspec supports it ("auto" falls back to plain
        # TCP otherwise); ipykernel 7 warns on stderr about unencrypted TCP.
        kernel_options["transport_encryption"] = "auto"
    return kernel_options


def _run_in_kernel(
    tracker: _TrackingClient,
    kernel_options: dict[str, Any],
    kernel_name: str | None,
    timeout: float | None,
) -> CellFailure | None:
    """Execute every cell; the first failing one (error, timeout, dead kernel) is returned,
    not raised. A missing kernel is NotFound."""
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    client = tracker.client
    try:
        with client.setup_kernel(**kernel_options):
            # its runs are found in the store by this pid afterwards (see _recorded_runs)
            tracker.kernel_pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
            _execute_cells(client, tracker.nb)
            tracker.close_comm()
    except NoSuchKernel:
        name = kernel_name or tracker.nb.metadata.get("kernelspec", {}).get("name", "")
        raise NotFound(
            f"No Jupyter kernel named {name!r} is installed; pass --kernel with one listed "
            "by `jupyter kernelspec list`."
        ) from None
    except CellExecutionError as exc:
        return _failure(tracker, exc.ename, exc.evalue)
    except CellTimeoutError:
        return _failure(tracker, "Timeout", f"the cell ran longer than {timeout} s")
    except DeadKernelError:
        return _failure(tracker, "DeadKernelError", "the kernel died")
    return None


def _execute_cells(client: Any, nb: NotebookNode) -> None:
    """The cell loop of ``NotebookClient.execute`` inside our own ``setup_kernel`` block
    (so we control the kernel's env and cwd and can close the comm before shutdown)."""
    msg_id = client.kc.kernel_info()
    info = client.wait_for_reply(msg_id)
    if info is not None and "language_info" in info["content"]:
        nb.metadata["language_info"] = info["content"]["language_info"]
    for index, cell in enumerate(nb.cells):
        client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)


def _failure(tracker: _TrackingClient, ename: str, evalue: str) -> CellFailure:
    return CellFailure(
        cell_index=tracker.current_index,
        cell_id=tracker.current_cell_id,
        ename=ename,
        evalue=evalue,
    )
