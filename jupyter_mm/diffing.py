"""What changed between two runs (``docs/architecture.md#diffs``).

The notebook part is nbdime's diff of the two checkpoints, in the ``{"base", "diff"}`` shape
nbdime's own diff widget renders (the sidebar uses it as is). The rest are side-by-side
tables: params, the latest value of each metric with its delta, data digests by name and
role, and package versions. One :class:`RunDiff` renders three ways: ``to_dict`` for the
server, ``to_text`` for ``jupyter mm diff`` and ``_repr_html_`` in a notebook.
"""

from __future__ import annotations

import copy
import html
import io
import math
import os
from dataclasses import dataclass, field
from typing import Any

import nbdime
import nbformat
from nbformat import NotebookNode

from .entities import Environment, Run, RunDetail, latest_metric_values
from .errors import IntegrityError
from .store.abstract import AbstractStore

#: How a row differs between run A and run B.
ADDED, REMOVED, CHANGED, SAME = "added", "removed", "changed", "same"


@dataclass
class RunDiff:
    """The difference between run ``a`` (the base) and run ``b``."""

    a: Run
    b: Run
    #: run A's checkpoint (outputs stripped when they were ignored): nbdime's diff base
    base: NotebookNode
    #: nbdime diff transforming ``base`` into run B's checkpoint
    notebook_diff: list[Any]
    #: rows ``{"name", "a", "b", "change"}``, every param of either run
    params: list[dict[str, Any]] = field(default_factory=list)
    #: rows ``{"name", "a", "b", "delta", "change"}`` (latest value per metric)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    #: rows ``{"name", "role", "kind", "a", "b", "change"}`` (a/b are digests)
    data: list[dict[str, Any]] = field(default_factory=list)
    #: rows ``{"name", "a", "b", "change"}``, only for distributions that differ
    packages: list[dict[str, Any]] = field(default_factory=list)
    ignore_outputs: bool = False
    #: why part of the diff is missing (no checkpoint, damaged blob, no environment)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (non-finite metric values become the strings ``nan``/``inf``)."""
        return {
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "notebook": {"base": self.base, "diff": self.notebook_diff},
            "params": self.params,
            "metrics": [{k: _json_number(v) for k, v in row.items()} for row in self.metrics],
            "data": self.data,
            "packages": self.packages,
            "ignore_outputs": self.ignore_outputs,
            "warnings": self.warnings,
        }

    # -- terminal ---------------------------------------------------------------------------

    def to_text(self, *, color: bool = False) -> str:
        """The whole diff for a terminal: nbdime's pretty printer for the notebook, aligned
        tables for the rest (only differing rows; unchanged ones are counted)."""
        out = io.StringIO()
        out.write(f"A: {_run_label(self.a)}\nB: {_run_label(self.b)}\n")
        notebook = self.b.notebook_path or self.a.notebook_path
        folder = os.path.dirname(notebook) if notebook else None
        for warning in self.warnings:
            out.write(f"warning: {warning}\n")
        out.write("\n== Notebook" + (" (outputs ignored)" if self.ignore_outputs else "") + "\n")
        out.write(self.notebook_text(color=color) or "no changes\n")
        sections = [
            ("Params", ["name", "A", "B"], self.params, lambda r: [r["name"], r["a"], r["b"]]),
            (
                "Metrics",
                ["name", "A", "B", "delta"],
                self.metrics,
                lambda r: [r["name"], r["a"], r["b"], _signed(r["delta"])],
            ),
            (
                "Data",
                ["name", "role", "A", "B"],
                self.data,
                lambda r: [
                    _data_name(r["name"], folder),
                    r["role"],
                    _short(r["a"]),
                    _short(r["b"]),
                ],
            ),
            ("Packages", ["name", "A", "B"], self.packages, lambda r: [r["name"], r["a"], r["b"]]),
        ]
        for title, headers, source, render in sections:
            changed = [r for r in source if r["change"] != SAME]
            unchanged = len(source) - len(changed)
            out.write(f"\n== {title}\n")
            if changed:
                out.write(
                    _table(["", *headers], [[_MARK[r["change"]], *render(r)] for r in changed])
                )
            if unchanged:
                out.write(f"{unchanged} unchanged\n")
            elif not changed:
                out.write("none\n")
        return out.getvalue()

    def notebook_text(self, *, color: bool = False) -> str:
        """nbdime's rendering of the notebook diff ('' when the checkpoints are equal).

        Run cards are shown by their plain-text summary: their JSON bundle is for the lab's
        renderer and would fill a terminal with ids and the store's location."""
        if not self.notebook_diff:
            return ""
        import nbdime
        from nbdime.prettyprint import PrettyPrintConfig, pretty_print_diff

        base = _without_run_bundles(self.base)
        other = _without_run_bundles(nbdime.patch(self.base, self.notebook_diff))
        shown = nbdime.diff_notebooks(base, other)
        if not shown:
            return ""
        buffer = io.StringIO()
        # difflib rendering: no git/diff subprocess per changed source
        config = PrettyPrintConfig(out=buffer, use_git=False, use_diff=False, use_color=color)
        pretty_print_diff(base, shown, "", config)
        return buffer.getvalue()

    def __str__(self) -> str:
        return self.to_text()

    # -- notebook -------------------------------------------------------------------------

    def _repr_html_(self) -> str:
        parts = [
            "<div class='jupyter-mm-diff'>",
            f"<p><b>A</b> {html.escape(_run_label(self.a))}<br>"
            f"<b>B</b> {html.escape(_run_label(self.b))}</p>",
        ]
        parts += [f"<p>⚠ {html.escape(w)}</p>" for w in self.warnings]
        parts.append("<h4>Notebook</h4>")
        text = self.notebook_text()
        parts.append(f"<pre>{html.escape(text)}</pre>" if text else "<p>no changes</p>")
        parts.append(_html_table("Params", ["name", "A", "B"], self.params, ["name", "a", "b"]))
        parts.append(
            _html_table(
                "Metrics", ["name", "A", "B", "delta"], self.metrics, ["name", "a", "b", "delta"]
            )
        )
        parts.append(
            _html_table("Data", ["name", "role", "A", "B"], self.data, ["name", "role", "a", "b"])
        )
        parts.append(_html_table("Packages", ["name", "A", "B"], self.packages, ["name", "a", "b"]))
        parts.append("</div>")
        return "\n".join(parts)


