"""Monitor rules: the gates' parser with plain metric names and a trailing qualifier; hostile
text is refused with one line and never evaluated."""

from __future__ import annotations

from pathlib import Path

import pytest
from traitlets.config import Config

from jupyter_mm.alerts.rules import WindowSpec, make_monitor, parse_rule
from jupyter_mm.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "over", "windows", "metrics"),
    [
        ("roc_auc < 0.78 over 1000 labelled", 1000, 1, ("roc_auc",)),
        ("estimated_roc_auc < 0.78 for 2 windows", None, 2, ("estimated_roc_auc",)),
        ("drift_share > 0.3", None, 1, ("drift_share",)),
        ("p99_latency_ms > 50", None, 1, ("p99_latency_ms",)),
        ("p99_latency_ms > 50 or error_rate >= 0.01", None, 1, ("p99_latency_ms", "error_rate")),
        ("not (accuracy > 0.9) for 3 windows", None, 3, ("accuracy",)),
        ("metrics.roc_auc < 0.7 over 10 labeled", 10, 1, ("roc_auc",)),
        ("drift.feature.age > 0.2", None, 1, ("drift.feature.age",)),
    ],
)
def test_rules_parse(text: str, over: int | None, windows: int, metrics: tuple) -> None:
    rule = parse_rule(text)
    assert (rule.over_labelled, rule.for_windows, rule.metrics) == (over, windows, metrics)
    assert rule.actions == ("notify",) and rule.models == "*"


def test_rule_verdicts_read_plain_names() -> None:
    rule = parse_rule("roc_auc < 0.78 over 100 labelled")
    assert rule.evaluate({"roc_auc": 0.61, "labelled": 100}).passed
    assert not rule.evaluate({"roc_auc": 0.91}).passed
    missing = rule.evaluate({"accuracy": 0.5})
    assert not missing.passed and "roc_auc" in str(missing.problem)
    assert rule.evaluate({"roc_auc": 0.61}).values == ["roc_auc = 0.61"]


CANARY = "alerts-canary"

HOSTILE = [
    f"__import__('pathlib').Path('{CANARY}').touch()",
    f"roc_auc < 1 or open('{CANARY}', 'w')",
    "roc_auc < 0.78; import os",
    "roc_auc < (lambda: 0)()",
    "[x for x in ()]",
    "roc_auc.__class__ < 1 and exec('1')",
    "roc_auc < 0.78 over -5 labelled",
    "roc_auc < 0.78 over 0 labelled",
    "roc_auc < 0.78 over 1e3 labelled",
    "roc_auc < 0.78 for 2 windowz",
    "roc_auc < 0.78 for 2 windows over 5 labelled",
    "roc_auc < 0.78 over 5 labelled or accuracy < 1",
    "roc_auc < 0.78 for",
    "roc_auc < 0.7 < 0.8",
    "`id`",
    "roc_auc < 0.78 \x1b[31m",
    "",
    "   ",
    "((((roc_auc < 1",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_rules_are_one_line_errors(text: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidInput) as caught:
        parse_rule(text)
    message = str(caught.value)
    assert "\n" not in message and "not valid" in message
    assert not (tmp_path / CANARY).exists()


def test_a_dotted_name_is_only_a_lookup() -> None:
    """``roc_auc.__class__`` parses (dotted names exist: ``drift.feature.age``) but is only
    a key of the window's metrics: missing, so undecided, never an attribute access."""
    rule = parse_rule("roc_auc.__class__ < 1")
    result = rule.evaluate({"roc_auc": 0.5})
    assert not result.passed and "roc_auc.__class__" in str(result.problem)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"when": "roc_auc < 0.7", "actions": ["delete_everything"]}, "actions must be"),
        ({"when": "roc_auc < 0.7", "actoins": ["notify"]}, "unknown key"),
        ({"actions": ["notify"]}, "needs 'when'"),
        ({"when": "roc_auc < 0.7", "models": 3}, "name pattern"),
        (42, "string or a dict"),
    ],
)
def test_bad_rule_entries(entry: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_rule(entry)


def test_config_error_is_one_line_naming_the_rule() -> None:
    config = Config()
    config.Monitor.rules = [{"when": "roc_auc << 0.7", "actions": ["rollback"]}]
    with pytest.raises(InvalidInput) as caught:
        make_monitor(config)
    assert "\n" not in str(caught.value) and "roc_auc << 0.7" in str(caught.value)


def test_config_file_rules_are_read_by_the_one_loader(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", "")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "jupyter_mm_config.py").write_text(
        "c.Monitor.rules = [{'when': 'roc_auc < 0.78 over 500 labelled', "
        "'actions': ['notify', 'rollback'], 'models': 'fraud*'}]\n"
        "c.Monitor.window = 250\n"
    )
    monitor = make_monitor()
    (rule,) = monitor.parsed_rules()
    assert rule.actions == ("notify", "rollback") and rule.applies_to("fraud-eu")
    assert not rule.applies_to("churn")
    assert monitor.default_window() == WindowSpec("predictions", 250)
    assert rule.window(monitor.default_window()) == WindowSpec("labelled", 500, 1)
