"""Data the ``open`` audit event alone does not show: pyarrow's native I/O, SQLite, files
updated in place, files read then rewritten, child processes, many files of one directory.

Everything runs for real (pyarrow, sqlite3, multiprocessing); the recorder is the one
``%%track`` uses, with the same ``prehash`` (the stat cache in a temporary file)."""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
import sys
from functools import partial
from pathlib import Path

import pandas as pd
import pytest

from jupyter_mm.capture import child_access, library_access
from jupyter_mm.capture.data import (
    FileAccessRecorder,
    StatCache,
    digest_before_change,
    hash_bytes,
    hash_file,
)
from jupyter_mm.capture.file_access import group_by_directory

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pacsv = pytest.importorskip("pyarrow.csv")
ds = pytest.importorskip("pyarrow.dataset")
feather = pytest.importorskip("pyarrow.feather")


@pytest.fixture
def recorder(tmp_path: Path) -> FileAccessRecorder:
    library_access.install()
    child_access.install()
    cache = StatCache(tmp_path / "cache" / "statcache.sqlite")
    return FileAccessRecorder(prehash=partial(digest_before_change, cache=cache))


def frame() -> pd.DataFrame:
    return pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})


def test_pyarrow_and_pandas_parquet_csv_feather_and_datasets(tmp_path: Path, recorder) -> None:
    frame().to_parquet(tmp_path / "in.parquet")
    frame().to_csv(tmp_path / "in.csv", index=False)
    feather.write_feather(frame(), tmp_path / "in.feather")
    parts = tmp_path / "parts"
    parts.mkdir()
    for i in range(3):
        pq.write_table(pa.table({"v": [i]}), parts / f"part-{i}.parquet")
    hive = tmp_path / "hive"
    with recorder:
        pd.read_parquet(tmp_path / "in.parquet")
        pq.read_table(str(tmp_path / "in.parquet"))
        pacsv.read_csv(tmp_path / "in.csv")
        feather.read_table(tmp_path / "in.feather")
        ds.dataset(parts, format="parquet").to_table()
        frame().to_parquet(tmp_path / "out.parquet")
        pq.write_to_dataset(pa.table({"k": [1, 2], "v": [3, 4]}), hive, partition_cols=["k"])
        pacsv.write_csv(pa.table({"v": [1]}), str(tmp_path / "out.csv"))
        accesses = recorder.stop_accesses()
    assert accesses.read == {
        str(tmp_path / "in.parquet"),
        str(tmp_path / "in.csv"),
        str(tmp_path / "in.feather"),
        str(parts),  # the dataset directory is one entry
    }
    assert accesses.written == {
        str(tmp_path / "out.parquet"),
        str(hive),
        str(tmp_path / "out.csv"),
    }


def test_remote_uris_and_buffers_are_not_local_data(tmp_path: Path, recorder) -> None:
    buffer = pa.BufferOutputStream()
    pq.write_table(pa.table({"v": [1]}), buffer)
    with recorder:
        pq.read_table(pa.BufferReader(buffer.getvalue()))
        library_access._report("s3://bucket/key.parquet", "r", None)
        library_access._report(str(tmp_path), "r", object())  # a non-local filesystem
        accesses = recorder.stop_accesses()
    assert accesses.read == set() and accesses.written == set()


def test_sqlite_read_is_an_input_and_a_write_is_also_an_output(tmp_path: Path, recorder) -> None:
    database = tmp_path / "labels.db"
    with sqlite3.connect(database) as con:
        con.execute("create table t(v)")
        con.execute("insert into t values (1)")
    con.close()
    before = hash_file(database)[0]
    with recorder:
        con = sqlite3.connect(database)
        assert pd.read_sql("select * from t", con)["v"].tolist() == [1]
        con.close()
        read_only = recorder.stop_accesses()
    assert read_only.read == {str(database)} and read_only.written == set()
    assert read_only.before[str(database)][0] == before

    with recorder:
        con = sqlite3.connect(f"file:{database}?mode=rw", uri=True)
        con.execute("insert into t values (2)")
        con.commit()
        con.close()
        created = sqlite3.connect(tmp_path / "new.db")
        created.execute("create table n(v)")
        created.close()
        sqlite3.connect(":memory:").close()
        changed = recorder.stop_accesses()
    assert changed.read == {str(database)}
    assert changed.before[str(database)][0] == before  # the content it had before the write
    assert changed.written == {str(database), str(tmp_path / "new.db")}


def test_read_then_overwrite_is_input_with_the_old_digest_and_output(
    tmp_path: Path, recorder
) -> None:
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"epoch": 1}))
    old = hash_bytes(state.read_bytes())
    with recorder:
        value = json.loads(state.read_text())
        value["epoch"] += 1
        state.write_text(json.dumps(value))
        accesses = recorder.stop_accesses()
    assert accesses.read == {str(state)} and accesses.written == {str(state)}
    assert accesses.before[str(state)][0] == old != hash_bytes(state.read_bytes())


