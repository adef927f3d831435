"""The scoring server: MLflow's scoring protocol over tornado.

Routes: ``POST /invocations`` (see :mod:`.inputs`), ``GET /ping`` and ``/health`` (200 when
the champion is loaded), ``GET /version``, ``GET /metrics`` (Prometheus), ``POST /feedback``
(``{"request_id": id, "label": y}`` or ``{"labels": [{"request_id", "label"}, …]}``).

Every answer of ``/invocations`` carries ``X-Request-Id`` (give your own in the request
header to join labels later), ``X-Model-Version`` (``name/version``) and ``X-Model-Arm``.
The canary's routing key is ``X-Routing-Key`` when sent (e.g. a user id, so one user sees
one version), else the request id.
"""

from __future__ import annotations

import itertools
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import tornado.web

from .batchfile import new_id_prefix
from .deployment import Arm, Deployment
from .inputs import InputProblem, read_input
from .predlog import PredictionLogWriter

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from .deployment import LoadedModel

MAX_BODY_BYTES = 64 * 1024 * 1024
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """Prometheus counters and a latency histogram per version and arm."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry: CollectorRegistry = CollectorRegistry()
        labels = ("model", "version", "arm")
        self.requests = Counter(
            "jupyter_mm_requests", "Scoring requests answered", (*labels, "status"),
            registry=self.registry,
        )  # fmt: skip
        self.rows = Counter("jupyter_mm_predictions", "Rows scored", labels, registry=self.registry)
        self.latency = Histogram(
            "jupyter_mm_latency_seconds", "Scoring latency", labels,
            buckets=_LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip


class ServingState:
    """What the handlers share: the deployment, the log writer, the metrics."""

    def __init__(self, deployment: Deployment, writer: PredictionLogWriter | None) -> None:
        self.deployment = deployment
        self.writer = writer
        self.metrics = Metrics()
        self.shadow_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jupyter-mm-shadow")
        self.started = time.time()
        self.answered = 0
        self._id_prefix = new_id_prefix()
        self._ids = itertools.count()
        #: requests refused (400) or failed (500): the heartbeat reports it for the error rate
        self.failed = 0

    def record_failure(self, served: LoadedModel, arm: str) -> None:
        """A request that got a 400 or 500: counted for the heartbeat, and logged with its
        time for the error rate of monitoring windows."""
        self.failed += 1
        if self.writer is not None:
            self.writer.add_failure(served, arm, time.time())

    def new_request_id(self) -> str:
        """32 hex digits: this process's random prefix and a counter (see batchfile)."""
        return f"{self._id_prefix}{next(self._ids):016x}"


class _Base(tornado.web.RequestHandler):
    state: ServingState

    def initialize(self, state: ServingState) -> None:
        self.state = state

    def fail(self, status: int, message: str) -> None:
        self.set_status(status)
        self.finish({"error_code": "BAD_REQUEST" if status == 400 else "ERROR", "message": message})

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        # tornado's own errors (405, oversized bodies…) as JSON, never a traceback page
        self.finish({"error_code": "ERROR", "message": self._reason})


class InvocationsHandler(_Base):
    def post(self) -> None:
        started = time.perf_counter()
        state = self.state
        headers = self.request.headers
        request_id = (headers.get("X-Request-Id") or state.new_request_id())[:64]
        self.set_header("X-Request-Id", request_id)
        arm = state.deployment.route(headers.get("X-Routing-Key") or request_id)
        served = arm.current
        if served is None:
            self.fail(503, "No model version is loaded yet.")
            return
        labels = (served.version.model, str(served.version.version), arm.name)
        self.set_header("X-Model-Version", served.label)
        self.set_header("X-Model-Arm", arm.name)
        try:
            data = read_input(
                self.request.body,
                headers.get("Content-Type"),
                served.version.signature,
                served.array_input,
            )
            predictions = served.predict(data)
        except InputProblem as exc:
            state.metrics.requests.labels(*labels, "400").inc()
            state.record_failure(served, arm.name)
            self.fail(400, str(exc))
            return
        except Exception as exc:  # the model itself failed on valid-looking input
            state.metrics.requests.labels(*labels, "500").inc()
            state.record_failure(served, arm.name)
            self.fail(500, f"The model failed: {_one_line(exc)}")
            return
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"predictions": predictions.tolist()}))
        latency = time.perf_counter() - started
        metrics = state.metrics
        metrics.requests.labels(*labels, "200").inc()
        metrics.rows.labels(*labels).inc(len(predictions))
        metrics.latency.labels(*labels).observe(latency)
        state.answered += 1
        if state.writer is not None:
            state.writer.add(
                served, arm.name, (request_id, time.time(), latency * 1000, data, predictions)
            )
        shadow = state.deployment.arms.get("shadow")
        if shadow is not None and shadow.current is not None:
            state.shadow_pool.submit(_score_shadow, state, shadow, request_id, data, served)


