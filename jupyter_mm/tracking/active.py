"""A run in progress: :class:`ActiveRun`.

Metric points are buffered in memory and written with one ``log_batch`` transaction at most
every ``METRIC_FLUSH_SECONDS`` (a background timer) or every ``METRIC_FLUSH_POINTS`` points,
and at the end — a training loop logging thousands of points costs a handful of
transactions, and a killed kernel loses at most the last interval.

Mistakes in the user's own call (a metric that is not a number, a path that does not exist)
raise :class:`~jupyter_mm.errors.InvalidInput` at the call; anything going wrong inside
capture or the store is recorded in ``run.warnings`` and reported when the run ends as
exactly one line on stderr, never as a traceback.
"""

from __future__ import annotations

import contextlib
import json
import mimetypes
import numbers
import os
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..entities import (
    RUN_STATUSES,
    Artifact,
    DataRef,
    MetricPoint,
    Param,
    ReproFlag,
    Run,
    SessionLogAppend,
    is_later_point,
)
from ..errors import InvalidInput
from . import process as _proc
from .interrupts import interruptible
from .process import EnvironmentCapture, describe_exception, ipython, progress, redact, stat_cache

if TYPE_CHECKING:
    from ..store.abstract import AbstractStore
    from ..store.blobs import BlobStore

METRIC_FLUSH_SECONDS = 1.0
METRIC_FLUSH_POINTS = 10_000
#: params longer than this are cut (the run says so in its warnings): a param is a label
#: to compare runs by, not a data store
MAX_PARAM_CHARS = 6_000
NO_ACTIVE_RUN = "No active run; use %%track or mm.start_run()."


def _as_number(name: str, value: Any) -> float:
    if isinstance(value, numbers.Real):
        return float(value)
    item = getattr(value, "item", None)  # numpy scalars and 0-d arrays, torch scalars
    if callable(item) and getattr(value, "size", 1) == 1:
        with contextlib.suppress(Exception):
            inner = item()
            if isinstance(inner, numbers.Real):
                return float(inner)
    raise InvalidInput(f"Metric {name!r} must be a number, not {type(value).__name__}.")


def check_name(kind: str, name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"A {kind} name must be a non-empty string, not {name!r}.")
    return name.strip()


