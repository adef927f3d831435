"""Monitor rules: when a production model's live metrics call for an alert, and what then.

A rule is a condition over the metrics of the recent windows of a model's prediction log,
written in the registry gates' expression language (:mod:`jupyter_mm.registry.gates`, never
``eval``) with plain metric names, and optionally one qualifier at the end::

    roc_auc < 0.78 over 1000 labelled     the last 1000 predictions that have a label
    estimated_roc_auc < 0.78 for 2 windows  the last 2 windows (c.Monitor.window each)
    drift_share > 0.3                      the last window
    p99_latency_ms > 50 or error_rate > 0.01

``over N labelled`` evaluates the condition once, on the newest N labelled predictions,
and does not fire until N labelled predictions exist. ``for K windows`` fires only when the
condition holds in each of the newest K windows of ``c.Monitor.window`` predictions. A metric a window does not have (no
labels yet, say) makes the rule undecided for that window: it does not fire.

Configuration (read by :func:`jupyter_mm.config.load_config`, like every setting)::

    c.Monitor.rules = [
        {"when": "roc_auc < 0.78 over 1000 labelled", "actions": ["notify", "rollback"],
         "models": "fraud*"},
        "p99_latency_ms > 50",              # a plain string: every model, notify only
    ]
    c.Monitor.window = 1000                 # predictions per window
    c.Monitor.interval = 60                 # seconds; 0: the server does not evaluate
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from traitlets import TraitError
from traitlets.config import Config

from ..errors import InvalidInput
from ..registry.gates import GateResult, Node, evaluate_tree, parse_gate, tokenize

if TYPE_CHECKING:
    from ..monitoring.settings import Monitor

ACTIONS = ("notify", "rollback", "retrain")
RULE_LABEL = "Monitor rule"
_RULE_KEYS = {"when", "actions", "models", "name"}


@dataclass(frozen=True)
class WindowSpec:
    """Which windows a rule reads: ``count`` windows of ``size`` each, newest last.

    ``unit`` is ``predictions`` (the last ``size`` predictions per window) or ``labelled``
    (the last ``size`` predictions that have a label)."""

    unit: str
    size: int
    count: int = 1

    def describe(self) -> str:
        return f"{self.count} x {self.size} {self.unit}"

    def to_dict(self) -> dict[str, Any]:
        return {"unit": self.unit, "size": self.size, "count": self.count}


@dataclass(frozen=True)
class MonitorRule:
    """One parsed rule. ``text`` is the whole condition as configured; ``condition`` its
    expression part, ``tree`` that expression parsed."""

    text: str
    condition: str
    tree: Node
    actions: tuple[str, ...] = ("notify",)
    models: str = "*"
    name: str | None = None
    over_labelled: int | None = None
    for_windows: int = 1
    metrics: tuple[str, ...] = field(default=())

    def applies_to(self, model: str) -> bool:
        return fnmatch.fnmatchcase(model, self.models)

    def window(self, default: WindowSpec) -> WindowSpec:
        if self.over_labelled is not None:
            return WindowSpec("labelled", self.over_labelled, 1)
        return WindowSpec(default.unit, default.size, self.for_windows)

    def evaluate(self, metrics: dict[str, Any]) -> GateResult:
        """The condition on one window's metrics (values shown without ``metrics.``)."""
        numbers = {k: float(v) for k, v in metrics.items() if _is_number(v)}
        result = evaluate_tree(self.condition, self.tree, numbers, {})
        result.values = [v.removeprefix("metrics.") for v in result.values]
        if result.problem:
            result.problem = result.problem.replace("the run recorded no metric", "no value for")
        return result


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _qualifier(text: str) -> tuple[str, int | None, int]:
    """Split a trailing ``over N labelled`` / ``for K windows`` off ``text``:
    (condition, over_labelled, for_windows). Tokens come from the gates' tokenizer, so a
    qualifier word inside a quoted string is not one."""
    tokens = [t for t in tokenize(text, RULE_LABEL) if t.kind != "end"]
    words = [(t.kind, t.text) for t in tokens[-3:]]
    if len(tokens) >= 4 and words[0] in (("name", "over"), ("name", "for")):
        keyword, count, unit = tokens[-3], tokens[-2], tokens[-1]
        expected = "labelled" if keyword.text == "over" else "windows"
        alternatives = ("labelled", "labeled") if expected == "labelled" else ("windows", "window")
        if count.kind != "number" or not count.text.isdigit() or int(count.text) <= 0:
            raise _rule_error(text, count.position, "expected a whole number above 0")
        if unit.kind != "name" or unit.text not in alternatives:
            raise _rule_error(text, unit.position, f"expected {expected!r}")
        condition = text[: keyword.position].rstrip()
        if keyword.text == "over":
            return condition, int(count.text), 1
        return condition, None, int(count.text)
    for token in tokens:
        if token.kind == "name" and token.text in ("over", "for"):
            raise _rule_error(
                text,
                token.position,
                f"'{token.text}' starts a qualifier that ends the rule "
                "('over N labelled' or 'for K windows')",
            )
    return text, None, 1


