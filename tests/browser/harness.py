"""Harness for the browser tests: a real `jupyter lab` subprocess and helpers for pages.

The lab serves the extension exactly as a user gets it (installed into sys.prefix by
`pip install -e .` + `jupyter-builder develop`), so JUPYTER_DATA_DIR is left alone;
config, runtime, settings and workspaces are isolated in a temp directory. The store is a
temp SQLite file named by JUPYTER_MM_STORE, which the kernels inherit from the server.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from mm_test_support import free_port, stop_process, unavailable

from jupyter_mm.config import DB_FILE, ENV_ARTIFACTS, ENV_STORE, STORE_DIR_NAME, StoreLocation

REPO = Path(__file__).resolve().parents[2]
#: screenshots and the lab's log land here in every run (git-ignored; CI keeps them)
ARTIFACTS = REPO / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
VIEWPORT = {"width": 1440, "height": 900}
#: optional: a directory holding a `jupyter-mm/` lab extension build that takes precedence
#: over the installed one, to test a build without replacing the one everyone else uses
ENV_EXTRA_LABEXTENSIONS = "JUPYTER_MM_TEST_LABEXTENSIONS"

#: user settings written before the lab starts: no news toast over the page, and no
#: autosave, so an edit stays unsaved for as long as a test needs it to be
USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false"},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
}


def missing(reason: str) -> NoReturn:
    """Skip on a developer machine, fail in CI: CI must never drop the browser tests."""
    unavailable(reason, ci_must="run the browser tests")


@dataclass(frozen=True)
class Lab:
    """A running `jupyter lab` server."""

    base_url: str
    token: str
    root_dir: Path
    store_url: str

    def url(self, path: str) -> str:
        """``path`` (starting with /) on this server, with the token."""
        separator = "&" if "?" in path else "?"
        return f"{self.base_url}{path}{separator}token={self.token}"

    def api(self, path: str, *, token: bool = True) -> tuple[int, bytes]:
        """GET ``/jupyter-mm/api{path}``: (status, body); errors are returned, not raised."""
        url = f"{self.base_url}/jupyter-mm/api{path}"
        headers = {"Authorization": f"token {self.token}"} if token else {}
        request = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def api_json(self, path: str) -> Any:
        """GET an API path with the token; fails the test unless it answers 200 JSON."""
        status, body = self.api(path)
        assert status == 200, f"GET /jupyter-mm/api{path} -> {status}: {body[:300]!r}"
        return json.loads(body)


def _wait_for_server(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"jupyter lab exited with {process.returncode}; its log:\n{log.read_text()}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"the Jupyter server did not answer {url} within {timeout} s")


#: the frontends the tests start: python module and the name of its application's config class
APPS = {"lab": ("jupyterlab", "LabApp"), "notebook7": ("notebook", "JupyterNotebookApp")}


def _extra_labextensions(app_class: str) -> list[str]:
    extra = os.environ.get(ENV_EXTRA_LABEXTENSIONS)
    return [f"--{app_class}.extra_labextensions_path={extra}"] if extra else []


@contextlib.contextmanager
def running_lab(
    base: Path,
    *,
    pin_store: bool = True,
    store: StoreLocation | None = None,
    app: str = "lab",
) -> Iterator[Lab]:
    """Start `jupyter lab` (or, with ``app="notebook7"``, `jupyter notebook` 7) with
    root_dir, store, settings and config under ``base``.

    With ``pin_store=False`` no store is configured: the server resolves (and creates) its
    default store as a user's first ``jupyter lab`` does, in ``.jupyter_mm/`` of root_dir.
    With ``store`` the server uses that store (any backend) instead of the temp SQLite file.
    """
    root, settings = base / "root", base / "settings"
    root.mkdir()
    for plugin, values in USER_SETTINGS.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    store_url = f"sqlite:///{base / 'store' / 'mm.db'}"
    env = {k: v for k, v in os.environ.items() if k not in (ENV_STORE, ENV_ARTIFACTS)}
    env.update(
        {
            "JUPYTER_CONFIG_DIR": str(base / "config"),
            "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        }
    )
    if store is not None:
        store_url = env[ENV_STORE] = store.url
        env[ENV_ARTIFACTS] = store.artifact_root
    elif pin_store:
        (base / "store").mkdir()
        env[ENV_STORE] = store_url
    else:
        store_url = f"sqlite:///{(root / STORE_DIR_NAME / DB_FILE).resolve()}"
    # the log is written in base (parallel sessions must not share a file) and copied to
    # test-artifacts/ at the end, where CI keeps it
    module, app_class = APPS[app]
    log_path = base / f"jupyter-{app}.log"
    port, token = free_port(), secrets.token_hex(16)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                module,
                "--no-browser",
                f"--port={port}",
                "--ip=127.0.0.1",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={root}",
                f"--{app_class}.user_settings_dir={settings}",
                f"--{app_class}.workspaces_dir={base / 'workspaces'}",
                # window.jupyterapp: lets a test call the extension's commands by id
                f"--{app_class}.expose_app_in_browser=True",
                "--allow-root",
                *_extra_labextensions(app_class),
            ],
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_server(f"{url}/api/status?token={token}", process, log_path, timeout=60)
        yield Lab(base_url=url, token=token, root_dir=root, store_url=store_url)
    finally:
        stop_process(process, timeout=15)
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copyfile(log_path, ARTIFACTS / log_path.name)


def new_lab_page(browser: Any, lab: Lab, path: str = "/lab") -> Any:
    """A page in a fresh context, logged in (the token in the first URL sets the cookie)
    and showing ``path`` once JupyterLab has started. The caller closes its context."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    # a fresh workspace per page: no tabs left over from an earlier test
    page.goto(lab.url(f"{path}?reset"))
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.started", timeout=60_000)
    page.evaluate("() => window.jupyterapp.started")
    return page


def screenshot(target: Any, name: str) -> Path:
    """Save a screenshot of a page or locator as ``test-artifacts/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    target.screenshot(path=str(path))
    return path


def run_command(page: Any, command: str, args: dict[str, Any] | None = None) -> Any:
    """Execute a JupyterLab command by id, as the palette or a keyboard shortcut would."""
    return page.evaluate(
        "([id, args]) => window.jupyterapp.commands.execute(id, args)", [command, args or {}]
    )
