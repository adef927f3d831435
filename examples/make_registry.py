"""Regenerate ``examples/registry.ipynb`` (outputs cleared): ``python examples/make_registry.py``.

The notebook walks through the model registry: three tracked runs, the best one registered,
promoted to staging and production, a promotion refused by a metric gate, an alias, loading
by reference with digest verification, a rollback, the audit trail and the lineage.
"""

from __future__ import annotations

import nbformat
from _generate import finish_notebook, write_example
from nbformat.v4 import new_code_cell, new_markdown_cell

CELLS = [
    (
        "md",
        """# jupyter-mm model registry

Train three variants as tracked runs, register the best one, move it through
**staging → production** with a metric gate, give it an alias, load it back by reference,
roll back a bad release, and walk from the production model to the notebook, data and
environment that produced it.

Runs offline (scikit-learn's bundled dataset). Headless: `jupyter mm run examples/registry.ipynb`,
then `jupyter mm models`, `jupyter mm model cancer` and `jupyter mm lineage cancer@production`.""",
    ),
    (
        "code",
        """%load_ext jupyter_mm
import jupyter_mm as mm
from jupyter_mm.errors import Conflict
from jupyter_mm.registry import Registry

MODEL = "cancer\"""",
    ),
    (
        "md",
        "## Gates\n\nA gate is a condition on the version's run that must hold before the "
        "version enters a stage. Teams put them in `jupyter_mm_config.py` as "
        "`c.Registry.gates = {...}`; here the notebook passes its own `Registry`.",
    ),
    ("code", 'registry = Registry(gates={"production": ["metrics.roc_auc >= 0.95"]})'),
    ("md", "## Data"),
    (
        "code",
        """from pathlib import Path

import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

dataset = load_breast_cancer(as_frame=True).frame
train_df, test_df = train_test_split(
    dataset, test_size=0.25, random_state=0, stratify=dataset["target"]
)
Path("data").mkdir(exist_ok=True)
train_df.to_csv("data/train.csv", index=False)
test_df.to_csv("data/test.csv", index=False)""",
    ),
    (
        "md",
        "## Three runs\n\nA baseline that always predicts the majority class, a scaled "
        "logistic regression and a random forest. Each logs its model with an input "
        "example, so the registered version carries the input signature (columns, dtypes).",
    ),
    (
        "code",
        """%%track --name baseline --metric roc_auc
from sklearn.dummy import DummyClassifier
from sklearn.metrics import roc_auc_score

def load(name):
    frame = pd.read_csv(f"data/{name}.csv")
    return frame.drop(columns="target"), frame["target"]


(X_train, y_train), (X_test, y_test) = load("train"), load("test")
baseline = DummyClassifier(strategy="most_frequent").fit(X_train, y_train)
roc_auc = roc_auc_score(y_test, baseline.predict_proba(X_test)[:, 1])
saved = mm.log_model(baseline, "model", input_example=X_test.head())""",
    ),
    (
        "code",
        """%%track --name logreg --param C --metric roc_auc
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

C = 1.0
(X_train, y_train), (X_test, y_test) = load("train"), load("test")  # recorded as inputs
logreg = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000))
logreg.fit(X_train, y_train)
roc_auc = roc_auc_score(y_test, logreg.predict_proba(X_test)[:, 1])
saved = mm.log_model(logreg, "model", input_example=X_test.head())""",
    ),
    (
        "code",
        """%%track --name forest --param n_estimators --metric roc_auc
from sklearn.ensemble import RandomForestClassifier

n_estimators = 50
(X_train, y_train), (X_test, y_test) = load("train"), load("test")
forest = RandomForestClassifier(n_estimators=n_estimators, random_state=0)
forest.fit(X_train, y_train)
roc_auc = roc_auc_score(y_test, forest.predict_proba(X_test)[:, 1])
saved = mm.log_model(forest, "model", input_example=X_test.head())""",
    ),
    ("code", 'runs = mm.runs()\nruns[["id", "name", "metrics.roc_auc"]]'),
    (
        "md",
        "## A gate refusal\n\nRegister the baseline and try to ship it: the production gate "
        "refuses, says why, and the refusal is kept in the audit trail.",
    ),
    (
        "code",
        """baseline_run = runs.loc[runs["name"] == "baseline", "id"].iloc[0]
v_baseline = mm.register_model(baseline_run, "model", MODEL, "majority-class baseline")
mm.transition(MODEL, v_baseline.version, "staging", reason="smoke test", registry=registry)
try:
    mm.transition(MODEL, v_baseline.version, "production", reason="ship it", registry=registry)
except Conflict as refusal:
    print(refusal)""",
    ),
    (
        "md",
        "## Register and promote the best run\n\nThe logistic regression has the best "
        "ROC AUC here; it passes the gate. Promoting it archives nothing yet (nothing was "
        "in production).",
    ),
    (
        "code",
        """best_run = runs.loc[runs["name"] == "logreg", "id"].iloc[0]
v_best = mm.register_model(best_run, "model", MODEL, "scaled logistic regression")
mm.transition(MODEL, v_best.version, "staging", reason="offline eval ok", registry=registry)
mm.transition(MODEL, v_best.version, "production", reason="beats the baseline", registry=registry)
mm.set_alias(MODEL, v_best.version, "champion")
print(v_best.signature["columns"][:3])""",
    ),
    (
        "md",
        "## Load by reference\n\n`load_model` checks the artifact's BLAKE3 digest against "
        "the registered one *before* deserializing. scikit-learn models are stored with "
        "skops when it is installed (no pickle); joblib/pickle models need `trusted=True`.",
    ),
    (
        "code",
        """# trusted=True matters only without skops, when scikit-learn models fall back to joblib
production = mm.load_model(f"{MODEL}@production", trusted=True)
champion = mm.load_model(f"{MODEL}@champion", trusted=True)
test = pd.read_csv("data/test.csv")
accuracy = (production.predict(test.drop(columns="target")) == test["target"]).mean()
print(f"{type(production).__name__}: accuracy {accuracy:.3f}")""",
    ),
    (
        "md",
        "## A bad release and a rollback\n\nThe forest goes to production (the logistic "
        "regression is archived automatically), then is rolled back in one call.",
    ),
    (
        "code",
        """forest_run = runs.loc[runs["name"] == "forest", "id"].iloc[0]
v_forest = mm.register_model(forest_run, "model", MODEL, "random forest, 50 trees")
mm.transition(MODEL, v_forest.version, "staging", registry=registry)
mm.transition(MODEL, v_forest.version, "production", reason="try the forest", registry=registry)
restored = mm.rollback(MODEL, reason="latency regression")
print(f"production is version {restored.version} again")
mm.models()""",
    ),
    (
        "md",
        "## Audit trail and lineage\n\nEvery change, refused ones included, with who, when "
        "and why; then the path from the production model back to its notebook checkpoint, "
        "data digests and environment (`jupyter mm lineage cancer@production`).",
    ),
    (
        "code",
        """events = pd.DataFrame([e.to_dict() for e in mm.get_model(MODEL).events])
events[["user", "action", "version", "from_stage", "to_stage", "reason"]]""",
    ),
    (
        "code",
        """from jupyter_mm.registry.lineage import lineage, lineage_text

print(lineage_text(lineage(f"{MODEL}@production")))""",
    ),
]


def build() -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell(source) if kind == "md" else new_code_cell(source)
        for kind, source in CELLS
    ]
    return finish_notebook(cells, "registry")


if __name__ == "__main__":
    write_example(build(), "registry.ipynb")
