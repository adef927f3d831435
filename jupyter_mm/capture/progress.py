"""Progress reporting for long hashing.

Hashing usually takes milliseconds (the stat cache answers), so a bar must cost nothing
until the work has actually been going on for a while. ``tqdm``'s own ``delay`` still builds
the bar up front, and in a notebook ``tqdm.auto`` builds an ipywidgets widget (a comm
round-trip) in its constructor. We therefore count bytes ourselves and only create the tqdm
bar, with the bytes done so far as its starting value, once ``delay`` seconds have passed.
The bar is in bytes with binary unit scaling (KiB, MiB, GiB).
"""

from __future__ import annotations

import time
from typing import Any


class ProgressBar:
    """A byte counter that turns into a tqdm bar after ``delay`` seconds of work."""

    __slots__ = ("_bar", "_delay", "_desc", "_done", "_failed", "_start", "_total")

    def __init__(self, total: int | None, desc: str, delay: float) -> None:
        self._total = total
        self._desc = desc
        self._delay = delay
        self._start = time.monotonic()
        self._done = 0
        self._bar: Any = None
        self._failed = False

    @property
    def shown(self) -> bool:
        """True once the tqdm bar exists (the work took longer than the delay)."""
        return self._bar is not None

    def update(self, n: int) -> None:
        """Record ``n`` more bytes done."""
        self._done += n
        if self._bar is not None:
            self._bar.update(n)
        elif not self._failed and time.monotonic() - self._start >= self._delay:
            self._show()

    def _show(self) -> None:
        try:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=self._total,
                initial=self._done,
                desc=self._desc,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                leave=False,
                dynamic_ncols=True,
            )
        except Exception:  # a progress bar must never break hashing
            self._failed = True

    def close(self) -> None:
        if self._bar is not None:
            try:
                self._bar.close()
            except Exception:
                pass
            self._bar = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Progress:
    """Factory of progress bars for hashing.

    ``Progress(delay=config.progress_after)`` shows a bar (ipywidgets in a notebook, text in a
    terminal) for work that lasts longer than ``delay`` seconds. ``Progress.quiet()`` never
    shows anything (tests, ``--quiet``).
    """

    def __init__(self, delay: float = 1.0, enabled: bool = True) -> None:
        self.delay = max(0.0, float(delay))
        self.enabled = enabled

    @classmethod
    def quiet(cls) -> Progress:
        return cls(enabled=False)

    def bar(self, total: int | None, desc: str) -> ProgressBar:
        """A bar for ``total`` bytes (None: unknown) labelled ``desc``. Use as a context
        manager so the bar is closed even when hashing fails."""
        if not self.enabled:
            return _NullBar()
        return ProgressBar(total, desc, self.delay)


class _NullBar(ProgressBar):
    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(None, "", 0.0)
        self._failed = True  # never create a bar

    def update(self, n: int) -> None:
        pass


QUIET = Progress.quiet()
