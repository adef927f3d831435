"""Regenerate ``examples/quickstart.ipynb`` (outputs cleared): ``python examples/make_quickstart.py``.

The notebook is generated rather than hand-edited so that its cells stay small, reviewed
Python and its JSON stays free of outputs and execution counts.
"""

from __future__ import annotations

import nbformat
from _generate import finish_notebook, write_example
from nbformat.v4 import new_code_cell, new_markdown_cell

CELLS = [
    (
        "md",
        """# jupyter-mm quickstart

Three model variants trained on scikit-learn's bundled breast-cancer dataset, each one a
**tracked run**: `%%track` records the notebook as it ran, the kernel environment, the data
files the cell read and wrote (with their hashes), the parameters, the metrics and the model.

Run it in JupyterLab, or headless with `jupyter mm run examples/quickstart.ipynb`, then look
at the runs with `jupyter mm runs`, `jupyter mm show latest` or `jupyter mm diff A B`.""",
    ),
    ("md", "Load the extension (it registers `%%track`) and the Python API."),
    ("code", "%load_ext jupyter_mm\nimport jupyter_mm as mm"),
    (
        "md",
        "## Parameters\n\nThe cell tagged `parameters`: `jupyter mm run -p test_size=0.3` "
        "overrides these values in an injected cell right below it.",
    ),
    ("params", "test_size = 0.25\nseed = 0\nn_estimators = 60"),
    (
        "md",
        "## Data\n\nWrite a train/test split to CSV files. The tracked cells below *read* "
        "these files, so each run records their paths and content hashes: if the data "
        "changes, `jupyter mm diff` shows it.",
    ),
    (
        "code",
        """from pathlib import Path

import pandas as pd  # noqa: F401 -- used in the %%track cells, which ruff skips
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

dataset = load_breast_cancer(as_frame=True).frame
train_df, test_df = train_test_split(
    dataset, test_size=test_size, random_state=seed, stratify=dataset["target"]
)
Path("data").mkdir(exist_ok=True)
train_df.to_csv("data/train.csv", index=False)
test_df.to_csv("data/test.csv", index=False)
print(f"{len(train_df)} training rows, {len(test_df)} test rows")""",
    ),
    (
        "md",
        "## Run 1: logistic regression, C = 1\n\n`--param` names the variables recorded as "
        "parameters, `--metric` the variables read as metrics when the cell finishes. "
        "`mm.log_model` stores the fitted model as an artifact; the predictions CSV is "
        "recorded as an output file.",
    ),
    (
        "code",
        """%%track --name logreg-c1 --param C,max_iter --metric accuracy,roc_auc
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

C = 1.0
max_iter = 500
train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")
X_train, y_train = train.drop(columns="target"), train["target"]
X_test, y_test = test.drop(columns="target"), test["target"]

model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))
model.fit(X_train, y_train)
proba = model.predict_proba(X_test)[:, 1]
accuracy = accuracy_score(y_test, proba > 0.5)
roc_auc = roc_auc_score(y_test, proba)

mm.log_model(model, "model")
pd.DataFrame({"proba": proba}).to_csv("data/predictions-logreg-c1.csv", index=False)
print(f"accuracy={accuracy:.3f} roc_auc={roc_auc:.3f}")""",
    ),
    (
        "md",
        "## Run 2: stronger regularisation, C = 0.05\n\nThe same code with another `C`: "
        "`jupyter mm diff` between runs 1 and 2 shows exactly this change.",
    ),
    (
        "code",
        """%%track --name logreg-c005 --param C,max_iter --metric accuracy,roc_auc
C = 0.05
max_iter = 500
train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")
X_train, y_train = train.drop(columns="target"), train["target"]
X_test, y_test = test.drop(columns="target"), test["target"]

model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))
model.fit(X_train, y_train)
proba = model.predict_proba(X_test)[:, 1]
accuracy = accuracy_score(y_test, proba > 0.5)
roc_auc = roc_auc_score(y_test, proba)

mm.log_model(model, "model")
pd.DataFrame({"proba": proba}).to_csv("data/predictions-logreg-c005.csv", index=False)
print(f"accuracy={accuracy:.3f} roc_auc={roc_auc:.3f}")""",
    ),
    (
        "md",
        "## Run 3: random forest, grown step by step\n\nThe forest grows 10 trees at a time "
        "(`warm_start`); `mm.log_metric(..., step=)` records the test accuracy after each "
        "step, so the run has a metric curve, not just a final number.",
    ),
    (
        "code",
        """%%track --name random-forest --param n_estimators,max_depth --metric accuracy,roc_auc
from sklearn.ensemble import RandomForestClassifier

max_depth = 6
train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")
X_train, y_train = train.drop(columns="target"), train["target"]
X_test, y_test = test.drop(columns="target"), test["target"]

forest = RandomForestClassifier(max_depth=max_depth, warm_start=True, random_state=seed)
for trees in range(10, n_estimators + 1, 10):
    forest.set_params(n_estimators=trees)
    forest.fit(X_train, y_train)
    mm.log_metric("step_accuracy", accuracy_score(y_test, forest.predict(X_test)), step=trees)

proba = forest.predict_proba(X_test)[:, 1]
accuracy = accuracy_score(y_test, proba > 0.5)
roc_auc = roc_auc_score(y_test, proba)

mm.log_model(forest, "model")
pd.DataFrame({"proba": proba}).to_csv("data/predictions-random-forest.csv", index=False)
print(f"accuracy={accuracy:.3f} roc_auc={roc_auc:.3f}")""",
    ),
    (
        "md",
        "## All runs\n\n`mm.runs()` returns the recorded runs as a DataFrame (params and "
        "latest metrics as columns).",
    ),
    ("code", "mm.runs()"),
]


def build() -> nbformat.NotebookNode:
    cells = []
    for kind, source in CELLS:
        if kind == "md":
            cells.append(new_markdown_cell(source))
        else:
            cell = new_code_cell(source)
            if kind == "params":
                cell.metadata["tags"] = ["parameters"]
            cells.append(cell)
    return finish_notebook(cells, "quickstart")


if __name__ == "__main__":
    write_example(build(), "quickstart.ipynb")
