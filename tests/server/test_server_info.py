"""``GET /jupyter-mm/api/info`` against a real Jupyter server and a real SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

import jupyter_mm
from jupyter_mm.config import DB_FILE, ENV_ARTIFACTS, ENV_STORE, STORE_DIR_NAME
from jupyter_mm.server.store_provider import display_url
from jupyter_mm.store import open_store


async def test_info_names_the_store_to_be_and_creates_nothing(jp_fetch, jp_root_dir: Path) -> None:
    store_dir = jp_root_dir / STORE_DIR_NAME
    # server start-up must not create or touch the store: a user who never tracks a run
    # gets no .jupyter_mm/ in their project — and opening the sidebar (info, then the
    # listings) is no reason to create one either
    assert not store_dir.exists()

    response = await jp_fetch("jupyter-mm", "api", "info")

    assert response.code == 200
    body = json.loads(response.body)
    assert set(body) == {"version", "store", "schema_version"}
    assert body["version"] == jupyter_mm.__version__
    assert body["store"] == f"sqlite:///{(store_dir / DB_FILE).resolve()}"
    assert body["schema_version"] is None  # no store yet
    assert not store_dir.exists()


async def test_info_opens_an_existing_store_lazily(jp_fetch, jp_root_dir: Path) -> None:
    store_dir = jp_root_dir / STORE_DIR_NAME
    open_store(cwd=jp_root_dir, root_dir=jp_root_dir).close()  # as a kernel's first run does

    body = json.loads((await jp_fetch("jupyter-mm", "api", "info")).body)

    assert body["store"] == f"sqlite:///{(store_dir / DB_FILE).resolve()}"
    assert isinstance(body["schema_version"], str) and body["schema_version"]


async def test_info_reuses_one_store_across_requests(jp_fetch, jp_serverapp) -> None:
    provider = jp_serverapp.web_app.settings["jupyter_mm_store_provider"]
    store = provider.get()  # a write creates the store
    first = json.loads((await jp_fetch("jupyter-mm", "api", "info")).body)
    second = json.loads((await jp_fetch("jupyter-mm", "api", "info")).body)
    assert first == second and first["schema_version"]
    assert provider.get() is store


async def test_unreachable_store_is_a_503_without_credentials_or_traceback(
    jp_fetch, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # port 9 (discard) on loopback: nothing listens, so the connection is refused at once
    monkeypatch.setenv(ENV_STORE, "postgresql://alice:s3cret-pw@127.0.0.1:9/mm")
    monkeypatch.setenv(ENV_ARTIFACTS, str(tmp_path / "objects"))

    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("jupyter-mm", "api", "info")

    response = info.value.response
    assert response.code == 503
    text = response.body.decode()
    assert "s3cret-pw" not in text
    assert "Traceback" not in text
    error = json.loads(text)["error"]
    assert error["status"] == 503
    assert error["message"].endswith(".")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://alice:pw@db.example:5432/mm", "postgresql://db.example:5432/mm"),
        ("postgresql+psycopg://alice@db/mm?sslpassword=x", "postgresql+psycopg://db/mm"),
        ("sqlite:////home/a/.jupyter_mm/mm.db", "sqlite:////home/a/.jupyter_mm/mm.db"),
        ("sqlite:///rel/mm.db", "sqlite:///rel/mm.db"),
    ],
)
def test_display_url_drops_credentials_and_query(url: str, shown: str) -> None:
    assert display_url(url) == shown


def test_display_url_drops_a_password_holding_slashes() -> None:
    from jupyter_mm.server.store_provider import display_url

    url = "postgresql://mm:pw/with+slash@db.internal:5432/mm?sslmode=require"
    assert display_url(url) == "postgresql://db.internal:5432/mm"
    assert display_url("sqlite:////data/a@b/mm.db") == "sqlite:////data/a@b/mm.db"
