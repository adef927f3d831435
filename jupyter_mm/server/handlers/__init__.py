"""Routes of the jupyter-mm REST API, all under ``/jupyter-mm/api``
(``docs/architecture.md#the-rest-api-and-the-wire-schema``).

Each resource has its own module; this one only assembles their URL patterns so that the
full API is readable in one place (and so tests can enumerate every route).
"""

from __future__ import annotations

from typing import Any

from .alerts import AlertsHandler
from .approvals import ApprovalHandler, ApprovalsHandler, ApproveHandler, RejectHandler
from .artifacts import ArtifactHandler
from .base import UnknownEndpointHandler
from .checkpoints import CheckpointHandler
from .diffs import DiffHandler
from .events import EventsHandler
from .info import InfoHandler
from .model_versions import EndpointsHandler, LineageHandler, TransitionHandler
from .models import AliasHandler, ModelHandler, ModelsHandler, RollbackHandler
from .monitoring import MonitoringHandler
from .runs import MetricNamesHandler, RunHandler, RunsHandler

#: path of the API below the server's base URL
API_PREFIX = "/jupyter-mm/api"

#: a run reference in a path: a full id, a unique prefix or ``latest`` (ids are Crockford
#: base32, so nothing but letters and digits ever needs to match)
RUN_REF = r"([0-9A-Za-z]+)"
#: a model name, version number or alias in a path: one URL-encoded segment, checked by
#: the handler with the registry's own rules (a 400 that says why beats a bare 404)
SEGMENT = r"([^/]+)"

#: (pattern relative to API_PREFIX, handler class); MMExtensionApp adds the base URL.
ROUTES: list[tuple[str, type[Any]]] = [
    (r"/info", InfoHandler),
    (r"/runs", RunsHandler),
    (r"/runs/metric-names", MetricNamesHandler),
    (rf"/runs/{RUN_REF}", RunHandler),
    (rf"/runs/{RUN_REF}/checkpoint", CheckpointHandler),
    (rf"/runs/{RUN_REF}/diff/{RUN_REF}", DiffHandler),
    # the name is everything after artifacts/ (it may hold slashes); tornado decodes it once
    (rf"/runs/{RUN_REF}/artifacts/(.+)", ArtifactHandler),
    (r"/events", EventsHandler),
    (r"/alerts", AlertsHandler),
    (r"/models", ModelsHandler),
    (rf"/models/{SEGMENT}", ModelHandler),
    (rf"/models/{SEGMENT}/rollback", RollbackHandler),
    (rf"/models/{SEGMENT}/endpoints", EndpointsHandler),
    (rf"/models/{SEGMENT}/aliases/{SEGMENT}", AliasHandler),
    (rf"/models/{SEGMENT}/versions/{SEGMENT}/transition", TransitionHandler),
    (rf"/models/{SEGMENT}/versions/{SEGMENT}/lineage", LineageHandler),
    (r"/approvals", ApprovalsHandler),
    (rf"/approvals/{SEGMENT}", ApprovalHandler),
    (rf"/approvals/{SEGMENT}/approve", ApproveHandler),
    (rf"/approvals/{SEGMENT}/reject", RejectHandler),
    (rf"/models/{SEGMENT}/monitoring", MonitoringHandler),
    # keep last: tornado takes the first matching route
    (r"/(.*)", UnknownEndpointHandler),
]
