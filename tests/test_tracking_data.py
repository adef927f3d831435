"""What a ``%%track`` run records as data on an in-process ``InteractiveShell``: upstream data
read by earlier (untracked) cells, and many files of one directory as one entry."""

from __future__ import annotations

import pandas as pd
import pytest
from IPython.core.interactiveshell import InteractiveShell

from jupyter_mm import tracking
from jupyter_mm.capture import session_reads


@pytest.fixture
def shell(mm_shell):
    # a fresh session log: the global shell outlives the other tests' files
    session_reads.detach(mm_shell)
    session_reads.attach(mm_shell)
    return mm_shell


def run(ip: InteractiveShell, code: str) -> None:
    result = ip.run_cell(code, store_history=True)
    assert result.success, result.error_in_exec or result.error_before_exec


def test_upstream_data_and_directories_read_file_by_file(shell, tmp_path) -> None:
    (tmp_path / "data").mkdir()
    pd.DataFrame({"x": [1, 2], "y": [0, 1]}).to_csv(tmp_path / "data" / "train.csv", index=False)
    for folder in ("images", "batch"):
        (tmp_path / folder).mkdir()
        for i in range(150):
            (tmp_path / folder / f"{i:03}.png").write_bytes(bytes([i % 256]) * 10)
    run(shell, "import os, pandas as pd\ndf = pd.read_csv('data/train.csv')")
    # one directory read over two cells, 75 files each: below the threshold in each
    run(shell, "a = [open(f'images/{i:03}.png', 'rb').read() for i in range(75)]")
    run(shell, "b = [open(f'images/{i:03}.png', 'rb').read() for i in range(75, 150)]")
    count = shell.execution_count
    run(
        shell,
        "%%track -q --name bulk\n"
        "pixels = [open(f'batch/{n}', 'rb').read() for n in sorted(os.listdir('batch'))]\n"
        "open('summary.txt', 'w').write(str(len(pixels) + len(df)))",
    )
    active = shell.magics_manager.registry["TrackMagics"].last_run
    assert active.warnings == []
    detail = tracking.default_store().get_run_detail(active.id)
    refs = {(d.role, d.kind, d.name): d for d in detail.data}
    assert set(refs) == {
        ("input", "directory", str(tmp_path / "batch")),
        ("output", "file", str(tmp_path / "summary.txt")),
        ("upstream", "file", str(tmp_path / "data" / "train.csv")),
        ("upstream", "directory", str(tmp_path / "images")),
    }
    assert refs[("input", "directory", str(tmp_path / "batch"))].detail == "150"
    train = refs[("upstream", "file", str(tmp_path / "data" / "train.csv"))]
    assert train.detail == f"read by In [{count - 3}]"
    images = refs[("upstream", "directory", str(tmp_path / "images"))]
    assert images.detail == f"150 files; read by In [{count - 1}]"


def test_a_removed_upstream_file_is_reported_by_the_next_run_only(shell, tmp_path) -> None:
    (tmp_path / "scratch.csv").write_text("x\n1\n")
    run(shell, "import os, pandas as pd\nscratch = pd.read_csv('scratch.csv')")
    reader = shell.execution_count - 1
    run(shell, "os.remove('scratch.csv')")
    magics = shell.magics_manager.registry["TrackMagics"]
    run(shell, "%%track -q\ntotal = int(scratch['x'].sum())")
    assert magics.last_run.warnings == [
        f"{tmp_path / 'scratch.csv'}, read by In [{reader}], no longer exists"
    ]
    run(shell, "%%track -q\ntotal = 2")
    assert magics.last_run.warnings == []


def test_the_notebook_read_for_its_checkpoint_is_not_upstream_data(
    shell, tmp_path, monkeypatch
) -> None:
    """Without a frontend's snapshot the checkpoint is the kernel's saved notebook file,
    read while the tracked cell runs, where the session's reads are recorded: that read is
    jupyter-mm's own, and the notebook is the run's code, not its data."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    notebook = tmp_path / "train.ipynb"
    cells = ["%%track -q --name first\nx = 1", "%%track -q --name second\ny = 2"]
    nbformat.write(new_notebook(cells=[new_code_cell(c) for c in cells]), notebook)
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    for cell in cells:
        run(shell, cell)
    active = shell.magics_manager.registry["TrackMagics"].last_run
    assert active.run.checkpoint_digest is not None  # it was read from the file
    detail = tracking.default_store().get_run_detail(active.id)
    assert [(d.role, d.name) for d in detail.data] == []
