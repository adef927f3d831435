"""Durations and short ids read the same in the terminal, the run card and the sidebar
(``labextension/src/components/RunListFormat.ts`` follows the same convention)."""

from __future__ import annotations

import math

import pytest

from jupyter_mm.formatting import SHORT_ID_LENGTH, format_duration, short_id


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "-"),
        (math.nan, "-"),
        (math.inf, "-"),
        (0.0, "0.00 s"),
        (4.214, "4.21 s"),
        (9.994, "9.99 s"),
        (10.0, "10.0 s"),
        (59.94, "59.9 s"),
        (60.0, "1 min 00 s"),
        (245.0, "4 min 05 s"),
        (299.6, "5 min 00 s"),  # rounded as a whole, never "4 min 60 s"
        (3599.4, "59 min 59 s"),
        (3599.6, "1 h 00 min"),
        (3720.0, "1 h 02 min"),
        (90061.0, "25 h 01 min"),
    ],
)
def test_durations(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


def test_short_ids() -> None:
    assert short_id("01JD3K8ZP4QWERTYUIOPASDFGH") == "01JD3K8ZP4"
    assert len(short_id("01JD3K8ZP4QWERTYUIOPASDFGH")) == SHORT_ID_LENGTH
    assert short_id(None) == ""
