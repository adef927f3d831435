"""Reads never create a store: the sidebar opened in a fresh directory gets the empty
listings, and ``.jupyter_mm/`` appears only when something is recorded (a real Jupyter
server, a real SQLite store). An unusable store is an error, never an empty list."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from jupyter_mm import tracking
from jupyter_mm.config import DB_FILE, ENV_STORE, STORE_DIR_NAME
from jupyter_mm.store import open_store

EMPTY = {
    ("runs",): {"runs": [], "next_token": None},
    ("runs", "metric-names"): {"names": []},
    ("models",): {"models": []},
    ("events",): {"events": [], "next_token": None},
}


async def _get(jp_fetch, *path: str) -> tuple[int, dict]:
    response = await jp_fetch("jupyter-mm", "api", *path, raise_error=False)
    return response.code, json.loads(response.body)


async def test_listings_of_a_fresh_directory_are_empty_and_create_nothing(
    jp_fetch, jp_root_dir: Path
) -> None:
    before = sorted(p.name for p in jp_root_dir.iterdir())
    for path, empty in EMPTY.items():
        assert await _get(jp_fetch, *path) == (200, empty), path
    code, info = await _get(jp_fetch, "info")
    assert code == 200 and info["schema_version"] is None
    # a run or a model that cannot exist: 404 with a sentence, still nothing created
    for path in (("runs", "latest"), ("runs", "01ABCDEF"), ("models", "fraud")):
        code, body = await _get(jp_fetch, *path)
        assert code == 404 and body["error"]["message"], path
    assert sorted(p.name for p in jp_root_dir.iterdir()) == before
    assert not (jp_root_dir / STORE_DIR_NAME).exists()


async def test_an_explicit_store_file_not_yet_written_is_not_created_by_reads(
    jp_fetch, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    database = tmp_path / "team" / "mm.db"
    monkeypatch.setenv(ENV_STORE, f"sqlite:///{database}")
    assert await _get(jp_fetch, "runs") == (200, EMPTY[("runs",)])
    assert not database.parent.exists()


async def test_the_listing_shows_runs_once_a_kernel_has_recorded_one(
    jp_fetch, jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await _get(jp_fetch, "runs") == (200, EMPTY[("runs",)])  # before: no store
    monkeypatch.chdir(jp_root_dir)
    store = open_store(cwd=jp_root_dir, root_dir=jp_root_dir)  # as the kernel finds it
    tracking.set_default_store(store)
    try:
        with tracking.start_run("first", checkpoint=False):
            tracking.log_metric("acc", 0.9)
    finally:
        tracking.set_default_store(None)
        store.close()
    assert (jp_root_dir / STORE_DIR_NAME / DB_FILE).is_file()
    code, page = await _get(jp_fetch, "runs")
    assert code == 200 and [run["name"] for run in page["runs"]] == ["first"]


def test_a_kernel_of_the_server_creates_the_store_where_the_server_looks(
    jp_serverapp, jp_root_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server creates no store, so the first run does: a kernel it started for a
    notebook in a subdirectory (no git repository) puts it at the server's root, where the
    sidebar finds it, not next to the notebook."""
    from jupyter_mm.config import resolve_store
    from jupyter_mm.store_names import ENV_SERVER_ROOT

    assert os.environ[ENV_SERVER_ROOT] == str(jp_serverapp.root_dir)  # kernels inherit it
    notebook_dir = jp_root_dir / "projects" / "churn"
    notebook_dir.mkdir(parents=True)
    location = resolve_store(cwd=notebook_dir)  # as the kernel resolves it, in its cwd
    assert location.directory == (jp_root_dir / STORE_DIR_NAME).resolve()
    outside = jp_root_dir.parent / "elsewhere"
    outside.mkdir()
    assert resolve_store(cwd=outside).directory == (outside / STORE_DIR_NAME).resolve()


@pytest.mark.parametrize("unusable", ["not-a-database", "db-is-a-directory"])
async def test_an_unusable_store_is_an_error_not_an_empty_listing(
    jp_fetch, jp_root_dir: Path, unusable: str
) -> None:
    store_dir = jp_root_dir / STORE_DIR_NAME
    store_dir.mkdir()
    if unusable == "not-a-database":
        (store_dir / DB_FILE).write_bytes(b"this is not SQLite " * 100)
    else:
        (store_dir / DB_FILE).mkdir()
    for path in (("runs",), ("runs", "metric-names"), ("models",), ("info",)):
        code, body = await _get(jp_fetch, *path)
        assert code == 503, (path, body)
        assert body["error"]["status"] == 503 and body["error"]["message"]
