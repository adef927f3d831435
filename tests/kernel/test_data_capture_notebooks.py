"""Data capture in notebooks shaped like real ones, through ``jupyter mm run`` (a real
kernel): data loaded in untracked cells above (CSV, parquet, SQLite, a parquet directory),
a helper module next to the notebook, GridSearchCV and joblib with loky workers, fork
and spawn pools, a thread pool created earlier, read-then-overwrite, ``r+`` used to read; and
``reproduce`` of the common layout (data read above the tracked cell)."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from mm_test_support import run_cli
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_mm.capture.data import hash_bytes

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

pytestmark = pytest.mark.kernel


def write_notebook(path: Path, cells: list[str]) -> None:
    nb = new_notebook(cells=[new_code_cell(source) for source in cells])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, str(path))


HELPERS = '''\
import json
from sklearn.base import BaseEstimator, TransformerMixin


class FileScaler(BaseEstimator, TransformerMixin):
    """Reads its scale from a file when fitted (in GridSearchCV's workers too)."""

    def __init__(self, path="data/scale.json"):
        self.path = path

    def fit(self, X, y=None):
        with open(self.path) as handle:
            self.scale_ = json.load(handle)["scale"]
        return self

    def transform(self, X):
        return X * self.scale_


def shard_length(path):
    with open(path) as handle:
        return len(handle.read())
'''

LOAD = """\
import pandas as pd, sqlite3, pyarrow.parquet as pq
from concurrent.futures import ThreadPoolExecutor
from helpers import FileScaler, shard_length
train = pd.read_csv("data/train.csv")
extra = pd.read_parquet("data/extra.parquet")
"""

MORE = """\
con = sqlite3.connect("data/labels.db")
labels = pd.read_sql("select * from labels", con)
parts = pq.read_table("data/parts")
pool = ThreadPoolExecutor(2)  # created here, used by the tracked cell
"""

TRACKED = """\
%%track --name grid --metric best
import json, multiprocessing, os
from joblib import Parallel, delayed
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
features = train[list("abcd")]
grid = GridSearchCV(
    make_pipeline(FileScaler(), LogisticRegression()),
    {"logisticregression__C": [0.1, 1.0]}, n_jobs=2, cv=3,
)
grid.fit(features, labels["y"])
best = float(grid.best_score_)
# read only inside loky workers (never in this process)
lengths = Parallel(n_jobs=2)(delayed(shard_length)(p) for p in ["data/w1.txt", "data/w2.txt"])
assert os.getpid() not in Parallel(n_jobs=2)(delayed(os.getpid)() for _ in range(4))
with multiprocessing.get_context("fork").Pool(2) as fork_pool:
    lengths += fork_pool.map(shard_length, ["data/f1.txt"])
with multiprocessing.get_context("spawn").Pool(1) as spawn_pool:
    lengths += spawn_pool.map(shard_length, ["data/s1.txt"])
lengths.append(pool.submit(shard_length, "data/t1.txt").result())
state = json.load(open("data/state.json"))
state["epoch"] += 1
json.dump(state, open("data/state.json", "w"))
with open("data/config.txt", "r+") as handle:
    config = handle.read()
pd.DataFrame({"p": grid.predict(features)}).to_parquet("out/preds.parquet")
results = sqlite3.connect("out/results.db")
results.execute("create table r(v)")
results.execute("insert into r values (1)")
results.commit()
results.close()
"""


def make_project(root: Path) -> None:
    (root / "data" / "parts").mkdir(parents=True)
    (root / "out").mkdir()
    rng = np.random.default_rng(0)
    values = rng.normal(size=(120, 4))
    train = pd.DataFrame(values, columns=list("abcd"))
    train.to_csv(root / "data" / "train.csv", index=False)
    train[["a"]].to_parquet(root / "data" / "extra.parquet")
    with sqlite3.connect(root / "data" / "labels.db") as con:
        labels = pd.DataFrame({"y": (values[:, 0] + values[:, 1] > 0).astype(int)})
        labels.to_sql("labels", con, index=False)
    con.close()
    for i in range(3):
        pq.write_table(pa.table({"v": [i, i + 1]}), root / "data" / "parts" / f"{i}.parquet")
    (root / "data" / "scale.json").write_text(json.dumps({"scale": 2.0}))
    (root / "data" / "state.json").write_text(json.dumps({"epoch": 0}))
    (root / "data" / "config.txt").write_text("alpha=1\n")
    for name in ("w1", "w2", "f1", "s1", "t1"):
        (root / "data" / f"{name}.txt").write_text(name * 3)
    (root / "helpers.py").write_text(HELPERS)


def test_real_shaped_notebook_records_every_kind_of_data(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    make_project(project)
    state_before = hash_bytes((project / "data" / "state.json").read_bytes())
    write_notebook(project / "train.ipynb", ["%load_ext jupyter_mm", LOAD, MORE, TRACKED])
    store = f"sqlite:///{tmp_path / 'store' / 'mm.db'}"

    ran = run_cli("run", "train.ipynb", store=store, cwd=project, timeout=400)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    shown = run_cli("show", "latest", "--json", store=store, cwd=project, timeout=400)
    detail = json.loads(shown.stdout)
    assert detail["run"]["status"] == "finished", detail["run"]
    refs = {(d["role"], os.path.relpath(d["name"], project), d["kind"]): d for d in detail["data"]}
    data = "data" + os.sep
    assert set(refs) == {
        ("input", data + "config.txt", "file"),  # r+ used only to read
        ("input", data + "scale.json", "file"),
        ("input", data + "w1.txt", "file"),  # loky workers
        ("input", data + "w2.txt", "file"),
        ("input", data + "f1.txt", "file"),  # fork pool
        ("input", data + "s1.txt", "file"),  # spawn pool
        ("input", data + "t1.txt", "file"),  # thread pool made in an earlier cell
        ("input", data + "state.json", "file"),  # read, then overwritten
        ("output", data + "state.json", "file"),
        ("output", os.path.join("out", "preds.parquet"), "file"),
        ("output", os.path.join("out", "results.db"), "file"),
        ("upstream", data + "train.csv", "file"),
        ("upstream", data + "extra.parquet", "file"),
        ("upstream", data + "labels.db", "file"),
        ("upstream", data + "parts", "directory"),
    }
    assert refs[("input", data + "state.json", "file")]["digest"] == state_before
    assert refs[("output", data + "state.json", "file")]["digest"] == hash_bytes(
        (project / "data" / "state.json").read_bytes()
    )
    train_ref = refs[("upstream", data + "train.csv", "file")]
    assert train_ref["detail"].startswith("read by In [2]")
    assert train_ref["digest"] == hash_bytes((project / "data" / "train.csv").read_bytes())
    assert refs[("upstream", data + "labels.db", "file")]["detail"].startswith("read by In [3]")
    assert refs[("upstream", data + "parts", "directory")]["detail"].startswith("3 files; ")
    assert detail["warnings"] == []

    text = run_cli("show", "latest", store=store, cwd=project, timeout=400).stdout
    assert "upstream file      data/train.csv" in text


COMMON = [
    "%load_ext jupyter_mm",
    "import pandas as pd\ndf = pd.read_csv('data/train.csv')",
    """\
%%track --name logreg --metric acc
from sklearn.linear_model import LogisticRegression
model = LogisticRegression().fit(df[["x"]], df["y"])
acc = float(model.score(df[["x"]], df["y"]))
""",
]


def test_reproduce_the_common_layout_and_refuse_changed_upstream_data(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    train = project / "data" / "train.csv"
    train.write_text("x,y\n" + "\n".join(f"{x},{int(x > 4)}" for x in range(10)) + "\n")
    write_notebook(project / "train.ipynb", COMMON)
    store = f"sqlite:///{tmp_path / 'store' / 'mm.db'}"
    ran = run_cli("run", "train.ipynb", store=store, cwd=project, timeout=400)
    assert ran.returncode == 0, ran.stdout + ran.stderr

    same = run_cli("reproduce", "latest", "--json", store=store, cwd=project, timeout=400)
    report = json.loads(same.stdout)
    assert same.returncode == 0, report
    assert report["ok"] and report["executed"] and report["reasons"] == []
    assert [(d["name"], d["role"], d["status"]) for d in report["data"]] == [
        (str(train), "upstream", "same")
    ]
    assert report["metrics"][0]["ok"]

    train.write_text(train.read_text().replace("9,1", "9,0"))
    changed = run_cli("reproduce", "latest", store=store, cwd=project, timeout=400)
    assert changed.returncode == 1
    assert f"  - upstream input {train} (read by In [2]" in changed.stdout
    assert "changed since the run" in changed.stdout
    assert "not re-executed: its inputs differ" in changed.stdout
    assert "FileNotFoundError" not in changed.stdout + changed.stderr
