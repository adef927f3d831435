"""The execution log and reproducibility flags, with real notebooks and a real IPython shell."""

from __future__ import annotations

import nbformat
import pytest
from IPython.core.interactiveshell import InteractiveShell
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from traitlets.config import Config

from jupyter_mm.capture.execution import (
    ExecutionRecorder,
    compute_flags,
    describe_cell,
    source_hash,
)
from jupyter_mm.entities import ExecutionEntry


@pytest.fixture
def shell():
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    return InteractiveShell(config=config)


def notebook(*sources: str, markdown_first: bool = True) -> nbformat.NotebookNode:
    """A v4.5 notebook with code cells c0, c1, … (after an optional markdown cell)."""
    cells = [new_markdown_cell("# Experiment")] if markdown_first else []
    for i, source in enumerate(sources):
        cell = new_code_cell(source)
        cell["id"] = f"c{i}"
        cells.append(cell)
    nb = new_notebook(cells=cells)
    nbformat.validate(nb)
    return nb


class Session:
    """Runs notebook cells in a real shell the way a frontend does (with cell ids)."""

    def __init__(self, shell: InteractiveShell, nb: nbformat.NotebookNode) -> None:
        self.shell, self.nb = shell, nb
        self.recorder = ExecutionRecorder(shell)
        self.recorder.register()

    def run(self, cell_id: str, *, send_id: bool = True) -> None:
        cell = next(c for c in self.nb.cells if c.get("id") == cell_id)
        result = self.shell.run_cell(
            cell.source, store_history=True, cell_id=cell_id if send_id else None
        )
        assert result.success, result.error_in_exec or result.error_before_exec

    def flags(self, tracked: str | None) -> list[tuple[str, str | None]]:
        # the recorder's running index must say exactly what the whole log says
        from_log = compute_flags(self.recorder.entries(), self.nb, tracked)
        assert compute_flags(self.recorder.index, self.nb, tracked) == from_log
        return [(f.kind, f.cell_id) for f in from_log]


# -- source_hash ------------------------------------------------------------------------------


def test_source_hash_ignores_line_endings_and_trailing_whitespace():
    assert source_hash("a = 1\nb = 2") == source_hash("a = 1  \r\nb = 2\r\n\n\n")
    assert source_hash("a = 1\nb = 2") == source_hash("a = 1\rb = 2\t")
    assert source_hash("a = 1") != source_hash(" a = 1"), "indentation is significant"
    assert source_hash("a = 1\n\nb = 2") != source_hash("a = 1\nb = 2")
    assert len(source_hash("x")) == 32


# -- the recorder with a real shell -----------------------------------------------------------


def test_recorder_logs_counts_ids_and_hashes(shell):
    nb = notebook("a = 1", "b = a + 1")
    session = Session(shell, nb)
    session.run("c0")
    session.run("c1")
    shell.run_cell("b", store_history=False)  # not an execution of the notebook
    shell.run_cell("", store_history=True)  # IPython does not count empty cells
    entries = session.recorder.entries()
    assert [(e.count, e.cell_id) for e in entries] == [(1, "c0"), (2, "c1")]
    assert entries[1].source_hash == source_hash("b = a + 1")


def test_recorder_recovers_history_from_before_it_was_loaded(shell):
    shell.run_cell("early = 1", store_history=True)
    shell.run_cell("later = early", store_history=True)
    recorder = ExecutionRecorder(shell)
    recorder.register()
    shell.run_cell("print(later)", store_history=True, cell_id="x")
    entries = recorder.entries()
    assert [(e.count, e.cell_id) for e in entries] == [(1, None), (2, None), (3, "x")]
    assert entries[0].source_hash == source_hash("early = 1")
    recorder.unregister()
    shell.run_cell("after = 1", store_history=True)
    assert len(recorder.entries()) == 3


def test_a_long_session_keeps_its_whole_log_and_every_cell_counts_for_the_flags(shell):
    # 2100 distinct cells: more than the 2000 entries the log used to be cut to, which
    # then flagged the oldest cells as never run
    session = Session(shell, notebook(*(f"v{i} = {i}" for i in range(2100)), "done = 1"))
    for i in range(2101):
        session.run(f"c{i}")
    entries = session.recorder.entries()
    assert len(entries) == 2101 and entries[0].cell_id == "c0"
    assert session.flags("c2100") == []


