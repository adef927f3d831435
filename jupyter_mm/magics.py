"""``%%track`` and ``%mm``: the IPython side of jupyter-mm
(``docs/architecture.md#tracking-a-cell``).

``%%track`` runs the cell exactly as IPython would — same namespace, trailing expression
shown as the cell's result, exceptions reaching the user unchanged — and records the run
around it. It does not nest ``shell.run_cell`` (an exception would then never reach the
execute reply); like ``%%time`` it transforms the cell, execs all but a trailing expression
in ``user_ns`` and returns the value of that expression.

Everything that can be checked before the cell runs is checked first (flags, ``--param``
names, ``--data`` paths, the cell's syntax): bad input gives one ``UsageError`` line and the
cell does not run. Everything after that is guarded — a capture or store failure becomes one
warning line on stderr, never a traceback from our code.
"""

from __future__ import annotations

import ast
import contextlib
import os
import time
from dataclasses import dataclass, field
from typing import Any

from IPython.core.displayhook import DisplayHook
from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from traitlets import Bool

from . import tracking
from .comm import FrontendChannel, run_bundle
from .entities import latest_metric_values
from .errors import MMError
from .tracking import notebook_checkpoint, warmup
from .tracking.cell import assigned_names, literal_params, lookup, names_list
from .tracking.interrupts import InterruptGate, pause_for_tests, report_ignored
from .tracking.notebook_checkpoint import KernelSession, current_cell_code, current_cell_id

_loaded: dict[int, dict[str, Any]] = {}

#: files libraries open on their own that are never the run's data: git's internals
#: (environment capture reads the repository config while a nested run starts). System
#: locations (/etc, /usr/share) are ignored by the recorder itself.
_NOT_DATA = ["*/.git/*"]


@dataclass
class _Plan:
    """A validated ``%%track`` invocation, ready to run."""

    name: str | None
    tags: dict[str, str]
    note: str | None
    quiet: bool
    capture_data: bool
    raw_cell: str
    param_names: list[str]
    metric_names: list[str]
    literal_params: dict[str, Any]
    data_paths: list[str]
    data_vars: list[str]
    filename: str
    body: Any  # compiled code of all statements but a trailing expression (or None)
    last: Any  # compiled trailing expression (or None)
    silent_result: bool
    timings: dict[str, float] = field(default_factory=dict)
    #: an interrupt arrived while the run started (the body must not run)
    interrupted: bool = False


def _tags(items: list[str]) -> dict[str, str]:
    """``--tag KEY=VALUE`` options as a dict; UsageError for anything else."""
    tags: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"%%track: --tag takes KEY=VALUE, not {item!r}.")
        tags[key.strip()] = value
    return tags


def _data_targets(
    items: list[str], namespace: dict[str, Any], assigned: set[str]
) -> tuple[list[str], list[str]]:
    """``--data`` options as (readable absolute paths, variable names); UsageError for one
    that is neither, checked before the cell runs."""
    paths, variables = [], []
    for item in items:
        path = os.path.abspath(os.path.expanduser(item))
        if os.path.exists(path):
            if not os.access(path, os.R_OK):
                raise UsageError(f"%%track: --data {item} cannot be read (permission denied).")
            paths.append(path)
        elif item.isidentifier() and (item in namespace or item in assigned):
            variables.append(item)
        else:
            raise UsageError(f"%%track: --data {item} is neither an existing path nor a variable.")
    return paths, variables


def _raw_cell(shell: Any, line: str, cell: str) -> str:
    """The whole cell as the user wrote it (with the ``%%track`` line), for locating it in
    the notebook; falls back to rebuilding it when the kernel does not say."""
    code = current_cell_code(shell)
    if code is not None and cell.strip() in code:
        return code
    return f"%%track {line}".rstrip() + "\n" + cell


