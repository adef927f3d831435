"""Regenerate ``examples/monitoring.ipynb`` (outputs cleared): ``python examples/make_monitoring.py``.

Train on the bundled breast-cancer dataset with a reference profile, register and promote
the model, log two days of predictions (the second after a sensor recalibration shifts five
measurements), send labels for part of them, and read drift and the performance drop from
the monitoring report (Python API and `jupyter mm monitor`).
"""

from __future__ import annotations

import nbformat
from _generate import finish_notebook, write_example
from nbformat.v4 import new_code_cell, new_markdown_cell

CELLS = [
    (
        "md",
        """# Monitoring a model: drift and live performance

The reference profile is captured when the model is logged (`reference=X_train`): a few
kilobytes of histograms, category counts and score distributions stored with the version.
Monitoring compares logged predictions with it (drift per feature, effect sizes against
thresholds calibrated on the reference) and measures performance from labels as they
arrive, estimating it from calibrated scores where they have not. Runs offline; headless:
`jupyter mm run examples/monitoring.ipynb`.""",
    ),
    (
        "code",
        """%load_ext jupyter_mm
import subprocess
import sys
import time

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

import jupyter_mm as mm
from jupyter_mm import monitoring

MODEL = "cancer-monitored"
data = load_breast_cancer(as_frame=True)
X_train, X_later, y_train, y_later = train_test_split(
    data.data, data.target, test_size=0.4, random_state=0, stratify=data.target
)""",
    ),
    (
        "md",
        "## Train with a reference profile, register, promote",
    ),
    (
        "code",
        """%%track --name monitored-v1 --metric accuracy
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=1000))
model.fit(X_train, y_train)
accuracy = model.score(X_later, y_later)
mm.log_model(
    model, "model", input_example=X_train.head(5), reference=X_train, reference_target=y_train
)""",
    ),
    (
        "code",
        """# v1 went out first; v2, the same pipeline registered again, replaced it today
for release in ("first release", "today's release"):
    version = mm.register_model("latest", "model", MODEL)
    mm.transition(MODEL, version.version, "staging")
    mm.transition(MODEL, version.version, "production", reason=release)
production = mm.load_model(f"{MODEL}@production")
print(f"in production: version {version.version}")""",
    ),
    (
        "md",
        """## Two days of traffic

Day 1 looks like the held-out data. On day 2 a recalibrated instrument reports five
measurements 40% larger and one noisier: the inputs drift and the model gets worse.
Labels (the diagnosis) arrive for all of day 1 but only for the first half of day 2.""",
    ),
    (
        "code",
        """rng = np.random.default_rng(0)
picks = rng.integers(0, len(X_later), size=2000)
traffic = X_later.iloc[picks].reset_index(drop=True)
truth = y_later.iloc[picks].reset_index(drop=True)
day1, day2 = traffic.iloc[:1000].copy(), traffic.iloc[1000:].copy()
recalibrated = [
    "worst radius",
    "worst perimeter",
    "worst area",
    "mean concave points",
    "worst texture",
]
day2[recalibrated] *= 1.4
day2["mean texture"] += rng.normal(0, 6, size=len(day2))


def log_day(day):
    return mm.log_predictions(
        f"{MODEL}@production",
        day,
        production.predict(day),
        scores=production.predict_proba(day),
        classes=production.classes_,
    )


ids1 = log_day(day1)
time.sleep(0.01)  # day 2 is logged after day 1
ids2 = log_day(day2)
mm.log_labels(ids1, truth.iloc[:1000])
mm.log_labels(ids2[:500], truth.iloc[1000:1500])""",
    ),
    (
        "md",
        "## Drift: which inputs moved, by how much",
    ),
    (
        "code",
        """report = monitoring.report(MODEL, window=2000, step=250)
drift = pd.DataFrame(report["drift"]["features"])
print(f"{report['drift']['drifted']} of {report['drift']['total']} features drifted")
columns = ["feature", "method", "value", "threshold", "drifted"]
drift[columns].sort_values("value", ascending=False).head(8)""",
    ),
    (
        "md",
        """## Performance: measured where labels arrived, estimated where not

The timeline's last two windows have no labels yet: their values are the confidence-based
estimate. Here the estimate stays high while the measured accuracy of day 2 has dropped:
the recalibration moved inputs where the model's confidence is no longer earned, which
only labels can reveal (the estimate assumes the scores stay calibrated).""",
    ),
    (
        "code",
        """timeline = pd.DataFrame(
    [
        {
            "window": w["index"],
            "source": w["source"],
            "labelled": w["labelled"],
            "accuracy": w["measured"].get("accuracy"),
            "estimated_accuracy": w["estimated"].get("accuracy"),
        }
        for w in report["performance"]
    ]
)
day1_accuracy = timeline["accuracy"][:4].mean()
day2_accuracy = timeline["accuracy"][4:6].mean()
print(f"accuracy day 1 {day1_accuracy:.3f}, day 2 {day2_accuracy:.3f}")
timeline""",
    ),
    (
        "md",
        "The flat `metrics` dict is what alert rules evaluate; the CLI prints the same report.",
    ),
    (
        "code",
        """{
    name: report["metrics"][name]
    for name in ("accuracy", "estimated_accuracy", "drift_share", "labelled")
}""",
    ),
    (
        "code",
        """command = [sys.executable, "-m", "jupyter_mm.cli", "monitor", MODEL]
command += ["--window", "2000", "--step", "500"]
print(subprocess.run(command, capture_output=True, text=True, check=True).stdout)""",
    ),
    (
        "md",
        """## Alerts and an automatic rollback

Rules over `report["metrics"]` live in configuration (`c.Monitor.rules`, the gates'
expression language, never `eval`). This one reads the newest 500 labelled predictions of
the production version and, when their accuracy is under 0.9, records an alert with its
evidence and rolls the registry back. `jupyter mm watch --check` evaluates once (`--every
60s` keeps watching; the Jupyter server can too, `c.Monitor.interval`). The configuration
goes to a scratch directory so that the example leaves nothing behind.""",
    ),
    (
        "code",
        """import os
import tempfile
from pathlib import Path

config_dir = Path(tempfile.mkdtemp())
rule = {"when": "accuracy < 0.9 over 500 labelled", "actions": ["notify", "rollback"]}
(config_dir / "jupyter_mm_config.py").write_text(f"c.Monitor.rules = [{rule!r}]\\n")
env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config_dir)}
watch = [sys.executable, "-m", "jupyter_mm.cli", "watch", MODEL, "--check"]
print(subprocess.run(watch, capture_output=True, text=True, check=True, env=env).stdout)
back = mm.get_model(MODEL).production
print(f"in production after the alert: version {back.version}")""",
    ),
    (
        "md",
        """The alert is an append-only event (`jupyter mm alerts`, the model's Monitoring tab in
JupyterLab), and the rollback is in the audit trail with the alert named as its reason.

## Retraining from this notebook

A rule with the `retrain` action, `jupyter mm retrain cancer-monitored [--data new.csv]
[--promote]`, or `jupyter_mm.alerts.retrain` re-executes the production version's source
checkpoint — this notebook as it was when the training cell ran, cut after that cell —
headless in a fresh kernel in a scratch directory (a `--data` path goes into its
`parameters` cell), registers the model it logs as a new version linked to the alert,
checks the gates and stages it (production only with `--promote`, when it beats the current
version on the same labelled predictions). Production is version 1 again, so that is what
is retrained; it takes a few seconds here (a kernel start and the training cell).""",
    ),
    (
        "code",
        """from jupyter_mm import alerts

alert = [e for e in mm.get_model(MODEL).events if e.action == "alert"][-1]
retrained = alerts.retrain(MODEL, alert_id=alert.id)
print(retrained.summary())
new = mm.get_model(MODEL).version(retrained.new_version)
print(f"version {new.version} ({new.stage}): {new.description}")
print([step["step"] for step in retrained.steps])""",
    ),
]


def build() -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell(source) if kind == "md" else new_code_cell(source)
        for kind, source in CELLS
    ]
    return finish_notebook(cells, "monitoring")


if __name__ == "__main__":
    write_example(build(), "monitoring.ipynb")
