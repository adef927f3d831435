"""One monitor pass: every rule on every production model it names, alerts and actions.

**De-duplication.** An alert belongs to (model, production version, rule). A rule that
fires appends one ``alert`` event and runs its actions; while it keeps firing for the same
version, later passes add nothing. When a pass finds the condition false again it appends
``alert_cleared``; a later firing alerts again. A pass where the rule cannot be decided
(not enough labelled predictions, a metric missing) changes nothing. A new production
version (a promotion, a rollback) starts with no open alert, so the rule is judged afresh
on the new version's own predictions. The state is read from the event log, so a CLI
watcher and the server's timer agree, and a restarted watcher does not alert again. Two
passes running at the same moment are not serialized (the registry contract has no
conditional append): run one evaluator per store, or both may alert once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import MMError
from .rules import MonitorRule, WindowSpec, make_monitor

if TYPE_CHECKING:
    from ..entities import Event
    from ..monitoring.settings import Monitor
    from ..store.abstract import AbstractStore
    from .source import MetricsSource

#: evidence values shown per window (the metrics the rule reads, plus these)
CONTEXT_KEYS = ("predictions", "labelled")


@dataclass
class RuleOutcome:
    """What one rule did for one model in one pass.

    ``state``: ``fired`` (a new alert), ``firing`` (still firing, already alerted),
    ``cleared`` (stopped firing), ``ok`` (not firing), ``undecided`` (no verdict)."""

    model: str
    version: int
    rule: str
    state: str
    summary: str
    alert_id: int | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    actions: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "rule": self.rule,
            "state": self.state,
            "summary": self.summary,
            "alert_id": self.alert_id,
            "evidence": self.evidence,
            "actions": self.actions,
        }


def rule_key(rule: MonitorRule) -> str:
    """What identifies a rule across passes: its name, else its text and model pattern."""
    return rule.name or f"{rule.text} [{rule.models}]"


def _thresholds(node: Any) -> list[float | str]:
    found: list[float | str] = []
    for attribute in ("left", "right", "operand"):
        child = getattr(node, attribute, None)
        if child is not None:
            found += _thresholds(child)
    for child in getattr(node, "operands", ()):
        found += _thresholds(child)
    if hasattr(node, "value") and not hasattr(node, "kind"):
        found.append(node.value)
    return found


def judge(rule: MonitorRule, windows: list[dict[str, Any]], spec: WindowSpec) -> dict[str, Any]:
    """The rule's verdict on the windows (newest last) and the evidence for it:
    ``verdict`` is True (fires), False (does not) or None (undecided)."""
    shown = []
    verdicts: list[bool | None] = []
    for metrics in windows[-spec.count :]:
        result = rule.evaluate(metrics)
        values = {k: metrics[k] for k in (*rule.metrics, *CONTEXT_KEYS) if k in metrics}
        shown.append(
            {
                "window": metrics.get("window"),
                "values": values,
                "holds": result.passed if result.problem is None else None,
                "problem": result.problem,
            }
        )
        verdicts.append(result.passed if result.problem is None else None)
    if len(verdicts) < spec.count:
        verdict = None
        reason = f"{len(verdicts)} of {spec.count} window(s) in the log"
    elif rule.over_labelled is not None and windows[-1].get("labelled", 0) < rule.over_labelled:
        verdict = None
        reason = f"{windows[-1].get('labelled', 0)} of {rule.over_labelled} labelled predictions"
    elif all(v is True for v in verdicts):
        verdict, reason = True, "holds"
    elif any(v is False for v in verdicts):
        verdict, reason = False, "does not hold"
    else:
        verdict = None
        reason = "; ".join(str(w["problem"]) for w in shown if w["problem"]) or "undecided"
    return {
        "rule": rule.text,
        "name": rule.name,
        "condition": rule.condition,
        "thresholds": _thresholds(rule.tree),
        "spec": spec.to_dict(),
        "windows": shown,
        "verdict": verdict,
        "why": reason,
        "actions": list(rule.actions),
    }


def _open_alert(events: list[Event], version: int, key: str) -> Event | None:
    """The alert still open for (version, rule), per the de-duplication policy."""
    state: Event | None = None
    for event in events:
        if event.action not in ("alert", "alert_cleared") or event.version != version:
            continue
        try:
            if json.loads(event.reason or "{}").get("key") != key:
                continue
        except ValueError:
            continue
        state = event if event.action == "alert" else None
    return state


def _summary(model: str, version: int, evidence: dict[str, Any]) -> str:
    newest = evidence["windows"][-1]["values"] if evidence["windows"] else {}
    values = ", ".join(
        f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v}" for k, v in newest.items()
    )
    return f"{model} v{version}: {evidence['rule']} ({values})"


def check_rule(
    store: AbstractStore,
    model: str,
    rule: MonitorRule,
    *,
    monitor: Monitor,
    source: MetricsSource,
    run_actions: bool = True,
    dry_run: bool = False,
    actor: str | None = None,
) -> RuleOutcome | None:
    """Evaluate one rule for one model's production version; alert and act when it starts
    firing. None when the model has no production version."""
    from .actions import run_actions as perform

    production = [v for v in store.list_versions(model) if v.stage == "production"]
    if not production:
        return None
    version = production[0].version
    spec = rule.window(monitor.default_window())
    evidence = judge(rule, source(model, version, spec), spec)
    key = rule_key(rule)
    evidence["key"] = key
    summary = _summary(model, version, evidence)
    evidence["summary"] = summary
    opened = _open_alert(store.model_events(model, version), version, key)
    outcome = RuleOutcome(model, version, rule.text, "undecided", summary, evidence=evidence)
    if dry_run:  # the verdict as it would be recorded, nothing written
        outcome.state = _dry_state(evidence["verdict"], opened)
        outcome.alert_id = opened.id if opened is not None else None
    elif evidence["verdict"] is True and opened is not None:
        outcome.state, outcome.alert_id = "firing", opened.id
    elif evidence["verdict"] is True:
        alert = _append(store, "alert", model, version, evidence, actor)
        outcome.state, outcome.alert_id = "fired", alert.id
        if run_actions:
            outcome.actions = perform(store, alert, rule, monitor=monitor, actor=actor)
    elif evidence["verdict"] is False and opened is not None:
        cleared = {"key": key, "summary": f"cleared: {summary}", "alert": opened.id}
        _append(store, "alert_cleared", model, version, cleared, actor)
        outcome.state, outcome.alert_id = "cleared", opened.id
    elif evidence["verdict"] is False:
        outcome.state = "ok"
    return outcome


#: the event log keeps reasons up to 10 000 characters
MAX_REASON = 9000


def event_reason(details: dict[str, Any]) -> str:
    """``details`` as the JSON text of an event's reason, always valid JSON: when too long,
    only the newest windows are kept, then none, then long values are cut (the key that
    de-duplicates alerts always stays)."""
    reason = json.dumps(details, sort_keys=True, default=str)
    for keep in (3, 0):
        if len(reason) <= MAX_REASON:
            return reason
        details = {**details, "windows": details.get("windows", [])[-keep:] if keep else []}
        reason = json.dumps(details, sort_keys=True, default=str)
    if len(reason) > MAX_REASON:
        short = {
            k: (v if len(json.dumps(v, default=str)) < 500 else "…") for k, v in details.items()
        }
        reason = json.dumps(short, sort_keys=True, default=str)
    return reason


def _dry_state(verdict: bool | None, opened: Event | None) -> str:
    if verdict is None:
        return "undecided"
    if verdict:
        return "firing" if opened is not None else "fired"
    return "cleared" if opened is not None else "ok"


def _append(
    store: AbstractStore,
    action: str,
    model: str,
    version: int,
    details: dict[str, Any],
    actor: str | None,
) -> Event:
    from ..identity import process_user
    from .webhooks import publish_events

    reason = event_reason(details)
    event = store.append_event(
        action, model=model, version=version, user=actor or process_user(), reason=reason
    )
    if action != "alert":  # an alert is sent by its notify action, not to every hook
        publish_events(store, [event])
    return event


def check(
    store: AbstractStore,
    *,
    models: list[str] | None = None,
    monitor: Monitor | None = None,
    source: MetricsSource | None = None,
    run_actions: bool = True,
    dry_run: bool = False,
    actor: str | None = None,
) -> list[RuleOutcome]:
    """One pass over the configured rules (``models``: only these names). A rule that
    fails on one model (a source error) is reported in its outcome and the pass goes on."""
    from .source import PredictionLogSource

    monitor = monitor or make_monitor()
    source = source or PredictionLogSource(store, monitor)
    names = models if models is not None else [m.name for m in store.list_models()]
    outcomes: list[RuleOutcome] = []
    for rule in monitor.parsed_rules():
        for name in names:
            if not rule.applies_to(name):
                continue
            try:
                found = check_rule(
                    store,
                    name,
                    rule,
                    monitor=monitor,
                    source=source,
                    run_actions=run_actions,
                    dry_run=dry_run,
                    actor=actor,
                )
            except MMError as exc:
                found = RuleOutcome(name, 0, rule.text, "error", str(exc))
            if found is not None:
                outcomes.append(found)
    return outcomes
