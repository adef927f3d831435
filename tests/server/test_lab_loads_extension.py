"""The built lab extension loads in a real JupyterLab and reaches the server extension.

A `jupyter lab` subprocess serves the extension exactly as a user gets it (installed
into sys.prefix by `pip install -e .` + `jupyter labextension develop`); Debian's Chromium
opens it and we wait for the connection plugin to log the store the server reports.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_mm.config import DB_FILE, ENV_ARTIFACTS, ENV_STORE, STORE_DIR_NAME

#: what the connection plugin logs once the server extension answered (or did not)
REPORT = re.compile(r"jupyter-mm \S+: store ")
OUTCOME = re.compile(r"jupyter-mm \S+: store |jupyter-mm: the server extension did not answer")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_server(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"jupyter lab did not answer {url} within {timeout} s")


@pytest.fixture
def lab_server(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """(base URL, token, root_dir) of a fresh `jupyter lab` with isolated user config."""
    root = tmp_path / "root"
    settings = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    root.mkdir()
    settings.mkdir(parents=True)
    # the news toast would otherwise ask for consent over the page
    (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    env = {k: v for k, v in os.environ.items() if k not in (ENV_STORE, ENV_ARTIFACTS)}
    env.update(
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
    )
    port, token = _free_port(), secrets.token_hex(16)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
            f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
            "--allow-root",
        ],
        cwd=root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_server(f"{base}/api/status?token={token}", process, timeout=60)
        yield base, token, root
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_connection_plugin_activates_and_reports_the_store(
    lab_server: tuple[str, str, Path],
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    base, token, root = lab_server
    messages: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        try:
            page = browser.new_page()
            page.on("console", lambda message: messages.append(message.text))
            # the plugin logs exactly one outcome: the store report or the failure
            with page.expect_console_message(
                lambda message: bool(OUTCOME.match(message.text)), timeout=60_000
            ):
                page.goto(f"{base}/lab?token={token}")
        finally:
            browser.close()

    assert "jupyter-mm:connection is activated" in messages
    store = f"sqlite:///{(root / STORE_DIR_NAME / DB_FILE).resolve()}"
    reports = [text for text in messages if REPORT.match(text)]
    assert reports, messages
    assert f": store {store} (schema " in reports[0]
