"""``GET /models/{name}/monitoring``: the monitoring report of a model
(``jupyter_mm.monitoring.report``, the same report as ``jupyter mm monitor --json``).

Query: ``version`` (a number; default the production version, else the latest) or ``ref``
(``@stage``/``@alias`` of the model), and ``window`` (rows) or ``since`` (a duration such as
``1h``), and ``step`` (rows per timeline window) or ``every`` (a duration per timeline
window). Its own authorization resource
(``jupyter_mm:monitoring``, read): the report shows distributions of served data.
"""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web
from traitlets.config import Config

from ...errors import InvalidInput
from ...monitoring import Monitor, load_monitor, report
from ...store.registry_contract import check_model_name
from .base import MMAPIHandler
from .models import parse_version, server_registry

#: the largest window a request may ask for (rows read from the prediction log)
MAX_WINDOW_ROWS = 1_000_000


def _positive(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_WINDOW_ROWS:
        raise InvalidInput(
            f"{name} is a whole number from 1 to {MAX_WINDOW_ROWS}, not {value[:40]!r}."
        )
    return int(value)


def _server_monitor(server_config: Config) -> Monitor:
    """``c.Monitor`` as every process reads it, the server's own config on top (per request,
    like the registry's gates)."""
    from ...config import load_config

    return load_monitor(load_config(server_config))


class MonitoringHandler(MMAPIHandler):
    auth_resource = "jupyter_mm:monitoring"

    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        from ...cli.monitor import parse_duration, parse_since

        name = check_model_name(name)
        version, alias = (
            self.get_query_argument("version", None),
            self.get_query_argument("ref", None),
        )
        if version is not None and alias is not None:
            raise InvalidInput("Give version or ref, not both.")
        ref = (
            name
            if version is None and alias is None
            else (f"{name}/{parse_version(version)}" if version else f"{name}@{alias}")
        )
        window = _positive(self.get_query_argument("window", None), "window")
        step = _positive(self.get_query_argument("step", None), "step")
        since_text = self.get_query_argument("since", None)
        if window is not None and since_text is not None:
            raise InvalidInput("Give window or since, not both.")
        since = parse_since(since_text) if since_text is not None else None
        every_text = self.get_query_argument("every", None)
        every = parse_duration(every_text, "every") if every_text is not None else None
        store = await self.get_store()
        settings = await self.call_store(_server_monitor, self.config)
        rules = await self.call_store(server_registry, self.config)
        gates = rules.gates_for("production")
        body = await self.call_store(
            report,
            ref,
            window,
            since=since,
            step=step,
            every=every,
            store=store,
            settings=settings,
            gates=gates,
        )
        self.write_json(body)
