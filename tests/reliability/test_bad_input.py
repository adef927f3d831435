"""Issue #6 item 8: bad input everywhere else. Malformed notebooks, non-UTF-8 files, a store
written by a newer jupyter-mm, a read-only store and a full disk each give one clear line
(``jupyter mm: error: ...`` from the CLI, one ``jupyter-mm:`` warning from a kernel, a JSON
error from the server), never a traceback, and leave nothing half-written.

Everything here is real: the CLI runs as a subprocess (``python -m jupyter_mm.cli``),
``%%track`` runs in real kernels, the server is pytest-jupyter's.

How the machine's refusals are made real while the tests run as root (for whom ``chmod``
does not stop writes):

* read-only: ``chattr +i`` (the immutable attribute, which binds root too) on the store
  directory and everything in it, on top of ``chmod a-w``;
* full disk: ``RLIMIT_FSIZE`` set inside the kernel process, with ``SIGXFSZ`` ignored, so a
  write that would grow a file past the limit fails with ``EFBIG`` exactly where a full disk
  fails with ``ENOSPC`` (the SQLite store reports both as "database or disk is full").
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel
from kernel.conftest import execute, kernel_env
from mm_api_data import store_location
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_mm.config import DB_FILE, ENV_ARTIFACTS, ENV_STORE, OBJECTS_DIR
from jupyter_mm.store import open_store
from jupyter_mm.store.blobs import REGISTRY_DIR, hash_bytes

NEWER_REVISION = "9999_from_the_future"
TRACKED_CELL = "%%track --name bad-input\nimport jupyter_mm as mm\nmm.log_param('C', 1)\n41 + 1"

# -- helpers --------------------------------------------------------------------------------


def jupyter_mm(*argv: str, cwd: Path, store: Path | None = None) -> tuple[int, str, str]:
    """``jupyter mm ARGV`` in a subprocess; ``store`` is a store directory to use."""
    env = kernel_env("")
    env.pop(ENV_STORE)
    if store is not None:
        env[ENV_STORE] = f"sqlite:///{store / DB_FILE}"
        env[ENV_ARTIFACTS] = str(store / OBJECTS_DIR)
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_mm.cli", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, done.stdout, done.stderr


def assert_one_error_line(stderr: str, *fragments: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("jupyter mm: error: "), stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def run_ids(store: Path) -> list[str]:
    with closing(sqlite3.connect(store / DB_FILE)) as db:
        return [row[0] for row in db.execute("SELECT id FROM runs")]


def set_revision(store: Path, revision: str) -> None:
    with closing(sqlite3.connect(store / DB_FILE)) as db, db:
        db.execute("UPDATE alembic_version SET version_num = ?", (revision,))


def assert_no_half_written_blob(store: Path) -> None:
    """Every file in the object store is a complete blob under its own digest (no temp file
    left behind, nothing truncated), and ``jupyter mm verify`` finds no row naming a
    missing or damaged blob."""
    for path in (store / OBJECTS_DIR).rglob("*"):
        if path.is_file() and path.parent.name == REGISTRY_DIR:
            # the root's record of the stores using it (see store.root_registry)
            assert path.suffix != ".json" or json.loads(path.read_bytes())["url"], path
        elif path.is_file():
            digest = path.parent.name + path.name
            assert hash_bytes(path.read_bytes()) == digest, f"{path} is not a whole blob"
    code, out, err = jupyter_mm("verify", "--json", cwd=store, store=store)
    assert code == 0, (out, err)
    assert json.loads(out)["ok"] is True


@contextmanager
def read_only(directory: Path) -> Iterator[None]:
    """``directory`` and everything in it read-only, for root too (``chattr +i``)."""
    subprocess.run(["chmod", "-R", "a-w", str(directory)], check=True)
    done = subprocess.run(["chattr", "-R", "+i", str(directory)], capture_output=True)
    try:
        if done.returncode != 0:
            pytest.skip(f"chattr +i is not supported here: {done.stderr.decode().strip()}")
        yield
    finally:
        subprocess.run(["chattr", "-R", "-i", str(directory)], capture_output=True)
        subprocess.run(["chmod", "-R", "u+w", str(directory)], check=True)


@contextmanager
def kernel(store: Path, cwd: Path, session: Path | None = None) -> Iterator[Any]:
    """A real kernel with jupyter-mm loaded, using ``store``, its session notebook
    ``session`` (``JPY_SESSION_NAME``, as the server sets it)."""
    env = kernel_env(f"sqlite:///{store / DB_FILE}")
    env[ENV_ARTIFACTS] = str(store / OBJECTS_DIR)
    if session is not None:
        env["JPY_SESSION_NAME"] = str(session)
    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(cwd))
    try:
        loaded = execute(kc, "%load_ext jupyter_mm")
        assert loaded.status == "ok", loaded.errors
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def assert_result_stands(result: Any, value: str = "42") -> list[str]:
    """The cell answered as without jupyter-mm; return its ``jupyter-mm:`` lines (<= 1)."""
    assert result.status == "ok", result.errors
    assert [r.get("text/plain") for r in result.results] == [value], result.results
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    ours = [line for line in result.stderr.splitlines() if line.startswith("jupyter-mm:")]
    assert len(ours) <= 1, result.stderr
    return ours


def make_store(base: Path) -> Path:
    """A fresh store directory (schema created) under ``base``."""
    store = base / "store"
    open_store(f"sqlite:///{store / DB_FILE}", cwd=base).close()
    return store


# -- malformed notebooks and the CLI --------------------------------------------------------

V3_NOTEBOOK = {
    "nbformat": 3,
    "nbformat_minor": 0,
    "metadata": {},
    "worksheets": [
        {"cells": [{"cell_type": "code", "language": "python", "outputs": [], "input": ""}]}
    ],
}
NOT_UTF8 = json.dumps(
    {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"source": "x = 'é'"}]},
    ensure_ascii=False,
).encode("latin-1")

MALFORMED = {
    "invalid JSON": (b'{"nbformat": 4, "cells": [', "not valid JSON"),
    "a JSON list": (b"[1, 2, 3]", "JSON is not an object"),
    "JSON but not a notebook": (b'{"name": "model", "layers": 3}', "not a Jupyter notebook"),
    "nbformat 4 with a broken cell": (
        json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{}]}).encode(),
        "not a readable notebook",
    ),
    "nbformat 3 without worksheets": (
        json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}}).encode(),
        "worksheets",
    ),
    "nbformat 5 (from the future)": (
        json.dumps({"nbformat": 5, "nbformat_minor": 0, "metadata": {}, "cells": []}).encode(),
        "nbformat version 5",
    ),
    "latin-1 text": (NOT_UTF8, "not UTF-8"),
    "binary": (bytes(range(256)) * 4, "not UTF-8"),
}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with one run recorded by ``jupyter mm run`` (checkpoint included)."""
    base = tmp_path_factory.mktemp("recorded")
    nb = new_notebook(cells=[new_code_cell("%load_ext jupyter_mm"), new_code_cell(TRACKED_CELL)])
    nbformat.write(nb, base / "good.ipynb")
    store = base / "store"
    code, out, err = jupyter_mm("run", "good.ipynb", cwd=base, store=store)
    assert code == 0, (out, err)
    assert len(run_ids(store)) == 1
    return store


