"""The error rate of one window of the prediction log.

A failed scoring request (refused input, a model that raised) has no prediction, so the
serving process records failures apart: per model version, one ``request_failures`` row per
second that had any (:meth:`~jupyter_mm.serving.predlog.PredictionLogWriter.add_failure`).
The error rate of a window is the failures recorded in the window's time span over those
plus the requests the window answered — the same window the other monitored quantities
use, not the endpoint's counters since it started. The newest window reaches to "now": a
model that fails every request since its last answer still shows it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..store.abstract import AbstractStore

#: arms whose rows were answered by a serving process (``batch`` rows never fail)
SERVED_ARMS = ("champion", "canary", "shadow")


def answered_requests(frame: Any) -> int:
    """Distinct requests of a window's rows (a request scoring n rows logs ``id/0``…)."""
    if "request_id" not in frame or not len(frame):
        return 0
    return int(frame["request_id"].astype(str).str.split("/", n=1).str[0].nunique())


def window_error_rate(
    store: AbstractStore,
    model: str,
    version: int,
    frame: Any,
    *,
    until: float | None = None,
    writers: Collection[str] | None = None,
) -> float | None:
    """Failed / (failed + answered) requests over the window's span (``until``: its end,
    default its last row); None for an empty window, or one no serving process answered
    or failed in. ``writers``: the trusted writers of a team store (None: every writer)."""
    if not len(frame):
        return None
    start = float(frame["time"].min())
    end = float(frame["time"].max()) if until is None else max(until, start)
    failed = store.request_failures(model, version, since=start, until=end, writers=writers)
    if failed == 0 and not store.prediction_batches(
        model, version=version, since=start, until=end, arms=list(SERVED_ARMS), writers=writers
    ):
        return None
    answered = answered_requests(frame)
    return failed / (failed + answered) if failed + answered else None


def failures_only_rate(
    store: AbstractStore, model: str, version: int, writers: Collection[str] | None = None
) -> float | None:
    """1.0 when the version has no prediction at all but failed requests (every request
    failed), else None."""
    return 1.0 if store.request_failures(model, version, since=0.0, writers=writers) else None
