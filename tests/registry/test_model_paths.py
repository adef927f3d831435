"""Artifact names are single file names, and a file/directory model is written inside
``dest`` and nowhere else, whatever the store holds.

The store is shared data: the hostile rows here are written straight into a real SQLite
store file (and its blob store), as anyone with write access to it could.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from pathlib import Path

import pytest

import jupyter_mm as mm
from jupyter_mm.errors import IntegrityError, InvalidInput

BAD_NAMES = [
    ".",
    "..",
    "../escape",
    "a/b",
    "/etc/passwd",
    "a\x00b",
    "line\nbreak",
    "\x1b]0;title\x07",
    "C:evil",
    "c:\\windows",
    "..\\escape",
    "x\\..\\y",
    "trailing\\",
    "n" * 256,
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_log_artifact_and_log_model_refuse_names_that_are_not_one_file_name(
    mm_store, tmp_path, name
):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "weights.bin").write_bytes(b"w")
    with mm.start_run() as run:
        for log in (
            lambda: mm.log_artifact(b"bytes", name=name),
            lambda: mm.log_artifact(bundle, name=name),
            lambda: mm.log_model({"w": 1}, name),
            lambda: mm.log_model(bundle, name),
        ):
            with pytest.raises(InvalidInput) as refused:
                log()
            assert "\n" not in str(refused.value) and "artifact name" in str(refused.value)
    assert mm.get_run(run.id).artifacts == []


def test_names_that_are_one_file_name_still_work(mm_store):
    names = ["model", "model.joblib", ".hidden", "my model (v2)", "caf\\xe9-\\xff.bin", "n" * 255]
    with mm.start_run() as run:
        for name in names:
            mm.log_artifact(b"x", name=name)
        mm.log_model({"w": 1}, "m" * 240, input_example=[[1.0, 2.0]])
        with pytest.raises(InvalidInput, match="longer than 255 bytes"):  # the signature's name
            mm.log_model({"w": 1}, "s" * 250, input_example=[[1.0, 2.0]])
    stored = {a.name for a in mm.get_run(run.id).artifacts}
    assert stored == {*names, "m" * 240, "m" * 240 + ".signature.json"}


def test_register_model_refuses_an_unsafe_artifact_name(mm_store):
    with mm.start_run() as run:
        mm.log_artifact(b"x", name="model")
    with pytest.raises(InvalidInput, match=r"'\.\.' is not an artifact name"):
        mm.register_model(run.id, "..", "escape")


# -- a store whose rows were edited --------------------------------------------------------


def _registered_bundle(tmp_path: Path) -> tuple[str, Path]:
    """A registered directory model ``bundle/1``: (run id, the SQLite file)."""
    bundle = tmp_path / "bundle-src"
    (bundle / "sub").mkdir(parents=True)
    (bundle / "config.json").write_text("{}")
    (bundle / "sub" / "weights.bin").write_bytes(b"\x01\x02")
    with mm.start_run() as run:
        mm.log_model(bundle, "bundle")
    assert mm.register_model(run.id, "bundle", "bundle").flavor == "directory"
    return run.id, tmp_path / "store" / "mm.db"


def _edit_version(database: Path, **columns: str) -> None:
    sets = ", ".join(f"{name} = ?" for name in columns)
    with sqlite3.connect(database) as conn:
        conn.execute(
            f"UPDATE model_versions SET {sets} WHERE model = 'bundle' AND version = 1",
            tuple(columns.values()),
        )
    conn.close()


def _manifest(mm_store, files: dict[str, bytes]) -> str:
    """A directory manifest naming ``files`` (their blobs stored), as the store's digest."""
    entries = {
        relative: {"digest": mm_store.blobs.put_bytes(data), "size": len(data)}
        for relative, data in files.items()
    }
    return mm_store.blobs.put_bytes(json.dumps({"files": entries}).encode())


def _tree(root: Path) -> set[str]:
    return {
        os.path.relpath(os.path.join(folder, name), root)
        for folder, dirs, files in os.walk(root)
        for name in dirs + files
    }


@pytest.mark.parametrize("artifact", ["..", ".", "../..", "a/../..", "/tmp", "x\\..\\..", "C:\\x"])
def test_a_version_row_naming_an_unsafe_artifact_writes_nothing(
    mm_store, tmp_path, monkeypatch, artifact
):
    _, database = _registered_bundle(tmp_path)
    _edit_version(database, artifact=artifact)
    outside = tmp_path / "area"
    dest = outside / "dest"
    dest.mkdir(parents=True)
    with pytest.raises(IntegrityError, match="names its artifact") as refused:
        mm.load_model("bundle/1", dest=dest)
    assert "\n" not in str(refused.value)
    assert _tree(outside) == {"dest"}
    # the default dest is a new directory in the system temp directory: nothing lands
    # next to it either
    system_temp = tmp_path / "system-temp"
    system_temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_temp))
    with pytest.raises(IntegrityError, match="names its artifact"):
        mm.load_model("bundle/1")
    assert _tree(system_temp) == set()


