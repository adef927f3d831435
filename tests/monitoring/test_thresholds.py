"""The metric bounds a monitoring timeline is drawn against, read from production gates."""

from __future__ import annotations

import pytest

from jupyter_mm.monitoring.thresholds import gate_thresholds


def test_a_simple_gate_gives_its_bound() -> None:
    assert gate_thresholds(["metrics.roc_auc >= 0.78"]) == [
        {"metric": "roc_auc", "op": ">=", "value": 0.78, "source": "gate:production"}
    ]


def test_a_number_written_first_is_seen_from_the_metric_side() -> None:
    (bound,) = gate_thresholds(["0.78 <= metrics.roc_auc"])
    assert (bound["metric"], bound["op"], bound["value"]) == ("roc_auc", ">=", 0.78)
    (bound,) = gate_thresholds(["0.2 > metrics['log loss']"])
    assert (bound["metric"], bound["op"], bound["value"]) == ("log loss", "<", 0.2)


def test_every_bound_of_a_conjunction_once_per_metric_in_gate_order() -> None:
    found = gate_thresholds(
        [
            'metrics.f1 > 0.5 and params.model == "forest" and (metrics.rmse < 3)',
            "metrics.f1 > 0.9",
        ]
    )
    assert [(b["metric"], b["op"], b["value"]) for b in found] == [
        ("f1", ">", 0.5),
        ("rmse", "<", 3.0),
    ]


@pytest.mark.parametrize(
    "gate",
    [
        "not metrics.roc_auc < 0.78",  # a negation is no floor to draw
        "metrics.roc_auc > 0.9 or metrics.f1 > 0.9",  # either may hold
        "metrics.roc_auc == 1",  # equality is no bound
        "params.depth > 3",  # a param, not a live metric
        "metrics.a > metrics.b",  # no number
        'metrics.kind == "x"',
    ],
)
def test_conditions_without_a_one_sided_metric_bound_are_skipped(gate: str) -> None:
    assert gate_thresholds([gate]) == []


def test_the_stage_names_the_source() -> None:
    (bound,) = gate_thresholds(["metrics.acc >= 0.5"], stage="staging")
    assert bound["source"] == "gate:staging"
