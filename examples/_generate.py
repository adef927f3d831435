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
    nb.metadata["language_info"] = {"name": "python"}
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"{id_prefix}-{index:02d}"
    nbformat.validate(nb)
    return nb


def write_example(nb: nbformat.NotebookNode, name: str) -> None:
    target = Path(__file__).with_name(name)
    nbformat.write(nb, str(target))
    print(f"wrote {target}")
