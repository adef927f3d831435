"""One monitor pass: every rule on every production model it names, alerts and actions.

**De-duplication.** An alert belongs to (model, production version, rule) and one episode
of it: a rule that fires appends one ``alert`` event and runs its actions; while it keeps
firing for the same version, later passes add nothing. When a pass finds the condition
false again it appends ``alert_cleared``; a later firing is a new episode and alerts again.
A pass where the rule cannot be decided (not enough labelled predictions, a metric missing)
changes nothing. A version going (back) into production starts with no open alert, so the
rule is judged afresh on that version's own predictions. The state lives in the store, and
the store decides: :meth:`~jupyter_mm.store.deliveries_contract.AbstractDeliveryStore.raise_alert`
appends the alert only if none is open, in one transaction under the model's lock, with a
unique key per episode. However many evaluators watch one store (several ``jupyter mm
watch`` processes, the server's timer), an episode is alerted once and its actions (one
rollback, one retrain) run only in the evaluator whose call raised it; the others report
it as ``firing``. A pass that judged a version which left production meanwhile records
nothing.
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
    from ..store.deliveries_contract import RaisedAlert
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
    outcome = RuleOutcome(model, version, rule.text, "undecided", summary, evidence=evidence)
    verdict = evidence["verdict"]
    if dry_run:  # the verdict as it would be recorded, nothing written
        opened = store.open_alert(model, version, key)
        outcome.state = _dry_state(verdict, opened)
        outcome.alert_id = opened.id if opened is not None else None
    elif verdict is True:
        raised = _raise(store, model, version, evidence, actor)
        if raised is None:  # the version left production while this pass judged it
            outcome.state = "undecided"
            return outcome
        outcome.alert_id = raised.event.id
        outcome.state = "fired" if raised.raised else "firing"
        if raised.raised and run_actions:
            outcome.actions = perform(store, raised.event, rule, monitor=monitor, actor=actor)
    elif verdict is False:
        cleared = _clear(store, model, version, key, summary, actor)
        outcome.state = "cleared" if cleared is not None else "ok"
        outcome.alert_id = cleared
    return outcome


def _raise(
    store: AbstractStore, model: str, version: int, evidence: dict[str, Any], actor: str | None
) -> RaisedAlert | None:
    from ..identity import process_user

    return store.raise_alert(
        model, version, evidence["key"], reason=event_reason(evidence), user=actor or process_user()
    )


def _clear(
    store: AbstractStore, model: str, version: int, key: str, summary: str, actor: str | None
) -> int | None:
    """Clear the open alert, if any; the id of the alert cleared."""
    from ..identity import process_user
    from .webhooks import publish_events

    opened = store.open_alert(model, version, key)
    if opened is None:
        return None
    details = {"key": key, "summary": f"cleared: {summary}", "alert": opened.id}
    cleared = store.clear_alert(
        model, version, key, reason=event_reason(details), user=actor or process_user()
    )
    if cleared is None:  # another evaluator cleared it first
        return None
    publish_events(store, [cleared])
    return opened.id


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
