"""The scoring server: MLflow's scoring protocol over :mod:`.http` (asyncio).

Routes: ``POST /invocations`` (see :mod:`.inputs`), ``GET /ping`` and ``/health`` (200 when
the champion is loaded), ``GET /version``, ``GET /metrics`` (Prometheus), ``POST /feedback``
(``{"request_id": id, "label": y}`` or ``{"labels": [{"request_id", "label"}, …]}``).

Every answer of ``/invocations`` carries ``X-Request-Id`` (give your own in the request
header to join labels later), ``X-Model-Version`` (``name/version``) and ``X-Model-Arm``.
The canary's routing key is ``X-Routing-Key`` when sent (e.g. a user id, so one user sees
one version), else the request id.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from .batchfile import new_id_prefix
from .deployment import Arm, Deployment
from .http import Reply, Request
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
        # fewer calls than requests: requests that arrived together were scored together
        self.calls = Counter(
            "jupyter_mm_model_calls", "Calls of the model's predict", labels, registry=self.registry
        )
        self.latency = Histogram(
            "jupyter_mm_latency_seconds", "Scoring latency", labels,
            buckets=_LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        # ``labels()`` validates and locks on every call; a version's children are fixed
        self._children: dict[tuple[Any, ...], tuple[Any, Any, Any]] = {}

    def _of(self, served: LoadedModel, arm: str, status: str) -> tuple[Any, Any, Any]:
        key = (served.version.model, served.version.version, arm, status)
        children = self._children.get(key)
        if children is None:
            labels = (served.version.model, str(served.version.version), arm)
            children = self._children[key] = (
                self.requests.labels(*labels, status),
                self.rows.labels(*labels),
                self.latency.labels(*labels),
            )
        return children

    def answered(self, served: LoadedModel, arm: str, rows: int, latency: float) -> None:
        requests, scored, latencies = self._of(served, arm, "200")
        requests.inc()
        scored.inc(rows)
        latencies.observe(latency)

    def called(self, served: LoadedModel, arm: str) -> None:
        version = served.version
        self.calls.labels(version.model, str(version.version), arm).inc()

    def failed(self, served: LoadedModel, arm: str, status: int) -> None:
        self._of(served, arm, str(status))[0].inc()


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


class _Scoring:
    """One accepted ``/invocations`` request between reading and answering."""

    __slots__ = ("arm", "data", "headers", "reply", "request_id", "served", "started")

    def __init__(self, reply: Reply, started: float, request_id: str, arm: Arm, served: Any):
        self.reply, self.started, self.request_id = reply, started, request_id
        self.arm, self.served = arm, served
        self.data: Any = None
        self.headers: list[tuple[str, str]] = [
            ("X-Request-Id", request_id),
            ("X-Model-Version", served.label),
            ("X-Model-Arm", arm.name),
        ]


class Scorer:
    """``POST /invocations``: read and check the body, predict, answer, log.

    Requests read in the same turn of the event loop are predicted together when the model
    allows it (``LoadedModel.batchable``: checked when loaded to give every row the answer
    it gives that row alone): with 8 clients a scikit-learn pipeline spent ~0.8 ms per call
    on input validation whatever the row count, so one call for the requests waiting costs
    what one request did. Nothing waits for a batch to fill: the batch is whatever arrived
    while the previous one was scored; at low load it is one request and costs one loop
    turn."""

    def __init__(self, state: ServingState) -> None:
        self.state = state
        self._pending: list[_Scoring] = []

    def __call__(self, request: Request, reply: Reply) -> None:
        started = time.perf_counter()
        state = self.state
        headers = request.headers
        request_id = (headers.get("x-request-id") or state.new_request_id())[:64]
        arm = state.deployment.route(headers.get("x-routing-key") or request_id)
        served = arm.current
        if served is None:
            reply.json(503, _error(503, "No model version is loaded yet."),
                       (("X-Request-Id", request_id),))  # fmt: skip
            return
        scoring = _Scoring(reply, started, request_id, arm, served)
        try:
            scoring.data = read_input(
                request.body,
                headers.get("content-type"),
                served.version.signature,
                served.array_input,
            )
        except InputProblem as exc:
            self._failed(scoring, 400, str(exc))
            return
        if not served.batchable:
            self._answer(scoring, *self._predict_one(scoring))
            return
        self._pending.append(scoring)
        if len(self._pending) == 1:  # after the other requests read in this loop turn
            asyncio.get_running_loop().call_soon(self._score_pending)

    def _score_pending(self) -> None:
        pending, self._pending = self._pending, []
        groups: dict[int, list[_Scoring]] = {}
        for scoring in pending:
            groups.setdefault(id(scoring.served), []).append(scoring)
        for group in groups.values():
            for scoring, outcome in zip(group, self._predict_together(group), strict=True):
                self._answer(scoring, *outcome)

    def _predict_one(self, scoring: _Scoring) -> tuple[Any, str | None]:
        self.state.metrics.called(scoring.served, scoring.arm.name)
        try:
            return scoring.served.predict(scoring.data), None
        except Exception as exc:  # the model itself failed on valid-looking input
            return None, f"The model failed: {_one_line(exc)}"

    def _predict_together(self, group: list[_Scoring]) -> list[tuple[Any, str | None]]:
        """Each request's (predictions, problem), from one call when that call succeeds
        and answers a row per row; otherwise (a request the model refuses) request by
        request, so one bad request fails alone."""
        import numpy as np

        if len(group) > 1:
            first = group[0]
            self.state.metrics.called(first.served, first.arm.name)
            sizes = [len(s.data) for s in group]
            try:
                together = first.served.predict(np.concatenate([s.data for s in group]))
            except Exception:
                together = None
            if together is not None and len(together) == sum(sizes):
                bounds = np.cumsum(sizes)[:-1]
                return [(part, None) for part in np.split(together, bounds)]
        return [self._predict_one(s) for s in group]

    def _answer(self, scoring: _Scoring, predictions: Any, problem: str | None) -> None:
        state = self.state
        if problem is not None:
            self._failed(scoring, 500, problem)
            return
        scoring.reply.send(
            200,
            json.dumps({"predictions": predictions.tolist()}).encode(),
            [("Content-Type", "application/json"), *scoring.headers],
        )
        latency = time.perf_counter() - scoring.started
        served, arm = scoring.served, scoring.arm
        state.metrics.answered(served, arm.name, len(predictions), latency)
        state.answered += 1
        if state.writer is not None:
            state.writer.add(
                served,
                arm.name,
                (scoring.request_id, time.time(), latency * 1000, scoring.data, predictions),
            )
        shadow = state.deployment.arms.get("shadow")
        if shadow is not None and shadow.current is not None:
            state.shadow_pool.submit(
                _score_shadow, state, shadow, scoring.request_id, scoring.data, served
            )

    def _failed(self, scoring: _Scoring, status: int, message: str) -> None:
        self.state.metrics.failed(scoring.served, scoring.arm.name, status)
        self.state.record_failure(scoring.served, scoring.arm.name)
        scoring.reply.json(status, _error(status, message), tuple(scoring.headers))


def _error(status: int, message: str) -> dict[str, str]:
    return {"error_code": "BAD_REQUEST" if status == 400 else "ERROR", "message": message}


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
    started = time.perf_counter()
    try:
        predictions = served.predict(_as_input_of(data, answered, served))
    except Exception:
        state.metrics.failed(served, "shadow", 500)
        return
    latency = time.perf_counter() - started
    state.metrics.answered(served, "shadow", len(predictions), latency)
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


def _ping(state: ServingState, request: Request, reply: Reply) -> None:
    if state.deployment.arms["champion"].current is None:
        reply.json(503, _error(503, "No model version is loaded."))
        return
    reply.send(200, b"\n", [("Content-Type", "text/plain")])


def _version(state: ServingState, request: Request, reply: Reply) -> None:
    from .. import __version__

    reply.json(200, {"jupyter_mm": __version__, "arms": state.deployment.describe()})


def _metrics(state: ServingState, request: Request, reply: Reply) -> None:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    reply.send(
        200, generate_latest(state.metrics.registry), [("Content-Type", CONTENT_TYPE_LATEST)]
    )


def _feedback(state: ServingState, request: Request, reply: Reply) -> None:
    try:
        body = json.loads(request.body or b"null")
    except ValueError:
        reply.json(400, _error(400, "The body is not valid JSON."))
        return
    items = body.get("labels") if isinstance(body, dict) and "labels" in body else [body]
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and isinstance(i.get("request_id"), str) and "label" in i for i in items
    ):
        message = 'Send {"request_id": id, "label": y} or {"labels": [...]} of those.'
        reply.json(400, _error(400, message))
        return
    champion = state.deployment.arms["champion"].current
    model = champion.version.model if champion else None
    try:
        count = state.deployment.store.log_labels(
            [(i["request_id"], json.dumps(i["label"])) for i in items], time.time(), model=model
        )
    except Exception as exc:
        reply.json(400, _error(400, str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
        return
    reply.json(200, {"labels": count})


def make_handler(state: ServingState) -> Callable[[Request, Reply], None]:
    """The server's one handler: the route's function for the method, or a JSON 404/405."""
    scorer = Scorer(state)
    routes: dict[str, tuple[str, Callable[..., None]]] = {
        "/ping": ("GET", _ping),
        "/health": ("GET", _ping),
        "/version": ("GET", _version),
        "/metrics": ("GET", _metrics),
        "/feedback": ("POST", _feedback),
    }

    def handle(request: Request, reply: Reply) -> None:
        if request.path == "/invocations" and request.method == "POST":
            scorer(request, reply)
            return
        route = routes.get(request.path)
        if route is None and request.path != "/invocations":
            reply.json(404, _error(404, f"No route {request.path}; see /version."))
        elif route is None or route[0] != request.method:
            reply.json(405, _error(405, f"{request.method} is not allowed on {request.path}."))
        else:
            try:
                route[1](state, request, reply)
            except Exception as exc:  # a bug of ours: JSON, never a traceback page
                reply.json(500, _error(500, _one_line(exc)))

    return handle
