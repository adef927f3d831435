"""Loading a model without ``trusted`` runs no code the file chose.

The skops files here are written by hand in skops' documented format (a zip holding
``schema.json``: nodes with ``__class__``, ``__module__``, ``__loader__``, content, and
``.npy`` arrays), not by ``skops.io.dumps``, so they hold what a hostile teammate or a
tampered store could put there: calls of callables that live in numpy, scipy and
scikit-learn. Each payload writes a canary file when it runs; the refusal must leave no
canary, and the same file loaded with ``trusted=True`` must write it (so the payload is
real and the test can fail).
"""

from __future__ import annotations

import io
import json
import pickle
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import jupyter_mm as mm
from jupyter_mm.errors import InvalidInput
from jupyter_mm.flavors import (
    MEDIA_TYPE_JOBLIB,
    MEDIA_TYPE_PICKLE,
    MEDIA_TYPE_SKOPS,
    MEDIA_TYPE_TORCH,
)
from jupyter_mm.registry import Registry

skops_io = pytest.importorskip("skops.io")


# -- skops files written by hand ---------------------------------------------------------


def _protocol() -> int:
    """The protocol the installed skops writes (read from a file it wrote)."""
    with zipfile.ZipFile(io.BytesIO(skops_io.dumps([]))) as archive:
        return json.loads(archive.read("schema.json"))["protocol"]


def json_node(value: Any) -> dict[str, Any]:
    return {
        "__class__": "str",
        "__module__": "builtins",
        "__loader__": "JsonNode",
        "content": json.dumps(value),
        "is_json": True,
    }


def tuple_node(*items: dict[str, Any]) -> dict[str, Any]:
    return {
        "__class__": "tuple",
        "__module__": "builtins",
        "__loader__": "TupleNode",
        "content": list(items),
    }


def empty_dict_node() -> dict[str, Any]:
    return {
        "__class__": "dict",
        "__module__": "builtins",
        "__loader__": "DictNode",
        "content": {},
        "key_types": {
            "__class__": "list",
            "__module__": "builtins",
            "__loader__": "ListNode",
            "content": [],
        },
    }


def call_node(module: str, name: str, *args: dict[str, Any]) -> dict[str, Any]:
    """skops' node for 'construct by calling ``module.name(*args)``'."""
    return {
        "__class__": name,
        "__module__": module,
        "__loader__": "ConstructorFromReduceNode",
        "content": tuple_node(*args),
    }


def function_node(module: str, name: str) -> dict[str, Any]:
    return {"__class__": name, "__module__": module, "__loader__": "FunctionNode"}


