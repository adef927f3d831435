"""Fixtures for the server-extension tests: a real Jupyter server (pytest-jupyter) with the
jupyter_mm extension enabled, its root_dir in a temp directory."""

from __future__ import annotations

import pytest

# pytest-jupyter's server fixtures (jp_serverapp, jp_fetch, ...) and its async-test hooks.
# Imported here rather than registered globally because some of them are autouse and
# only these tests need a server. (pytest_plugins is only allowed in the root conftest.)
from pytest_jupyter.jupyter_server import *  # noqa: F403
from traitlets.config import Config

from jupyter_mm.config import ENV_ARTIFACTS, ENV_STORE
from jupyter_mm.store_names import ENV_SERVER_ROOT


@pytest.fixture(autouse=True)
def _no_outside_store(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's own JUPYTER_MM_STORE must never leak into (or be written by) the tests.
    monkeypatch.delenv(ENV_STORE, raising=False)
    monkeypatch.delenv(ENV_ARTIFACTS, raising=False)
    # the server sets it for its kernels; set here so that it is undone after the test
    monkeypatch.setenv(ENV_SERVER_ROOT, "")


@pytest.fixture
def jp_server_config() -> Config:
    return Config({"ServerApp": {"jpserver_extensions": {"jupyter_mm": True}}})
