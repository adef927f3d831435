"""The gate language: tokenizer, parser errors with positions, evaluation and reasons."""

from __future__ import annotations

import math

import pytest

from jupyter_mm.errors import InvalidInput
from jupyter_mm.registry.gates import (
    BoolOp,
    Compare,
    Literal,
    Not,
    Ref,
    evaluate_gate,
    parse_gate,
)

METRICS = {"roc_auc": 0.81, "loss": 0.2, "val.acc": 0.9, "val/f1": 0.7, "bad": math.nan}
PARAMS = {"model": "forest", "C": "0.5", "n_estimators": "200"}


def check(gate: str) -> bool:
    return evaluate_gate(gate, METRICS, PARAMS).passed


def test_parse_builds_the_expected_tree():
    tree = parse_gate("not (metrics.roc_auc >= 0.78 and params.model == 'forest') or 1 < 2")
    assert tree == BoolOp(
        "or",
        (
            Not(
                BoolOp(
                    "and",
                    (
                        Compare(Ref("metrics", "roc_auc"), ">=", Literal(0.78)),
                        Compare(Ref("params", "model"), "==", Literal("forest")),
                    ),
                )
            ),
            Compare(Literal(1.0), "<", Literal(2.0)),
        ),
    )
    assert parse_gate('metrics["val/f1"] > -1e-3') == Compare(
        Ref("metrics", "val/f1"), ">", Literal(-0.001)
    )
    assert parse_gate("metrics.val.acc != 0") == Compare(
        Ref("metrics", "val.acc"), "!=", Literal(0.0)
    )


@pytest.mark.parametrize(
    ("gate", "passed"),
    [
        ("metrics.roc_auc >= 0.78", True),
        ("metrics.roc_auc >= 0.9", False),
        ("metrics.roc_auc > 0.8 and metrics.loss < 0.3", True),
        ("metrics.roc_auc > 0.9 or metrics.loss < 0.3", True),
        ("not metrics.loss < 0.3", False),
        ("params.model == 'forest'", True),
        ('params.model != "forest"', False),
        ("params.C <= 0.5 and params.n_estimators == 200", True),
        ("metrics.val.acc == 0.9", True),
        ('metrics["val/f1"] < 0.75', True),
        ("params.model == 1", False),  # text never equals a number
        ("params.model != 1", True),
        ("metrics.bad >= 0", False),  # NaN meets no ordering
        ("metrics.bad != 0", True),
        ("(metrics.loss < 0.1 or metrics.loss > 0.15) and not (params.C > 1)", True),
    ],
)
def test_evaluation(gate: str, passed: bool):
    assert check(gate) is passed


def test_a_failed_gate_reports_the_values_it_read():
    result = evaluate_gate("metrics.roc_auc >= 0.9 and params.model == 'forest'", METRICS, PARAMS)
    assert not result.passed
    assert result.values == ["metrics.roc_auc = 0.81", "params.model = 'forest'"]
    assert result.describe() == (
        "gate \"metrics.roc_auc >= 0.9 and params.model == 'forest'\" not met "
        "(metrics.roc_auc = 0.81, params.model = 'forest')"
    )


def test_a_missing_value_fails_the_gate_with_a_reason():
    result = evaluate_gate("metrics.f1 >= 0.5 or metrics.roc_auc > 0", METRICS, PARAMS)
    assert not result.passed
    assert result.problem == "the run recorded no metric 'f1'"
    assert "not met: the run recorded no metric 'f1'" in result.describe()
    assert (
        evaluate_gate("params.lr < 1", METRICS, PARAMS).problem == "the run recorded no param 'lr'"
    )


def test_ordering_text_is_undecidable_not_true():
    result = evaluate_gate("params.model > 'a'", METRICS, PARAMS)
    assert not result.passed and "only be compared with == or !=" in result.problem
    result = evaluate_gate("params.model < 3", METRICS, PARAMS)
    assert not result.passed and "not both numbers" in result.problem


@pytest.mark.parametrize(
    ("gate", "message"),
    [
        ("", "the gate is empty"),
        (
            "metrics.auc >=",
            "expected a number, a string, metrics.<name> or params.<name>, found the end of the gate at the end",
        ),
        (
            "roc_auc >= 0.7",
            "unknown name 'roc_auc' (write metrics.roc_auc or params.roc_auc) at position 1",
        ),
        ("metrics.auc >= 0.7 and", "found the end of the gate at the end"),
        ("metrics.auc => 0.7", "unexpected character '=' at position 13"),
        ("0.1 < metrics.auc < 0.9", "comparisons cannot be chained (use 'and') at position 19"),
        ("(metrics.auc > 1", "expected ')', found the end of the gate"),
        ("metrics.auc", "expected a comparison operator"),
        ("metrics auc > 1", "expected '.' or '[' after metrics, found 'auc' at position 9"),
        ("metrics[auc] > 1", "expected a quoted name, found 'auc'"),
        ("__import__('os') == 1", "unknown name '__import__'"),
        ("metrics.auc > 1 ; 2", "unexpected character ';'"),
    ],
)
def test_syntax_errors_name_the_gate_and_the_position(gate: str, message: str):
    with pytest.raises(InvalidInput) as info:
        parse_gate(gate)
    text = str(info.value)
    assert text.startswith(f"Gate {gate!r} is not valid: ")
    assert message in text
    assert "\n" not in text


def test_a_gate_must_be_text():
    with pytest.raises(InvalidInput, match="must be a string"):
        parse_gate(0.5)  # type: ignore[arg-type]