# -- computing the tables -----------------------------------------------------------------------


def _change(a: Any, b: Any) -> str:
    if a is None:
        return ADDED
    if b is None:
        return REMOVED
    return SAME if a == b else CHANGED


def diff_params(a: dict[str, str], b: dict[str, str]) -> list[dict[str, Any]]:
    """Every param of either run, sorted by name."""
    return [
        {"name": n, "a": a.get(n), "b": b.get(n), "change": _change(a.get(n), b.get(n))}
        for n in sorted(set(a) | set(b))
    ]


def diff_metrics(a: dict[str, float], b: dict[str, float]) -> list[dict[str, Any]]:
    rows = []
    for name in sorted(set(a) | set(b)):
        va, vb = a.get(name), b.get(name)
        delta = vb - va if va is not None and vb is not None else None
        if va is None or vb is None:
            change = _change(va, vb)
        else:
            # NaN != NaN, but a metric that is NaN in both runs did not change
            same = va == vb or (math.isnan(va) and math.isnan(vb))
            change = SAME if same else CHANGED
        rows.append({"name": name, "a": va, "b": vb, "delta": delta, "change": change})
    return rows


def diff_data(a: RunDetail, b: RunDetail) -> list[dict[str, Any]]:
    """Data refs matched by (name, role); a changed digest is a changed row."""
    refs_a = {(d.name, d.role): d for d in a.data}
    refs_b = {(d.name, d.role): d for d in b.data}
    rows = []
    for key in sorted(set(refs_a) | set(refs_b)):
        da, db = refs_a.get(key), refs_b.get(key)
        digest_a = f"{da.algorithm}:{da.digest}" if da else None
        digest_b = f"{db.algorithm}:{db.digest}" if db else None
        rows.append(
            {
                "name": key[0],
                "role": key[1],
                "kind": (db.kind if db is not None else da.kind if da is not None else None),
                "a": digest_a,
                "b": digest_b,
                "change": _change(digest_a, digest_b),
            }
        )
    return rows


def diff_package_versions(
    a: Environment | None, b: Environment | None
) -> tuple[list[dict[str, Any]], list[str]]:
    """Distributions whose version differs or that exist in one environment only, sorted
    by name (unchanged ones are left out: an environment holds hundreds)."""
    if a is None or b is None:
        which = "either run" if a is None and b is None else "run A" if a is None else "run B"
        return [], [f"No environment was recorded for {which}; packages are not compared."]
    if a.id == b.id:
        return [], []
    from .capture.environment import diff_packages

    result = diff_packages(a, b)
    rows = [{"name": n, "a": None, "b": v, "change": ADDED} for n, v in result["added"].items()]
    rows += [
        {"name": n, "a": v, "b": None, "change": REMOVED} for n, v in result["removed"].items()
    ]
    rows += [
        {"name": n, "a": va, "b": vb, "change": CHANGED}
        for n, (va, vb) in result["changed"].items()
    ]
    return sorted(rows, key=lambda row: row["name"].lower()), []


# -- the notebook part ------------------------------------------------------------------------


def _strip_outputs(notebook: NotebookNode) -> NotebookNode:
    stripped = copy.deepcopy(notebook)
    for cell in stripped.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    return stripped


def _checkpoint_of(store: AbstractStore, run: Run, label: str, warnings: list[str]) -> Any:
    from .capture.checkpoint import load_checkpoint

    if run.checkpoint_digest is None:
        warnings.append(f"Run {label} has no notebook checkpoint; it is shown as empty.")
        return nbformat.v4.new_notebook()
    try:
        return load_checkpoint(store.blobs, run.checkpoint_digest)
    except IntegrityError as exc:
        warnings.append(f"Run {label}'s checkpoint cannot be loaded: {exc}")
        return nbformat.v4.new_notebook()


