"""An unusable store is a 503 that says what is wrong without naming the server's paths
(the server's log and the CLI keep them), on a real Jupyter server."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from jupyter_mm.config import ENV_ARTIFACTS, ENV_STORE
from jupyter_mm.errors import SERVER_PATH, StoreError
from jupyter_mm.store import open_store

ABSOLUTE_PATH = re.compile(r"(?<![\w/:])/\w")


def _db_is_a_directory(tmp: Path) -> Path:
    (tmp / "mm.db").mkdir()
    return tmp / "mm.db"


def _parent_is_a_file(tmp: Path) -> Path:
    (tmp / "store").write_text("not a directory")
    return tmp / "store" / "mm.db"


def _not_a_database(tmp: Path) -> Path:
    (tmp / "mm.db").write_bytes(b"this is not SQLite " * 100)
    return tmp / "mm.db"


BROKEN: dict[str, tuple[Callable[[Path], Path], str]] = {
    "db-is-a-directory": (_db_is_a_directory, "is a directory, not a file"),
    "parent-is-a-file": (_parent_is_a_file, "Cannot create the store directory"),
    "not-a-database": (_not_a_database, "file is not a database"),
}


async def _store_error(jp_fetch) -> str:
    response = await jp_fetch("jupyter-mm", "api", "runs", raise_error=False)
    assert response.code == 503, response.body[:300]
    text = response.body.decode()
    assert "Traceback" not in text
    return json.loads(text)["error"]["message"]


def _assert_no_server_path(message: str, tmp: Path) -> None:
    assert str(tmp) not in message
    assert not ABSOLUTE_PATH.search(message), message
    assert SERVER_PATH in message


@pytest.mark.parametrize("case", list(BROKEN))
async def test_a_broken_store_is_a_503_without_server_paths(
    jp_fetch, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, case: str
) -> None:
    make, reason = BROKEN[case]
    db = make(tmp_path)
    monkeypatch.setenv(ENV_STORE, f"sqlite:///{db}")
    monkeypatch.setenv(ENV_ARTIFACTS, str(tmp_path / "objects"))

    message = await _store_error(jp_fetch)

    assert reason in message
    _assert_no_server_path(message, tmp_path)
    # the terminal (and the server log) still say where
    with pytest.raises(StoreError) as raised:
        open_store(f"sqlite:///{db}")
    assert str(tmp_path) in str(raised.value)


async def test_an_unusable_artifact_root_is_a_503_without_server_paths(
    jp_fetch, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # the database exists (a store with no database yet is read as empty, see
    # test_server_no_store_yet.py); its blobs' root is a file
    open_store(f"sqlite:///{tmp_path / 'mm.db'}").close()
    shutil.rmtree(tmp_path / "objects")
    (tmp_path / "objects").write_text("a file where the blobs should go")
    monkeypatch.setenv(ENV_STORE, f"sqlite:///{tmp_path / 'mm.db'}")
    monkeypatch.setenv(ENV_ARTIFACTS, str(tmp_path / "objects"))

    message = await _store_error(jp_fetch)

    assert "Cannot create the object store directory" in message
    _assert_no_server_path(message, tmp_path)


@contextmanager
def _immutable(directory: Path) -> Iterator[None]:
    """``directory`` unwritable for root too (``chattr +i``), as a read-only mount is."""
    done = subprocess.run(["chattr", "+i", str(directory)], capture_output=True)
    try:
        if done.returncode != 0:
            pytest.skip(f"chattr +i is not supported here: {done.stderr.decode().strip()}")
        yield
    finally:
        subprocess.run(["chattr", "-i", str(directory)], capture_output=True)


async def test_an_unwritable_store_directory_is_a_503_without_server_paths(
    jp_fetch, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    directory = tmp_path / "locked"
    directory.mkdir()
    monkeypatch.setenv(ENV_STORE, f"sqlite:///{directory / 'mm.db'}")
    monkeypatch.setenv(ENV_ARTIFACTS, str(tmp_path / "objects"))

    with _immutable(directory):
        message = await _store_error(jp_fetch)

    assert message == f"Cannot create the store at {SERVER_PATH}: the directory is not writable."
