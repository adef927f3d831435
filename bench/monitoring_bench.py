"""Monitoring: a drift report against a stored reference profile, side by side with
Evidently's ``DataDriftPreset`` on the same data, and a monitor pass over a large
prediction log.

    pip install -e ".[bench]"     # MLflow, DVC and Evidently (which needs pandas<3 today)
    python bench/run.py --only monitoring [--quick]

Data: 100k reference rows and 100k current rows of 20 features (15 numeric of three
shapes, 5 categorical); in the current rows 4 numeric and 2 categorical columns are shifted
by clearly different amounts, one numeric column by a negligible 0.02 sd, the rest not at
all. Ours reads the profile stored with the model version (kilobytes) and computes the
drift of the current frame; Evidently reads the reference frame (Parquet) and runs its
preset. Both get the current frame in memory. Time: median of repetitions; memory: the
peak of Python allocations (tracemalloc, numpy's buffers included) during the call, in a
separate pass so that tracing does not slow the timed one.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from _common import Result

ROWS = 100_000
NUMERIC, CATEGORICAL = 15, 5
#: column -> (kind of shift, amount); everything else is unshifted
SHIFTS = {
    "num0": ("mean", 0.5),
    "num1": ("mean", 1.0),
    "num4": ("scale", 1.8),
    "num7": ("mean", 0.3),
    "num9": ("mean", 0.02),  # negligible: neither tool should flag it
    "cat0": ("tilt", 0.35),
    "cat3": ("tilt", 0.6),
}


def make_frame(rows: int, seed: int, shifted: bool) -> Any:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {}
    for i in range(NUMERIC):
        shape = i % 3
        if shape == 0:
            values = rng.normal(5 * i, 1 + i / 3, size=rows)
        elif shape == 1:
            values = rng.lognormal(1, 0.6, size=rows)
        else:
            values = rng.gamma(2.0, 3.0, size=rows)
        data[f"num{i}"] = values
    for j in range(CATEGORICAL):
        shares = np.linspace(1, 3 + j, 3 + 2 * j)
        labels = np.array([f"v{k}" for k in range(shares.size)])
        data[f"cat{j}"] = labels[rng.choice(shares.size, size=rows, p=shares / shares.sum())]
    frame = pd.DataFrame(data)
    if shifted:
        for column, (kind, amount) in SHIFTS.items():
            values = frame[column]
            if kind == "mean":
                frame[column] = values + amount * values.std()
            elif kind == "scale":
                frame[column] = values.mean() + (values - values.mean()) * amount
            else:
                frame.loc[rng.random(rows) < amount, column] = "v0"
    return frame


def _reference_store(work: Path, reference: Any) -> tuple[Any, Any, float, int]:
    """A store holding a registered model whose version has the reference profile."""
    from sklearn.dummy import DummyClassifier

    import jupyter_mm as mm
    from jupyter_mm import tracking
    from jupyter_mm.monitoring.profile import build_profile
    from jupyter_mm.monitoring.stored import attach_profile
    from jupyter_mm.store import open_store

    store = open_store(f"sqlite:///{work / 'mm.db'}")
    tracking.set_default_store(store)
    with mm.start_run("bench") as run:
        mm.log_model(DummyClassifier().fit([[0], [1]], [0, 1]), "model", reference=False)
    version = mm.register_model(run.id, "model", "bench", store=store)
    started = time.perf_counter()
    profile = build_profile(reference, source="bench")
    built = time.perf_counter() - started
    link = attach_profile(store, version, profile, "bench")
    return store, version, built, link.size


def _ours(store: Any, version: Any, current: Any) -> dict[str, bool]:
    from jupyter_mm.monitoring.report import drift_summary
    from jupyter_mm.monitoring.settings import Monitor
    from jupyter_mm.monitoring.stored import find_profile

    profile, _ = find_profile(store, version)
    summary = drift_summary(profile, current, Monitor())
    return {f["feature"]: f["drifted"] for f in summary["features"]}


def _evidently(reference_path: Path, current: Any) -> dict[str, bool]:
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    reference = pd.read_parquet(reference_path)
    numeric = [c for c in current.columns if c.startswith("num")]
    categorical = [c for c in current.columns if c.startswith("cat")]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    verdicts = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config.get("type", "").endswith("ValueDrift"):
            verdicts[config["column"]] = metric["value"] >= config["threshold"]
    return verdicts


def _timed(fn: Any, repeat: int) -> tuple[float, Any]:
    samples, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), result


def _peak_bytes(fn: Any) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _measure(quick: bool, work: Path) -> dict[str, Any]:
    """Time, peak memory and verdicts of both tools on the same frames."""
    reference = make_frame(ROWS, seed=1, shifted=False)
    current = make_frame(ROWS, seed=2, shifted=True)
    same = make_frame(ROWS, seed=3, shifted=False)
    reference_path = work / "reference.parquet"
    reference.to_parquet(reference_path)
    store, version, built, size = _reference_store(work, reference)
    del reference
    ours_current = current.add_prefix("feature.")
    _ours(store, version, ours_current)  # warm-up: imports
    found: dict[str, Any] = {"built": built, "size": size, "columns": list(current.columns)}
    found["ours_time"], found["ours"] = _timed(
        lambda: _ours(store, version, ours_current), 3 if quick else 7
    )
    found["ours_peak"] = _peak_bytes(lambda: _ours(store, version, ours_current))
    found["false_alarms"] = sum(_ours(store, version, same.add_prefix("feature.")).values())
    store.close()
    try:
        import evidently  # noqa: F401
    except ImportError:
        print("  (evidently is not installed: pip install evidently 'pandas<3'; peer rows skipped)")
        found["peer_time"] = found["peer"] = found["peer_peak"] = None
        return found
    _evidently(reference_path, current.head(1000))  # warm-up: imports
    found["peer_time"], found["peer"] = _timed(
        lambda: _evidently(reference_path, current), 1 if quick else 3
    )
    found["peer_peak"] = _peak_bytes(lambda: _evidently(reference_path, current))
    return found


def drift_rows(quick: bool, work: Path) -> list[Result]:
    found = _measure(quick, work)
    ours, peer = found["ours"], found["peer"]
    shifted = {c for c, (_, amount) in SHIFTS.items() if amount != 0.02}
    truth = {c: c in shifted for c in found["columns"]}
    ours_right = sum(ours[c] == truth[c] for c in truth)
    peer_peak = None if found["peer_peak"] is None else found["peer_peak"] / 2**20
    rows = [
        Result("16 drift 100k x 20 vs stored reference", found["ours_time"], found["peer_time"],
               "Evidently DataDriftPreset", unit="ms", min_ratio=20.0,
               note=f"profile {found['size'] / 1024:.1f} KiB, built once in "
               f"{found['built']:.2f} s from 100k rows"),
        Result("16 drift peak memory", found["ours_peak"] / 2**20, peer_peak,
               "Evidently DataDriftPreset", unit="MiB", min_ratio=3.0),
        Result("16 no drift on two samples of one distribution (100k)",
               float(found["false_alarms"]), None, "", unit="features", max_ours=0.0),
        Result("16 verdicts right on shifted/unshifted columns", float(len(truth) - ours_right),
               None, "", unit="wrong", max_ours=0.0, note=f"ours {ours_right}/{len(truth)} right"),
    ]  # fmt: skip
    if peer is not None:
        differ = sorted(c for c in truth if peer.get(c) != ours[c])
        rows.append(
            Result("16 verdict agreement with Evidently", float(len(differ)), None, "",
                   unit="differ", max_ours=0.0,
                   note=f"{len(truth) - len(differ)}/{len(truth)} columns agree"
                   + (f"; differ: {', '.join(differ)}" if differ else ""))
        )  # fmt: skip
    return rows


def build_log(store: Any, total: int, batch_rows: int = 200_000) -> float:
    """Fill the prediction log of ``bench/1`` with ``total`` rows of 20 features (as
    ``jupyter mm serve`` would, in batches); returns the seconds it took."""
    import numpy as np

    from jupyter_mm.serving.batchfile import batch_table, write_batch

    started = time.perf_counter()
    frame = make_frame(batch_rows, seed=4, shifted=False)
    now = time.time() - total / 1000  # 1000 predictions a second up to now
    for index, start in enumerate(range(0, total, batch_rows)):
        rows = min(batch_rows, total - start)
        part = frame.iloc[:rows]
        times = now + (start + np.arange(rows)) / 1000
        ids = np.char.add(f"b{index}-", np.arange(rows).astype(str))
        scores = np.random.default_rng(index).random(rows)
        batch = batch_table(ids, times, np.full(rows, 3.0), part, (scores > 0.5).astype(int),
                            np.column_stack([1 - scores, scores]), [0, 1])  # fmt: skip
        write_batch(store, "bench", 1, "champion", batch)
    return time.perf_counter() - started


def window_rows(quick: bool, work: Path) -> list[Result]:
    from jupyter_mm.monitoring import report
    from jupyter_mm.store import open_store

    total = 1_000_000 if quick else int(os.environ.get("MM_BENCH_LOG_ROWS", 10_000_000))
    store = open_store(f"sqlite:///{work / 'mm.db'}")
    built = build_log(store, total)
    size = sum(b.size for b in store.prediction_batches("bench"))
    report("bench/1", 100_000, store=store)  # warm-up: imports, page cache
    seconds, result = _timed(lambda: report("bench/1", 100_000, store=store), 3 if quick else 5)
    assert result["window"]["rows"] == 100_000
    store.close()
    return [
        Result(
            f"16 monitor pass, 100k window of {total / 1e6:g}M logged",
            seconds,
            None,
            "",
            unit="ms",
            max_ours=1.0,
            note=f"log built in {built:.0f} s, {size / 2**20:.0f} MiB of batches "
            f"({size / total:.0f} B per prediction); full report incl. labels and timeline",
        )
    ]


def run(quick: bool) -> list[Result]:
    work = Path(tempfile.mkdtemp(prefix="mm-monitoring-bench-"))
    try:
        from jupyter_mm import tracking

        rows = drift_rows(quick, work)
        rows += window_rows(quick, work)
        tracking.set_default_store(None)
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    from _common import print_table

    print_table(run("--quick" in sys.argv))
