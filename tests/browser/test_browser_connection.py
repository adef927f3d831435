"""The installed lab extension loads in a real JupyterLab and reaches the server extension.

A `jupyter lab` with no configured store serves the extension exactly as a user gets it
(installed into sys.prefix by `pip install -e .` + `jupyter-builder develop`); Chromium
opens it and the connection plugin logs the store the server resolved — `.jupyter_mm/` in
the server's root_dir (``docs/architecture.md#configuration-and-store-resolution``) — and
that nothing is recorded there yet: opening the lab creates no store, the first write does.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from .harness import running_lab

pytestmark = pytest.mark.browser

#: what the connection plugin logs once the server extension answered (or did not)
REPORT = re.compile(r"jupyter-mm \S+: store ")
OUTCOME = re.compile(r"jupyter-mm \S+: store |jupyter-mm: the server extension did not answer")


def test_connection_plugin_reports_the_store_the_server_resolved(
    browser: Any, tmp_path: Path
) -> None:
    messages: list[str] = []
    with running_lab(tmp_path, pin_store=False) as lab:
        page = browser.new_page()
        try:
            page.on("console", lambda message: messages.append(message.text))
            # the plugin logs exactly one outcome: the store report or the failure
            with page.expect_console_message(
                lambda message: bool(OUTCOME.match(message.text)), timeout=60_000
            ):
                page.goto(lab.url("/lab"))
        finally:
            page.close()
        assert not (lab.root_dir / ".jupyter_mm").exists()  # a page load writes nothing

    assert "jupyter-mm:connection is activated" in messages
    reports = [text for text in messages if REPORT.match(text)]
    assert reports, messages
    assert f": store {lab.store_url} (not created yet: nothing recorded)" in reports[0]
