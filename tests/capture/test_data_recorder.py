"""FileAccessRecorder: the audit hook that finds the files a tracked cell reads and writes."""

from __future__ import annotations

import os
import shutil
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jupyter_mm.capture import file_access
from jupyter_mm.capture.data import FileAccessRecorder


def test_reads_and_writes_through_common_apis(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "train.csv").write_text("a,b\n1,2\n")
    (inputs / "raw.bin").write_bytes(b"\x00" * 10)
    (inputs / "notes.txt").write_text("n")
    (inputs / "copy-src.txt").write_text("c")
    (inputs / "appendable.log").write_text("old\n")
    recorder = FileAccessRecorder()
    recorder.start()
    try:
        frame = pd.read_csv(inputs / "train.csv")
        with open(inputs / "raw.bin", "rb") as handle:
            handle.read()
        fd = os.open(os.fsencode(inputs / "notes.txt"), os.O_RDONLY)
        os.close(fd)
        frame.to_csv(tmp_path / "out.csv", index=False)
        np.save(tmp_path / "weights.npy", np.zeros(3))
        (tmp_path / "report.txt").write_text("done")
        with open(inputs / "appendable.log", "a") as handle:
            handle.write("new\n")
        shutil.copyfile(inputs / "copy-src.txt", tmp_path / "copied.txt")
        # atomic write: temp file renamed into place; only the final name is an output
        (tmp_path / "model.tmp").write_bytes(b"m")
        os.replace(tmp_path / "model.tmp", tmp_path / "model.bin")
        # a file the cell creates and then reads back is an output, not an input
        (tmp_path / "scratch.txt").write_text("s")
        (tmp_path / "scratch.txt").read_text()
        # failed opens and directories are not data
        with pytest.raises(FileNotFoundError), open(tmp_path / "missing.txt"):
            pass
        with pytest.raises(IsADirectoryError), open(tmp_path):
            pass
    finally:
        read, written = recorder.stop()
    assert read == {
        str(inputs / "train.csv"),
        str(inputs / "raw.bin"),
        str(inputs / "notes.txt"),
        str(inputs / "copy-src.txt"),
    }
    assert written == {
        str(tmp_path / "out.csv"),
        str(tmp_path / "weights.npy"),
        str(tmp_path / "report.txt"),
        str(inputs / "appendable.log"),
        str(tmp_path / "copied.txt"),
        str(tmp_path / "model.bin"),
        str(tmp_path / "scratch.txt"),
    }


def test_relative_paths_are_made_absolute_at_open_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "data.txt").write_text("x")
    monkeypatch.chdir(tmp_path / "a")
    with FileAccessRecorder() as recorder:
        open("data.txt").close()
        os.chdir(tmp_path)  # the cell changes directory afterwards
        read, _ = recorder.stop()
    assert read == {str(tmp_path / "a" / "data.txt")}


def test_interpreter_system_and_ignored_paths_are_filtered(tmp_path: Path) -> None:
    store = tmp_path / ".jupyter_mm"
    store.mkdir()
    (store / "mm.db").write_text("db")
    (tmp_path / "keep.csv").write_text("k")
    (tmp_path / "skip.tmp").write_text("t")
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "x.bin").write_text("c")
    stdlib_file = os.__file__  # under sys.base_prefix
    recorder = FileAccessRecorder(ignore=["*.tmp", str(tmp_path / "cache") + "/*"], store_dir=store)
    with recorder:
        for path in [
            store / "mm.db",
            tmp_path / "keep.csv",
            tmp_path / "skip.tmp",
            tmp_path / "cache" / "x.bin",
            stdlib_file,
            np.__file__,  # site-packages
            "/proc/self/status",
            "/dev/null",
        ]:
            open(path, "rb").close()
        read, written = recorder.stop()
    assert read == {str(tmp_path / "keep.csv")}
    assert written == set()


def test_pool_threads_are_recorded_kernel_service_threads_are_not(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from jupyter_mm.tracking import process

    for name in ("from_new_thread.txt", "from_old_pool.txt", "from_service.txt"):
        (tmp_path / name).write_text(name)
    # a pool created before the recorded block (in an earlier cell) and reused inside it
    pool = ThreadPoolExecutor(max_workers=1)
    pool.submit(lambda: None).result()
    # jupyter-mm's own background thread stands for the kernel's service threads
    started = threading.Event()
    process._WORKER.submit(started.set)
    assert started.wait(5)
    done = threading.Event()
    with FileAccessRecorder() as recorder:
        worker = threading.Thread(target=lambda: open(tmp_path / "from_new_thread.txt").close())
        worker.start()
        worker.join()
        pool.submit(lambda: open(tmp_path / "from_old_pool.txt").close()).result()
        process._WORKER.submit(lambda: (open(tmp_path / "from_service.txt").close(), done.set()))
        assert done.wait(5)
        read, _ = recorder.stop()
    pool.shutdown()
    assert read == {str(tmp_path / "from_new_thread.txt"), str(tmp_path / "from_old_pool.txt")}


def test_nothing_is_recorded_outside_start_stop_and_nested_recorders(tmp_path: Path) -> None:
    for name in "abc":
        (tmp_path / name).write_text(name)
    outer = FileAccessRecorder()
    open(tmp_path / "a").close()
    outer.start()
    inner = FileAccessRecorder()
    inner.start()
    open(tmp_path / "b").close()
    assert inner.stop()[0] == {str(tmp_path / "b")}
    open(tmp_path / "c").close()
    assert outer.stop()[0] == {str(tmp_path / "b"), str(tmp_path / "c")}
    assert outer.stop() == (set(), set())  # stopping twice is harmless


def test_hook_is_installed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    FileAccessRecorder().start()  # make sure it is installed
    assert file_access._hook_installed

    def refuse(hook: object) -> None:
        raise AssertionError("a second audit hook was installed")

    monkeypatch.setattr(sys, "addaudithook", refuse)
    with FileAccessRecorder() as recorder:
        recorder.stop()


def test_hook_never_raises_into_user_code(tmp_path: Path) -> None:
    class Weird(os.PathLike):  # fspath raises: the hook must swallow it
        def __fspath__(self) -> str:
            raise RuntimeError("boom")

    with FileAccessRecorder() as recorder:
        file_access._audit_hook("open", (Weird(), "r", 0))
        file_access._audit_hook("open", (3, "r", 0))  # file descriptor
        file_access._audit_hook("os.rename", (None,))  # malformed
        (tmp_path / "fine.txt").write_text("ok")
        _, written = recorder.stop()
    assert written == {str(tmp_path / "fine.txt")}


def test_a_module_imported_during_recording_is_code_not_data(tmp_path: Path, monkeypatch) -> None:
    module = tmp_path / "user_helpers_for_recorder_test.py"
    module.write_text("VALUE = 41\n")
    data = tmp_path / "table.csv"
    data.write_text("a,b\n1,2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with FileAccessRecorder() as recorder:
        import user_helpers_for_recorder_test  # noqa: F401

        data.read_text()
        read, _ = recorder.stop()
    assert str(data) in read
    assert str(module) not in read


def test_system_tables_read_by_the_standard_library_are_not_data() -> None:
    import mimetypes

    with FileAccessRecorder() as recorder:
        mimetypes.init()  # reads /etc/mime.types and friends where they exist
        read, _ = recorder.stop()
    assert not [p for p in read if p.startswith(("/etc/", "/usr/share/"))]
