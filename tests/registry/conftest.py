"""Fixtures of the registry tests: the process's default store on a fresh SQLite file, as a
kernel would find it, and trained scikit-learn models logged through the public API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_mm import tracking
from jupyter_mm.config import ENV_ARTIFACTS, ENV_STORE


@pytest.fixture
def mm_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """The default store of this process in ``tmp_path/store``; cwd is ``tmp_path`` and no
    jupyter_mm_config file from the developer's machine is read."""
    monkeypatch.setenv(ENV_STORE, f"sqlite:///{tmp_path / 'store' / 'mm.db'}")
    monkeypatch.delenv(ENV_ARTIFACTS, raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "jupyter-config"))
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", "")
    monkeypatch.setenv("JUPYTERHUB_USER", "ada")
    monkeypatch.chdir(tmp_path)
    tracking.set_default_store(None)
    yield tracking.default_store()
    tracking.set_default_store(None)
