"""Fixtures of the reliability tests: the same real Jupyter server as ``tests/server``
(pytest-jupyter, jupyter_mm enabled, root_dir in a temp directory) and that directory's
store-filling helpers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# pytest-jupyter's server fixtures; imported per directory because some are autouse
from pytest_jupyter.jupyter_server import *  # noqa: F403
from traitlets.config import Config

from jupyter_mm.config import ENV_ARTIFACTS, ENV_STORE

# mm_api_data / mm_registry_data live next to the server tests and store_workers next to the
# store tests (directories, not packages); the browser harness (``browser.harness``, the
# `jupyter lab` launcher) is in a package under tests/
TESTS = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(TESTS / "server"), str(TESTS / "store"), str(TESTS)]


@pytest.fixture(autouse=True)
def _no_outside_store(monkeypatch: pytest.MonkeyPatch) -> None:
    # a developer's own JUPYTER_MM_STORE must never leak into (or be written by) the tests
    monkeypatch.delenv(ENV_STORE, raising=False)
    monkeypatch.delenv(ENV_ARTIFACTS, raising=False)


@pytest.fixture
def jp_server_config() -> Config:
    return Config({"ServerApp": {"jpserver_extensions": {"jupyter_mm": True}}})
