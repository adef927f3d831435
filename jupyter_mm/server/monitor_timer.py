"""The server's monitor timer: evaluate ``c.Monitor.rules`` every ``c.Monitor.interval``
seconds (``0``, the default: never), in a worker thread, so rules run where JupyterLab runs
without a separate ``jupyter mm watch`` process. One pass at a time; a pass that fails is
logged and the next one runs as planned. When webhooks are configured, the server also
runs a webhook deliverer for its whole life (:mod:`jupyter_mm.alerts.outbox`): it delivers
what kernels and CLI commands queued and could not deliver before they stopped."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from tornado.ioloop import PeriodicCallback
from traitlets.config import Config

if TYPE_CHECKING:
    from ..alerts.outbox import Deliverer
    from .store_provider import StoreProvider


class MonitorTimer:
    def __init__(self, provider: StoreProvider, config: Config, log: logging.Logger) -> None:
        self.provider = provider
        self.config = config
        self.log = log
        self.callback: PeriodicCallback | None = None
        self.deliverer: Deliverer | None = None

    def interval(self) -> float:
        from ..alerts.rules import make_monitor
        from ..config import load_config

        return float(make_monitor(load_config(self.config)).interval)

    def start(self) -> None:
        self._start_deliverer()
        try:
            every = self.interval()
        except Exception as exc:  # a bad rule: the server runs, the log says why
            self.log.error("jupyter-mm: monitor rules not evaluated: %s", exc)
            return
        if every > 0:
            # tornado waits for a tick's coroutine before scheduling the next: one pass at a time
            self.callback = PeriodicCallback(self._tick, every * 1000)
            self.callback.start()
            self.log.info("jupyter-mm: monitor rules evaluated every %g s", every)

    def _start_deliverer(self) -> None:
        from ..alerts.outbox import start_deliverer
        from ..alerts.webhooks import make_webhooks
        from ..config import load_config

        try:
            webhooks = make_webhooks(load_config(self.config))
            if webhooks.hooks:
                self.deliverer = start_deliverer(self.provider.get(), webhooks)
        except Exception as exc:  # the server runs; the log says why nothing is delivered
            self.log.error("jupyter-mm: webhook deliverer not started: %s", exc)

    def _pass(self) -> int:
        from ..alerts.evaluate import check
        from ..alerts.rules import make_monitor
        from ..config import load_config

        monitor = make_monitor(load_config(self.config))
        outcomes = check(self.provider.get(), monitor=monitor)
        return sum(1 for o in outcomes if o.state == "fired")

    async def _tick(self) -> None:
        try:
            fired = await asyncio.get_running_loop().run_in_executor(None, self._pass)
            if fired:
                self.log.warning("jupyter-mm: %d monitor alert(s) fired", fired)
        except Exception:
            self.log.exception("jupyter-mm: a monitor pass failed")

    def stop(self) -> None:
        if self.deliverer is not None:
            self.deliverer.stop(timeout=5.0)
            self.deliverer = None
        if self.callback is not None:
            self.callback.stop()
            self.callback = None
