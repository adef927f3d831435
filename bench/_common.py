"""Shared helpers for the benchmarks: timing, medians and the result table.

Machines here are shared and noisy, so every figure is the median of several repetitions
and every comparison is a ratio measured in the same process run, never an absolute number
compared against a constant from another day.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Result:
    """One row of the benchmark table."""

    target: str
    ours: float  # seconds (or the unit below)
    peer: float | None  # same unit, None when there is no peer for this row
    peer_name: str
    unit: str = "ms"
    #: the ratio a row must reach (peer / ours), or None when the row is informational
    min_ratio: float | None = None
    #: an absolute ceiling for "ours" in the row's unit, or None
    max_ours: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.peer is None or self.ours <= 0:
            return None
        return self.peer / self.ours

    @property
    def verdict(self) -> str:
        checks: list[bool] = []
        if self.min_ratio is not None and self.ratio is not None:
            checks.append(self.ratio >= self.min_ratio)
        if self.max_ours is not None:
            checks.append(self.ours <= self.max_ours)
        if not checks:
            return "info"
        return "pass" if all(checks) else "FAIL"


def median_seconds(fn: Callable[[], object], repeat: int, warmup: int = 1) -> float:
    """Median wall time of ``fn()`` over ``repeat`` calls after ``warmup`` unmeasured ones."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def paired_medians(
    baseline: Callable[[], object], measured: Callable[[], object], repeat: int, warmup: int = 1
) -> tuple[float, float, float]:
    """(median of ``baseline()``, median of ``measured()``, median of their per-pair
    difference), calling the two alternately: on a shared machine the load drifts over a
    run, and measuring one block after the other would charge that drift to one side."""
    for _ in range(warmup):
        baseline()
        measured()
    base, meas, diff = [], [], []
    for _ in range(repeat):
        start = time.perf_counter()
        baseline()
        middle = time.perf_counter()
        measured()
        end = time.perf_counter()
        base.append(middle - start)
        meas.append(end - middle)
        diff.append((end - middle) - (middle - start))
    return statistics.median(base), statistics.median(meas), statistics.median(diff)


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "ms":
        return f"{value * 1000:.2f} ms"
    if unit == "GB/s":
        return f"{value:.2f} GB/s"
    return f"{value:.3g} {unit}"


def print_table(rows: list[Result]) -> None:
    """Print target, ours, peer, ratio and verdict, aligned."""
    header = ("target", "ours", "peer", "ratio (peer/ours)", "verdict")
    lines = [header]
    for row in rows:
        ratio = "-" if row.ratio is None else f"{row.ratio:.1f}x"
        peer = "-" if row.peer is None else f"{_fmt(row.peer, row.unit)} ({row.peer_name})"
        lines.append((row.target, _fmt(row.ours, row.unit), peer, ratio, row.verdict))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for index, line in enumerate(lines):
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))
    for row in rows:
        if row.note:
            print(f"  * {row.target}: {row.note}")
