"""Run every benchmark and print one table: target, ours, peer, ratio, verdict.

    pip install -e ".[bench]"        # MLflow and DVC, the peers
    python bench/run.py              # full run (1 GiB file, 41 repetitions; a few minutes)
    python bench/run.py --quick      # smoke run (smaller sizes, fewer repetitions)
    python bench/run.py --only metrics   # one group: tracking, metrics, hashing, storage,
                                         # startup, cli, listing, session,
                                         # serving or monitoring

Run by hand on an otherwise idle machine; never in CI. Ratios are peer time / our time,
measured in the same run.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cli_bench
import hashing_bench
import listing_bench
import metrics_bench
import monitoring_bench
import serving_bench
import session_bench
import startup_bench
import storage_bench
import tracking_bench
from _common import print_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repetitions")
    parser.add_argument(
        "--only",
        choices=[
            "tracking",
            "metrics",
            "hashing",
            "storage",
            "startup",
            "cli",
            "listing",
            "session",
            "serving",
            "monitoring",
        ],
        help="run one group of benchmarks",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where the large test file goes (default: a temp dir)",
    )
    args = parser.parse_args(argv)
    print(
        f"jupyter-mm benchmarks on {platform.node()} ({platform.machine()}, "
        f"Python {platform.python_version()}){' [quick]' if args.quick else ''}"
    )
    rows = []
    if args.only in (None, "tracking"):
        rows += tracking_bench.run(args.quick)
    if args.only in (None, "hashing"):
        with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
            rows += hashing_bench.run(args.quick, Path(tmp))
    if args.only in (None, "metrics"):
        rows += metrics_bench.run(args.quick)
    if args.only in (None, "storage"):
        rows += storage_bench.run(args.quick)
    if args.only in (None, "startup"):
        rows += startup_bench.run(args.quick)  # the command line's rows included
    if args.only == "cli":
        rows += cli_bench.run(args.quick)
    if args.only in (None, "listing"):
        rows += listing_bench.run(args.quick)
    if args.only in (None, "session"):
        rows += session_bench.run(args.quick)
    if args.only in (None, "serving"):
        rows += serving_bench.run(args.quick)
    if args.only in (None, "monitoring"):
        rows += monitoring_bench.run(args.quick)
    print()
    print(
        "Sidebar latency and scrolling (target 7) come from the browser tests: "
        "python -m pytest tests/browser/test_browser_runs.py tests/browser/test_browser_sidebar.py -n 0"
        " -s prints the latency and writes test-artifacts/sidebar-latency.json."
    )
    print()
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
