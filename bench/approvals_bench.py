"""Cost of approval requests as they accumulate: listing the pending ones (what the lab's
notification poll and `jupyter mm requests --pending` do, expiry check included) and one
request + approval, after 0, 1 000 and 10 000 decided requests in a SQLite store.

    python bench/approvals_bench.py [--sizes 0,1000,10000] [--repeat 21]

Run by hand on an otherwise idle machine; never in CI. Prints the median milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from jupyter_mm import ids
from jupyter_mm.entities import Artifact, Run
from jupyter_mm.registry import Registry, approvals, transition
from jupyter_mm.store import open_store

RULES = Registry(require_approval=["production"])
FREE = Registry()


def _version(store, model: str) -> int:
    run = store.create_run(Run(id=ids.new_id(), start_time=time.time()))
    digest = store.blobs.put_bytes(run.id.encode())
    store.log_batch(run.id, artifacts=[Artifact("model", digest, 26, "x/y")])
    version = store.register_version(model, run.id, "model", flavor="file", user="ada").version
    transition(model, version, "staging", store=store, registry=FREE, actor="ada")
    return version


def _cycle(store, model: str, version: int) -> None:
    made = approvals.request_transition(
        model, version, "production", "bench", store=store, registry=RULES, actor="ada"
    )
    approvals.reject(made.id, "bench", store=store, registry=RULES, actor="bob")


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="0,1000,10000")
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    print(f"{'decided before':>15} {'list pending ms':>16} {'request+reject ms':>18}")
    for size in [int(s) for s in args.sizes.split(",")]:
        listing, cycle = _measure(size, args.repeat)
        print(f"{size:>15} {listing:>16.2f} {cycle:>18.2f}")


def _measure(size: int, repeat: int) -> tuple[float, float]:
    """(list pending ms, request+reject ms) after ``size`` decided requests."""
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'mm.db'}")
        try:
            version = _version(store, "churn")
            for _ in range(size):
                _cycle(store, "churn", version)
            listing = _median_ms(lambda: approvals.requests(status="pending", store=store), repeat)
            cycle = _median_ms(lambda: _cycle(store, "churn", version), repeat)
        finally:
            store.close()
    return listing, cycle


if __name__ == "__main__":
    main()
