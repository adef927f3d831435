"""Fixtures for the browser tests: one real `jupyter lab` and one Chromium for the session.

Each test gets its own browser context (cookies, storage) logged in with the token; tests
that follow one notebook through several steps share a module-scoped page instead, because
starting a page and a kernel is the slow part.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .harness import CHROMIUM, CHROMIUM_ARGS, Lab, missing, new_lab_page, running_lab


@pytest.fixture(scope="package")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A `jupyter lab` for the whole browser session, root_dir and store in a temp dir."""
    with running_lab(tmp_path_factory.mktemp("lab")) as running:
        yield running


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Debian's Chromium, driven by Playwright (its own browser download needs internet)."""
    if not Path(CHROMIUM).exists():
        missing(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        missing("Python Playwright is not installed (pip install playwright)")
    # a loaded 2-core CI machine renders slowly; the default of 5 s leaves too little margin
    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def lab_page(browser: Any, lab: Lab) -> Iterator[Any]:
    """A logged-in JupyterLab page of its own for one test."""
    page = new_lab_page(browser, lab)
    try:
        yield page
    finally:
        page.context.close()
