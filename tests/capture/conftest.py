"""Fixtures shared by the capture tests."""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config


@pytest.fixture
def shell() -> InteractiveShell:
    """An in-process IPython shell with an in-memory history."""
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    return InteractiveShell(config=config)


@pytest.fixture
def no_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """No session notebook: a test run inside a Jupyter kernel would otherwise pick up the
    runner's notebook as the saved-file source."""
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
