"""How jupyter-mm shows durations and short ids in text (CLI, run cards, reports).

One definition in Python, with the same conventions as the lab extension's formatters
(``labextension/src/components/RunListFormat.ts``), so a run reads the same in the
sidebar, in a notebook's run card and in a terminal.
"""

from __future__ import annotations

import math

#: how each checkpoint source (``entities.CheckpointSource``) reads in text; the lab's run
#: card says the same (``labextension/src/widgets/runCard.tsx``)
CHECKPOINT_SOURCE_LABELS = {
    "live": "live notebook (unsaved edits included)",
    "headless": "notebook file as executed headless by jupyter mm run",
    "papermill": "notebook as executed by papermill (jupyter_mm engine)",
    "file": "saved notebook file",
    "history": "kernel history (no notebook found)",
    "none": "none",
}


def checkpoint_source_label(source: str | None) -> str:
    """What a checkpoint source means, in words (an unknown one as it is)."""
    return CHECKPOINT_SOURCE_LABELS.get(source or "none", source or "none")


#: characters of a run id shown where space is short (ULIDs: 10 characters are the
#: millisecond timestamp, unique enough within one store to find the run again)
SHORT_ID_LENGTH = 10
#: hex characters of a content digest shown in text
SHORT_DIGEST_LENGTH = 12


def short_id(run_id: str | None) -> str:
    return (run_id or "")[:SHORT_ID_LENGTH]


def short_digest(digest: str | None) -> str:
    return (digest or "")[:SHORT_DIGEST_LENGTH]


def format_duration(seconds: float | None) -> str:
    """``4.21 s`` under 10 s, ``42.1 s`` under a minute, ``4 min 05 s`` under an hour,
    ``1 h 02 min`` beyond; ``-`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        minutes, secs = divmod(whole, 60)
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(whole // 60, 60)
    return f"{hours} h {minutes:02d} min"
