"""Promotion gates: a small, safe expression language over a run's metrics and params.

A gate is a condition a version's run must meet before the version may enter a stage, e.g.
``metrics.roc_auc >= 0.78 and params.model == "forest"``. Gates come from configuration
files, which other people edit, so they are never handed to ``eval``: this module has its
own tokenizer and recursive-descent parser, and the only things an expression can do are
read a metric or a param and compare values.

Grammar (lowest precedence first)::

    gate       := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := "(" gate ")" | value OP value          OP: < <= > >= == !=
    value      := NUMBER | STRING | ref
    ref        := ("metrics" | "params") ("." NAME ("." NAME)* | "[" STRING "]")

Numbers compare as numbers; strings compare with ``==`` and ``!=`` (``<`` on text is an
error, as is chaining ``a < b < c``: write ``a < b and b < c``). A metric's value is its
latest value (highest step). A param is stored as text; it compares as a number when it
reads as one (``"0.5"``), else as text. A reference the run did not record fails the gate
with a reason saying so — it is never silently true.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidInput

OPERATORS = ("<=", ">=", "==", "!=", "<", ">")
KEYWORDS = ("and", "or", "not")
REF_KINDS = ("metrics", "params")

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op><=|>=|==|!=|<|>)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[().\[\]])
    """,
    re.VERBOSE,
)
_ESCAPE = re.compile(r"\\(.)")


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, op, name, punct, end
    text: str
    position: int  # 0-based character offset in the gate
    value: Any = None


class GateSyntaxError(InvalidInput):
    """A gate that does not parse; the message names the gate and the position."""


def _error(gate: str, position: int, message: str, label: str = "Gate") -> GateSyntaxError:
    where = "at the end" if position >= len(gate) else f"at position {position + 1}"
    return GateSyntaxError(f"{label} {gate!r} is not valid: {message} {where}.")


def tokenize(gate: str, label: str = "Gate") -> list[Token]:
    """Split ``gate`` into tokens (the last one has kind ``end``)."""
    tokens: list[Token] = []
    position = 0
    while position < len(gate):
        match = _TOKEN.match(gate, position)
        if match is None:
            raise _error(gate, position, f"unexpected character {gate[position]!r}", label)
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "number":
            tokens.append(Token(kind, text, position, float(text)))
        elif kind == "string":
            tokens.append(Token(kind, text, position, _ESCAPE.sub(r"\1", text[1:-1])))
        elif kind != "space":
            tokens.append(Token(kind, text, position))
        position = match.end()
    tokens.append(Token("end", "", len(gate)))
    return tokens


# -- syntax tree ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    value: float | str

    def __str__(self) -> str:
        return repr(self.value) if isinstance(self.value, str) else f"{self.value:g}"


@dataclass(frozen=True)
class Ref:
    kind: str  # metrics | params
    name: str

    def __str__(self) -> str:
        plain = all(part.isidentifier() for part in self.name.split("."))
        return f"{self.kind}.{self.name}" if plain else f"{self.kind}[{self.name!r}]"


Value = Literal | Ref


@dataclass(frozen=True)
class Compare:
    left: Value
    op: str
    right: Value


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # and | or
    operands: tuple[Node, ...]


Node = Compare | Not | BoolOp


class _Parser:
    def __init__(self, gate: str, *, bare_kind: str | None = None, label: str = "Gate") -> None:
        self.gate = gate
        self.label = label
        # a plain name reads as this kind of reference (monitor rules write ``roc_auc``)
        self.bare_kind = bare_kind
        self.tokens = tokenize(gate, label)
        self.index = 0

    def _error(self, position: int, message: str) -> GateSyntaxError:
        return _error(self.gate, position, message, self.label)

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def _advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _is_keyword(self, word: str) -> bool:
        return self.current.kind == "name" and self.current.text == word

    def _expect(self, kind: str, text: str, what: str) -> Token:
        if self.current.kind != kind or self.current.text != text:
            raise self._unexpected(what)
        return self._advance()

    def _unexpected(self, expected: str) -> GateSyntaxError:
        token = self.current
        found = "the end of the gate" if token.kind == "end" else repr(token.text)
        return self._error(token.position, f"expected {expected}, found {found}")

    def parse(self) -> Node:
        if self.current.kind == "end":
            raise self._error(0, f"the {self.label.lower()} is empty")
        node = self._or()
        if self.current.kind != "end":
            if self.current.kind == "op":
                raise self._error(
                    self.current.position,
                    "comparisons cannot be chained (use 'and')",
                )
            raise self._unexpected("'and', 'or' or the end of the gate")
        return node

    def _or(self) -> Node:
        operands = [self._and()]
        while self._is_keyword("or"):
            self._advance()
            operands.append(self._and())
        return operands[0] if len(operands) == 1 else BoolOp("or", tuple(operands))

    def _and(self) -> Node:
        operands = [self._not()]
        while self._is_keyword("and"):
            self._advance()
            operands.append(self._not())
        return operands[0] if len(operands) == 1 else BoolOp("and", tuple(operands))

    def _not(self) -> Node:
        if self._is_keyword("not"):
            self._advance()
            return Not(self._not())
        return self._comparison()

    def _comparison(self) -> Node:
        if self.current.kind == "punct" and self.current.text == "(":
            self._advance()
            node = self._or()
            self._expect("punct", ")", "')'")
            return node
        left = self._value()
        if self.current.kind != "op":
            raise self._unexpected("a comparison operator (< <= > >= == !=)")
        op = self._advance().text
        right = self._value()
        return Compare(left, op, right)

    def _value(self) -> Value:
        token = self.current
        if token.kind in ("number", "string"):
            self._advance()
            return Literal(token.value)
        if token.kind == "name" and token.text in REF_KINDS:
            self._advance()
            return self._ref(token.text)
        if token.kind == "name" and token.text not in KEYWORDS and self.bare_kind:
            return self._bare_ref(self.bare_kind)
        if token.kind == "name" and token.text not in KEYWORDS:
            raise self._error(
                token.position,
                f"unknown name {token.text!r} (write metrics.{token.text} or params.{token.text})",
            )
        raise self._unexpected("a number, a string, metrics.<name> or params.<name>")

    def _ref(self, kind: str) -> Ref:
        if self.current.kind == "punct" and self.current.text == "[":
            self._advance()
            if self.current.kind != "string":
                raise self._unexpected("a quoted name")
            name = self._advance().value
            self._expect("punct", "]", "']'")
            return Ref(kind, name)
        self._expect("punct", ".", f"'.' or '[' after {kind}")
        parts = [self._name_part()]
        while self.current.kind == "punct" and self.current.text == ".":
            self._advance()
            parts.append(self._name_part())
        return Ref(kind, ".".join(parts))

    def _bare_ref(self, kind: str) -> Ref:
        parts = [self._name_part()]
        while self.current.kind == "punct" and self.current.text == ".":
            self._advance()
            parts.append(self._name_part())
        return Ref(kind, ".".join(parts))

    def _name_part(self) -> str:
        if self.current.kind != "name":
            raise self._unexpected("a name")
        return self._advance().text


