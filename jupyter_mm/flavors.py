"""Model flavors: turning a model into artifact bytes for ``log_model`` and back.

The artifact's media type names the flavor, so ``load_model`` knows how to read the bytes
without guessing:

================== ============================================ ============================
flavor             written for                                   loading runs code?
================== ============================================ ============================
``sklearn-skops``  scikit-learn estimators when skops is there   no: only types skops trusts
                                                                 (see :mod:`.skops_trust`)
``torch-state-dict`` a ``torch.nn.Module`` (its state_dict) or a  no (``weights_only=True``)
                   dict of tensors, when torch is installed
``joblib``         any other object, joblib installed            yes — pickle
``pickle``         any other object, no joblib                   yes — pickle
``file``           a file path given to ``log_model``            no: you get a verified path
``directory``      a directory path given to ``log_model``       no: you get a verified path
================== ============================================ ============================

An input signature (dtype/shape/columns of an example input) is stored next to the model as
the artifact ``<name>.signature.json``; registering the model copies it into the version.
"""

from __future__ import annotations

import io
import json
import pickle
import re
import sys
from collections.abc import Collection
from typing import Any

from .errors import InvalidInput
from .vocabulary import MEDIA_TYPE_SIGNATURE as MEDIA_TYPE_SIGNATURE  # re-exported

MEDIA_TYPE_JOBLIB = "application/vnd.jupyter-mm.model.joblib"
MEDIA_TYPE_PICKLE = "application/vnd.jupyter-mm.model.pickle"
MEDIA_TYPE_SKOPS = "application/vnd.jupyter-mm.model.skops"
MEDIA_TYPE_TORCH = "application/vnd.jupyter-mm.model.torch-state-dict"
MEDIA_TYPE_DIRECTORY = "application/vnd.jupyter-mm.directory+json"

#: suffix of the artifact holding a model's input signature
SIGNATURE_SUFFIX = ".signature.json"

#: media type -> flavor name recorded with model versions
FLAVORS: dict[str, str] = {
    MEDIA_TYPE_SKOPS: "sklearn-skops",
    MEDIA_TYPE_TORCH: "torch-state-dict",
    MEDIA_TYPE_JOBLIB: "joblib",
    MEDIA_TYPE_PICKLE: "pickle",
    MEDIA_TYPE_DIRECTORY: "directory",
}
#: flavors whose loading unpickles, i.e. can run any code the artifact's author chose
PICKLE_FLAVORS = frozenset({"joblib", "pickle"})
#: flavors loaded as a verified local path rather than an object
PATH_FLAVORS = frozenset({"file", "directory"})


def flavor_of(media_type: str) -> str:
    """The flavor of an artifact with this media type (``file`` for anything unknown)."""
    return FLAVORS.get(media_type, "file")


def _is_sklearn_estimator(obj: Any) -> bool:
    if "sklearn" not in sys.modules:  # no estimator can exist without sklearn imported
        return False
    from sklearn.base import BaseEstimator

    return isinstance(obj, BaseEstimator)


