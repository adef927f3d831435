"""The headless runner: parameter injection, and the frontend protocol against real kernels.

The protocol tests do not need jupyter-mm's own magics: the notebook registers a comm target
named ``jupyter_mm`` and a stand-in ``%%track`` cell magic that reports what the kernel
received, so these tests pin down exactly what the runner sends.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from jupyter_mm.errors import InvalidInput, NotFound
from jupyter_mm.runner import (
    INJECTED_TAG,
    RUN_MIME,
    inject_parameters,
    parse_parameter,
    parse_parameters,
    run_notebook,
)


def write_notebook(path: Path, *sources: str, tags: dict[int, list[str]] | None = None) -> Path:
    cells = []
    for index, source in enumerate(sources):
        cell = new_code_cell(source)
        if tags and index in tags:
            cell.metadata["tags"] = tags[index]
        cells.append(cell)
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, str(path))
    return path


def stdout_of(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


# -- parameters (no kernel) -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("C=0.5", ("C", 0.5)),
        ("n=3", ("n", 3)),
        ("layers=[64, 32]", ("layers", [64, 32])),
        ("name='rf'", ("name", "rf")),
        ("flag=True", ("flag", True)),
        ("model=random-forest", ("model", "random-forest")),  # not a literal: kept as text
        ("path=data/train.csv", ("path", "data/train.csv")),
        ("empty=", ("empty", "")),
        ("expr=__import__('os')", ("expr", "__import__('os')")),  # never evaluated
    ],
)
def test_parse_parameter_literal_or_string(text: str, expected: tuple) -> None:
    assert parse_parameter(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [("C", "not of the form name=value"), ("1x=2", "not a valid Python identifier")],
)
def test_parse_parameter_rejects_malformed(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_parameter(text)


def test_later_parameter_overrides_earlier() -> None:
    assert parse_parameters(["a=1", "b=2", "a=3"]) == {"a": 3, "b": 2}


def test_injected_cell_goes_after_the_parameters_cell_and_replaces_an_old_one() -> None:
    nb = new_notebook(
        cells=[
            new_markdown_cell("intro"),
            new_code_cell("a = 1", metadata={"tags": ["parameters"]}),
            new_code_cell("print(a)"),
        ]
    )
    inject_parameters(nb, {"a": 2})
    inject_parameters(nb, {"a": 3, "b": "x"})  # re-running an executed copy
    injected = [c for c in nb.cells if INJECTED_TAG in c.metadata.get("tags", [])]
    assert len(injected) == 1
    assert nb.cells[2] is injected[0]
    assert "a = 3\nb = 'x'\n" in injected[0].source


def test_injected_cell_goes_first_without_a_parameters_cell() -> None:
    nb = new_notebook(cells=[new_code_cell("print(a)")])
    inject_parameters(nb, {"a": 1})
    assert INJECTED_TAG in nb.cells[0].metadata["tags"]
    with pytest.raises(InvalidInput):
        inject_parameters(nb, {"not valid": 1})


def test_missing_and_malformed_notebooks_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        run_notebook(tmp_path / "nope.ipynb")
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    with pytest.raises(InvalidInput, match="not a readable notebook"):
        run_notebook(bad)


# -- real kernels -----------------------------------------------------------------------------


@pytest.mark.kernel
def test_runs_with_parameters_session_path_and_cwd(tmp_path: Path) -> None:
    nb_dir = tmp_path / "nbs"
    nb_dir.mkdir()
    path = write_notebook(
        nb_dir / "params.ipynb",
        "alpha = 1\nlabel = 'default'",
        "import os, json\nprint(json.dumps({'alpha': alpha, 'label': label, "
        "'session': os.environ.get('JPY_SESSION_NAME'), 'cwd': os.getcwd(), "
        "'store': os.environ.get('JUPYTER_MM_STORE')}))",
        tags={0: ["parameters"]},
    )
    original = path.read_bytes()
    seen = []
    os.environ["JUPYTER_MM_STORE"] = "sqlite:///inherited.db"
    try:
        result = run_notebook(
            path,
            parameters={"alpha": 0.5, "label": "rf"},
            output=tmp_path / "out.ipynb",
            progress=seen.append,
        )
    finally:
        del os.environ["JUPYTER_MM_STORE"]
    assert result.ok, result.failure
    report = json.loads(stdout_of(result.notebook.cells[2]))
    assert report == {
        "alpha": 0.5,
        "label": "rf",
        "session": str(path.resolve()),
        "cwd": str(nb_dir.resolve()),
        "store": "sqlite:///inherited.db",
    }
    # each cell is reported when it starts and when it is done
    assert [(p.position, p.done) for p in seen] == [
        (1, False), (1, True), (2, False), (2, True), (3, False), (3, True)
    ]  # fmt: skip
    assert all(p.total == 3 and p.ok for p in seen)
    assert path.read_bytes() == original  # the input is never modified
    written = nbformat.read(str(tmp_path / "out.ipynb"), as_version=4)
    nbformat.validate(written)
    assert INJECTED_TAG in written.cells[1].metadata["tags"]


@pytest.mark.kernel
def test_failure_reports_the_cell_and_stops(tmp_path: Path) -> None:
    path = write_notebook(
        tmp_path / "fails.ipynb", "x = 1", "raise ValueError('bad input data')", "print('after')"
    )
    result = run_notebook(path, cwd=tmp_path, output=tmp_path / "out.ipynb")
    assert not result.ok
    assert (result.failure.cell_index, result.failure.ename) == (1, "ValueError")
    assert str(result.failure) == "cell 1 failed with ValueError: bad input data"
    assert [c.ok for c in result.cells] == [True, False]  # the third cell never ran
    saved = nbformat.read(str(tmp_path / "out.ipynb"), as_version=4)
    assert saved.cells[1].outputs[0].output_type == "error"


@pytest.mark.kernel
def test_timeout_and_unknown_kernel(tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "slow.ipynb", "import time\ntime.sleep(30)")
    result = run_notebook(path, timeout=1)
    assert result.failure is not None and result.failure.ename == "Timeout"
    with pytest.raises(NotFound, match="No Jupyter kernel named 'no-such-kernel'"):
        run_notebook(path, kernel_name="no-such-kernel")


# A stand-in for jupyter-mm's kernel side: it records the comm traffic and, as ``%%track``,
# prints what it received for this cell and displays a run bundle like the real magic.
FAKE_KERNEL_SIDE = """
import json
from IPython.core.magic import register_cell_magic
from IPython.display import display

