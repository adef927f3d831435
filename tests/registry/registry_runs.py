"""Runs the registry tests register: a module with a name of its own, so that test modules
can import it whichever directories one pytest call collects (every test directory has a
``conftest`` module, and only one of them can be imported under that name)."""

from __future__ import annotations

import jupyter_mm as mm


def train_run(auc: float, *, name: str = "run", input_example: bool = False) -> str:
    """A finished run with a fitted LogisticRegression logged as ``model`` and ``roc_auc``."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]])
    y = np.array([0, 0, 1, 1])
    with mm.start_run(name) as run:
        mm.log_param("C", 1.0)
        mm.log_metric("roc_auc", auc)
        model = LogisticRegression().fit(X, y)
        mm.log_model(model, "model", input_example=X if input_example else None)
    return run.id
