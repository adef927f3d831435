"""What a firing rule does: ``notify``, ``rollback``, ``retrain`` (in that order).

* ``notify``: the alert is queued for every webhook configured for ``alert`` events and
  the model (:mod:`jupyter_mm.alerts.webhooks`), and delivered off this pass by the
  outbox's deliverer; JupyterLab shows it from the alerts endpoint.
* ``rollback``: the registry's rollback, with a reason naming the alert. A rollback the
  registry refuses (no earlier production version) is recorded as a refused transition.
* ``retrain``: :func:`jupyter_mm.alerts.retrain.retrain` with the alert as lineage. When the
  rule also rolls back, the retrain starts from the version that is in production after
  the rollback is done — the current, healthy one — and the new version goes to staging
  unless ``c.Monitor.retrain_to_production`` allows more.

Each action reports ``{"action", "ok", "detail"}``; one failing does not stop the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import MMError

if TYPE_CHECKING:
    from ..entities import Event
    from ..monitoring.settings import Monitor
    from ..store.abstract import AbstractStore
    from .rules import MonitorRule


def _notify(store: AbstractStore, alert: Event) -> dict[str, Any]:
    from .webhooks import publish_events

    queued = publish_events(store, [alert])
    return {
        "action": "notify",
        "ok": True,
        "detail": f"queued for {len(queued)} webhook(s)",
    }


def _rollback(store: AbstractStore, alert: Event, rule: MonitorRule, actor: str | None) -> Any:
    from ..registry import rollback_versions

    assert alert.model is not None
    reason = f"alert #{alert.id}: {rule.text}"
    try:
        done = rollback_versions(alert.model, reason, store=store, actor=actor)
    except MMError as exc:
        store.append_event(
            "transition_refused",
            model=alert.model,
            version=alert.version,
            user=actor,
            from_stage="production",
            reason=f"rollback for alert #{alert.id} refused: {exc}",
        )
        return {"action": "rollback", "ok": False, "detail": str(exc)}
    return {
        "action": "rollback",
        "ok": True,
        "detail": f"version {done.restored.version} restored, {done.archived.version} archived",
    }


def _retrain(
    store: AbstractStore, alert: Event, monitor: Monitor, actor: str | None
) -> dict[str, Any]:
    from .retrain import retrain

    assert alert.model is not None
    report = retrain(
        alert.model,
        store=store,
        parameters=dict(monitor.retrain_parameters),
        promote=monitor.retrain_to_production,
        alert_id=alert.id,
        actor=actor,
    )
    return {"action": "retrain", "ok": report.ok, "detail": report.summary()}


def run_actions(
    store: AbstractStore,
    alert: Event,
    rule: MonitorRule,
    *,
    monitor: Monitor,
    actor: str | None = None,
) -> list[dict[str, Any]]:
    from ..identity import process_user

    actor = actor or process_user()
    done: list[dict[str, Any]] = []
    for action in ("notify", "rollback", "retrain"):
        if action not in rule.actions:
            continue
        try:
            if action == "notify":
                done.append(_notify(store, alert))
            elif action == "rollback":
                done.append(_rollback(store, alert, rule, actor))
            else:
                done.append(_retrain(store, alert, monitor, actor))
        except Exception as exc:  # one action failing must not stop the others
            done.append({"action": action, "ok": False, "detail": f"{type(exc).__name__}: {exc}"})
    return done
