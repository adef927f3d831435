"""The Runs tab of :func:`jupyter_mm.browser`: list, filter, inspect, compare and restore runs
with ipywidgets' standard widgets only, so it renders wherever ipywidgets does."""

from __future__ import annotations

import os
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from ..entities import RUN_STATUSES, RunDetail
from ..errors import MMError
from ..formatting import checkpoint_source_label
from . import html as h

if TYPE_CHECKING:
    from ..entities import Run
    from ..store.abstract import AbstractStore

PAGE_SIZE = 50
#: metric columns shown in the listing (the most common names first)
METRIC_COLUMNS = 4


def _label(run: Run, metrics: dict[str, float], columns: list[str]) -> str:
    """One line of the selection list; a stored name never spans lines."""
    name = h.plain(" ".join((run.name or "(unnamed)").split()))
    values = "  ".join(f"{m}={h.number(metrics[m])}" for m in columns if m in metrics)
    took = h.duration(run.end_time - run.start_time) if run.end_time else "running"
    return f"{name[:40]}  ·  {run.id[:10]}  ·  {run.status}  ·  {took}  {values}".rstrip()


class RunsPanel:
    """Scope, search, status and order controls above a selectable list; actions on the
    selection below it (details for one, compare for two, restore a checkpoint)."""

    def __init__(self, store: AbstractStore, notebook: str | None) -> None:
        import ipywidgets as w

        self.store = store
        self.notebook = notebook
        self.scope = w.ToggleButtons(
            options=[("This notebook", "notebook"), ("All notebooks", "all")],
            value="notebook" if notebook else "all",
        )
        self.scope.disabled = notebook is None
        self.search = w.Text(
            placeholder="search name, note, notebook or id", continuous_update=False
        )
        self.status = w.Dropdown(options=[("any status", "")] + [(s, s) for s in RUN_STATUSES])
        self.order = w.Dropdown(options=[("newest first", "newest"), ("oldest first", "oldest")])
        self.select = w.SelectMultiple(options=[], rows=12, layout=w.Layout(width="100%"))
        self.table = w.HTML()
        self.more = w.Button(description="Load more", disabled=True)
        self.refresh = w.Button(description="Refresh", icon="refresh")
        self.details = w.Button(description="Details", disabled=True)
        self.compare = w.Button(description="Compare", disabled=True)
        self.restore_path = w.Text(placeholder="restored.ipynb", layout=w.Layout(width="220px"))
        self.restore = w.Button(description="Restore checkpoint", disabled=True)
        self.message = w.HTML()
        self.output = w.HTML()
        self._token: str | None = None
        self._runs: dict[str, Run] = {}
        self._metrics: dict[str, dict[str, float]] = {}
        for control in (self.scope, self.search, self.status, self.order):
            control.observe(lambda _change: self.reload(), names="value")
        self.select.observe(lambda _change: self._selection_changed(), names="value")
        self.refresh.on_click(lambda _b: self.reload())
        self.more.on_click(lambda _b: self._load_page())
        self.details.on_click(lambda _b: self.show_details())
        self.compare.on_click(lambda _b: self.show_compare())
        self.restore.on_click(lambda _b: self.restore_checkpoint())
        self.widget = w.VBox(
            [
                w.HBox([self.scope, self.refresh]),
                w.HBox([self.search, self.status, self.order]),
                self.select,
                w.HBox([self.more, self.details, self.compare, self.restore_path, self.restore]),
                self.message,
                self.table,
                self.output,
            ]
        )
        self.reload()

    # -- listing ----------------------------------------------------------------------------

    def reload(self) -> None:
        """Start the listing again from its first page; the selection is cleared so that no
        run hidden by the new filters stays selected."""
        self._token, self._runs, self._metrics = None, {}, {}
        self.select.value = ()
        self.select.options = []
        self.output.value = ""
        self._load_page()

    def _filters(self) -> dict[str, Any]:
        return {
            "notebook_path": self.notebook if self.scope.value == "notebook" else None,
            "status": self.status.value or None,
            "text": self.search.value.strip() or None,
            "order": self.order.value,
        }

    def _load_page(self) -> None:
        try:
            page = self.store.search_runs(
                **self._filters(), limit=PAGE_SIZE, page_token=self._token
            )
            metrics = self.store.latest_metrics([r.id for r in page.runs])
        except MMError as exc:
            self.message.value = h.notice(str(exc), "error")
            return
        for run in page.runs:
            self._runs[run.id] = run
            self._metrics[run.id] = metrics.get(run.id, {})
        self._token = page.next_token
        self.more.disabled = page.next_token is None
        self._render_listing()

    def metric_columns(self) -> list[str]:
        counts: dict[str, int] = defaultdict(int)
        for values in self._metrics.values():
            for name in values:
                counts[name] += 1
        return sorted(counts, key=lambda n: (-counts[n], n))[:METRIC_COLUMNS]

    def _render_listing(self) -> None:
        columns = self.metric_columns()
        selected = self.select.value
        self.select.options = [
            (_label(run, self._metrics[run.id], columns), run.id) for run in self._runs.values()
        ]
        self.select.value = tuple(v for v in selected if v in self._runs)
        names = sorted({n for values in self._metrics.values() for n in values})
        orders = [("newest first", "newest"), ("oldest first", "oldest")]
        orders += [(f"{n} (highest first)", f"metric:{n}:desc") for n in names]
        orders += [(f"{n} (lowest first)", f"metric:{n}:asc") for n in names]
        if [v for _l, v in orders] != [v for _l, v in self.order.options]:
            with self.order.hold_trait_notifications():
                current = self.order.value
                self.order.options = orders
                values = {value for _label, value in orders}
                self.order.value = current if current in values else "newest"
        rows = [
            [
                run.name,
                run.id[:10],
                run.status,
                h.duration(run.end_time - run.start_time) if run.end_time else None,
                *[self._metrics[run.id].get(m) for m in columns],
            ]
            for run in self._runs.values()
        ]
        headers = ["name", "id", "status", "duration", *columns]
        self.table.value = h.table(headers, rows, numeric=range(4, 4 + len(columns)))
        count = len(self._runs)
        more = " (more available)" if self._token else ""
        self.message.value = h.notice(f"{count} run{'s' * (count != 1)}{more}")

    def _selection_changed(self) -> None:
        chosen = len(self.select.value)
        self.details.disabled = chosen != 1
        self.compare.disabled = chosen != 2
        self.restore.disabled = chosen != 1
        self.compare.description = f"Compare ({chosen}/2)" if chosen else "Compare"

    # -- actions ----------------------------------------------------------------------------

    def show_details(self) -> None:
        if len(self.select.value) != 1:
            self.message.value = h.notice("Select one run to see its details.", "error")
            return
        try:
            detail = self.store.get_run_detail(self.select.value[0])
        except MMError as exc:
            self.message.value = h.notice(str(exc), "error")
            return
        self.output.value = render_detail(detail)

    def show_compare(self) -> None:
        if len(self.select.value) != 2:
            self.message.value = h.notice("Select exactly two runs to compare them.", "error")
            return
        from ..diffing import diff_runs

        first, second = sorted(self.select.value, key=lambda i: self._runs[i].start_time)
        try:
            self.output.value = diff_runs(self.store, first, second)._repr_html_()
        except MMError as exc:
            self.message.value = h.notice(str(exc), "error")

    def restore_checkpoint(self) -> None:
        """Write the selected run's checkpoint as a new notebook (never over a file)."""
        if len(self.select.value) != 1:
            self.message.value = h.notice("Select one run to restore its checkpoint.", "error")
            return
        run = self._runs[self.select.value[0]]
        target = self.restore_path.value.strip() or f"restored-{run.id[:10]}.ipynb"
        try:
            written = write_checkpoint(self.store, run, target)
        except (MMError, OSError) as exc:
            self.message.value = h.notice(f"Not restored: {exc}", "error")
            return
        self.message.value = h.notice(
            f"Restored the checkpoint of {run.id[:10]} to {written}", "ok"
        )


