"""The server reads jupyter-mm's own settings from the Jupyter server config:
``c.MMConfig.store_url`` chooses the store, ``c.MMExtensionApp.open_store_at_start``
opens it before the first request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from traitlets.config import Config

from jupyter_mm.config import DB_FILE, STORE_DIR_NAME


@pytest.fixture
def configured_db(tmp_path: Path) -> Path:
    return tmp_path / "team-store" / DB_FILE


@pytest.fixture
def jp_server_config(configured_db: Path) -> Config:
    configured_db.parent.mkdir()
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"jupyter_mm": True}},
            "MMConfig": {"store_url": f"sqlite:///{configured_db}"},
            "MMExtensionApp": {"open_store_at_start": True},
        }
    )


def test_store_is_opened_at_start_when_configured(
    jp_serverapp, configured_db: Path, jp_root_dir: Path
) -> None:
    # no request has been made: only start-up can have created the database
    assert configured_db.is_file()
    assert not (jp_root_dir / STORE_DIR_NAME).exists()


async def test_info_reports_the_configured_store(jp_fetch, configured_db: Path) -> None:
    body = json.loads((await jp_fetch("jupyter-mm", "api", "info")).body)
    assert body["store"] == f"sqlite:///{configured_db}"