@pytest.mark.parametrize(
    "member",
    [
        "../escape.txt",
        "../../escape.txt",
        "sub/../../escape.txt",
        "/tmp/escape.txt",
        "",
        "./config.json",
        "sub//weights.bin",
        "..\\escape.txt",
        "C:escape.txt",
        "sub/\x00.txt",
    ],
)
def test_a_manifest_naming_files_outside_the_model_writes_nothing(mm_store, tmp_path, member):
    _, database = _registered_bundle(tmp_path)
    digest = _manifest(mm_store, {"ok.txt": b"fine", member: b"escaped"})
    _edit_version(database, digest=digest)
    outside = tmp_path / "area"
    dest = outside / "dest"
    dest.mkdir(parents=True)
    with pytest.raises(IntegrityError, match="names a file outside its directory"):
        mm.load_model("bundle/1", dest=dest)
    assert _tree(outside) == {"dest"}  # not even the good file: paths are checked first


def test_a_manifest_that_is_not_a_manifest_is_refused(mm_store, tmp_path):
    _, database = _registered_bundle(tmp_path)
    for manifest in (b"[]", b'{"files": ["a"]}', b'{"files": {"a": {"digest": "../../x"}}}'):
        _edit_version(database, digest=mm_store.blobs.put_bytes(manifest))
        with pytest.raises(IntegrityError, match=r"manifest|without a digest"):
            mm.load_model("bundle/1", dest=tmp_path / "dest")


def test_links_already_in_dest_are_not_followed(mm_store, tmp_path):
    _registered_bundle(tmp_path)
    victim_dir = tmp_path / "victim"
    victim_dir.mkdir()
    victim_file = tmp_path / "victim.txt"
    victim_file.write_text("untouched")
    dest = tmp_path / "dest"
    (dest / "bundle").mkdir(parents=True)
    # a link where a file goes is replaced, not written through
    (dest / "bundle" / "config.json").symlink_to(victim_file)
    # a link where a directory goes is refused
    (dest / "bundle" / "sub").symlink_to(victim_dir, target_is_directory=True)
    with pytest.raises(IntegrityError, match="'sub': it is a link or not a directory"):
        mm.load_model("bundle/1", dest=dest)
    assert victim_file.read_text() == "untouched" and list(victim_dir.iterdir()) == []
    (dest / "bundle" / "sub").unlink()
    folder = mm.load_model("bundle/1", dest=dest)
    assert folder == dest / "bundle"
    assert not (folder / "config.json").is_symlink()
    assert (folder / "config.json").read_text() == "{}"
    assert (folder / "sub" / "weights.bin").read_bytes() == b"\x01\x02"
    assert victim_file.read_text() == "untouched" and list(victim_dir.iterdir()) == []
    # the model directory itself being a link is refused too
    (dest / "linked").symlink_to(victim_dir, target_is_directory=True)
    _edit_version(tmp_path / "store" / "mm.db", artifact="linked")
    with pytest.raises(IntegrityError, match="'linked': it is a link"):
        mm.load_model("bundle/1", dest=dest)
    assert list(victim_dir.iterdir()) == []


def test_a_file_model_named_dotdot_in_the_store_writes_nothing(mm_store, tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"onnx")
    with mm.start_run() as run:
        mm.log_model(tmp_path / "model.onnx", "onnx")
    mm.register_model(run.id, "onnx", "bundle")
    _edit_version(tmp_path / "store" / "mm.db", artifact="..")
    dest = tmp_path / "area" / "dest"
    dest.mkdir(parents=True)
    with pytest.raises(IntegrityError, match="names its artifact"):
        mm.load_model("bundle/1", dest=dest)
    assert _tree(tmp_path / "area") == {"dest"}


def test_a_directory_whose_file_names_cannot_be_written_back_is_not_stored(mm_store, tmp_path):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "fine.bin").write_bytes(b"f")
    (bundle / "line\nbreak.bin").write_bytes(b"x")
    with mm.start_run() as run:
        assert mm.log_model(bundle, "bundle") is None  # tracking warns, never raises
    detail = mm.get_run(run.id)
    assert detail.artifacts == []
    assert any("cannot be part of a directory artifact" in w for w in detail.run.warnings)


def test_a_directory_with_a_non_utf8_file_name_round_trips(mm_store, tmp_path):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    odd = os.fsdecode(b"caf\xe9.bin")
    (bundle / odd).write_bytes(b"latin-1 name")
    with mm.start_run() as run:
        mm.log_model(bundle, "bundle")
    mm.register_model(run.id, "bundle", "odd")
    folder = mm.load_model("odd/1", dest=tmp_path / "out")
    assert (folder / odd).read_bytes() == b"latin-1 name"