def test_the_session_log_hands_each_store_only_what_it_lacks(shell):
    recorder = ExecutionRecorder(shell)
    recorder.register()
    for i in range(3):
        shell.run_cell(f"a{i} = {i}", store_history=True, cell_id=f"c{i}")
    first = recorder.session_log("sqlite:///one")
    assert (first.start, first.position, len(first.entries)) == (0, 3, 3)
    recorder.stored("sqlite:///one", first.position)
    shell.run_cell("b = 1", store_history=True, cell_id="c3")
    again = recorder.session_log("sqlite:///one")
    assert (again.start, again.position, [e.cell_id for e in again.entries]) == (3, 4, ["c3"])
    assert again.session_id == first.session_id
    other = recorder.session_log("sqlite:///two")  # a store new to the session gets it all
    assert (other.start, len(other.entries)) == (0, 4)


def test_entries_are_copies(shell):
    recorder = ExecutionRecorder(shell)
    recorder.register()
    shell.run_cell("a = 1", store_history=True, cell_id="c0")
    recorder.entries()[0].cell_id = "tampered"
    assert recorder.entries()[0].cell_id == "c0"


# -- flags, driven through a real shell -------------------------------------------------------


def test_clean_top_to_bottom_run_has_no_flags(shell):
    session = Session(shell, notebook("a = 1", "b = a + 1", "c = b * 2"))
    for cell_id in ("c0", "c1", "c2"):
        session.run(cell_id)
    assert session.flags("c2") == []


def test_out_of_order_when_an_upper_cell_ran_after_a_lower_one(shell):
    session = Session(shell, notebook("a = 1", "b = 2", "c = a + b"))
    session.run("c1")
    session.run("c0")
    session.run("c2")
    flags = compute_flags(session.recorder.entries(), session.nb, "c2")
    assert [(f.kind, f.cell_id) for f in flags] == [("out_of_order", "c0")]
    assert flags[0].message.startswith("Cell 2 (`a = 1`) last ran after cell 3 (`b = 2`)")


def test_out_of_order_when_an_upper_cell_is_rerun(shell):
    session = Session(shell, notebook("a = 1", "a += 1", "print(a)"))
    for cell_id in ("c0", "c1", "c0", "c2"):
        session.run(cell_id)
    assert session.flags("c2") == [("out_of_order", "c0")]


def test_edited_since_run(shell):
    session = Session(shell, notebook("a = 1", "b = a"))
    session.run("c0")
    session.nb.cells[1].source = "A = 100  # edited, not re-run"
    session.run("c1")
    flags = compute_flags(session.recorder.entries(), session.nb, "c1")
    assert [(f.kind, f.cell_id) for f in flags] == [("edited_since_run", "c0")]
    assert flags[0].message.startswith("Cell 2 (`A = 100  # edited, not re-run`) was edited")
    # trailing whitespace is not an edit
    session.nb.cells[1].source = "a = 1   \n"
    assert session.flags("c1") == []


def test_deleted_cell_still_in_the_kernel(shell):
    session = Session(shell, notebook("secret_sauce = 42", "a = 1", "print(a)"))
    for cell_id in ("c0", "c1", "c2"):
        session.run(cell_id)
    del session.nb.cells[1]  # delete c0 from the notebook
    flags = compute_flags(session.recorder.entries(), session.nb, "c2")
    assert [(f.kind, f.cell_id) for f in flags] == [("deleted_cell", "c0")]
    assert "In [1]" in flags[0].message


def test_never_run_above(shell):
    session = Session(shell, notebook("a = 1", "   ", "import math", "print(a)", "below = 1"))
    session.run("c0")
    session.run("c3")
    flags = compute_flags(session.recorder.entries(), session.nb, "c3")
    # the blank cell is ignored, the cell below the tracked one is not "above"
    assert [(f.kind, f.cell_id) for f in flags] == [("never_run_above", "c2")]
    assert flags[0].message.startswith("Cell 4 (`import math`) above the tracked cell")


def test_several_flags_together(shell):
    session = Session(shell, notebook("a = 1", "b = 2", "gone = 3", "x = a + b"))
    for cell_id in ("c1", "c2", "c0", "c3"):
        session.run(cell_id)
    session.nb.cells.pop(3)  # delete c2
    session.nb.cells[2].source = "b = 20"  # edit c1 after it ran
    kinds = sorted(session.flags("c3"))
    assert kinds == sorted(
        [("out_of_order", "c0"), ("edited_since_run", "c1"), ("deleted_cell", "c2")]
    )


