"""The jupyter-mm server extension application (``jupyter_mm`` in ``jpserver_extensions``)."""

from __future__ import annotations

import os

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Int

from ..store_names import ENV_SERVER_ROOT
from .handlers import API_PREFIX, ROUTES
from .handlers.base import STORE_PROVIDER_SETTING
from .handlers.diffs import DEFAULT_MAX_DIFF_BYTES, MAX_DIFF_BYTES_SETTING
from .monitor_timer import MonitorTimer
from .store_provider import StoreProvider


class MMExtensionApp(ExtensionApp):
    """Serves the REST API the jupyter-mm sidebar reads.

    The store is configured like everywhere else in jupyter-mm
    (:func:`jupyter_mm.config.load_config`): ``c.MMConfig.store_url`` and
    ``c.MMConfig.artifact_root`` in ``jupyter_mm_config.py`` (read by kernels and the CLI
    too) or in ``jupyter_server_config.py`` (this server only), or the ``JUPYTER_MM_STORE``
    / ``JUPYTER_MM_ARTIFACTS`` environment variables; without them the store is found or
    created from the server's ``root_dir``
    (``docs/architecture.md#configuration-and-store-resolution``).
    """

    name = "jupyter_mm"
    description = "Model management where the work happens: runs, diffs and a model registry."
    # The lab extension is installed as a prebuilt extension; no page or static files here.
    load_other_extensions = True

    open_store_at_start = Bool(
        False,
        help="Open (and if needed create or migrate) the store when the server starts, so a "
        "broken store shows in the server log at once. By default it is opened on the first "
        "API request, which keeps server start-up fast.",
    ).tag(config=True)

    max_diff_bytes = Int(
        DEFAULT_MAX_DIFF_BYTES,
        help="Largest stored checkpoint (bytes) the diff endpoint compares; larger ones are "
        "refused with 413 because nbdime's time grows faster than the notebook's size.",
    ).tag(config=True)

    def initialize_settings(self) -> None:
        # the ExtensionManager links the app to its ServerApp before initializing settings
        assert self.serverapp is not None
        self.store_provider = StoreProvider(
            self.serverapp.config, root_dir=self.serverapp.root_dir, log=self.log
        )
        self.settings[STORE_PROVIDER_SETTING] = self.store_provider
        self.settings[MAX_DIFF_BYTES_SETTING] = self.max_diff_bytes
        # Reads create no store, so the first kernel's run does: kernels inherit this and
        # create it at the root, where the sidebar looks (config._new_store_dir)
        os.environ[ENV_SERVER_ROOT] = str(self.serverapp.root_dir)
        if self.open_store_at_start:
            try:
                store = self.store_provider.get()
            except Exception as exc:
                # The server still starts: the sidebar reports the same error per request.
                self.log.error("jupyter-mm: the store could not be opened: %s", exc)
            else:
                self.log.info("jupyter-mm: store %s opened", store.url)
        # c.Monitor.interval > 0: evaluate monitor rules here (jupyter_mm.alerts)
        self.monitor_timer = MonitorTimer(self.store_provider, self.serverapp.config, self.log)
        self.monitor_timer.start()

    def initialize_handlers(self) -> None:
        # ExtensionApp prefixes handlers with base_url itself; ours live under API_PREFIX.
        self.handlers.extend((API_PREFIX + pattern, cls) for pattern, cls in ROUTES)

    async def stop_extension(self) -> None:
        self.monitor_timer.stop()
        self.store_provider.close()