@pytest.mark.parametrize("case", list(MALFORMED))
def test_run_refuses_a_malformed_notebook_in_one_line(
    case: str, recorded: Path, tmp_path: Path
) -> None:
    content, reason = MALFORMED[case]
    (tmp_path / "bad.ipynb").write_bytes(content)
    before = run_ids(recorded)

    code, out, err = jupyter_mm("run", "bad.ipynb", cwd=tmp_path, store=recorded)

    assert code == 2, (out, err)
    assert_one_error_line(err, "bad.ipynb is not a readable notebook", reason)
    assert run_ids(recorded) == before
    assert (tmp_path / "bad.ipynb").read_bytes() == content  # the input is never touched


def test_a_malformed_notebook_creates_no_store(tmp_path: Path) -> None:
    """Without a store anywhere, ``run`` creates one next to where it is typed, but only
    once the notebook has been read: a mistyped notebook leaves nothing behind."""
    (tmp_path / "bad.ipynb").write_bytes(b"{")
    code, _, err = jupyter_mm("run", "bad.ipynb", cwd=tmp_path)
    assert code == 2
    assert_one_error_line(err, "not valid JSON")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.ipynb"]


def test_a_version_3_notebook_is_upgraded_and_tracked(recorded: Path, tmp_path: Path) -> None:
    """nbformat 3 is not bad input: Jupyter upgrades it on reading, and so does ``run``."""
    v3 = json.loads(json.dumps(V3_NOTEBOOK))
    cells = v3["worksheets"][0]["cells"]
    cells[0]["input"] = "%load_ext jupyter_mm"
    cells.append(dict(cells[0], input=TRACKED_CELL))
    (tmp_path / "old.ipynb").write_text(json.dumps(v3))
    before = run_ids(recorded)

    code, out, err = jupyter_mm("run", "old.ipynb", cwd=tmp_path, store=recorded)

    assert code == 0, (out, err)
    assert len(run_ids(recorded)) == len(before) + 1


