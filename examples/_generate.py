"""What the example generators share: notebook metadata, stable ids, validation, writing."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_notebook


def finish_notebook(cells: list[nbformat.NotebookNode], id_prefix: str) -> nbformat.NotebookNode:
    """A validated notebook of ``cells`` for the default Python kernel, with stable cell ids
    (``<id_prefix>-00``, …) so a regenerated notebook is diff-free."""
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    # What ipykernel reports for the Python the project is tested on: JupyterLab writes the
    # kernel's language_info into the notebook when it opens, and an incomplete copy here
    # would make merely opening an example change the file in a clone.
    nb.metadata["language_info"] = {
        "codemirror_mode": {"name": "ipython", "version": 3},
        "file_extension": ".py",
        "mimetype": "text/x-python",
        "name": "python",
        "nbconvert_exporter": "python",
        "pygments_lexer": "ipython3",
        "version": "3.11.2",
    }
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"{id_prefix}-{index:02d}"
    nbformat.validate(nb)
    return nb


def write_example(nb: nbformat.NotebookNode, name: str) -> None:
    target = Path(__file__).with_name(name)
    nbformat.write(nb, str(target))
    print(f"wrote {target}")
