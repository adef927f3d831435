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
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel
from kernel.conftest import execute, kernel_env
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_mm.config import DB_FILE, ENV_ARTIFACTS, ENV_STORE, OBJECTS_DIR
from jupyter_mm.store import open_store
from jupyter_mm.store.blobs import hash_bytes

REPO = Path(__file__).resolve().parents[2]
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
    with sqlite3.connect(store / DB_FILE) as db:
        return [row[0] for row in db.execute("SELECT id FROM runs")]


def set_revision(store: Path, revision: str) -> None:
    with sqlite3.connect(store / DB_FILE) as db:
        db.execute("UPDATE alembic_version SET version_num = ?", (revision,))


def assert_no_half_written_blob(store: Path) -> None:
    """Every file in the object store is a complete blob under its own digest (no temp file
    left behind, nothing truncated), and ``jupyter mm verify`` finds no row naming a
    missing or damaged blob."""
    for path in (store / OBJECTS_DIR).rglob("*"):
        if path.is_file():
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