def _torch_state(obj: Any) -> Any | None:
    """The state_dict to save when ``obj`` is a torch module or a dict of tensors."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    if isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return obj
    return None


def _skops() -> Any | None:
    try:
        import skops.io
    except ImportError:
        return None
    return skops.io


def serialize_model(obj: Any) -> tuple[bytes, str]:
    """Serialize ``obj``; return ``(bytes, media_type)`` — skops for scikit-learn estimators
    when skops is installed, a torch state_dict for torch modules, else joblib or pickle.

    Raises InvalidInput when the object cannot be serialized (a lambda, an open socket…),
    naming the type, because the user can only act on a message that says what failed.
    """
    buffer = io.BytesIO()
    try:
        state = _torch_state(obj)
        if state is not None:
            import torch

            torch.save(state, buffer)
            return buffer.getvalue(), MEDIA_TYPE_TORCH
        skops_io = _skops() if _is_sklearn_estimator(obj) else None
        if skops_io is not None:
            try:
                return skops_io.dumps(obj), MEDIA_TYPE_SKOPS
            except Exception:  # a custom estimator skops cannot take
                buffer = io.BytesIO()  # fall through to joblib, which takes anything picklable
        try:
            import joblib
        except ImportError:
            joblib = None
        if joblib is not None:
            joblib.dump(obj, buffer)
            return buffer.getvalue(), MEDIA_TYPE_JOBLIB
        pickle.dump(obj, buffer, protocol=pickle.HIGHEST_PROTOCOL)
        return buffer.getvalue(), MEDIA_TYPE_PICKLE
    except Exception as exc:
        kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
        raise InvalidInput(
            f"The model of type {kind} cannot be serialized ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else 'no details'}); save it to a file and "
            "pass the path to log_model instead."
        ) from exc


def deserialize_model(
    data: bytes, media_type: str, *, trusted: bool | Collection[str] = False
) -> Any:
    """Inverse of :func:`serialize_model`. Only call on bytes whose digest was verified.

    Pickle-based media types unpickle (which runs code): deciding whether that is acceptable
    is the caller's job (``load_model`` asks for ``trusted=True``). skops models load
    the types skops trusts by default; ``trusted`` names more (a list of type names) or
    accepts every type (``True``); anything else is refused with the list of types
    (:func:`.skops_trust.load_skops`). torch state_dicts load tensors only.
    """
    if media_type == MEDIA_TYPE_SKOPS:
        from .skops_trust import load_skops

        return load_skops(data, trusted)
    if media_type == MEDIA_TYPE_TORCH:
        try:
            import torch
        except ImportError:
            raise InvalidInput(
                "This model is a torch state_dict; install torch to load it."
            ) from None
        # weights_only: tensors and plain containers only, never arbitrary objects
        try:
            return torch.load(io.BytesIO(data), weights_only=True)
        except Exception as exc:  # torch refuses anything but tensors and containers
            raise InvalidInput(
                f"The torch model was not loaded: it is not a plain state_dict "
                f"({_torch_refusal(exc)})."
            ) from None
    if media_type == MEDIA_TYPE_JOBLIB:
        import joblib

        return joblib.load(io.BytesIO(data))
    if media_type == MEDIA_TYPE_PICKLE:
        return pickle.loads(data)  # the caller verified the digest and accepted the risk
    raise InvalidInput(f"Artifacts of media type {media_type} are not a loadable model.")


def _torch_refusal(exc: BaseException) -> str:
    """The line of torch's weights-only error that names what was refused."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    found = re.search(r"WeightsUnpickler error: ([^\n]*?)(?:\. |\n|$)", text)
    if found:
        return found.group(1)
    lines = text.strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


# -- input signatures -------------------------------------------------------------------------


def _dtype_name(dtype: Any) -> str:
    return str(dtype)


def signature_of(example: Any) -> dict[str, Any]:
    """Describe an example input: its type, dtype(s), shape (first axis, the batch, as
    None) and columns. Supports pandas DataFrames and Series, numpy arrays, torch tensors,
    and lists/tuples of numbers (read as an array). Raises InvalidInput for anything else."""
    pandas = sys.modules.get("pandas")
    if pandas is not None and isinstance(example, pandas.DataFrame):
        return {
            "type": "dataframe",
            "columns": [
                {"name": str(name), "dtype": _dtype_name(dtype)}
                for name, dtype in example.dtypes.items()
            ],
            "shape": [None, int(example.shape[1])],
        }
    if pandas is not None and isinstance(example, pandas.Series):
        return {
            "type": "series",
            "name": None if example.name is None else str(example.name),
            "dtype": _dtype_name(example.dtype),
            "shape": [None],
        }
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(example, torch.Tensor):
        shape = list(example.shape)
        return {
            "type": "tensor",
            "dtype": str(example.dtype).removeprefix("torch."),
            "shape": [None, *shape[1:]] if shape else [],
        }
    import numpy as np

    if isinstance(example, (list, tuple)):
        try:
            example = np.asarray(example)
        except Exception as exc:  # ragged nested lists
            raise InvalidInput(f"The input example cannot be read as an array: {exc}.") from None
    if isinstance(example, np.ndarray):
        if example.dtype == object:
            raise InvalidInput("The input example is an array of Python objects; give numbers.")
        shape = [int(n) for n in example.shape]
        return {
            "type": "ndarray",
            "dtype": _dtype_name(example.dtype),
            "shape": [None, *shape[1:]] if shape else [],
        }
    raise InvalidInput(
        f"An input example must be a DataFrame, Series, numpy array, tensor or list, not "
        f"{type(example).__name__}."
    )


def signature_bytes(signature: dict[str, Any]) -> bytes:
    return json.dumps(signature, sort_keys=True, indent=1).encode()
