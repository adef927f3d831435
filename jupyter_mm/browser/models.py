"""The Models tab of :func:`jupyter_mm.browser`: versions, stages, aliases and the audit
trail of a model; promote, archive and roll back with a reason. A refusal (a gate, a rule)
is shown as the registry words it and stays in the audit trail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import MMError
from . import html as h

if TYPE_CHECKING:
    from ..store.abstract import AbstractStore

STAGE_CHOICES = ("staging", "production", "archived", "none")


class ModelsPanel:
    def __init__(self, store: AbstractStore) -> None:
        import ipywidgets as w

        self.store = store
        self.model = w.Dropdown(description="model", options=[])
        self.refresh = w.Button(description="Refresh", icon="refresh")
        self.version = w.Dropdown(description="version", options=[])
        self.stage = w.Dropdown(description="to stage", options=list(STAGE_CHOICES))
        self.reason = w.Text(placeholder="reason (recorded in the audit trail)")
        self.promote = w.Button(description="Move to stage")
        self.rollback = w.Button(description="Roll back production", disabled=True)
        self.message = w.HTML()
        self.versions = w.HTML()
        self.events = w.HTML()
        self.model.observe(lambda _c: self.show_model(), names="value")
        self.refresh.on_click(lambda _b: self.reload())
        self.promote.on_click(lambda _b: self.move())
        self.rollback.on_click(lambda _b: self.roll_back())
        self.widget = w.VBox(
            [
                w.HBox([self.model, self.refresh]),
                self.versions,
                w.HBox([self.version, self.stage]),
                w.HBox([self.reason, self.promote, self.rollback]),
                self.message,
                self.events,
            ]
        )
        self.reload()

    def reload(self) -> None:
        """Read the models again (another user or the CLI may have changed them)."""
        try:
            names = [m.name for m in self.store.list_models()]
        except MMError as exc:
            self.message.value = h.notice(str(exc), "error")
            return
        current = self.model.value
        self.model.options = names
        if names:
            self.model.value = current if current in names else names[0]
            self.show_model()
        else:
            self.versions.value = "<p><i>No registered models yet: see mm.register_model.</i></p>"

    def show_model(self) -> None:
        name = self.model.value
        if not name:
            return
        try:
            versions = self.store.list_versions(name)
            events = self.store.model_events(name)
        except MMError as exc:
            self.message.value = h.notice(str(exc), "error")
            return
        rows = [
            [v.version, v.stage, ", ".join(v.aliases), v.run_id[:10], v.flavor, v.description]
            for v in versions
        ]
        self.versions.value = h.table(
            ["version", "stage", "aliases", "run", "flavor", "description"], rows, numeric=(0,)
        )
        current = self.version.value
        numbers = [v.version for v in versions]
        self.version.options = numbers
        if numbers:
            self.version.value = current if current in numbers else numbers[-1]
        # a rollback needs a production version and an earlier one that was in production
        in_production = any(v.stage == "production" for v in versions)
        earlier = sum(1 for e in events if e.to_stage == "production") > 1
        self.rollback.disabled = not (in_production and earlier)
        self.events.value = h.section(
            "Audit trail",
            h.table(
                ["when", "user", "action", "version", "from", "to", "reason"],
                [
                    [
                        h.when(e.time),
                        e.user,
                        e.action,
                        e.version,
                        e.from_stage,
                        e.to_stage,
                        e.reason,
                    ]
                    for e in reversed(events)
                ],
            ),
        )

    def move(self) -> None:
        from ..registry import transition

        name, version, stage = self.model.value, self.version.value, self.stage.value
        if not name or version is None:
            self.message.value = h.notice("Choose a model and a version first.", "error")
            return
        try:
            moved = transition(name, version, stage, self.reason.value or None, store=self.store)
        except MMError as exc:
            self.message.value = h.notice(str(exc), "error")
        else:
            self.message.value = h.notice(
                f"{name} version {moved.version} is now {moved.stage}", "ok"
            )
            self.reason.value = ""
        self.show_model()  # a refusal is an event too

    def roll_back(self) -> None:
        from ..registry import rollback

        name = self.model.value
        try:
            restored = rollback(name, self.reason.value or None, store=self.store)
        except MMError as exc:
            self.message.value = h.notice(str(exc), "error")
        else:
            self.message.value = h.notice(
                f"{name}: version {restored.version} is in production again", "ok"
            )
            self.reason.value = ""
        self.show_model()