def test_without_cell_ids_executions_match_by_source(shell):
    """nbclient and other clients send no cellId: executions are matched by source."""
    session = Session(shell, notebook("a = 1", "b = 2", "import os", "print(a + b)"))
    session.run("c1", send_id=False)
    session.run("c0", send_id=False)
    session.run("c3", send_id=False)
    assert sorted(session.flags(None)) == [("never_run_above", "c2"), ("out_of_order", "c0")]


def test_history_entries_from_before_the_extension_count_as_runs(shell):
    nb = notebook("a = 1", "b = a + 1")
    shell.run_cell("a = 1", store_history=True)  # before the recorder existed
    session = Session(shell, nb)
    session.run("c1")
    assert session.flags("c1") == []


def test_unrelated_id_spaces_fall_back_to_sources():
    """A notebook whose ids differ from the frontend's (e.g. nbformat 4.4 files)."""
    nb = notebook("a = 1", "b = a")
    entries = [
        ExecutionEntry(1, "frontend-1", source_hash("a = 1")),
        ExecutionEntry(2, "frontend-2", source_hash("b = a")),
    ]
    assert compute_flags(entries, nb, None) == []


def test_unknown_tracked_cell_skips_position_based_flags():
    nb = notebook("a = 1", "b = 2")
    entries = [ExecutionEntry(1, None, source_hash("print('elsewhere')"))]
    assert compute_flags(entries, nb, None) == []


def test_describe_cell_truncates_long_first_lines():
    cell = new_code_cell("\n\n" + "x" * 80 + "\nsecond line")
    assert describe_cell(0, cell) == f"cell 1 (`{'x' * 39}…`)"
    assert describe_cell(4, new_code_cell("")) == "cell 5"


def test_nbformat_4_4_notebook_without_cell_ids(shell):
    """Old notebooks have no cell ids; JupyterLab still sends its own ids for them."""
    nb = notebook("a = 1", "b = 2", "import os", "print(a + b)")
    nb.nbformat_minor = 4
    for cell in nb.cells:
        del cell["id"]
    nbformat.validate(nb)
    recorder = ExecutionRecorder(shell)
    recorder.register()
    for index, session_id in ((2, "lab-b"), (1, "lab-a"), (4, "lab-print")):
        shell.run_cell(nb.cells[index].source, store_history=True, cell_id=session_id)
    flags = compute_flags(recorder.entries(), nb, None)
    assert [(f.kind, f.cell_id) for f in flags] == [
        ("out_of_order", None),
        ("never_run_above", None),
    ]
    assert flags[0].message.startswith("Cell 2 (`a = 1`) last ran after cell 3 (`b = 2`)")
    assert flags[1].message.startswith("Cell 4 (`import os`)")


def test_a_notebook_rebuilt_from_history_has_no_flags(shell):
    from jupyter_mm.capture.notebook import capture_notebook

    recorder = ExecutionRecorder(shell)
    recorder.register()
    for source in ("a = 1", "b = a + 1", "a = 1", "c = b"):
        shell.run_cell(source, store_history=True, cell_id=f"lab-{source[0]}")
    snap = capture_notebook(shell, cell_id="lab-c", raw_cell="c = b", live=None)
    assert snap.source == "history"
    assert [c.source for c in snap.notebook.cells] == ["a = 1", "b = a + 1", "a = 1", "c = b"]
    assert compute_flags(recorder.entries(), snap.notebook, snap.cell_id) == []
    # the same cells as a real notebook do show the re-run
    del snap.notebook.metadata["jupyter_mm"]
    assert [f.kind for f in compute_flags(recorder.entries(), snap.notebook, snap.cell_id)]


def test_flags_of_a_keyed_notebook_reuse_its_index_until_the_key_changes(shell):
    session = Session(shell, notebook("a = 1", "b = 2", "c = 3"))
    session.run("c2")
    entries = session.recorder.entries()
    first = compute_flags(entries, session.nb, "c2", notebook_key=("nb", 1))
    assert sorted(f.kind for f in first) == ["never_run_above", "never_run_above"]
    # the key says the content is unchanged: the index of the first call is reused
    edited = notebook("a = 1", "b = 2", "c = 3")
    edited.cells[1].source = "completely different = 1"
    assert compute_flags(entries, edited, "c2", notebook_key=("nb", 1)) == first
    # a new key (the file was saved again) indexes the new content
    again = compute_flags(entries, edited, "c2", notebook_key=("nb", 2))
    assert [f.message for f in again] != [f.message for f in first]