def diff_runs(
    store: AbstractStore, ref_a: str | Run, ref_b: str | Run, *, ignore_outputs: bool = False
) -> RunDiff:
    """Compare two runs of ``store`` given as ids, unique id prefixes, ``latest`` or Runs.

    Raises NotFound / AmbiguousReference for references that name no single run.
    """
    run_a = store.resolve_run(ref_a.id if isinstance(ref_a, Run) else ref_a)
    run_b = store.resolve_run(ref_b.id if isinstance(ref_b, Run) else ref_b)
    detail_a, detail_b = store.get_run_detail(run_a.id), store.get_run_detail(run_b.id)
    warnings: list[str] = []
    nb_a = _checkpoint_of(store, detail_a.run, "A", warnings)
    nb_b = _checkpoint_of(store, detail_b.run, "B", warnings)
    if ignore_outputs:
        # Stripping copies instead of nbdime's set_notebook_diff_targets: that one changes
        # process-wide state, which the server (many concurrent diffs) cannot afford.
        nb_a, nb_b = _strip_outputs(nb_a), _strip_outputs(nb_b)
    notebook_diff = nbdime.diff_notebooks(nb_a, nb_b)
    packages, package_warnings = diff_package_versions(detail_a.environment, detail_b.environment)
    return RunDiff(
        a=detail_a.run,
        b=detail_b.run,
        base=nb_a,
        notebook_diff=notebook_diff,
        params=diff_params(
            {p.name: p.value for p in detail_a.params}, {p.name: p.value for p in detail_b.params}
        ),
        metrics=diff_metrics(
            latest_metric_values(detail_a.metrics), latest_metric_values(detail_b.metrics)
        ),
        data=diff_data(detail_a, detail_b),
        packages=packages,
        ignore_outputs=ignore_outputs,
        warnings=warnings + package_warnings,
    )


def diff(
    a: str | Run, b: str | Run, ignore_outputs: bool = False, store: AbstractStore | None = None
) -> RunDiff:
    """``mm.diff(a, b)``: compare two runs of ``store`` (default: this project's store)."""
    if store is not None:
        return diff_runs(store, a, b, ignore_outputs=ignore_outputs)
    from .store import open_store

    with open_store() as opened:
        return diff_runs(opened, a, b, ignore_outputs=ignore_outputs)


# -- rendering helpers --------------------------------------------------------------------------

_MARK = {ADDED: "+", REMOVED: "-", CHANGED: "~", SAME: " "}


def _run_label(run: Run) -> str:
    name = f" {run.name}" if run.name else ""
    return f"{run.id}{name} [{run.status}]"


def _short(digest: str | None) -> str | None:
    if digest is None:
        return None
    algorithm, _, value = digest.partition(":")
    return f"{algorithm}:{value[:12]}" if value else digest[:12]


def _signed(value: float | None) -> str | None:
    return None if value is None else f"{value:+.6g}"


#: widest table cell in the terminal; longer values are cut in the middle, where two paths
#: or names that share a beginning and an end still differ
CELL_WIDTH = 48


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}"
    text = str(value)
    if len(text) <= CELL_WIDTH:
        return text
    head = (CELL_WIDTH - 1) // 2
    return text[:head] + "…" + text[-(CELL_WIDTH - 1 - head) :]


def _without_run_bundles(notebook: NotebookNode) -> NotebookNode:
    """A copy of ``notebook`` whose run cards keep only their text/plain summary."""
    from .runner import RUN_MIME

    copy = nbformat.from_dict(notebook)
    for cell in copy.get("cells", []):
        for output in cell.get("outputs", []) or []:
            data = output.get("data")
            if isinstance(data, dict) and RUN_MIME in data:
                output["data"] = {k: v for k, v in data.items() if k == "text/plain"}
    return copy


def _data_name(name: str, folder: str | None) -> str:
    """A data path relative to the notebook's folder when it lies below it."""
    if not folder or not os.path.isabs(name):
        return name
    try:
        relative = os.path.relpath(name, folder)
    except ValueError:
        return name
    return name if relative.startswith(os.pardir) else relative


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [headers, *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    return "\n".join(lines) + "\n"


def _html_table(title: str, headers: list[str], rows: list[dict[str, Any]], keys: list[str]) -> str:
    if not rows:
        return f"<h4>{title}</h4><p>none</p>"
    colours = {ADDED: "#e6ffec", REMOVED: "#ffebe9", CHANGED: "#fff8c5", SAME: "transparent"}
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        f"<tr style='background:{colours[r['change']]}' title='{r['change']}'>"
        + "".join(f"<td>{html.escape(_cell(r.get(k)))}</td>" for k in keys)
        + "</tr>"
        for r in rows
    )
    return f"<h4>{title}</h4><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value
