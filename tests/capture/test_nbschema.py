"""The kernel's nbformat-free reading and validation agrees with nbformat itself.

The material is notebooks written by other projects: nbdime's test files (hand-made edge
cases: attachments, cell ids, odd outputs, old minor versions, nbformat 3) and the
notebooks this repository ships. Each is read both ways; both must accept or refuse it,
and an accepted one must come out the same.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from jupyter_mm.capture import nbschema

REPO = Path(__file__).resolve().parents[2]


def _outside_notebooks() -> list[Path]:
    import nbdime

    files = sorted((Path(nbdime.__file__).parent / "tests" / "files").glob("*.ipynb"))
    files += sorted(REPO.glob("examples/**/*.ipynb"))
    return files


NOTEBOOKS = _outside_notebooks()


def _by_nbformat(text: str) -> nbformat.NotebookNode | str:
    try:
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except nbformat.ValidationError as exc:
        return str(exc.message)
    return notebook


def test_there_is_outside_material() -> None:
    assert len(NOTEBOOKS) >= 30


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_reads_like_nbformat(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    expected = _by_nbformat(text)
    try:
        ours = nbschema.reads(text)
    except nbschema.NotebookInvalid as exc:
        assert isinstance(expected, str), f"refused a notebook nbformat accepts: {exc}"
        return
    assert not isinstance(expected, str), f"accepted a notebook nbformat refuses: {expected}"
    original_ids = [c.get("id") for c in json.loads(text).get("cells", [])]
    if None in original_ids or len(set(original_ids)) != len(original_ids):
        # both made up random ids for the cells without a unique one
        for cell in ours["cells"] + expected["cells"]:
            cell.pop("id", None)
    assert json.loads(json.dumps(ours)) == json.loads(json.dumps(expected))
    assert ours.cells is ours["cells"]  # attribute access, as on nbformat's nodes


def _valid_cell() -> dict:
    return {
        "id": "c1",
        "cell_type": "code",
        "metadata": {},
        "execution_count": 3,
        "source": "x = 1",
        "outputs": [{"output_type": "stream", "name": "stdout", "text": "1\n"}],
    }


@pytest.mark.parametrize(
    "mutate",
    [
        lambda c: c.update(source=1),
        lambda c: c.update(execution_count="3"),
        lambda c: c["outputs"].append({"output_type": "stream", "name": "stdout"}),
        lambda c: c["outputs"].append({"output_type": "nonsense"}),
        lambda c: c.update(extra=True),
        lambda c: c.pop("metadata"),
        lambda c: c.update(id="has space"),
    ],
)
def test_cell_validation_agrees(mutate) -> None:
    cell = _valid_cell()
    nbschema.validate(cell, ref="code_cell", minor=5)
    nbformat.validator.validate(cell, ref="code_cell", version=4, version_minor=5)
    broken = copy.deepcopy(cell)
    mutate(broken)
    with pytest.raises(nbformat.ValidationError):
        nbformat.validator.validate(broken, ref="code_cell", version=4, version_minor=5)
    with pytest.raises(nbschema.NotebookInvalid, match="code_cell"):
        nbschema.validate(broken, ref="code_cell", minor=5)


def test_newer_minor_is_relaxed_like_nbformat() -> None:
    cell = dict(_valid_cell(), future_field=1)
    nbformat.validator.validate(cell, ref="code_cell", version=4, version_minor=9)
    nbschema.validate(cell, ref="code_cell", minor=9)
    with pytest.raises(nbschema.NotebookInvalid):
        nbschema.validate(cell, ref="code_cell", minor=5)


def test_a_tracked_cell_does_not_import_nbformat(tmp_path: Path) -> None:
    """The reason for the module: nbformat imports jsonschema (seconds, at import)."""
    notebook = tmp_path / "analysis.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("%%track\nx = 1")])
    nbformat.write(nb, str(notebook))
    script = f"""
import sys
from IPython.testing.globalipapp import start_ipython
ip = start_ipython()
ip.user_ns["__session__"] = {str(notebook)!r}
ip.run_line_magic("load_ext", "jupyter_mm")
ip.run_cell("%%track -q\\nx = 1")
ip.run_cell("%%track -q\\ny = 2")
magics = ip.magics_manager.registry["TrackMagics"]
assert magics.last_run.status == "finished", magics.last_run.warnings
assert magics.last_run.run.checkpoint_source == "file", magics.last_run.run.checkpoint_source
print(sorted(m for m in ("nbformat", "jsonschema") if m in sys.modules))
"""
    env = {"JUPYTER_MM_STORE": f"sqlite:///{tmp_path / 'store' / 'mm.db'}"}
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**__import__("os").environ, **env},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_nbformat_3_files_are_converted_by_nbformat() -> None:
    """No v3 notebook ships with the packages here: nbformat's own v3 writer makes one."""
    from nbformat import v3

    old = v3.new_notebook(
        worksheets=[
            v3.new_worksheet(
                cells=[
                    v3.new_text_cell("markdown", source="# Old notes"),
                    v3.new_code_cell(input="x = 1\nprint(x)", prompt_number=1),
                ]
            )
        ]
    )
    text = v3.writes_json(old)
    ours = nbschema.reads(text)
    expected = nbformat.reads(text, as_version=4)
    for cell in ours["cells"] + expected["cells"]:
        cell.pop("id", None)  # new random ids on both sides
    assert json.loads(json.dumps(ours)) == json.loads(json.dumps(expected))
    assert [c.cell_type for c in ours.cells] == ["markdown", "code"]
    assert ours.cells[1].source == "x = 1\nprint(x)"
