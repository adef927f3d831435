"""HTML for the in-notebook browser. Everything read from the store is data: it reaches the
page only through :func:`text`, which escapes it, and charts are drawn from numbers alone."""

from __future__ import annotations

import html
import math
import time
from collections.abc import Iterable, Sequence
from typing import Any

#: widest cell text before it is cut (the full value stays in the cell's tooltip)
CELL_CHARS = 80


def plain(value: Any) -> str:
    """A stored string with control and format characters (escape sequences, bidi
    overrides) made visible as ``\\uXXXX``: widget labels show text as it is."""
    raw = str(value)
    if raw.isprintable():
        return raw
    return "".join(c if c.isprintable() or c == " " else f"\\u{ord(c):04x}" for c in raw)


def text(value: Any) -> str:
    """Any stored value as escaped HTML text; None as an em dash."""
    if value is None:
        return "—"
    return html.escape(plain(value), quote=True)


def number(value: Any) -> str:
    """Metrics: 4 significant digits, integers without a fraction, NaN/inf spelled out."""
    if value is None:
        return "—"
    try:
        value = float(value)
    except (TypeError, ValueError):
        return text(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}"


def when(seconds: float | None) -> str:
    if not seconds:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def duration(seconds: float | None) -> str:
    """``4.2 s``, ``4 min 05 s``, ``1 h 02 min``."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _cell(value: Any, numeric: bool) -> str:
    if numeric:
        return f"<td style='text-align:right'>{number(value)}</td>"
    raw = "—" if value is None else str(value)
    shown = raw if len(raw) <= CELL_CHARS else raw[: CELL_CHARS - 1] + "…"
    return f"<td title='{text(raw)}'>{text(shown)}</td>"


def table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Sequence[int] = ()
) -> str:
    """An HTML table; the columns listed in ``numeric`` are numbers, right-aligned."""
    head = "".join(f"<th>{text(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(_cell(v, i in numeric) for i, v in enumerate(row)) + "</tr>"
        for row in rows
    )
    if not body:
        return "<p><i>none</i></p>"
    return f"<table class='jupyter-mm-table'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def section(title: str, content: str) -> str:
    return f"<h4>{text(title)}</h4>{content}"


def sparkline(points: Sequence[tuple[float, float]], width: int = 240, height: int = 48) -> str:
    """A small SVG line of ``(step, value)`` points (finite values only)."""
    finite = [(float(s), float(v)) for s, v in points if math.isfinite(v)]
    if len(finite) < 2:
        return ""
    xs, ys = [p[0] for p in finite], [p[1] for p in finite]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    dx, dy = (x1 - x0) or 1.0, (y1 - y0) or 1.0
    coords = " ".join(
        f"{2 + (x - x0) / dx * (width - 4):.1f},{height - 2 - (y - y0) / dy * (height - 4):.1f}"
        for x, y in finite
    )
    return (
        f"<svg width='{width}' height='{height}' role='img'>"
        f"<polyline fill='none' stroke='currentColor' stroke-width='1.5' points='{coords}'/>"
        "</svg>"
    )


def notice(message: str, kind: str = "info") -> str:
    """One line of feedback: ``info``, ``error`` or ``ok``."""
    mark = {"error": "✗ ", "ok": "✓ "}.get(kind, "")
    colour = {"error": "#b00020", "ok": "#1b7f3b"}.get(kind, "inherit")
    return f"<p style='color:{colour}'>{mark}{text(message)}</p>"
