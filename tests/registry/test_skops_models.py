"""Real scikit-learn models load without ``trusted``; a tampered tree does not.

Tree-based models need ``sklearn.tree._tree.Tree``, which skops does not trust by default
(scikit-learn follows its stored node indices without bounds checks). jupyter-mm accepts
it after checking each stored tree; the tampered files here are real skops files whose
tree arrays or attributes were edited afterwards, as anyone with write access to a store
could.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

import jupyter_mm as mm
from jupyter_mm.errors import InvalidInput
from jupyter_mm.flavors import MEDIA_TYPE_SKOPS

skops_io = pytest.importorskip("skops.io")


def _iris() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_iris

    return load_iris(return_X_y=True)


def _models() -> dict[str, Callable[[], tuple[Any, Any]]]:
    """name -> () -> (fitted model, input to predict on)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import (
        GradientBoostingClassifier,
        GradientBoostingRegressor,
        RandomForestClassifier,
    )
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, y = _iris()
    frame = pd.DataFrame({"size": X[:, 0], "kind": np.array(["a", "b", "c"])[y]})

    def column_transformer() -> tuple[Any, Any]:
        columns = ColumnTransformer(
            [
                ("kind", OneHotEncoder(handle_unknown="ignore"), ["kind"]),
                ("size", StandardScaler(), ["size"]),
            ]
        )
        model = Pipeline([("columns", columns), ("clf", LogisticRegression(max_iter=500))])
        return model.fit(frame, y), frame

    def grid_search() -> tuple[Any, Any]:
        search = GridSearchCV(
            RandomForestClassifier(n_estimators=5, random_state=0), {"max_depth": [2, 4]}, cv=3
        )
        return search.fit(X, y).best_estimator_, X

    return {
        "logistic regression": lambda: (LogisticRegression(max_iter=500).fit(X, y), X),
        "random forest": lambda: (
            RandomForestClassifier(n_estimators=8, random_state=0).fit(X, y),
            X,
        ),
        "scaler + logistic pipeline": lambda: (
            Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=500))]).fit(
                X, y
            ),
            X,
        ),
        "grid search best estimator": grid_search,
        "gradient boosting classifier": lambda: (
            GradientBoostingClassifier(n_estimators=10, random_state=0).fit(X, y),
            X,
        ),
        "gradient boosting regressor": lambda: (
            GradientBoostingRegressor(n_estimators=10, random_state=0).fit(X, X[:, 3]),
            X,
        ),
        "column transformer with one-hot": column_transformer,
    }


@pytest.mark.parametrize("kind", list(_models()))
def test_real_models_round_trip_without_trust(mm_store, kind):
    model, inputs = _models()[kind]()
    with mm.start_run() as run:
        saved = mm.log_model(model, "model")
    assert saved.media_type == MEDIA_TYPE_SKOPS
    mm.register_model(run.id, "model", "real")
    loaded = mm.load_model("real/1")
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.predict(inputs), model.predict(inputs))


# -- tampered trees -------------------------------------------------------------------------


def _forest_file() -> tuple[bytes, np.ndarray]:
    from sklearn.ensemble import RandomForestClassifier

    X, y = _iris()
    forest = RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(X, y)
    return skops_io.dumps(forest), X