def parse_gate(gate: str, *, bare_kind: str | None = None, label: str = "Gate") -> Node:
    """Parse one gate expression. Raises GateSyntaxError (an InvalidInput) with the
    position of the problem. With ``bare_kind`` (``"metrics"``) a plain name such as
    ``roc_auc`` is a reference of that kind, as monitor rules write them; ``label`` names
    the kind of expression in error messages."""
    if not isinstance(gate, str):
        raise InvalidInput(
            f"A {label.lower()} must be a string expression, not {type(gate).__name__}."
        )
    return _Parser(gate, bare_kind=bare_kind, label=label).parse()


# -- evaluation -------------------------------------------------------------------------------


@dataclass
class GateResult:
    """The outcome of one gate for one run."""

    gate: str
    passed: bool
    #: the values the gate read, in order: ``metrics.roc_auc = 0.71``
    values: list[str] = field(default_factory=list)
    #: why the gate could not be decided (a value missing, text compared with a number)
    problem: str | None = None

    def describe(self) -> str:
        if self.passed:
            return f"gate {self.gate!r} met"
        if self.problem:
            return f"gate {self.gate!r} not met: {self.problem}"
        shown = f" ({', '.join(self.values)})" if self.values else ""
        return f"gate {self.gate!r} not met{shown}"


class _Undecidable(Exception):
    pass


def _param_value(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


class _Evaluator:
    def __init__(self, metrics: Mapping[str, float], params: Mapping[str, str]) -> None:
        self.metrics = metrics
        self.params = params
        self.values: list[str] = []

    def value(self, node: Value) -> float | str:
        if isinstance(node, Literal):
            return node.value
        source = self.metrics if node.kind == "metrics" else self.params
        if node.name not in source:
            what = "metric" if node.kind == "metrics" else "param"
            raise _Undecidable(f"the run recorded no {what} {node.name!r}")
        raw = source[node.name]
        value: float | str = float(raw) if node.kind == "metrics" else _param_value(str(raw))
        shown = f"{value:g}" if isinstance(value, float) else repr(value)
        entry = f"{node} = {shown}"
        if entry not in self.values:
            self.values.append(entry)
        return value

    def truth(self, node: Node) -> bool:
        if isinstance(node, Not):
            return not self.truth(node.operand)
        if isinstance(node, BoolOp):
            results = [self.truth(operand) for operand in node.operands]
            return all(results) if node.op == "and" else any(results)
        left, right = self.value(node.left), self.value(node.right)
        if isinstance(left, str) != isinstance(right, str):
            if node.op in ("==", "!="):
                return node.op == "!="
            raise _Undecidable(f"{node.left} and {node.right} are not both numbers")
        if isinstance(left, str) and node.op not in ("==", "!="):
            raise _Undecidable(f"text can only be compared with == or != ({node.left})")
        if isinstance(left, float) and (math.isnan(left) or math.isnan(float(right))):
            return node.op == "!="
        # both numbers or both strings by now (checked above), which mypy cannot narrow
        return {
            "<": left < right,  # type: ignore[operator]
            "<=": left <= right,  # type: ignore[operator]
            ">": left > right,  # type: ignore[operator]
            ">=": left >= right,  # type: ignore[operator]
            "==": left == right,
            "!=": left != right,
        }[node.op]


def evaluate_gate(gate: str, metrics: Mapping[str, float], params: Mapping[str, str]) -> GateResult:
    """Check ``gate`` against a run's latest metrics and its params. Every reference is
    read (no short-circuit) so the result shows all the values the gate depends on."""
    return evaluate_tree(gate, parse_gate(gate), metrics, params)


def evaluate_tree(
    gate: str, tree: Node, metrics: Mapping[str, float], params: Mapping[str, str]
) -> GateResult:
    """:func:`evaluate_gate` for an expression parsed already (``gate`` is its text)."""
    evaluator = _Evaluator(metrics, params)
    try:
        passed = evaluator.truth(tree)
    except _Undecidable as exc:
        return GateResult(gate, False, evaluator.values, str(exc))
    return GateResult(gate, passed, evaluator.values)
