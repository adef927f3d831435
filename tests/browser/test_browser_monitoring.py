"""The Monitoring view in a real JupyterLab: a classifier registered with its reference
profile, then predictions on a shifted slice logged in two halves — the first labelled,
the second not — so the view must show measured and estimated performance on one
timeline, the production gate's bound, the drifted feature with its histograms, and the
way back to the version's checkpoint and lineage.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

import jupyter_mm as mm
from jupyter_mm import tracking
from jupyter_mm.store import open_store

from .harness import Lab, new_lab_page, run_command, screenshot

pytestmark = pytest.mark.browser

MODEL = "churn-monitored"
GATE = "metrics.roc_auc >= 0.78"


def customers(rows: int, seed: int, *, older: float = 0.0) -> tuple[pd.DataFrame, np.ndarray]:
    """Customers whose churn depends on age; ``older`` shifts ages by that many standard
    deviations and turns the dependence around (a shift that hurts the model)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 10, size=rows) + older * 10,
            "balance": rng.lognormal(7, 1, size=rows),
            "region": rng.choice(["north", "south", "east"], size=rows, p=[0.5, 0.3, 0.2]),
        }
    )
    sign = -1 if older else 1
    z = sign * (frame["age"] - 40) / 10 + (np.log(frame["balance"]) - 7)
    return frame, (rng.random(rows) < 1 / (1 + np.exp(-2 * z))).astype(int)


def _pipeline() -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    columns = ColumnTransformer(
        [("num", StandardScaler(), ["age", "balance"]), ("cat", OneHotEncoder(), ["region"])]
    )
    return make_pipeline(columns, LogisticRegression())


def _train_and_log(store_url: str) -> str:
    """Register v1 with a reference, put it in production, log 2 000 shifted predictions:
    the first 1 000 with labels. Returns the version's run id."""
    store = open_store(store_url)
    tracking.set_default_store(store)
    try:
        X, y = customers(4_000, seed=1)
        model = _pipeline().fit(X, y)
        with mm.start_run("train-monitored") as run:
            mm.log_metric("roc_auc", 0.85)
            mm.log_model(model, "model", reference=X, reference_target=y)
        mm.register_model(run.id, "model", MODEL, store=store)
        mm.transition(MODEL, 1, "staging", "offline eval", store=store)
        mm.transition(MODEL, 1, "production", "release", store=store)
        shifted, truth = customers(2_000, seed=2, older=1.5)
        ids = mm.log_predictions(
            f"{MODEL}@production",
            shifted,
            model.predict(shifted),
            scores=model.predict_proba(shifted),
            classes=model.classes_,
            store=store,
        )
        mm.log_labels(ids[:1_000], truth[:1_000], store=store)
        return run.id
    finally:
        tracking.set_default_store(None)
        store.close()


@pytest.fixture(scope="module")
def monitored(browser: Any, lab: Lab) -> Iterator[tuple[Any, str]]:
    config = lab.root_dir / "jupyter_mm_config.py"
    config.write_text(f"c.Registry.gates = {{'production': [{GATE!r}]}}\n")
    page = None
    try:
        run_id = _train_and_log(lab.store_url)
        page = new_lab_page(browser, lab)
        yield page, run_id
    finally:
        if page is not None:
            page.context.close()
        config.unlink()


@pytest.fixture(scope="module")
def expect() -> Any:
    from playwright.sync_api import expect

    return expect


def test_the_report_endpoint_carries_the_gate_bound(monitored: Any, lab: Lab) -> None:
    body = lab.api_json(f"/models/{MODEL}/monitoring?window=2000")
    assert body["version"] == 1 and body["window"]["rows"] == 2_000
    assert body["thresholds"] == [
        {"metric": "roc_auc", "op": ">=", "value": 0.78, "source": "gate:production"}
    ]
    assert body["metrics"]["labelled"] == 1_000
    assert body["metrics"]["drift.age"] > 0  # the shifted feature moved


def test_the_view_from_the_model_tab(monitored: Any, expect: Any) -> None:
    page, _ = monitored
    run_command(page, "jupyter-mm:open-model", {"name": MODEL})
    page.locator(f'.jp-mm-Model[data-model="{MODEL}"] [data-testid="mm-open-monitoring"]').click()
    view = page.locator(f'.jp-mm-Monitoring[data-model="{MODEL}"]')
    expect(view.locator('[data-testid="mm-monitoring-summary"]')).to_be_visible()
    # the window has 1 000 labelled and 1 000 unlabelled predictions: the default window
    # (the last 1 000) holds only unlabelled ones, so performance is an estimate
    summary = view.locator('[data-testid="mm-monitoring-summary"]')
    expect(summary.locator('[data-label="roc_auc (estimated)"]')).to_be_visible()
    view.locator('[data-testid="mm-monitoring-window"]').select_option(
        label="last 10 000 predictions"
    )
    expect(summary.locator('[data-label="predictions"]')).to_contain_text("2000")
    expect(summary.locator('[data-label="roc_auc"]')).to_be_visible()
    # measured and estimated points on one timeline, against the gate's bound
    performance = view.locator('[data-testid="mm-monitoring-performance"]')
    expect(performance).to_contain_text("gate:production: roc_auc >= 0.78")
    expect(
        performance.locator(
            '[data-testid="mm-monitoring-timeline"] canvas, '
            '[data-testid="mm-monitoring-timeline"] svg'
        ).first
    ).to_be_visible()
    # the shifted feature is flagged; its histograms open on demand
    age = view.locator('.jp-mm-DriftRow[data-feature="age"]')
    expect(age).to_have_attribute("data-drifted", "true")
    age.locator("button").click()
    expect(view.locator('[data-testid="mm-monitoring-histogram"]')).to_be_visible()
    screenshot(page, "monitoring-view")


def test_lineage_from_the_view(monitored: Any, expect: Any) -> None:
    page, run_id = monitored
    view = page.locator(f'.jp-mm-Monitoring[data-model="{MODEL}"]')
    view.locator(".jp-mm-MonitoringHeader button", has_text="lineage").click()
    lineage = page.locator(f'.jp-mm-Lineage[data-model="{MODEL}"][data-version="1"]')
    expect(lineage).to_be_visible()
    expect(lineage).to_contain_text(run_id[:8])