def _one_line(exc: BaseException) -> str:
    text = str(exc).splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def _score_shadow(
    state: ServingState, arm: Arm, request_id: str, data: Any, answered: LoadedModel
) -> None:
    """The shadow's answer is logged, never returned; it runs after the reply is sent."""
    served = arm.current
    if served is None:
        return
    labels = (served.version.model, str(served.version.version), "shadow")
    started = time.perf_counter()
    try:
        predictions = served.predict(_as_input_of(data, answered, served))
    except Exception:
        state.metrics.requests.labels(*labels, "500").inc()
        return
    latency = time.perf_counter() - started
    state.metrics.requests.labels(*labels, "200").inc()
    state.metrics.latency.labels(*labels).observe(latency)
    if state.writer is not None:
        state.writer.add(
            served, "shadow", (request_id, time.time(), latency * 1000, data, predictions)
        )


def _as_input_of(data: Any, answered: LoadedModel, shadow: LoadedModel) -> Any:
    """The champion's checked input, in the form the shadow takes (an array of the same
    columns, or a DataFrame when the shadow needs names)."""
    import numpy as np

    if (
        isinstance(data, np.ndarray)
        and answered.columns
        and (not shadow.array_input or shadow.columns != answered.columns)
    ):
        import pandas as pd

        return pd.DataFrame(data, columns=list(answered.columns))
    return data


class PingHandler(_Base):
    def get(self) -> None:
        if self.state.deployment.arms["champion"].current is None:
            self.fail(503, "No model version is loaded.")
            return
        self.finish("\n")


class VersionHandler(_Base):
    def get(self) -> None:
        from .. import __version__

        self.finish({"jupyter_mm": __version__, "arms": self.state.deployment.describe()})


class MetricsHandler(_Base):
    def get(self) -> None:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(generate_latest(self.state.metrics.registry))


class FeedbackHandler(_Base):
    def post(self) -> None:
        try:
            body = json.loads(self.request.body or b"null")
        except ValueError:
            self.fail(400, "The body is not valid JSON.")
            return
        items = body.get("labels") if isinstance(body, dict) and "labels" in body else [body]
        if not isinstance(items, list) or not all(
            isinstance(i, dict) and isinstance(i.get("request_id"), str) and "label" in i
            for i in items
        ):
            self.fail(400, 'Send {"request_id": id, "label": y} or {"labels": [...]} of those.')
            return
        champion = self.state.deployment.arms["champion"].current
        model = champion.version.model if champion else None
        try:
            count = self.state.deployment.store.log_labels(
                [(i["request_id"], json.dumps(i["label"])) for i in items], time.time(), model=model
            )
        except Exception as exc:
            self.fail(400, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            return
        self.finish({"labels": count})


def make_app(state: ServingState) -> tornado.web.Application:
    routes = [
        (r"/invocations", InvocationsHandler),
        (r"/ping", PingHandler),
        (r"/health", PingHandler),
        (r"/version", VersionHandler),
        (r"/metrics", MetricsHandler),
        (r"/feedback", FeedbackHandler),
    ]
    return tornado.web.Application(
        [(path, handler, {"state": state}) for path, handler in routes],
        default_handler_class=_NotFound,
        default_handler_args={"state": state},
    )


class _NotFound(_Base):
    def prepare(self) -> None:
        self.fail(404, f"No route {self.request.path}; see /version.")
