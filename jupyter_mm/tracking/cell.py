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
