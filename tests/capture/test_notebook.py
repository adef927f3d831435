"""Where checkpoints come from: live snapshots, the session's file, the session history."""

from __future__ import annotations

import json
import threading

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from jupyter_mm.capture.notebook import LiveSnapshots, NotebookSnapshot, capture_notebook
from jupyter_mm.capture.notebook_file import read_notebook_file
from jupyter_mm.errors import InvalidInput

pytestmark = pytest.mark.usefixtures("no_session")


def make_notebook(sources: list[str]) -> nbformat.NotebookNode:
    nb = new_notebook(cells=[new_markdown_cell("# Title")])
    for i, source in enumerate(sources):
        cell = new_code_cell(source, execution_count=i + 1)
        cell["id"] = f"cell-{i}"
        nb.cells.append(cell)
    return nb


# -- live snapshots ---------------------------------------------------------------------------


def test_take_returns_the_snapshot_pushed_for_the_executing_cell():
    live = LiveSnapshots()
    live.push(make_notebook(["a = 1"]), "cell-0", "a.ipynb")
    live.push(make_notebook(["b = 2"]), "cell-9", "b.ipynb")
    snap = live.take("cell-0")
    assert isinstance(snap, NotebookSnapshot)
    assert (snap.source, snap.path, snap.cell_id) == ("live", "a.ipynb", "cell-0")
    assert snap.notebook.cells[1].source == "a = 1"
    assert live.take("cell-0") is None, "a snapshot is consumed once"
    assert live.take("unknown") is None
    assert len(live) == 1


def test_unknown_cell_id_takes_the_most_recent_snapshot():
    live = LiveSnapshots()
    live.push(make_notebook(["old"]), "cell-0", None)
    live.push(make_notebook(["new"]), "cell-0", None)
    assert live.take(None).notebook.cells[1].source == "new"
    assert live.take(None).notebook.cells[1].source == "old"
    assert live.take(None) is None


def test_snapshot_without_cell_id_serves_any_cell():
    live = LiveSnapshots()
    live.push(make_notebook(["x = 1"]), None, "run.ipynb")
    snap = live.take("cell-0")
    assert snap is not None and snap.cell_id == "cell-0"


def test_pending_snapshots_are_bounded():
    live = LiveSnapshots(max_pending=3)
    for i in range(10):
        live.push(make_notebook([f"x = {i}"]), f"c{i}", None)
    assert len(live) == 3
    assert live.take("c0") is None
    assert live.take("c9") is not None


def test_concurrent_pushes_and_takes_lose_nothing():
    live = LiveSnapshots(max_pending=10_000)
    nb = make_notebook(["x = 1"])

    def pusher(worker: int) -> None:
        for i in range(200):
            live.push(nb, f"w{worker}-{i}", None)

    threads = [threading.Thread(target=pusher, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    taken = [live.take(f"w{w}-{i}") for w in range(4) for i in range(200)]
    assert all(s is not None for s in taken)
    assert len(live) == 0


def test_handle_message_follows_the_comm_protocol():
    live = LiveSnapshots()
    nb = make_notebook(["y = 2"])
    live.handle_message(
        {"type": "snapshot", "cell_id": "cell-0", "path": "p.ipynb", "notebook": nb}
    )
    live.handle_message({"type": "hello-from-the-future"})  # ignored
    assert len(live) == 1
    bad = [
        "not a dict",
        {"type": "snapshot", "cell_id": 3, "path": None, "notebook": nb},
        {"type": "snapshot", "cell_id": None, "path": 5, "notebook": nb},
        {"type": "snapshot", "cell_id": None, "path": None, "notebook": {"cells": "x"}},
        {"type": "snapshot", "cell_id": None, "path": None, "notebook": {**nb, "nbformat": 3}},
    ]
    for message in bad:
        with pytest.raises(InvalidInput) as info:
            live.handle_message(message)
        assert str(info.value).endswith(".")
    assert len(live) == 1


# -- file snapshots ---------------------------------------------------------------------------


def test_file_snapshot_locates_the_cell_by_id_then_by_source(tmp_path, shell, monkeypatch):
    path = tmp_path / "analysis.ipynb"
    nbformat.write(make_notebook(["a = 1", "%%track\nb = a + 1"]), path)
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))

    snap = capture_notebook(shell, cell_id="cell-1", raw_cell="ignored", live=None)
    assert (snap.source, snap.path, snap.cell_id, snap.warnings) == (
        "file",
        str(path),
        "cell-1",
        [],
    )

    snap = capture_notebook(shell, cell_id=None, raw_cell="%%track\nb = a + 1\n", live=None)
    assert snap.cell_id == "cell-1"


def test_session_path_falls_back_to_user_namespace(tmp_path, shell):
    path = tmp_path / "ns.ipynb"
    nbformat.write(make_notebook(["q = 1"]), path)
    shell.user_ns["__session__"] = str(path)
    snap = capture_notebook(shell, cell_id="cell-0", raw_cell="q = 1", live=None)
    assert snap.source == "file" and snap.cell_id == "cell-0"


def test_unsaved_cell_keeps_the_saved_file_with_a_warning(tmp_path, shell, monkeypatch):
    path = tmp_path / "stale.ipynb"
    nbformat.write(make_notebook(["a = 1"]), path)
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    snap = capture_notebook(shell, cell_id="new-cell", raw_cell="c = 3", live=None)
    assert snap.source == "file" and snap.cell_id is None
    assert "not in the saved file" in snap.warnings[0]