@magics_class
class TrackMagics(Magics):
    """``%%track`` and ``%mm``. Configure with ``c.TrackMagics.<name>``."""

    #: IPython types it Optional; a registered magic always has its shell
    shell: Any

    quiet = Bool(False, help="Show no run card after tracked cells (warnings still show).").tag(
        config=True
    )
    card = Bool(
        True, help="Show the rich run card; False shows a one- or two-line text summary."
    ).tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        #: the shell's recorder, channel and checkpoint pipeline (shared with mm.start_run)
        self.session: KernelSession = (
            notebook_checkpoint.register(shell) if shell is not None else KernelSession(shell)
        )
        #: milliseconds spent in each phase of the last tracked cell (for benchmarks)
        self.last_timings: dict[str, float] = {}
        self.last_run: tracking.ActiveRun | None = None

    @property
    def recorder(self) -> Any:
        """The shell's execution recorder (capture.execution.ExecutionRecorder)."""
        return self.session.recorder

    @property
    def channel(self) -> Any:
        """The shell's frontend channel (comm.FrontendChannel)."""
        return self.session.channel

    # -- %%track ----------------------------------------------------------------------------

    @magic_arguments()
    @argument("-n", "--name", help="Run name.")
    @argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAMES",
        help="Variables recorded as params after the cell (comma-separated, repeatable).",
    )
    @argument(
        "-m",
        "--metric",
        action="append",
        default=[],
        metavar="NAMES",
        help="Variables recorded as metrics after the cell (comma-separated, repeatable).",
    )
    @argument(
        "-d",
        "--data",
        action="append",
        default=[],
        metavar="PATH",
        help="An input file, directory or in-memory variable (repeatable).",
    )
    @argument("-t", "--tag", action="append", default=[], metavar="KEY=VALUE", help="Run tag.")
    @argument("--note", help="Free-text note.")
    @argument(
        "--no-data-capture",
        action="store_true",
        help="Do not record the files the cell opens (explicit --data still counts).",
    )
    @argument("-q", "--quiet", action="store_true", help="No run card for this cell.")
    @cell_magic
    def track(self, line: str, cell: str) -> Any:
        """Run the cell and record it as a jupyter-mm run."""
        __tracebackhide__ = True
        plan = self._plan(line, cell)
        return self._run(plan)

    def _parse_line(self, line: str) -> Any:
        try:
            return parse_argstring(self.track, line)
        except UsageError as exc:
            message = " ".join(str(exc).split())
            raise UsageError(f"%%track: {message}") from None
        except SystemExit:  # -h printed the help; there is nothing to run
            raise UsageError("%%track: help shown; the cell was not run.") from None
        except ValueError as exc:  # unbalanced quotes from the argument splitter
            raise UsageError(f"%%track: cannot parse the options ({exc}).") from None

    def _plan(self, line: str, cell: str) -> _Plan:
        __tracebackhide__ = True
        started = time.perf_counter()
        shell = self.shell
        args = self._parse_line(line)
        tags = _tags(args.tag)
        param_names = names_list(args.param, "--param")
        metric_names = names_list(args.metric, "--metric")

        transformed = shell.transform_cell(cell)
        # the number of the cell being run (IPython 9 has already bumped execution_count),
        # so that the user's traceback says In [n] of this very cell
        count = getattr(shell.displayhook.exec_result, "execution_count", None)
        filename = shell.compile.cache(
            transformed, shell.execution_count if count is None else count, raw_code=cell
        )
        # A SyntaxError propagates as IPython shows it for any cell: nothing has run.
        tree = shell.compile.ast_parse(transformed, filename=filename)
        tree = shell.transform_ast(tree)
        assigned = assigned_names(tree)
        namespace = shell.user_ns
        for name in param_names:
            if name.split(".")[0] not in namespace and name.split(".")[0] not in assigned:
                raise UsageError(
                    f"%%track: --param {name} is neither a variable nor assigned in the cell."
                )
        data_paths, data_vars = _data_targets(args.data, namespace, assigned)
        last = None
        statements = list(tree.body)
        try:
            if statements and isinstance(statements[-1], ast.Expr):
                last = shell.compile(ast.Expression(statements.pop().value), filename, "eval")
            body = (
                shell.compile(ast.Module(statements, []), filename, "exec") if statements else None
            )
        except SyntaxError as exc:
            if "await" in str(exc.msg) or "async" in str(exc.msg):
                # asyncio.run() is no way out: the kernel's event loop is already running
                raise UsageError(
                    "%%track: top-level await is not supported in a tracked cell (cell magics "
                    "run synchronously). Record the run from a plain cell instead: "
                    "`with mm.start_run('name'): await ...` (import jupyter_mm as mm)."
                ) from None
            raise
        config = tracking.get_config()
        return _Plan(
            name=args.name,
            tags=tags,
            note=args.note,
            quiet=args.quiet or self.quiet,
            capture_data=config.capture_data and not args.no_data_capture,
            raw_cell=_raw_cell(shell, line, cell),
            param_names=param_names,
            metric_names=metric_names,
            literal_params=literal_params(tree),
            data_paths=data_paths,
            data_vars=data_vars,
            filename=filename,
            body=body,
            last=last,
            silent_result=DisplayHook.semicolon_at_end_of_expression(transformed),
            timings={"plan": (time.perf_counter() - started) * 1000},
        )

    def _run(self, plan: _Plan) -> Any:
        __tracebackhide__ = True
        gate = InterruptGate()
        gate.install()
        try:
            return self._run_gated(plan, gate)
        finally:
            gate.uninstall()

    def _run_gated(self, plan: _Plan, gate: InterruptGate) -> Any:
        """Interrupts raise only inside the body (see tracking.interrupts): one that comes
        while the run starts stops the cell before its body and fails the run; one that
        comes while the run is recorded leaves a completed cell's result standing."""
        __tracebackhide__ = True
        if not warmup.wait(stop=gate.interrupted):
            raise KeyboardInterrupt  # before anything ran or was recorded
        active = self._begin(plan)
        files = self._start_file_recorder(active, plan)
        outputs = None
        if active is not None and active.store is not None:
            from .capture.cell_outputs import start_outputs

            outputs = start_outputs(self.shell, active)
        error: BaseException | None = None
        result = None
        if gate.interrupted() or plan.interrupted:
            error = KeyboardInterrupt()
        else:
            try:
                with gate.raising():
                    result = self._execute(plan)
            except BaseException as exc:
                error = exc
        pause_for_tests("after_body")
        shown = None if plan.silent_result or error is not None else result
        self._finish(active, plan, files, error, outputs, shown)
        if error is not None:
            raise error
        if gate.interrupted():
            report_ignored(active.id if active is not None and active.recorded else None)
        return shown

    def _execute(self, plan: _Plan) -> Any:
        __tracebackhide__ = True
        namespace = self.shell.user_ns
        if plan.body is not None:
            exec(plan.body, namespace)
        if plan.last is not None:
            return eval(plan.last, namespace)
        return None

    # -- around the cell --------------------------------------------------------------------

    def _begin(self, plan: _Plan) -> tracking.ActiveRun | None:
        """Start the run: checkpoint the notebook as it is now, insert the run row."""
        started = time.perf_counter()
        active = None
        try:
            shell = self.shell
            from .capture.notebook import session_path

            cell_id = current_cell_id(shell)
            run = tracking.new_run(
                plan.name,
                tags=plan.tags,
                note=plan.note,
                notebook_path=session_path(shell),
                cell_id=cell_id,
            )
            active = tracking.prepare_run(run)
            self.session.begin_run(active, cell_id=cell_id, raw_cell=plan.raw_cell)
            pause_for_tests("begin")
        except KeyboardInterrupt:  # no gate (not the main thread): stop before the body
            plan.interrupted = True
            if active is not None and not active.recorded:
                active = None
        except Exception as exc:  # belt and braces: the cell must run whatever happens
            active = None
            notebook_checkpoint.report_not_recorded(exc)
        plan.timings["begin"] = (time.perf_counter() - started) * 1000
        return active

    def _start_file_recorder(self, active: tracking.ActiveRun | None, plan: _Plan) -> Any:
        if active is None or active.store is None or not plan.capture_data:
            return None
        from .capture import session_reads
        from .tracking.data_capture import record_upstream

        session = session_reads.current(self.shell)
        if session is not None and active.store is not None:
            try:
                with active.guard("recording upstream data"):
                    session.forget(record_upstream(active, session.upstream()))
            except KeyboardInterrupt:  # stopped while hashing: the body does not run
                plan.interrupted = True
                return None
        with active.guard("starting data capture"):
            from functools import partial

            from .capture.data import FileAccessRecorder, digest_before_change
            from .tracking.data_capture import own_file_patterns

            recorder = FileAccessRecorder(
                ignore=[
                    *_NOT_DATA,
                    *tracking.get_config().data_ignore,
                    *own_file_patterns(active.store),
                ],
                prehash=partial(digest_before_change, cache=tracking.stat_cache(active.store)),
            )
            recorder.start()
            return recorder
        return None

    def _finish(
        self,
        active: tracking.ActiveRun | None,
        plan: _Plan,
        files: Any,
        error: BaseException | None,
        outputs: Any = None,
        result: Any = None,
    ) -> None:
        """Record what the cell did and end the run. Never raises."""
        started = time.perf_counter()
        try:
            accesses = files.stop_accesses() if files is not None else None
            if outputs is not None:
                from .capture.cell_outputs import save_outputs

                save_outputs(active, outputs, error, result)
            if active is None:
                return
            if accesses is not None:
                from .tracking.data_capture import record_accesses

                record_accesses(active, accesses)
            active.close_soon()
            self._collect(active, plan, error)
            pause_for_tests("finish")
            status = "finished" if error is None else "failed"
            message = None if error is None else tracking.describe_exception(error)
            active.end(status, error=message)
            self.last_run = active
            if self.channel is not None:
                self.channel.announce_run(active.id, status)
            if not plan.quiet and active.recorded:
                self._show_card(active)
        except (Exception, KeyboardInterrupt) as exc:  # a bug of ours, or an interrupt
            # without a gate: still end the run, still one line
            with contextlib.suppress(Exception):
                import sys

                if active is None:
                    return
                reason = f"recording: {tracking.describe_exception(exc)}"
                if not active.ended:
                    active.warn(reason)
                    active.end("finished" if error is None else "failed", report=False)
                if active.reported_line is None:
                    print(
                        f"jupyter-mm: run {active.id} recorded partially: {reason}", file=sys.stderr
                    )
        finally:
            plan.timings["finish"] = (time.perf_counter() - started) * 1000
            self.last_timings = dict(plan.timings)

    def _collect(
        self, active: tracking.ActiveRun, plan: _Plan, error: BaseException | None
    ) -> None:
        namespace = self.shell.user_ns
        for name, value in plan.literal_params.items():
            if name in plan.metric_names:
                continue  # `acc = 0.9` with --metric acc is a metric, not a param
            with active.guard(f"param {name}"):
                active.log_param(name, value)
        for name in plan.param_names:
            try:
                value = lookup(namespace, name)
            except (KeyError, AttributeError):
                if error is None:
                    active.warn(f"param {name} was not set by the cell")
                continue
            with active.guard(f"param {name}"):
                active.log_param(name, value)
        for name in plan.metric_names:
            try:
                value = lookup(namespace, name)
            except (KeyError, AttributeError):
                if error is None:
                    active.warn(f"metric {name} was not set by the cell")
                continue
            try:
                active.log_metric(name, value)
            except MMError:
                active.warn(f"metric {name} is not a number ({type(value).__name__})")
        for path in plan.data_paths:  # checked before the cell; the cell may remove it
            active.log_input(path, strict=False)
        for name in plan.data_vars:
            if name in namespace:
                active.log_input(namespace[name], name, strict=False)
            elif error is None:
                active.warn(f"data variable {name} was not set by the cell")

    def _show_card(self, active: tracking.ActiveRun) -> None:
        """Display the run card after everything the cell itself shows (its result is
        displayed when the magic returns, so the card waits for ``post_execute``)."""
        from IPython.display import display

        bundle = run_bundle(
            active.run,
            params=active.params,
            metrics=active.latest_metrics,
            data=list(active.data.values()),
            store_url=getattr(active.store, "url", None),
            rich=self.card,
        )
        events = self.shell.events
        if getattr(self.shell.displayhook, "exec_result", None) is None:
            display(bundle, raw=True)  # called outside a cell run: nothing comes after us
            return

        def show() -> None:
            with contextlib.suppress(ValueError):
                events.unregister("post_execute", show)
            with contextlib.suppress(Exception):
                display(bundle, raw=True)

        events.register("post_execute", show)

    # -- %mm --------------------------------------------------------------------------------

    @line_magic
    def mm(self, line: str) -> None:
        """``%mm runs [--all] [-n N]``: recent runs of this notebook; ``%mm show RUN``;
        ``%mm browse``: the in-notebook browser (``mm.browse()``)."""
        words = line.split()
        try:
            if words[:1] == ["runs"]:
                self._mm_runs(words[1:])
            elif words == ["browse"]:
                from IPython.display import display

                from .browser import browse

                display(browse())
            elif words[:1] == ["show"] and len(words) == 2:
                detail = tracking.get_run(words[1])
                from IPython.display import display

                display(
                    run_bundle(
                        detail.run,
                        params={p.name: p.value for p in detail.params},
                        metrics=latest_metric_values(detail.metrics),
                        data=detail.data,
                        store_url=getattr(tracking.default_store(), "url", None),
                        rich=self.card,
                    ),
                    raw=True,
                )
            else:
                raise UsageError(
                    "%mm: use `%mm runs [--all] [-n N]`, `%mm show RUN` or `%mm browse`."
                )
        except MMError as exc:
            raise UsageError(f"%mm: {exc}") from None

    def _mm_runs(self, words: list[str]) -> None:
        show_all, limit = False, 20
        while words:
            word = words.pop(0)
            if word == "--all":
                show_all = True
            elif word == "-n" and words and words[0].isdigit() and int(words[0]) > 0:
                limit = int(words.pop(0))
            else:
                raise UsageError(f"%mm runs: unexpected {word!r}; use [--all] [-n N].")
        from IPython.display import display

        from .capture.notebook import session_path

        notebook = None if show_all else session_path(self.shell)
        from .browser.listing import readable_runs

        display(readable_runs(tracking.runs(notebook=notebook, limit=limit)))