def write_checkpoint(store: AbstractStore, run: Run, target: str) -> str:
    """Write ``run``'s checkpoint to ``target`` (a new file) as an untrusted notebook."""
    import nbformat

    from ..capture.checkpoint import load_checkpoint
    from ..errors import Conflict, InvalidInput, NotFound

    if not target.endswith(".ipynb"):
        raise InvalidInput(f"{target!r} is not a notebook file name (it must end in .ipynb).")
    if not run.checkpoint_digest:
        raise NotFound(f"Run {run.id} has no notebook checkpoint.")
    nb = load_checkpoint(store.blobs, run.checkpoint_digest)
    for cell in nb.cells:
        cell.metadata.pop("trusted", None)  # stored content is never trusted
    nb.metadata.pop("signature", None)
    try:
        with open(target, "x", encoding="utf-8") as handle:
            nbformat.write(nb, handle)
    except FileExistsError:
        raise Conflict(f"{target} exists already; choose another name.") from None
    return os.path.relpath(target)


def render_detail(detail: RunDetail) -> str:
    run = detail.run
    history: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for metric in detail.metrics:
        history[metric.name].append((metric.step, metric.value))
    metric_rows = [
        [name, points[-1][1], len(points), h.sparkline(points)]
        for name, points in sorted(history.items())
    ]
    metrics_html = h.table(["metric", "latest", "points"], [r[:3] for r in metric_rows], (1, 2))
    charts = "".join(
        f"<div><small>{h.text(name)}</small><br>{chart}</div>"
        for name, _v, _n, chart in metric_rows
        if chart
    )
    env = detail.environment
    summary: list[list[Any]] = [
        ["status", run.status],
        ["started", h.when(run.start_time)],
        ["duration", h.duration(run.end_time - run.start_time) if run.end_time else None],
        ["notebook", run.notebook_path],
        ["checkpoint", checkpoint_source_label(run.checkpoint_source)],
        ["user", run.user],
        ["error", run.error],
    ]
    parts = [
        f"<h3>{h.text(run.name or '(unnamed)')} <small>{h.text(run.id)}</small></h3>",
        h.table(["", ""], summary),
        h.section("Params", h.table(["name", "value"], [[p.name, p.value] for p in detail.params])),
        h.section("Metrics", metrics_html + charts),
        h.section(
            "Data",
            h.table(
                ["name", "role", "kind", "digest"],
                [[d.name, d.role, d.kind, d.digest[:16]] for d in detail.data],
            ),
        ),
        h.section(
            "Flags",
            h.table(["kind", "message"], [[f.kind, f.message] for f in run.flags]),
        ),
        h.section("Warnings", h.table(["warning"], [[w] for w in run.warnings])),
    ]
    if env is not None:
        env_rows: list[list[Any]] = [["python", env.python], ["platform", env.platform]]
        env_rows += [["packages", len(env.packages)], ["git commit", env.git.get("commit")]]
        parts.append(h.section("Environment", h.table(["", ""], env_rows)))
    return "".join(parts)