def test_checkout_and_show_refuse_bad_targets_in_one_line(recorded: Path, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for argv, status, fragment in [
        (["checkout", "latest", "-o", "sub", "--force"], 2, "is a directory"),
        (["checkout", "latest", "-o", "missing/out.ipynb"], 2, "directory does not exist"),
        (["show", "ZZZZZZZZ"], 1, "No run matches"),
        (["diff", "latest", "Z"], 2, "too short"),
    ]:
        code, out, err = jupyter_mm(*argv, cwd=tmp_path, store=recorded)
        assert code == status, (argv, out, err)
        assert_one_error_line(err, fragment)
    # no temp file of the refused checkout is left next to its target
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub"]
    assert list((tmp_path / "sub").iterdir()) == []


# -- %%track with a bad session notebook and odd data ---------------------------------------


def test_track_survives_a_malformed_or_non_utf8_session_notebook(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    session = tmp_path / "session.ipynb"
    with kernel(store, tmp_path, session) as kc:
        for case in ("invalid JSON", "a JSON list", "latin-1 text", "binary"):
            session.write_bytes(MALFORMED[case][0])  # the user saved a broken notebook
            result = execute(kc, TRACKED_CELL, cell_id="c1")
            ours = assert_result_stands(result)
            assert len(ours) == 1, (case, result.stderr)
            assert "rebuilt from the kernel history" in ours[0], (case, ours)
    with open_store(f"sqlite:///{store / DB_FILE}") as opened:
        runs = opened.search_runs().runs
        assert len(runs) == 4
        # each run was recorded, with the history checkpoint instead of the broken file
        assert {(r.status, r.checkpoint_source) for r in runs} == {("finished", "history")}
    assert_no_half_written_blob(store)


def test_track_data_with_a_non_utf8_file_name_and_a_binary_file(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    odd_name = os.fsdecode(b"caf\xe9-\xff.bin")  # not UTF-8: a surrogate-escaped str
    (data / odd_name).write_bytes(b"\x00\xff" * 1000)
    (tmp_path / "blob.bin").write_bytes(bytes(range(256)) * 64)
    cell = (
        "%%track --data data --data blob.bin\n"
        "import os\n"
        "names = os.listdir('data')\n"
        "size = len(open(os.path.join('data', names[0]), 'rb').read())\n"
        "import jupyter_mm as mm\n"
        "mm.log_artifact(os.path.join('data', names[0]))\n"
        "size + len(open('blob.bin', 'rb').read())"
    )
    with kernel(store, tmp_path) as kc:
        result = execute(kc, cell, cell_id="c1")
    assert_result_stands(result, str(2000 + 256 * 64))
    with open_store(f"sqlite:///{store / DB_FILE}") as opened:
        (run,) = opened.search_runs().runs
        detail = opened.get_run_detail(run.id)
    assert run.status == "finished"
    names = {ref.name for ref in detail.data}
    # the odd name is kept, its undecodable bytes written as \xNN
    assert names == {
        str(tmp_path / "blob.bin"),
        str(tmp_path / "data"),
        str(tmp_path / "data" / "caf\\xe9-\\xff.bin"),
    }, names
    assert [a.name for a in detail.artifacts] == ["caf\\xe9-\\xff.bin"]
    assert not run.warnings, run.warnings
    assert_no_half_written_blob(store)


# -- a store written by a newer jupyter-mm ----------------------------------------------------


def _fingerprint(store: Path) -> dict[str, bytes]:
    """The store's bytes: the database, the blobs and whatever is in the write-ahead log
    (SQLite leaves an empty -wal and a -shm file behind a reader that was killed)."""
    return {
        str(p.relative_to(store)): p.read_bytes()
        for p in store.rglob("*")
        if p.is_file() and not p.name.endswith("-shm") and p.stat().st_size
    }


@pytest.fixture
def newer_store(tmp_path: Path) -> Path:
    """A store with one run, whose schema revision is one this code does not know."""
    store = make_store(tmp_path)
    with open_store(f"sqlite:///{store / DB_FILE}") as opened:
        opened.blobs.put_bytes(b"a blob")
    set_revision(store, NEWER_REVISION)
    nb = new_notebook(cells=[new_code_cell("%load_ext jupyter_mm"), new_code_cell(TRACKED_CELL)])
    nbformat.write(nb, tmp_path / "good.ipynb")
    return store


def test_the_cli_refuses_a_newer_store_in_one_line(newer_store: Path) -> None:
    before = _fingerprint(newer_store)
    for argv in (["runs"], ["verify"], ["run", "good.ipynb"]):
        code, out, err = jupyter_mm(*argv, cwd=newer_store.parent, store=newer_store)
        assert code == 1, (argv, out, err)
        assert_one_error_line(err, "newer jupyter-mm", NEWER_REVISION, "upgrade jupyter-mm")
        assert "Executed" not in out  # `run` refuses before executing anything
    assert _fingerprint(newer_store) == before  # not a byte written


def test_track_in_a_kernel_on_a_newer_store(newer_store: Path) -> None:
    before = _fingerprint(newer_store)
    with kernel(newer_store, newer_store.parent) as kc:
        result = execute(kc, TRACKED_CELL, cell_id="c1")
    (line,) = assert_result_stands(result)
    assert line.startswith("jupyter-mm: run not recorded:"), line
    assert "newer jupyter-mm" in line
    assert _fingerprint(newer_store) == before


async def test_the_server_answers_503_for_a_newer_store(jp_fetch, jp_root_dir: Path) -> None:
    location = store_location(jp_root_dir)
    open_store(location).close()
    set_revision(Path(location.directory), NEWER_REVISION)
    for path in (("info",), ("runs",), ("models",), ("runs", "latest")):
        response = await jp_fetch("jupyter-mm", "api", *path, raise_error=False)
        assert response.code == 503, (path, response.code)
        error = json.loads(response.body)["error"]
        assert error["status"] == 503
        assert "newer jupyter-mm" in error["message"]
        assert b"Traceback" not in response.body


# -- a read-only store ------------------------------------------------------------------------


def test_a_read_only_store_is_one_line_and_nothing_is_written(recorded: Path, tmp_path: Path):
    store = tmp_path / "store"
    shutil.copytree(recorded, store)
    before = _fingerprint(store)
    nb = new_notebook(cells=[new_code_cell("%load_ext jupyter_mm"), new_code_cell(TRACKED_CELL)])
    nbformat.write(nb, tmp_path / "good.ipynb")
    with read_only(store):
        # reading may work (SQLite reads a WAL store whose -shm file exists) or not
        for argv in (["runs"], ["show", "latest"]):
            code, out, err = jupyter_mm(*argv, cwd=tmp_path, store=store)
            if code != 0:
                assert code == 1, (argv, out, err)
                assert_one_error_line(err, "is read-only")
        # writing is refused before a cell runs
        code, out, err = jupyter_mm("run", "good.ipynb", cwd=tmp_path, store=store)
        assert code == 1, (out, err)
        assert_one_error_line(err, "Cannot write to the jupyter-mm store", "is read-only")
        assert "Executed" not in out
        with kernel(store, tmp_path) as kc:
            result = execute(kc, TRACKED_CELL, cell_id="c1")
        (line,) = assert_result_stands(result)
        assert line.startswith("jupyter-mm: run not recorded:"), line
        assert "read-only" in line
    assert _fingerprint(store) == before
    assert_no_half_written_blob(store)


# -- a full disk ------------------------------------------------------------------------------

#: run in the kernel: files it writes may grow to LIMIT bytes, larger writes fail (EFBIG)
LIMIT_FILE_SIZE = """\
import resource, signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
_hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, _hard))
"""
UNLIMIT_FILE_SIZE = "resource.setrlimit(resource.RLIMIT_FSIZE, (_hard, _hard))"


def test_a_full_disk_keeps_the_cell_result_and_leaves_the_store_whole(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    (tmp_path / "big.bin").write_bytes(os.urandom(1 << 20))
    artifact_cell = (
        "%%track --name full-disk\nimport jupyter_mm as mm\n"
        "mm.log_param('C', 1)\nmm.log_artifact('big.bin')\n"
        "mm.log_artifact(b'x' * (1 << 20), name='big-bytes.bin')\n41 + 1"
    )
    with kernel(store, tmp_path) as kc:
        assert_result_stands(execute(kc, TRACKED_CELL, cell_id="c0"))  # store opened, in use

        # a blob that does not fit: the artifacts are refused, the rest of the run is kept
        assert execute(kc, LIMIT_FILE_SIZE.format(limit=256 * 1024)).status == "ok"
        result = execute(kc, artifact_cell, cell_id="c1")
        (line,) = assert_result_stands(result)
        assert "recorded partially" in line
        assert "saving artifact big.bin" in line and "File too large" in line, line

        # nothing fits any more (every file at its current size)
        assert execute(kc, LIMIT_FILE_SIZE.format(limit=0)).status == "ok"
        result = execute(kc, TRACKED_CELL.replace("41 + 1", "40 + 2"), cell_id="c2")
        assert len(assert_result_stands(result)) == 1

        # space again: the store took no harm and records as before
        assert execute(kc, UNLIMIT_FILE_SIZE).status == "ok"
        assert assert_result_stands(execute(kc, TRACKED_CELL, cell_id="c3")) == []

    with open_store(f"sqlite:///{store / DB_FILE}") as opened:
        runs = {r.name: r for r in opened.search_runs().runs}
        detail = opened.get_run_detail(
            next(r.id for r in opened.search_runs().runs if r.name == "full-disk")
        )
    assert runs["full-disk"].status == "finished"
    assert [p.name for p in detail.params] == ["C"]
    assert detail.artifacts == []  # refused, not recorded as if stored
    assert_no_half_written_blob(store)
