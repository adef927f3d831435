"""The lines a monitoring timeline is drawn against: the numeric bounds the registry's
production gates put on metrics (``c.Registry.gates``).

A gate such as ``metrics.roc_auc >= 0.78 and params.model == "forest"`` holds one bound a
live metric can be compared with (``roc_auc`` at 0.78). Bounds are read from the parsed gate,
never by matching its text, so a gate written ``0.78 <= metrics.roc_auc`` gives the same
line. Conditions under ``not`` or ``or`` are skipped: their bound is not a floor or ceiling
the metric must stay on one side of.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from ..registry.gates import BoolOp, Compare, Node, Ref, parse_gate
from ..registry.gates import Literal as Constant
from ..server.schema import MetricThreshold

#: the comparison seen from the metric's side when the gate puts the number first
_MIRRORED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}

BoundOp = Literal["<", "<=", ">", ">="]
#: the comparisons that bound a metric on one side (``==`` and ``!=`` draw no line)
_BOUND_OPS: dict[str, BoundOp] = {"<": "<", "<=": "<=", ">": ">", ">=": ">="}


def _conjuncts(node: Node) -> Iterator[Compare]:
    """The comparisons that must all hold for ``node`` to hold."""
    if isinstance(node, Compare):
        yield node
    elif isinstance(node, BoolOp) and node.op == "and":
        for operand in node.operands:
            yield from _conjuncts(operand)


def _bound(compare: Compare) -> tuple[str, BoundOp, float] | None:
    """``(metric, op, value)`` with the metric on the left, or None for anything else."""
    left, right, op = compare.left, compare.right, compare.op
    if isinstance(right, Ref) and isinstance(left, Constant):
        left, right, op = right, left, _MIRRORED[op]
    if not (isinstance(left, Ref) and left.kind == "metrics" and isinstance(right, Constant)):
        return None
    bound_op = _BOUND_OPS.get(op)
    if isinstance(right.value, str) or bound_op is None:
        return None
    return left.name, bound_op, float(right.value)


def gate_thresholds(gates: list[str], stage: str = "production") -> list[MetricThreshold]:
    """The metric bounds of ``gates`` (the conditions of ``stage``), in gate order, each
    metric once (its first bound). Gates were checked when the configuration loaded."""
    found: list[MetricThreshold] = []
    seen: set[str] = set()
    for gate in gates:
        for compare in _conjuncts(parse_gate(gate)):
            bound = _bound(compare)
            if bound is None or bound[0] in seen:
                continue
            metric, op, value = bound
            seen.add(metric)
            found.append({"metric": metric, "op": op, "value": value, "source": f"gate:{stage}"})
    return found