def test_live_snapshot_wins_over_the_file(tmp_path, shell, monkeypatch):
    path = tmp_path / "both.ipynb"
    nbformat.write(make_notebook(["saved = 1"]), path)
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    live = LiveSnapshots()
    live.push(make_notebook(["unsaved = 2"]), "cell-0", str(path))
    snap = capture_notebook(shell, cell_id="cell-0", raw_cell="unsaved = 2", live=live)
    assert snap.source == "live" and snap.notebook.cells[1].source == "unsaved = 2"
    # nothing pending any more: the next capture reads the file
    snap = capture_notebook(shell, cell_id="cell-0", raw_cell="saved = 1", live=live)
    assert snap.source == "file"


def test_invalid_live_snapshot_falls_back_to_the_file(tmp_path, shell, monkeypatch):
    path = tmp_path / "saved.ipynb"
    nbformat.write(make_notebook(["saved = 1"]), path)
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    broken = make_notebook(["x = 1"])
    broken.cells[1]["outputs"] = [{"output_type": "no-such-output"}]
    live = LiveSnapshots()
    live.push(broken, "cell-0", str(path))
    snap = capture_notebook(shell, cell_id="cell-0", raw_cell="saved = 1", live=live)
    assert snap.source == "file" and snap.notebook.cells[1].source == "saved = 1"
    assert snap.warnings[0].startswith("The notebook sent by the frontend was unusable: Cell 2")


@pytest.mark.parametrize(
    "content",
    [
        b"{ this is not json",
        b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5, "bogus": 1}',
        json.dumps({"cells": [{"cell_type": "code"}], "nbformat": 4}).encode(),
        b'{"cells": [], "metadata": {"t": "\xff\xfe"}, "nbformat": 4, "nbformat_minor": 5}',
    ],
    ids=["malformed-json", "schema-violation", "invalid-cell", "not-utf8"],
)
def test_bad_file_falls_back_to_history_with_a_warning(tmp_path, shell, monkeypatch, content):
    path = tmp_path / "broken.ipynb"
    path.write_bytes(content)
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    shell.run_cell("a = 1", store_history=True)
    snap = capture_notebook(shell, cell_id=None, raw_cell="b = 2", live=None)
    assert snap.source == "history"
    assert len(snap.warnings) == 1 and str(path) in snap.warnings[0]
    assert "rebuilt from the kernel history" in snap.warnings[0]
    assert [c.source for c in snap.notebook.cells] == ["a = 1", "b = 2"]
    assert path.read_bytes() == content, "the user's file is never touched"


def test_missing_file_falls_back_to_history(tmp_path, shell, monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "gone.ipynb"))
    snap = capture_notebook(shell, cell_id=None, raw_cell="x = 1", live=None)
    assert snap.source == "history" and "cannot be read" in snap.warnings[0]


def test_file_is_parsed_once_per_content_and_reread_after_a_save(tmp_path):
    path = tmp_path / "big.ipynb"
    nb = make_notebook([f"x{i} = {i}\nprint(x{i})" for i in range(200)])
    for cell in nb.cells[1:]:
        cell.outputs = [new_output("stream", name="stdout", text="1\n" * 20)]
    nbformat.write(nb, path)
    first = read_notebook_file(str(path))
    again = read_notebook_file(str(path))
    assert again is first, "an unchanged file is served from the cache"

    nb.cells[1].source = "changed = True"
    nbformat.write(nb, path)
    assert read_notebook_file(str(path)).cells[1].source == "changed = True"


def test_capturing_a_200_cell_file_copies_from_the_cache(tmp_path, shell, monkeypatch):
    path = tmp_path / "nb200.ipynb"
    nbformat.write(make_notebook([f"v{i} = {i}" for i in range(200)]), path)
    monkeypatch.setenv("JPY_SESSION_NAME", str(path))
    capture_notebook(shell, cell_id="cell-199", raw_cell="", live=None)  # warm the cache
    snap = capture_notebook(shell, cell_id="cell-199", raw_cell="", live=None)
    assert snap.cell_id == "cell-199"
    snap.notebook.cells[1].source = "mutated"
    again = capture_notebook(shell, cell_id="cell-199", raw_cell="", live=None)
    assert again.notebook.cells[1].source == "v0 = 0", "callers get their own copy"


# -- history snapshots ------------------------------------------------------------------------


def test_history_snapshot_from_a_real_shell(shell):
    captured: list[NotebookSnapshot] = []
    tracked = "%%capture\ncaptured.append(grab())"

    def grab() -> NotebookSnapshot:
        return capture_notebook(shell, cell_id="tracked-id", raw_cell=tracked, live=None)

    shell.user_ns.update(grab=grab, captured=captured)
    shell.run_cell("a = 1", store_history=True)
    shell.run_cell("   ", store_history=True)  # blank cells are not executions
    shell.run_cell("b = a * 2", store_history=True)
    shell.run_cell(tracked, store_history=True)

    snap = captured[0]
    assert snap.source == "history" and snap.cell_id == "tracked-id"
    cells = snap.notebook.cells
    assert [c.source for c in cells] == ["a = 1", "b = a * 2", tracked]
    assert [c.execution_count for c in cells] == [1, 2, 3]
    assert cells[-1].id == "tracked-id"
    nbformat.validate(snap.notebook)


def test_history_snapshot_outside_a_cell_ends_with_the_given_cell(shell):
    shell.run_cell("a = 1", store_history=True)
    snap = capture_notebook(shell, cell_id=None, raw_cell="print(a)", live=None)
    assert [c.source for c in snap.notebook.cells] == ["a = 1", "print(a)"]
    assert snap.cell_id == snap.notebook.cells[-1].id
    nbformat.validate(snap.notebook)
