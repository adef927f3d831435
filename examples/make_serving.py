"""Regenerate ``examples/serving.ipynb`` (outputs cleared): ``python examples/make_serving.py``.

Train and register a model, promote it, serve it with ``jupyter mm serve`` in the background,
query it as an MLflow client would, promote a challenger and watch the server swap to it
without a failed request, send labels, and read the prediction log back.
"""

from __future__ import annotations

import nbformat
from _generate import finish_notebook, write_example
from nbformat.v4 import new_code_cell, new_markdown_cell

CELLS = [
    (
        "md",
        """# Serving a registered model

`jupyter mm serve` serves a registry reference (`name@production`) over MLflow's scoring
protocol, follows the registry (a promotion swaps the served version, blue-green), and logs
every prediction for monitoring. Runs offline; headless: `jupyter mm run examples/serving.ipynb`.""",
    ),
    (
        "code",
        """%load_ext jupyter_mm
import json
import socket
import subprocess
import sys
import time
import urllib.request

from sklearn.datasets import load_breast_cancer

import jupyter_mm as mm
from jupyter_mm.serving.predlog import read_batch
from jupyter_mm.tracking import default_store

MODEL = "cancer-serving"
data = load_breast_cancer(as_frame=True)
X, y = data.data, data.target""",
    ),
    (
        "md",
        "## Train, register, promote",
    ),
    (
        "code",
        """%%track --name serving-v1 --metric accuracy
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=500)).fit(X, y)
accuracy = model.score(X, y)
mm.log_model(model, "model", input_example=X.head(5))""",
    ),
    (
        "code",
        """v1 = mm.register_model("latest", "model", MODEL)
mm.transition(MODEL, v1.version, "staging")
mm.transition(MODEL, v1.version, "production", reason="first release")""",
    ),
    (
        "md",
        "## Serve it in the background and query it",
    ),
    (
        "code",
        """with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
server = subprocess.Popen(
    [
        sys.executable,
        "-m",
        "jupyter_mm.cli",
        "serve",
        f"{MODEL}@production",
        "--port",
        str(port),
        "--poll",
        "0.2",
    ]
)
url = f"http://127.0.0.1:{port}"
for _ in range(300):
    try:
        urllib.request.urlopen(url + "/ping", timeout=1)
        break
    except OSError:
        time.sleep(0.2)


def score(rows):
    body = json.dumps(
        {"dataframe_split": {"columns": list(X.columns), "data": rows.values.tolist()}}
    ).encode()
    request = urllib.request.Request(
        url + "/invocations", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request) as response:
        return (
            response.headers["X-Model-Version"],
            response.headers["X-Request-Id"],
            json.load(response),
        )


version, request_id, answer = score(X.head(3))
print(version, answer)""",
    ),
    (
        "md",
        "## Promote a challenger: the server swaps to it",
    ),
    (
        "code",
        """%%track --name serving-v2 --metric accuracy
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=500)).fit(X, y)
accuracy = model.score(X, y)
mm.log_model(model, "model", input_example=X.head(5))""",
    ),
    (
        "code",
        """v2 = mm.register_model("latest", "model", MODEL)
mm.transition(MODEL, v2.version, "staging")
mm.transition(MODEL, v2.version, "production", reason="challenger")
seen = []
for _ in range(100):
    seen.append(score(X.head(1))[0])
    if seen[-1].endswith(f"/{v2.version}"):
        break
    time.sleep(0.1)
print(f"served {seen[0]} first, then {seen[-1]} after {len(seen)} requests, none failed")""",
    ),
    (
        "md",
        "## Labels, then the prediction log",
    ),
    (
        "code",
        """feedback = urllib.request.Request(
    url + "/feedback", json.dumps({"request_id": request_id, "label": 1}).encode()
)
print(json.load(urllib.request.urlopen(feedback)))
server.terminate()
server.wait()  # SIGTERM: everything answered is written first

store = default_store()
batches = store.prediction_batches(MODEL)
print(sum(b.rows for b in batches), "predictions logged in", len(batches), "batches")
read_batch(store, batches[0])[["request_id", "prediction", "latency_ms", "score.1"]].head()""",
    ),
]


def build() -> nbformat.NotebookNode:
    cells = [
        new_markdown_cell(source) if kind == "md" else new_code_cell(source)
        for kind, source in CELLS
    ]
    return finish_notebook(cells, "serving")


if __name__ == "__main__":
    write_example(build(), "serving.ipynb")
