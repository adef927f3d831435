"""What a ``%%track`` cell says about itself, read from its AST before it runs: the names it
binds at top level (so ``--param`` may name a variable the cell creates) and its literal
assignments (``lr = 0.1``), which become params without any flag."""

from __future__ import annotations

import ast
import contextlib
from typing import Any

from IPython.core.error import UsageError


def names_list(values: list[str], flag: str) -> list[str]:
    """``["lr,epochs", "cfg.batch"]`` → ``["lr", "epochs", "cfg.batch"]``; UsageError for
    anything that is not a (dotted) Python name."""
    names: list[str] = []
    for value in values:
        for name in (part.strip() for part in value.split(",")):
            if not name or not all(piece.isidentifier() for piece in name.split(".")):
                raise UsageError(f"%%track: {flag} takes comma-separated names, not {value!r}.")
            if name not in names:
                names.append(name)
    return names


def assigned_names(tree: ast.Module) -> set[str]:
    """Names bound at the cell's top level (not inside functions or classes)."""
    found: set[str] = set()
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(node.name)
            continue
        if isinstance(
            node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
        ):
            continue  # their names live in their own scope
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            found.update((a.asname or a.name).split(".")[0] for a in node.names)
        pending.extend(ast.iter_child_nodes(node))
    return found


def literal_params(tree: ast.Module) -> dict[str, Any]:
    """``lr = 0.1`` / ``a, b = 1, 2`` / ``sizes = [64, 32]`` at the top level of the cell.
    A name whose last top-level assignment is not a literal is dropped: the literal would
    not be the value the run used."""
    params: dict[str, Any] = {}
    for stmt in tree.body:
        pairs: list[tuple[ast.expr, ast.expr | None]] = []
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if (
                    isinstance(target, (ast.Tuple, ast.List))
                    and isinstance(stmt.value, (ast.Tuple, ast.List))
                    and len(target.elts) == len(stmt.value.elts)
                ):
                    pairs.extend(zip(target.elts, stmt.value.elts, strict=True))
                else:
                    pairs.append((target, stmt.value))
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            pairs.append((stmt.target, stmt.value))
        elif isinstance(stmt, ast.AugAssign):
            pairs.append((stmt.target, None))
        for target, value in pairs:
            for name in _target_names(target):
                params.pop(name, None)
            if isinstance(target, ast.Name) and value is not None:
                with contextlib.suppress(ValueError, TypeError, SyntaxError, MemoryError):
                    params[target.id] = ast.literal_eval(value)
    return params


def _target_names(target: ast.expr) -> list[str]:
    return [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]


def lookup(namespace: dict[str, Any], dotted: str) -> Any:
    """``cfg.lr`` → ``namespace['cfg'].lr``; raises KeyError/AttributeError when missing."""
    root, *rest = dotted.split(".")
    value = namespace[root]
    for attribute in rest:
        try:
            value = getattr(value, attribute)
        except Exception as exc:  # a property that raises counts as "not set"
            raise AttributeError(attribute) from exc
    return value


#: Cell tags that mark a notebook's parameters: papermill's convention, which
#: ``jupyter mm run`` and the papermill engine follow.
PARAMETER_TAGS = ("parameters", "injected-parameters")
#: First line of the cell papermill's default engine injects (its Python translator's
#: header). A checkpoint rebuilt from the kernel history has no tags, so this is how the
#: injected cell is recognised there.
PAPERMILL_HEADER = "# Parameters"


def _is_parameter_cell(cell: Any) -> bool:
    if cell.get("cell_type") != "code":
        return False
    tags = (cell.get("metadata") or {}).get("tags") or []
    if isinstance(tags, list) and any(tag in PARAMETER_TAGS for tag in tags):
        return True
    source = cell.get("source") or ""
    source = "".join(source) if isinstance(source, list) else str(source)
    first = source.lstrip().split("\n", 1)[0].strip()
    return first == PAPERMILL_HEADER or first.startswith(PAPERMILL_HEADER + " (")


def parameter_cell_params(
    notebook: Any, tracked_cell_id: str | None, namespace: dict[str, Any]
) -> dict[str, Any]:
    """The params a run inherits from the notebook's parameter cells above it.

    Every name assigned at the top level of a cell tagged ``parameters`` or
    ``injected-parameters`` (or headed like papermill's injected cell) before the tracked
    cell, with its value in the kernel now, as the cell starts: that is the value the run
    uses, whichever of the default and the injected cell set it last. Names the kernel does
    not hold (a parameter cell that never ran) are left out; so is everything when the
    tracked cell is not in ``notebook``.
    """
    cells = (notebook or {}).get("cells") or []
    names: list[str] = []
    for cell in cells:
        if tracked_cell_id is not None and cell.get("id") == tracked_cell_id:
            break
        if not _is_parameter_cell(cell):
            continue
        source = cell.get("source") or ""
        source = "".join(source) if isinstance(source, list) else str(source)
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            continue  # IPython syntax (magics) in a parameters cell: nothing to read
        for name in _assigned_in_order(tree):
            if name not in names:
                names.append(name)
    else:
        if tracked_cell_id is not None:
            return {}  # the tracked cell was not found: "above it" means nothing
    return {name: namespace[name] for name in names if name in namespace}


class HistoryParameterCells:
    """The executions headed like papermill's injected cell, for a session without a
    notebook (the history source): the only parameter cells it can tell. IPython's ``In``
    grows by appending, so each execution is looked at once, not once per tracked run."""

    def __init__(self) -> None:
        self._seen = 0
        self._cells: list[dict[str, Any]] = []

    def notebook(self, inputs: list[Any], end: int) -> dict[str, Any]:
        """A stand-in notebook of the parameter cells among ``inputs[1:end]``."""
        if end < self._seen:  # the history was reset
            self._seen, self._cells = 0, []
        for text in inputs[max(self._seen, 1) : end]:
            if isinstance(text, str) and text.lstrip().startswith(PAPERMILL_HEADER):
                self._cells.append({"cell_type": "code", "source": text})
        self._seen = max(self._seen, end)
        return {"cells": list(self._cells)}


def _assigned_in_order(tree: ast.Module) -> list[str]:
    """Names bound by top-level assignment statements, in source order."""
    found: list[str] = []
    for stmt in tree.body:
        targets: list[ast.expr] = []
        if isinstance(stmt, ast.Assign):
            targets = list(stmt.targets)
        elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
            targets = [stmt.target]
        while targets:
            target = targets.pop(0)
            if isinstance(target, (ast.Tuple, ast.List)):
                targets[:0] = target.elts
            elif isinstance(target, ast.Starred):
                targets.insert(0, target.value)
            elif isinstance(target, ast.Name) and target.id not in found:
                found.append(target.id)  # attributes and items are not parameters
    return found