def load_ipython_extension(ip: Any) -> None:
    """Register ``%%track``/``%mm``, start the execution log, open the comm target.
    Loading twice into the same shell is harmless."""
    if id(ip) in _loaded:
        return
    from .tracking.process import loaded_config

    magics = TrackMagics(shell=ip, parent=ip, config=loaded_config())
    ip.register_magics(magics)
    ip.configurables.append(magics)  # so that `%config TrackMagics.card = False` works
    from .capture.execution import ExecutionRecorder

    session = magics.session
    session.recorder = ExecutionRecorder(ip)
    session.recorder.register()
    from .capture import session_reads

    session_reads.attach(ip)  # data read by untracked cells: upstream inputs of later runs
    session.channel = FrontendChannel()
    try:
        session.channel.register(ip)
    except Exception as exc:  # no usable comm manager: live snapshots just stay off
        print(f"jupyter-mm: frontend comm unavailable: {exc}")
    _loaded[id(ip)] = {"magics": magics}
    warmup.start()  # the first tracked cell then waits only for what is not ready yet


def unload_ipython_extension(ip: Any) -> None:
    state = _loaded.pop(id(ip), None)
    if state is None:
        return
    magics: TrackMagics = state["magics"]
    if magics.recorder is not None:
        magics.recorder.unregister()
    from .capture import session_reads

    session_reads.detach(ip)
    if magics.channel is not None:
        magics.channel.unregister()
    notebook_checkpoint.unregister(ip)
    if magics in ip.configurables:
        ip.configurables.remove(magics)
    registry = ip.magics_manager.magics
    registry["cell"].pop("track", None)
    registry["line"].pop("mm", None)