def _tree_nodes(schema: Any) -> list[dict[str, Any]]:
    found, stack = [], [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            if node.get("__loader__") == "TreeNode":
                found.append(node)
            stack.extend(node.values())
    return found


def _edit(data: bytes, change: Callable[[dict[str, Any], dict[str, bytes]], None]) -> bytes:
    """The skops file ``data`` after ``change(schema, files)`` edited it in place."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    schema = json.loads(files.pop("schema.json"))
    change(schema, files)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("schema.json", json.dumps(schema))
        for name, content in files.items():
            archive.writestr(name, content)
    return out.getvalue()


def _edit_nodes(
    edit: Callable[[np.ndarray], None],
) -> Callable[[dict[str, Any], dict[str, bytes]], None]:
    def change(schema: dict[str, Any], files: dict[str, bytes]) -> None:
        name = _tree_nodes(schema)[0]["content"]["content"]["nodes"]["file"]
        nodes = np.load(io.BytesIO(files[name]), allow_pickle=False)
        edit(nodes)
        buffer = io.BytesIO()
        np.save(buffer, nodes, allow_pickle=False)
        files[name] = buffer.getvalue()

    return change


def _set_json(path: list[Any], value: Any) -> Callable[[dict[str, Any], dict[str, bytes]], None]:
    def change(schema: dict[str, Any], files: dict[str, bytes]) -> None:
        node = _tree_nodes(schema)[0]
        for key in path:
            node = node[key]
        node["content"] = json.dumps(value)
        node.pop("__id__", None)  # else skops reuses an earlier node with the same id

    return change


def _child_far_away(nodes: np.ndarray) -> None:
    nodes["left_child"][0] = 10**6


def _child_loops_back(nodes: np.ndarray) -> None:
    nodes["right_child"][0] = 0


def _feature_out_of_range(nodes: np.ndarray) -> None:
    nodes["feature"][0] = 999


def _forest_with_wider_trees(schema: dict[str, Any], files: dict[str, bytes]) -> None:
    """Every tree (and its estimator) claims 40 columns and splits on column 39, inside a
    forest that takes rows of 4: which check stops a 4-column row from reaching column 39
    differs between ensembles and scikit-learn versions, so the file is refused."""
    for tree in _tree_nodes(schema):
        width = tree["__reduce__"]["args"]["content"][0] = {
            **tree["__reduce__"]["args"]["content"][0],
            "content": "40",
        }
        width.pop("__id__", None)
        name = tree["content"]["content"]["nodes"]["file"]
        nodes = np.load(io.BytesIO(files[name]), allow_pickle=False)
        nodes["feature"][nodes["left_child"] != -1] = 39
        buffer = io.BytesIO()
        np.save(buffer, nodes, allow_pickle=False)
        files[name] = buffer.getvalue()

    def visit(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item)
        elif isinstance(node, dict):
            state = node.get("content")
            fields = state.get("content") if isinstance(state, dict) else None
            if node.get("__class__") == "DecisionTreeClassifier" and "tree_" in (fields or {}):
                fields["n_features_in_"] = {**fields["n_features_in_"], "content": "40"}
                fields["n_features_in_"].pop("__id__", None)
            for value in node.values():
                visit(value)

    visit(schema)


TAMPERING = {
    "a child index past the end": (_edit_nodes(_child_far_away), "points outside the tree"),
    "a split looping back to the root": (
        _edit_nodes(_child_loops_back),
        "points outside the tree or back",
    ),
    "a split on a missing feature": (
        _edit_nodes(_feature_out_of_range),
        "feature the tree does not have",
    ),
    "node_count past the node array": (
        _set_json(["content", "content", "node_count"], 10**6),
        "node_count does not match",
    ),
    "more outputs than class counts": (
        _set_json(["__reduce__", "args", "content", 2], 7),
        "one positive count per output",
    ),
    "trees wider than their forest": (
        _forest_with_wider_trees,
        "passes its trees another column count",
    ),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_a_tampered_tree_is_refused_before_anything_uses_it(mm_store, case):
    change, reason = TAMPERING[case]
    data, _ = _forest_file()
    with mm.start_run() as run:
        mm.log_artifact(_edit(data, change), name="model", media_type=MEDIA_TYPE_SKOPS)
    mm.register_model(run.id, "model", "forest")
    with pytest.raises(InvalidInput, match=reason) as refused:
        mm.load_model("forest/1")
    message = str(refused.value)
    assert "sklearn.tree._tree.Tree" in message and "trusted=" in message and "\n" not in message


def test_the_untampered_file_loads_and_naming_the_tree_type_skips_the_check(mm_store):
    data, X = _forest_file()
    edited = _edit(data, _set_json(["content", "content", "max_depth"], 3))  # same value
    with mm.start_run() as run:
        mm.log_artifact(edited, name="model", media_type=MEDIA_TYPE_SKOPS)
    mm.register_model(run.id, "model", "forest")
    assert mm.load_model("forest/1").predict(X).shape == (len(X),)
    named = mm.load_model("forest/1", trusted=["sklearn.tree._tree.Tree"])
    assert named.predict(X).shape == (len(X),)