def skops_file(root: dict[str, Any], arrays: dict[str, np.ndarray] | None = None) -> bytes:
    schema = {**root, "protocol": _protocol()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("schema.json", json.dumps(schema))
        for name, array in (arrays or {}).items():
            npy = io.BytesIO()
            np.save(npy, array, allow_pickle=False)
            archive.writestr(name, npy.getvalue())
    return buffer.getvalue()


def write_canary(path: Path) -> str:
    return f"open({str(path)!r}, 'w').write('ran')"


def payloads(tmp_path: Path, canary: Path) -> dict[str, tuple[bytes, str]]:
    """name -> (skops bytes that write ``canary`` when loaded, the type the error names)."""

    # numpy.load with allow_pickle unpickles whatever file it is pointed at: a blob in the
    # store is such a file
    class Payload:
        def __reduce__(self) -> tuple[Any, ...]:
            return (exec, (write_canary(canary),))

    pickled = tmp_path / "blob.npy"
    pickled.write_bytes(pickle.dumps(Payload()))
    # importing a module runs it: one in the working directory, found through sys.path
    (tmp_path / "mm_canary_module.py").write_text(write_canary(canary) + "\n")
    return {
        "numpy runstring": (
            skops_file(
                call_node(
                    "numpy.testing._private.utils",
                    "runstring",
                    json_node(write_canary(canary)),
                    empty_dict_node(),
                )
            ),
            "numpy.testing._private.utils.runstring",
        ),
        "numpy.load allow_pickle": (
            skops_file(
                call_node(
                    "numpy", "load", json_node(str(pickled)), json_node(None), json_node(True)
                )
            ),
            "numpy.load",
        ),
        "scipy import": (
            skops_file(
                call_node(
                    "scipy._lib._uarray._backend",
                    "unpickle_function",
                    json_node("mm_canary_module"),
                    json_node("__name__"),
                    json_node(None),
                )
            ),
            "scipy._lib._uarray._backend.unpickle_function",
        ),
        "sklearn subprocess": (
            skops_file(
                call_node(
                    "sklearn.utils._testing",
                    "assert_run_python_script_without_output",
                    json_node(write_canary(canary)),
                    json_node("^$"),
                )
            ),
            "sklearn.utils._testing.assert_run_python_script_without_output",
        ),
    }


def register_bytes(data: bytes, media_type: str, model: str) -> str:
    with mm.start_run() as run:
        mm.log_artifact(data, name="model", media_type=media_type)
    mm.register_model(run.id, "model", model)
    return f"{model}/1"


@pytest.mark.parametrize(
    "payload", ["numpy runstring", "numpy.load allow_pickle", "scipy import", "sklearn subprocess"]
)
def test_a_skops_file_calling_a_library_callable_runs_nothing(
    mm_store, tmp_path, monkeypatch, payload
):
    monkeypatch.syspath_prepend(str(tmp_path))
    canary = tmp_path / "canary"
    data, named = payloads(tmp_path, canary)[payload]
    ref = register_bytes(data, MEDIA_TYPE_SKOPS, "crafted")
    with pytest.raises(InvalidInput) as refused:
        mm.load_model(ref)
    message = str(refused.value)
    assert named in message and "trusted=" in message and "\n" not in message
    assert not canary.exists()
    # the config switch for pickles does not open skops files
    with pytest.raises(InvalidInput, match="does not trust by default"):
        mm.load_model(ref, registry=Registry(trust_pickled_models=True))
    assert not canary.exists()
    sys.modules.pop("mm_canary_module", None)
    # the payload is real: trusting the file runs it
    try:
        mm.load_model(ref, trusted=True)
    except Exception:
        pass  # some callables raise after they ran
    assert canary.read_text() == "ran"


def test_a_library_function_stored_as_a_value_is_refused(mm_store):
    import sklearn

    transformer = {
        "__class__": "FunctionTransformer",
        "__module__": "sklearn.preprocessing._function_transformer",
        "__loader__": "ObjectNode",
        "content": {
            "__class__": "dict",
            "__module__": "builtins",
            "__loader__": "DictNode",
            "content": {
                "func": function_node("numpy.testing._private.utils", "runstring"),
                "_sklearn_version": json_node(sklearn.__version__),
            },
            "key_types": {
                "__class__": "list",
                "__module__": "builtins",
                "__loader__": "ListNode",
                "content": [
                    {"__class__": "str", "__module__": "builtins", "__loader__": "TypeNode"}
                ]
                * 2,
            },
        },
    }
    ref = register_bytes(skops_file(transformer), MEDIA_TYPE_SKOPS, "stored-function")
    with pytest.raises(
        InvalidInput, match=r"by default: numpy\.testing\._private\.utils\.runstring\."
    ):
        mm.load_model(ref)
    named = mm.load_model(ref, trusted=["numpy.testing._private.utils.runstring"])
    assert named.func.__name__ == "runstring"


def test_a_file_that_is_not_a_skops_zip_is_refused_in_one_line(mm_store):
    ref = register_bytes(b"PK\x03\x04 not really a zip", MEDIA_TYPE_SKOPS, "broken")
    with pytest.raises(InvalidInput, match="not a readable skops file") as refused:
        mm.load_model(ref)
    assert "\n" not in str(refused.value)


# -- pickles --------------------------------------------------------------------------------


class _Runs:
    def __init__(self, canary: Path) -> None:
        self.canary = canary

    def __reduce__(self) -> tuple[Any, ...]:
        return (exec, (write_canary(self.canary),))


@pytest.mark.parametrize("media_type", [MEDIA_TYPE_JOBLIB, MEDIA_TYPE_PICKLE])
def test_pickled_models_run_nothing_without_trusted_true(mm_store, tmp_path, media_type):
    canary = tmp_path / "canary"
    if media_type == MEDIA_TYPE_JOBLIB:
        import joblib

        buffer = io.BytesIO()
        joblib.dump(_Runs(canary), buffer)
        data = buffer.getvalue()
    else:
        data = pickle.dumps(_Runs(canary))
    ref = register_bytes(data, media_type, "pickled")
    for trusted in (None, False, ["builtins.exec"]):  # a skops-style list is not trust
        with pytest.raises(InvalidInput, match="pickle: loading it runs code") as refused:
            mm.load_model(ref, trusted=trusted)
        assert "trusted=True" in str(refused.value)
    assert not canary.exists()
    mm.load_model(ref, trusted=True)
    assert canary.read_text() == "ran"


# -- torch ----------------------------------------------------------------------------------


def test_a_torch_file_holding_more_than_weights_runs_nothing(mm_store, tmp_path):
    torch = pytest.importorskip("torch")
    canary = tmp_path / "canary"
    buffer = io.BytesIO()
    torch.save({"weight": torch.zeros(2), "extra": _Runs(canary)}, buffer)
    ref = register_bytes(buffer.getvalue(), MEDIA_TYPE_TORCH, "net")
    for trusted in (None, True):  # a state_dict flavor never unpickles objects
        with pytest.raises(InvalidInput, match=r"not a plain state_dict \(.*exec") as refused:
            mm.load_model(ref, trusted=trusted)
        assert "\n" not in str(refused.value)
    assert not canary.exists()
