"""What the session-long data capture costs an untracked cell.

The audit hook records every execution of the session (the upstream data of later runs),
so an untracked cell that opens many files pays for it. Rows, each the median over
alternating repetitions (CPU time of the running thread) of the same cell run through IPython's ``run_cell`` (history on,
as a kernel runs a cell): a cell opening 1000 files (one directory, so grouped into one
entry; and 20 directories of 50 files, not grouped) in a shell with the session log
against an identical shell without it, and the same cell before the hook was installed.

    python bench/session_capture_bench.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Result, print_table

FILES = 1000


def _make_files(root: Path, directories: int) -> str:
    per_directory = FILES // directories
    paths = []
    for d in range(directories):
        folder = root / f"d{d:02}"
        folder.mkdir(parents=True)
        for i in range(per_directory):
            path = folder / f"{i:04}.bin"
            path.write_bytes(b"x" * 100)
            paths.append(str(path))
    return f"for _p in {paths!r}:\n    with open(_p, 'rb') as _h:\n        _h.read()\n"


def _cpu_medians(cells: list, repeat: int) -> list[float]:
    """Median CPU time of this thread per callable, called alternately (``thread_time``:
    on a shared, loaded machine wall time mostly measures the other tenants)."""
    samples: list[list[float]] = [[] for _ in cells]
    for round_ in range(repeat + 1):
        for index, cell in enumerate(cells):
            start = time.thread_time()
            cell()
            if round_:  # the first round warms up
                samples[index].append(time.thread_time() - start)
    return [statistics.median(s) for s in samples]


def _shell(ipython_dir: str):
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    config.InteractiveShell.ipython_dir = ipython_dir
    return InteractiveShell(config=config)


def rows(quick: bool = False) -> list[Result]:
    repeat = 7 if quick else 31
    out: list[Result] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cells = {
            "1 dir": _make_files(root / "one", 1),
            "20 dirs": _make_files(root / "many", 20),
        }
        plain = _shell(str(root / "ipython"))
        no_hook = {
            name: _cpu_medians(
                [lambda n=name: plain.run_cell(cells[n], store_history=True)], repeat
            )[0]
            for name in cells
        }
        from jupyter_mm.capture import session_reads

        logged = _shell(str(root / "ipython2"))
        session_reads.attach(logged)
        for name in cells:
            base, meas = _cpu_medians(
                [
                    lambda n=name: plain.run_cell(cells[n], store_history=True),
                    lambda n=name: logged.run_cell(cells[n], store_history=True),
                ],
                repeat,
            )
            diff = meas - base
            out.append(
                Result(
                    f"untracked cell opening {FILES} files ({name}): added by the session log",
                    diff,
                    None,
                    "-",
                    note=f"cell {meas * 1000:.1f} ms with, {base * 1000:.1f} ms without "
                    f"(before the hook was installed: {no_hook[name] * 1000:.1f} ms)",
                )
            )
        entries = len(session_reads.current(logged).upstream())
        out.append(Result("session log entries after both cells", entries, None, "-", unit=""))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    results = rows(parser.parse_args().quick)
    print_table(results)