def _rule_error(text: str, position: int, message: str) -> InvalidInput:
    where = "at the end" if position >= len(text) else f"at position {position + 1}"
    return InvalidInput(f"{RULE_LABEL} {text!r} is not valid: {message} {where}.")


def _metric_names(node: Any) -> list[str]:
    found: list[str] = []
    for attribute in ("left", "right", "operand"):
        child = getattr(node, attribute, None)
        if child is not None:
            found += _metric_names(child)
    for child in getattr(node, "operands", ()):
        found += _metric_names(child)
    if getattr(node, "kind", None) == "metrics":
        found.append(node.name)
    return found


def parse_rule(entry: Any) -> MonitorRule:
    """One configured rule (a string, or a dict with ``when``, ``actions``, ``models``,
    ``name``) parsed; InvalidInput with one line naming the problem."""
    if isinstance(entry, str):
        entry = {"when": entry}
    if not isinstance(entry, dict):
        raise InvalidInput(f"A monitor rule is a string or a dict, not {type(entry).__name__}.")
    unknown = sorted(set(map(str, entry)) - _RULE_KEYS)
    if unknown:
        raise InvalidInput(
            f"Monitor rule {entry.get('when')!r} has unknown key(s) {', '.join(unknown)} "
            f"(known: {', '.join(sorted(_RULE_KEYS))})."
        )
    text = entry.get("when")
    if not isinstance(text, str):
        raise InvalidInput("A monitor rule needs 'when': the condition, as a string.")
    actions = entry.get("actions", ["notify"])
    if isinstance(actions, str):
        actions = [actions]
    if not isinstance(actions, (list, tuple)) or not all(a in ACTIONS for a in actions):
        raise InvalidInput(
            f"Monitor rule {text!r}: actions must be a list of {', '.join(ACTIONS)}, "
            f"not {actions!r}."
        )
    models = entry.get("models", "*")
    if not isinstance(models, str) or not models:
        raise InvalidInput(f"Monitor rule {text!r}: 'models' is a name pattern such as 'fraud*'.")
    condition, over, windows = _qualifier(text)
    tree = parse_gate(condition, bare_kind="metrics", label=RULE_LABEL)
    name = entry.get("name")
    return MonitorRule(
        text=text,
        condition=condition,
        tree=tree,
        actions=tuple(dict.fromkeys(actions)),
        models=models,
        name=str(name) if name is not None else None,
        over_labelled=over,
        for_windows=windows,
        metrics=tuple(dict.fromkeys(_metric_names(tree))),
    )


def make_monitor(config: Config | None = None) -> Monitor:
    """``c.Monitor`` (:class:`jupyter_mm.monitoring.settings.Monitor`, one class for the
    report's and the rules' settings) from ``config`` (default: the one loader); a bad rule
    is one InvalidInput line."""
    from ..config import load_config
    from ..monitoring.settings import Monitor

    try:
        return Monitor(config=load_config() if config is None else config)
    except TraitError as exc:
        raise InvalidInput(str(exc).splitlines()[0]) from None