def test_r_plus_only_read_is_an_input_and_changed_is_both(tmp_path: Path, recorder) -> None:
    config = tmp_path / "config.txt"
    config.write_text("alpha=1\n")
    log = tmp_path / "log.txt"
    log.write_text("a\n")
    with recorder:
        with open(config, "r+") as handle:
            handle.read()
        with open(log, "r+") as handle:
            handle.read()
            handle.write("b\n")
        with open(tmp_path / "fresh.txt", "a+") as handle:  # created by the open
            handle.write("c")
        accesses = recorder.stop_accesses()
    assert accesses.read == {str(config), str(log)}
    assert accesses.written == {str(log), str(tmp_path / "fresh.txt")}
    assert accesses.before[str(log)][0] == hash_bytes(b"a\n")


def _read_file(path: str) -> int:
    with open(path, "rb") as handle:
        return len(handle.read())


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
def test_files_read_by_forked_workers_and_a_pool_made_before(tmp_path: Path, recorder) -> None:
    for name in ("early.bin", "inside.bin", "later.bin"):
        (tmp_path / name).write_bytes(b"x" * 5)
    context = multiprocessing.get_context("fork")
    outer = FileAccessRecorder()  # stands for the session's recorder of an earlier cell
    outer.start()
    pool = context.Pool(1)  # created in an earlier cell, reused by the recorded one
    assert pool.apply(_read_file, (str(tmp_path / "early.bin"),)) == 5
    outer.stop()
    outer.start()
    with recorder:
        assert pool.apply(_read_file, (str(tmp_path / "inside.bin"),)) == 5
        with context.Pool(2) as fresh:
            assert fresh.map(_read_file, [str(tmp_path / "later.bin")]) == [5]
        accesses = recorder.stop_accesses()
    pool.close()
    pool.join()
    assert accesses.read == {str(tmp_path / "inside.bin"), str(tmp_path / "later.bin")}
    assert outer.stop_accesses().read == accesses.read  # early.bin went to the earlier block


def test_many_files_of_one_directory_become_the_directory(tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    for i in range(150):
        (images / f"{i:04}.png").write_bytes(bytes([i]))
    few = tmp_path / "few"
    few.mkdir()
    for i in range(3):
        (few / f"{i}.txt").write_text(str(i))
    mostly_unread = tmp_path / "mixed"
    mostly_unread.mkdir()
    for i in range(400):
        (mostly_unread / f"{i}.txt").write_text(str(i))
    reads = [str(p) for p in images.iterdir()] + [str(p) for p in few.iterdir()]
    reads += [str(mostly_unread / f"{i}.txt") for i in range(120)]
    files, directories = group_by_directory(reads, threshold=100)
    assert directories == {str(images)}
    assert files == {str(p) for p in few.iterdir()} | {
        str(mostly_unread / f"{i}.txt") for i in range(120)
    }


def test_the_stat_cache_and_store_are_not_hashed_in_the_hook(tmp_path: Path) -> None:
    calls: list[str] = []

    def prehash(path: str) -> None:
        calls.append(path)

    store_dir = tmp_path / ".jupyter_mm"
    store_dir.mkdir()
    with FileAccessRecorder(store_dir=str(store_dir), prehash=prehash) as recorder:
        sqlite3.connect(store_dir / "mm.db").close()
        recorder.stop()
    assert calls == []
    assert os.path.exists(store_dir / "mm.db")


def test_session_reads_keep_what_earlier_cells_read(tmp_path: Path, shell, monkeypatch) -> None:
    from jupyter_mm.capture import session_reads

    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    frame().to_csv(tmp_path / "data" / "train.csv", index=False)
    frame().to_parquet(tmp_path / "data" / "extra.parquet")
    (tmp_path / "data" / "state.txt").write_text("1")
    images = tmp_path / "images"
    images.mkdir()
    for i in range(120):
        (images / f"{i}.png").write_bytes(bytes([i]))
    session = session_reads.attach(shell)

    def run(code: str) -> None:
        assert shell.run_cell(code, store_history=True).success

    try:
        run("import pandas as pd\ntrain = pd.read_csv('data/train.csv')")
        run("extra = pd.read_parquet('data/extra.parquet')")
        run("import os\nblobs = [open(f'images/{n}', 'rb').read() for n in os.listdir('images')]")
        run("open('data/made.txt', 'w').write('m')\nopen('data/made.txt').read()")
        run("s = open('data/state.txt').read()\nopen('data/state.txt', 'w').write('2')")
        entries = {e.path: e for e in session.upstream()}
    finally:
        session_reads.detach(shell)
    data = tmp_path / "data"
    assert set(entries) == {
        str(data / "train.csv"),
        str(data / "extra.parquet"),
        str(images),
        str(data / "state.txt"),
    }
    assert entries[str(data / "train.csv")].count == 1
    assert entries[str(data / "extra.parquet")].count == 2
    assert entries[str(images)].kind == "directory" and entries[str(images)].count == 3
    assert entries[str(data / "state.txt")].rewritten
    assert not entries[str(data / "train.csv")].rewritten
