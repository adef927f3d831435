"""Which names a run inherits from the notebook's parameter cells (no kernel)."""

from __future__ import annotations

from nbformat.v4 import new_code_cell, new_notebook

from jupyter_mm.tracking.cell import parameter_cell_params


def _nb(*cells):
    return new_notebook(cells=list(cells))


def _tagged(source: str, tag: str) -> object:
    cell = new_code_cell(source)
    cell.metadata["tags"] = [tag]
    return cell


def test_tagged_and_injected_cells_above_the_tracked_cell_only() -> None:
    tracked = new_code_cell("%%track\nfit()")
    below = _tagged("late = 1", "parameters")
    nb = _nb(
        _tagged("alpha = 0.1\nname: str = 'a'\n(x, [y, *z]) = 1, [2, 3]", "parameters"),
        new_code_cell("helper = 5"),
        _tagged("# Parameters\nalpha = 0.5\nextra = 7", "injected-parameters"),
        tracked,
        below,
    )
    namespace = {"alpha": 0.5, "name": "a", "x": 1, "y": 2, "z": [3], "extra": 7}
    namespace.update(helper=5, late=1)
    params = parameter_cell_params(nb, tracked.id, namespace)
    assert params == {"alpha": 0.5, "name": "a", "x": 1, "y": 2, "z": [3], "extra": 7}
    assert list(params) == ["alpha", "name", "x", "y", "z", "extra"]


def test_papermill_header_without_tags_counts_attributes_do_not() -> None:
    tracked = new_code_cell("%%track\nfit()")
    nb = _nb(
        new_code_cell("# Parameters\nlr = 0.01\ncfg.depth = 3\ntable['k'] = 1\n"),
        new_code_cell("# Parameters are documented below\nnot_a_param = 1"),
        tracked,
    )
    namespace = {"lr": 0.01, "cfg": object(), "table": {}, "not_a_param": 1}
    assert parameter_cell_params(nb, tracked.id, namespace) == {"lr": 0.01}


def test_unrun_cells_magics_and_a_missing_tracked_cell() -> None:
    tracked = new_code_cell("%%track\nfit()")
    nb = _nb(
        _tagged("%env X=1\nnever_run = 1", "parameters"),  # IPython syntax: not parsed
        _tagged("ran = 1\nnot_yet = 2", "parameters"),
        tracked,
    )
    assert parameter_cell_params(nb, tracked.id, {"ran": 1}) == {"ran": 1}
    assert parameter_cell_params(nb, "elsewhere", {"ran": 1}) == {}
    assert parameter_cell_params({}, None, {"ran": 1}) == {}