received = []
def _opened(comm, msg):
    received.append(("open", msg["content"]["data"]))
    comm.on_msg(lambda m: received.append(("msg", m["content"]["data"])))
get_ipython().kernel.comm_manager.register_target("jupyter_mm", _opened)

@register_cell_magic
def track(line, cell):
    parent = get_ipython().kernel.get_parent()
    kind, data = received[-1]
    nb = data["notebook"]
    me = next(c for c in nb["cells"] if c["id"] == data["cell_id"])
    print(json.dumps({
        "messages": [k for k, _ in received],
        "exec_cell_id": parent["metadata"].get("cellId"),
        "snapshot_cell_id": data["cell_id"],
        "path": data["path"],
        "my_outputs": me["outputs"],
        "my_source_first": me["source"].splitlines()[0],
        "cells_with_outputs": [c["id"] for c in nb["cells"] if c.get("outputs")],
        "timing_metadata": [c["id"] for c in nb["cells"] if "execution" in c["metadata"]],
        "injected": any("injected-parameters" in c["metadata"].get("tags", [])
                        for c in nb["cells"]),
    }))
    get_ipython().run_cell(cell)
    display({"text/plain": "run " + line, "%s": {"id": line.strip()}}, raw=True)
"""


@pytest.mark.kernel
def test_snapshots_reach_the_kernel_before_each_tracked_cell(tmp_path: Path) -> None:
    path = write_notebook(
        tmp_path / "tracked.ipynb",
        FAKE_KERNEL_SIDE % RUN_MIME,
        "lr = 0.1",
        "print('plain cell')",
        "%%track RUN-A\ny = lr * 2",
        "%%track RUN-B\nprint('second', y)",
        tags={1: ["parameters"]},
    )
    result = run_notebook(path, parameters={"lr": 0.2})
    assert result.ok, result.failure
    cells = result.notebook.cells
    ids = [c.id for c in cells]
    first = json.loads(stdout_of(cells[4]).splitlines()[0])
    second = json.loads(stdout_of(cells[5]).splitlines()[0])

    # one comm, opened lazily just before the first tracked cell, then one snapshot each
    assert first["messages"] == ["open", "msg"]
    assert second["messages"] == ["open", "msg", "msg"]
    # the execute request carries the cell id, and the snapshot names the same cell
    assert first["exec_cell_id"] == first["snapshot_cell_id"] == ids[4]
    assert second["exec_cell_id"] == second["snapshot_cell_id"] == ids[5]
    assert first["path"] == str(path.resolve())
    assert first["my_source_first"] == "%%track RUN-A"
    # this cell's outputs are cleared; earlier outputs are in the snapshot
    assert first["my_outputs"] == [] and second["my_outputs"] == []
    assert ids[3] in first["cells_with_outputs"] and ids[4] not in first["cells_with_outputs"]
    assert ids[4] in second["cells_with_outputs"]
    assert first["injected"] is True
    assert second["timing_metadata"] == []  # nbclient's timestamps stay out of checkpoints
    assert "second 0.4" in stdout_of(cells[5])
    # run ids come from the run MIME bundles, in order, attributed to their cells
    assert result.run_ids == ["RUN-A", "RUN-B"]
    assert [c.run_ids for c in result.cells][-2:] == [["RUN-A"], ["RUN-B"]]


def test_cells_of_an_old_notebook_get_ids(tmp_path: Path) -> None:
    from jupyter_mm.runner import _load_notebook

    old = new_notebook(cells=[new_code_cell("1"), new_markdown_cell("m")])
    old.nbformat_minor = 4
    for cell in old.cells:
        del cell["id"]
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(old))
    nb = _load_notebook(path)
    assert nb.nbformat_minor == 5 and all(c.id for c in nb.cells)
    assert len({c.id for c in nb.cells}) == 2
    nbformat.validate(nb)