def _param_text(value: Any) -> tuple[str, int | None]:
    """The stored text of a param, and its full length when it had to be cut."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= MAX_PARAM_CHARS:
        return redact(text), None
    return redact(text[: MAX_PARAM_CHARS - 1] + "…"), len(text)


class ActiveRun:
    """A run in progress. Use as a context manager (``with mm.start_run() as run:``) or call
    :meth:`end`. Every ``log_*`` method is safe to call from a training loop."""

    def __init__(self, run: Run, store: AbstractStore | None, store_problem: str | None = None):
        self.run = run
        self.store = store
        self._created = False
        self._ended = False
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._params: dict[str, str] = {}
        self._pending_params: list[Param] = []
        #: MetricPoint tuples, handed to the store as they are: a tuple is several times
        #: cheaper to build than a Metric, and most points are built in a tight loop
        self._pending_metrics: list[MetricPoint] = []
        self._pending_data: list[DataRef] = []
        #: (step, timestamp) of each metric's latest value (entities.is_later_point)
        self._latest_points: dict[str, tuple[int, float]] = {}
        self.latest_metrics: dict[str, float] = {}
        #: metric name as given -> checked name (a repeated name is checked once)
        self._metric_names: dict[str, str] = {}
        self.data: dict[tuple[str, str], DataRef] = {}
        #: absolute path -> role, hashed when the run ends (with the stat cache); filled by
        #: log_input/log_output and by data capture (tracking.data_capture)
        self.pending_paths: dict[str, str] = {}
        #: data read by earlier cells of the session (hashed as the run starts), by path
        self.upstream: dict[str, DataRef] = {}
        self.artifacts: dict[str, Artifact] = {}
        #: blobs the run names besides its artifacts (checkpoint manifest, outputs, directory
        #: members): linked when the run ends so that gc and verify find them
        self._linked_blobs: set[str] = set()
        self._not_recorded = store_problem
        #: the run is about to end (close_soon): end() flushes right away, so a flush timer
        #: (a thread start) would be wasted
        self._closing = False
        self._environment: EnvironmentCapture | None = None
        self.reported_line: str | None = None
        #: where the run stands in its kernel session's log (set before begin() by the
        #: notebook checkpoint, tracking.notebook_checkpoint); the store keeps that log once
        #: per session instead of in every run
        self.session_log: SessionLogAppend | None = None

    # -- identity ---------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self.run.id

    @property
    def name(self) -> str | None:
        return self.run.name

    @property
    def status(self) -> str:
        return self.run.status

    @property
    def params(self) -> dict[str, str]:
        return dict(self._params)

    @property
    def warnings(self) -> list[str]:
        return list(self.run.warnings)

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def recorded(self) -> bool:
        """False when the run could not be written to the store at all."""
        return self._not_recorded is None and self._created

    # -- what capture adds before begin() and before end() ----------------------------------
    # The public surface the IPython adapter and capture use (docs/architecture.md#tracking-a-cell);
    # nothing outside this class touches its buffers.

    def set_checkpoint(self, digest: str, source: str, flags: Iterable[ReproFlag] = ()) -> None:
        """Name the notebook checkpoint (a stored manifest ``digest``, taken from ``source``:
        see ``entities.CheckpointSource``) and the reproducibility flags found with it. Call
        before :meth:`begin` so that the run row names it from the start; the manifest is
        linked to the run (its parts are found through it)."""
        self.run.checkpoint_digest, self.run.checkpoint_source = digest, source
        self._linked_blobs.add(digest)
        self.run.flags.extend(flags)

    def add_flags(self, flags: Iterable[ReproFlag]) -> None:
        """Add reproducibility flags (saved with the run when it ends)."""
        self.run.flags.extend(flags)

    def link_blobs(self, digests: Iterable[str]) -> None:
        """Link stored blobs to the run when it ends (cell outputs, their large values)."""
        self._linked_blobs.update(digests)

    def close_soon(self) -> None:
        """Say that :meth:`end` follows right away (the tracked cell is over): records
        logged from now on wait for it instead of starting a flush timer."""
        self._closing = True

    def __repr__(self) -> str:
        return f"<ActiveRun {self.id} name={self.name!r} status={self.status}>"

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        __tracebackhide__ = True
        if exc is None:
            self.end("finished")
        else:
            self.end("failed", error=describe_exception(exc))

    # -- lifecycle --------------------------------------------------------------------------

    def warn(self, message: str) -> None:
        """Record a capture problem (shown once at the end, kept in ``run.warnings``)."""
        message = redact(" ".join(message.split()))
        if message not in self.run.warnings:
            self.run.warnings.append(message)

    @contextlib.contextmanager
    def guard(self, what: str) -> Iterator[None]:
        """Run a capture or store step; a failure becomes a warning, never an exception."""
        try:
            yield
        except Exception as exc:
            self.warn(f"{what}: {describe_exception(exc)}")

    def begin(self) -> ActiveRun:
        """Insert the run into the store, start capturing the environment and make the run
        the active one."""
        if self.store is not None:
            with self.guard("capturing the environment"):
                notebook = self.run.notebook_path
                cwd = os.path.dirname(notebook) if notebook else None
                self._environment = EnvironmentCapture(cwd if cwd and os.path.isdir(cwd) else None)
            try:
                if self.session_log is None:
                    self.run = self.store.create_run(self.run)
                else:
                    self.run = self.store.create_run(self.run, session_log=self.session_log)
                self._created = True
            except Exception as exc:
                self._not_recorded = describe_exception(exc)
                self.store = None
        _proc.state.stack.append(self)
        return self

    def end(self, status: str = "finished", error: str | None = None, *, report: bool = True):
        """Finish the run: hash pending data, flush buffers, capture the environment and
        write the final status. Idempotent. Prints the single warning line when ``report``."""
        if self._ended:
            return self.run
        if status not in RUN_STATUSES or status == "running":
            raise InvalidInput(f"A run ends as one of finished, failed or crashed, not {status!r}.")
        self._ended = True
        with contextlib.suppress(ValueError):
            _proc.state.stack.remove(self)
        if self.pending_paths and self.store is not None:
            with self.guard("hashing data"):
                self._hash_pending_paths()
        from .data_capture import add_upstream

        add_upstream(self)
        with self.guard("capturing the environment"):
            self._record_environment()
        if _proc.state.redactor_error:
            self.warn(f"secret redaction unavailable: {_proc.state.redactor_error}")
        self.run.status = status
        self.run.end_time = time.time()
        self.run.error = redact(error) if error else None
        if self.store is not None:
            self._save_end()
        if report:
            self.report()
        return self.run

    def _save_end(self) -> None:
        """Write the buffered records, the blob links and the final fields in one store
        transaction (the cheapest end of a cell). If that is refused, write them one by one so
        that a single bad record does not cost the rest of the run."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            params, points, data = self._pending_params, self._pending_metrics, self._pending_data
            self._pending_params, self._pending_metrics, self._pending_data = [], [], []
        store = self.store
        if store is None:  # end() calls this only with a store
            return
        try:
            self.run = store.finish_run(
                self.run,
                params=params,
                metrics=points,
                data=data,
                blob_digests=sorted(self._linked_blobs),
            )
            return
        except Exception:
            pass
        with self.guard("saving params and metrics"):
            store.log_batch(self.run.id, params=params, metrics=points, data=data)
        if self._linked_blobs:
            with self.guard("linking the checkpoint's parts"):
                store.link_blobs(self.run.id, sorted(self._linked_blobs))
        with self.guard("saving the run"):
            self.run = store.update_run(self.run)

    def report(self) -> str | None:
        """Write the run's single warning line to stderr (if there is anything to say)."""
        if self._not_recorded is not None or (self.store is None and not self._created):
            reason = self._not_recorded or "no store"
            line = f"jupyter-mm: run not recorded: {reason}"
        elif self.run.warnings:
            line = f"jupyter-mm: run {self.run.id} recorded partially: " + "; ".join(
                self.run.warnings
            )
        else:
            return None
        line = " ".join(line.split())
        if len(line) > 500:
            line = line[:497] + "..."
        self.reported_line = line
        with contextlib.suppress(Exception):
            print(line, file=sys.stderr, flush=True)
        return line

    # -- params and metrics -----------------------------------------------------------------

    def log_param(self, name: str, value: Any) -> None:
        # a credential-named param keeps no value, nested dicts lose their credential entries
        # before the repr (log_params({"smtp": {"pass": …}})); a huge container is only cut
        # and scanned as text, whose rules also find 'pass': '…' in its repr
        if not isinstance(value, dict | list | tuple) or len(value) <= 1_000:
            value = _proc.redact_pair(name, value)
        name = check_name("param", name)
        text, full_length = _param_text(value)
        if full_length is not None:
            self.warn(f"param {name} cut to {MAX_PARAM_CHARS - 1} of its {full_length} characters")
        with self._lock:
            if self._params.get(name) == text:
                return
            self._params[name] = text
            self._pending_params.append(Param(name, text))
        self._schedule_flush()

    def log_params(self, params: Mapping[str, Any]) -> None:
        if not isinstance(params, Mapping):
            raise InvalidInput(f"log_params takes a mapping of names to values, not {params!r}.")
        for name, value in params.items():
            self.log_param(name, value)

    def log_metric(
        self, name: str, value: Any, step: int | None = None, timestamp: float | None = None
    ) -> None:
        # The hot path of a training loop (100k calls in a cell): plain str names already
        # seen, float values and int steps skip the general checks, the point is buffered
        # as a tuple under one lock, and the flush timer is only looked at, not started,
        # while one is already pending.
        clean = self._metric_names.get(name) if type(name) is str else None
        if clean is None:
            clean = check_name("metric", name)
            self._metric_names[name] = clean
        name = clean
        number = value if type(value) is float else _as_number(name, value)
        if step is not None and type(step) is not int:
            if isinstance(step, bool) or not isinstance(step, numbers.Integral):
                raise InvalidInput(f"The step of metric {name!r} must be an integer, not {step!r}.")
            step = int(step)
        when = time.time() if timestamp is None else timestamp
        with self._lock:
            kept = self._latest_points.get(name)
            if step is None:
                step = 0 if kept is None else kept[0] + 1
            if kept is None or is_later_point(step, when, *kept):
                self._latest_points[name] = (step, when)
                self.latest_metrics[name] = number
            self._pending_metrics.append((name, number, step, when))
            full = len(self._pending_metrics) >= METRIC_FLUSH_POINTS
        if full:
            self.flush()
        elif self._timer is None:
            self._schedule_flush()

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        if not isinstance(metrics, Mapping):
            raise InvalidInput(f"log_metrics takes a mapping of names to numbers, not {metrics!r}.")
        for name, value in metrics.items():
            self.log_metric(name, value, step=step)

    def _schedule_flush(self) -> None:
        if self._ended or self._closing:
            return
        with self._lock:
            if self._timer is not None or self.store is None:
                return
            self._timer = threading.Timer(METRIC_FLUSH_SECONDS, self.flush)
            self._timer.daemon = True
            self._timer.start()

    def flush(self) -> None:
        """Write buffered params, metric points and data references now."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            params, self._pending_params = self._pending_params, []
            points, self._pending_metrics = self._pending_metrics, []
            data, self._pending_data = self._pending_data, []
        if self.store is None or not (params or points or data):
            return
        with self.guard("saving params and metrics"):
            self.store.log_batch(self.run.id, params=params, metrics=points, data=data)

    # -- data -------------------------------------------------------------------------------

    def log_input(self, path_or_obj: Any, name: str | None = None, *, strict: bool = True) -> None:
        """Record a file, directory or in-memory object (DataFrame, ndarray…) the run reads.
        Files are hashed when the run ends; objects are hashed now, as they are at this call.
        ``strict=False`` (``%%track --data``, checked before the cell ran): an object that
        cannot be hashed is a run warning instead of InvalidInput, and a path the cell
        removed is left out silently."""
        self._log_data(path_or_obj, name, "input", strict)

    def log_output(self, path_or_obj: Any, name: str | None = None) -> None:
        """Record a file, directory or object the run produced (hashed like inputs)."""
        self._log_data(path_or_obj, name, "output", True)

    def _log_data(self, target: Any, name: str | None, role: str, strict: bool) -> None:
        if isinstance(target, (str, os.PathLike)):
            path = os.path.abspath(os.path.expanduser(os.fspath(target)))
            if strict and not os.path.exists(path):
                raise InvalidInput(f"Data path {path} does not exist.")
            self.pending_paths[path] = role
            return
        label = name or _variable_name(target) or type(target).__name__
        try:
            from ..capture.data import describe_object

            self.add_data(describe_object(label, target, role))
        except InvalidInput as exc:
            if strict:
                raise
            self.warn(str(exc))
        except Exception as exc:
            self.warn(f"hashing {label}: {describe_exception(exc)}")

    def add_data(self, ref: DataRef) -> None:
        with self._lock:
            key = (ref.name, ref.role)
            if self.data.get(key) == ref:
                return
            self.data[key] = ref
            self._pending_data.append(ref)

    def _hash_pending_paths(self) -> None:
        from ..capture.data import describe_path

        cache, bars = stat_cache(self.store), progress()
        pending = sorted(self.pending_paths.items())
        self.pending_paths.clear()
        for done, (path, role) in enumerate(pending):
            if not os.path.exists(path):
                continue  # a temp file the cell removed again
            try:
                with self.guard(f"hashing {path}"), interruptible():
                    self.add_data(describe_path(path, role, cache, bars))
            except KeyboardInterrupt:
                # The user stopped a long hash (the progress bar invites it): the cell is
                # over and its result must stand, so record the run without the rest.
                self.warn(f"hashing interrupted; {len(pending) - done} data path(s) not recorded")
                return

    # -- artifacts and models ---------------------------------------------------------------

    def log_artifact(
        self, path_or_bytes: Any, name: str | None = None, media_type: str | None = None
    ) -> Artifact | None:
        """Copy a file, a directory or bytes into the blob store and record it under ``name``
        (default: the file name). Returns the Artifact, or None if the store is unavailable."""
        if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
            if not name:
                raise InvalidInput("log_artifact needs a name when given bytes.")
            data: bytes | None = bytes(path_or_bytes)
            path = None
        elif isinstance(path_or_bytes, (str, os.PathLike)):
            path = os.path.abspath(os.fspath(path_or_bytes))
            if not os.path.exists(path):
                raise InvalidInput(f"Artifact path {path} does not exist.")
            data = None
            from ..capture.data import storable_path

            # a file name that is not UTF-8 is kept readable (\xNN), as data names are
            name = name or storable_path(os.path.basename(path.rstrip(os.sep)))
        else:
            raise InvalidInput(
                f"log_artifact takes a path or bytes, not {type(path_or_bytes).__name__}; "
                "use log_model for objects."
            )
        from ..safe_paths import check_artifact_name

        # the name becomes a file name when the artifact is loaded as a model
        name = check_artifact_name(check_name("artifact", name))
        store = self.store
        if store is None:
            self.warn(f"artifact {name} not saved: no store")
            return None
        artifact = None
        with self.guard(f"saving artifact {name}"):
            if data is not None:
                digest, size = store.blobs.put_bytes(data), len(data)
                kind = media_type or "application/octet-stream"
            else:
                assert path is not None  # not bytes, so the path given
                digest, size, kind = self._put_path(store.blobs, path, media_type)
            artifact = Artifact(name=name, digest=digest, size=size, media_type=kind)
            store.log_batch(self.run.id, artifacts=[artifact])
            self.artifacts[name] = artifact
        return artifact

    def _put_path(
        self, blobs: BlobStore, path: str, media_type: str | None
    ) -> tuple[str, int, str]:
        """Store a file or a directory: its digest, size and media type."""
        if os.path.isdir(path):
            from ..flavors import MEDIA_TYPE_DIRECTORY

            digest, size = self._put_directory(blobs, path)
            return digest, size, media_type or MEDIA_TYPE_DIRECTORY
        size = os.path.getsize(path)
        digest, size = blobs.put_file(path, progress=size > 64 * 1024 * 1024)
        kind = media_type or mimetypes.guess_type(path)[0] or "application/octet-stream"
        return digest, size, kind

    def _put_directory(self, blobs: BlobStore, root: str) -> tuple[str, int]:
        """Store every file of a directory as a blob and a JSON manifest naming them; the
        manifest is the artifact (so identical files are stored once across versions)."""
        from ..safe_paths import member_parts

        members: list[tuple[str, str]] = []
        for folder, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for filename in sorted(filenames):
                full = os.path.join(folder, filename)
                if os.path.isfile(full):
                    members.append((full, os.path.relpath(full, root).replace(os.sep, "/")))
        # every path must be writable back inside a directory: checked before storing any
        unsafe = next((rel for _, rel in members if member_parts(rel) is None), None)
        if unsafe is not None:
            raise InvalidInput(f"{unsafe!r} in {root} cannot be part of a directory artifact.")
        files: dict[str, dict[str, Any]] = {}
        total = 0
        for full, relative in members:
            digest, size = blobs.put_file(full)
            files[relative] = {"digest": digest, "size": size}
            total += size
        manifest = json.dumps({"files": files}, sort_keys=True).encode()
        self._linked_blobs.update(entry["digest"] for entry in files.values())
        return blobs.put_bytes(manifest), total

    def log_model(
        self,
        model: Any,
        name: str = "model",
        input_example: Any = None,
        *,
        reference: Any = None,
        reference_target: Any = None,
    ) -> Artifact | None:
        """Record a model: a file or directory path is stored as is; any other object is
        serialized by flavor (see :mod:`jupyter_mm.flavors`; the media type says which).
        ``input_example`` adds the artifact ``<name>.signature.json`` (dtypes, shape,
        columns), read before anything is stored so a bad example stores nothing.
        ``reference`` (the training inputs) adds ``<name>.profile``, the reference profile
        monitoring compares served data with (see :mod:`jupyter_mm.monitoring.stored`);
        ``reference_target`` (their labels) lets it calibrate the model's scores. Without
        ``reference`` a model fitted on a DataFrame is profiled on the namespace's DataFrame
        with exactly its columns (``reference=False``: no profile)."""
        from ..flavors import MEDIA_TYPE_SIGNATURE, SIGNATURE_SUFFIX, signature_bytes, signature_of
        from ..safe_paths import check_artifact_name

        if name is not None:  # checked before anything is stored, the signature's name too
            check_artifact_name(check_name("artifact", name))
        signature = None if input_example is None else signature_of(input_example)
        if signature is not None and name is not None:
            check_artifact_name(check_name("artifact", name) + SIGNATURE_SUFFIX)
        profile = None
        if name is not None and not isinstance(model, (str, os.PathLike)):
            from ..monitoring.capture import reference_profile_bytes

            profile = reference_profile_bytes(model, reference, reference_target, name)
        if isinstance(model, (str, os.PathLike)):
            artifact = self.log_artifact(model, name=name)
        else:
            from ..flavors import serialize_model

            payload, media_type = serialize_model(model)
            artifact = self.log_artifact(payload, name=name, media_type=media_type)
        if signature is not None and artifact is not None:
            self.log_artifact(
                signature_bytes(signature),
                name=artifact.name + SIGNATURE_SUFFIX,
                media_type=MEDIA_TYPE_SIGNATURE,
            )
        if profile is not None and artifact is not None:
            from ..monitoring.stored import MEDIA_TYPE_PROFILE, PROFILE_SUFFIX

            self.log_artifact(
                profile, name=artifact.name + PROFILE_SUFFIX, media_type=MEDIA_TYPE_PROFILE
            )
        return artifact

    # -- environment ------------------------------------------------------------------------

    def _record_environment(self) -> None:
        if self._environment is None:
            return
        env = self._environment.result()
        if self.store is not None and env.id not in _proc.state.stored_environments:
            self.store.put_environment(env)
            _proc.state.stored_environments.add(env.id)
        self.run.environment_id = env.id


def _variable_name(obj: Any) -> str | None:
    """The user-namespace name bound to ``obj`` (for labelling in-memory data), if any."""
    shell = ipython()
    if shell is None:
        return None
    for key, value in list(shell.user_ns.items()):
        if value is obj and not key.startswith("_"):
            return key
    return None
