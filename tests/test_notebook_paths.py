"""One canonical notebook path, whichever frontend or command names the notebook."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jupyter_mm.notebook_paths import canonical_notebook_path
from jupyter_mm.server.wire import PathMapper


def test_every_form_of_one_notebook_gives_one_path(tmp_path: Path) -> None:
    root = tmp_path / "root"
    folder = root / "projects" / "churn"
    folder.mkdir(parents=True)
    notebook = folder / "train.ipynb"
    notebook.write_text("{}")
    link = tmp_path / "link-to-root"
    link.symlink_to(root)
    expected = str(notebook.resolve())
    forms = {
        # JupyterLab: server root + root-relative path (the root reached through a link)
        "lab": canonical_notebook_path(f"{link}/projects/churn/train.ipynb", "/elsewhere"),
        # Notebook 7 and its kernel's JPY_SESSION_NAME: root-relative, kernel in the folder
        "notebook7": canonical_notebook_path("projects/churn/train.ipynb", str(folder)),
        # a kernel started in the folder naming the file alone
        "bare": canonical_notebook_path("train.ipynb", str(folder)),
        # the CLI: relative to where the user typed the command
        "cli": canonical_notebook_path("churn/train.ipynb", str(root / "projects")),
        "cli-dots": canonical_notebook_path("../churn/./train.ipynb", str(folder)),
        # the server's filter: root-relative path against its root_dir (given via the link)
        "server": PathMapper(str(link)).absolute("projects/churn/train.ipynb"),
    }
    assert forms == dict.fromkeys(forms, expected)
    assert PathMapper(str(link)).relative(expected) == "projects/churn/train.ipynb"
    assert PathMapper(str(root)).relative(expected) == "projects/churn/train.ipynb"


def test_no_path_and_paths_outside_the_root() -> None:
    assert canonical_notebook_path(None) is None
    assert canonical_notebook_path("") is None
    assert PathMapper("/srv/root").relative("/other/nb.ipynb") is None
    assert PathMapper("/srv/root").relative("/srv/root") is None
    # a kernel not started in the notebook's folder: relative to its folder, as given
    assert canonical_notebook_path("a/nb.ipynb", "/srv/x") == os.path.realpath("/srv/x/a/nb.ipynb")


@pytest.mark.kernel
def test_a_kernel_named_root_relative_records_the_absolute_notebook(tmp_path: Path) -> None:
    """Notebook 7 starts a notebook's kernel in the notebook's folder with a root-relative
    JPY_SESSION_NAME; the run must carry the same path JupyterLab's kernel would."""
    import nbformat
    from jupyter_client.manager import start_new_kernel
    from nbformat.v4 import new_code_cell, new_notebook

    from jupyter_mm.store import open_store

    folder = tmp_path / "root" / "nbs"
    folder.mkdir(parents=True)
    notebook = folder / "train.ipynb"
    source = "%%track --name n7 -q\nx = 1"
    nbformat.write(new_notebook(cells=[new_code_cell(source)]), str(notebook))
    url = f"sqlite:///{tmp_path / 'store' / 'mm.db'}"
    env = dict(os.environ, JPY_SESSION_NAME="nbs/train.ipynb", JUPYTER_MM_STORE=url)
    repo = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [repo, env.get("PYTHONPATH")]))
    km, kc = start_new_kernel(env=env, cwd=str(folder))
    try:
        # a %cd in the notebook must not change which notebook the kernel belongs to
        for code in ("%load_ext jupyter_mm", source, "%cd ..", source):
            reply = kc.execute_interactive(code, timeout=120)
            assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    store = open_store(url, create=False)
    try:
        runs = store.search_runs(limit=5).runs
        assert len(runs) == 2
        for run in runs:
            assert run.notebook_path == str(notebook.resolve())
            assert run.checkpoint_source == "file"  # the saved file found through the path
        found = store.search_runs(
            notebook_path=PathMapper(str(tmp_path / "root")).absolute("nbs/train.ipynb")
        ).runs
        assert {r.id for r in found} == {r.id for r in runs}
    finally:
        store.close()
