"""A registered classifier with a reference profile, on a real store (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest

import jupyter_mm as mm
from jupyter_mm import tracking

FEATURES = ["age", "balance", "visits", "region"]


def customers(rows: int, seed: int, *, older: float = 0.0) -> tuple[pd.DataFrame, pd.Series]:
    """Inputs and labels; ``older`` shifts ages by that many standard deviations and makes
    the label depend on age the other way (a shift that hurts the model)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 10, size=rows) + older * 10,
            "balance": rng.lognormal(7, 1, size=rows),
            "visits": rng.integers(0, 40, size=rows),
            "region": rng.choice(
                ["north", "south", "east", "west"], size=rows, p=[0.4, 0.3, 0.2, 0.1]
            ),
        }
    )
    z = (frame["age"] - 40) / 10 * (-1 if older else 1) + (np.log(frame["balance"]) - 7) - 0.3
    target = pd.Series((rng.random(rows) < 1 / (1 + np.exp(-2 * z))).astype(int), name="churned")
    return frame, target


def make_pipeline() -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline as pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    columns = ColumnTransformer(
        [
            ("num", StandardScaler(), ["age", "balance", "visits"]),
            ("cat", OneHotEncoder(), ["region"]),
        ]
    )
    return pipeline(columns, LogisticRegression())


@dataclass
class Registered:
    store: Any
    model: Any
    X: pd.DataFrame
    y: pd.Series
    version: Any


@pytest.fixture
def registered(store: Any) -> Iterator[Registered]:
    """``churn/1``: a pipeline trained on 5 000 customers, logged with its reference."""
    tracking.set_default_store(store)
    try:
        X, y = customers(5_000, seed=0)
        model = make_pipeline().fit(X, y)
        with mm.start_run("train") as run:
            mm.log_model(model, "model", reference=X, reference_target=y)
        version = mm.register_model(run.id, "model", "churn", store=store)
        yield Registered(store, model, X, y, version)
    finally:
        tracking.set_default_store(None)
