"""Monitoring data for the REST tests: a reference profile for ``fraud/1`` and a window of
logged predictions (half of them labelled), made with a real scikit-learn classifier."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from mm_api_data import store_location

from jupyter_mm.monitoring.profile import build_profile
from jupyter_mm.monitoring.stored import attach_profile
from jupyter_mm.serving.batchfile import batch_table, write_batch
from jupyter_mm.serving.predlog import log_labels
from jupyter_mm.store import open_store


def frame(rows: int, seed: int, shift: float = 0.0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "amount": rng.lognormal(3, 1, size=rows) * (1 + shift),
            "hour": rng.integers(0, 24, size=rows),
            "channel": rng.choice(["web", "app", "shop"], size=rows),
        }
    )
    y = (np.log(X["amount"]) + rng.normal(size=rows) > 3.5).astype(int).to_numpy()
    return X, y


def add_monitoring(root: Path, model: str = "fraud", version: int = 1) -> list[str]:
    """Profile ``model/version`` and log 600 predictions (the last 300 shifted); returns
    the request ids."""
    from sklearn.linear_model import LogisticRegression

    X, y = frame(2_000, seed=0)
    numeric = X[["amount", "hour"]]
    classifier = LogisticRegression().fit(numeric, y)
    with open_store(store_location(root)) as store:
        version_row = store.get_version(model, version)
        attach_profile(
            store, version_row, build_profile(numeric, model=classifier, target=y), "test"
        )
        current = pd.concat(
            [frame(300, seed=1)[0], frame(300, seed=2, shift=1.0)[0]], ignore_index=True
        )[["amount", "hour"]]
        ids = [f"req-{i}" for i in range(len(current))]
        now = time.time()
        batch = batch_table(
            ids, now + np.arange(len(current)) * 1e-3, np.full(len(current), 2.5), current,
            classifier.predict(current), classifier.predict_proba(current), classifier.classes_,
        )  # fmt: skip
        write_batch(store, model, version, "champion", batch)
        log_labels(ids[:300], y[:300], model=model, store=store)
    return ids
