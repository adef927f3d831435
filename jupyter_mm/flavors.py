"""Turning a model object into artifact bytes for ``log_model``.

Only the generic flavors live here for now: joblib when it is importable (it stores numpy
arrays inside estimators efficiently), else the standard pickle. The media type names the
flavor so that ``load_model`` knows how to read the bytes back without guessing; safer
flavors (ONNX, skops, framework-native formats) will add media types of their own.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

from .errors import InvalidInput

MEDIA_TYPE_JOBLIB = "application/vnd.jupyter-mm.model.joblib"
MEDIA_TYPE_PICKLE = "application/vnd.jupyter-mm.model.pickle"
MEDIA_TYPE_DIRECTORY = "application/vnd.jupyter-mm.directory+json"

#: media type -> flavor name recorded with model versions
FLAVORS: dict[str, str] = {
    MEDIA_TYPE_JOBLIB: "joblib",
    MEDIA_TYPE_PICKLE: "pickle",
}


def serialize_model(obj: Any) -> tuple[bytes, str]:
    """Serialize ``obj``; return ``(bytes, media_type)``.

    Raises InvalidInput when the object cannot be serialized (a lambda, an open socket…),
    naming the type, because the user can only act on a message that says what failed.
    """
    try:
        import joblib
    except ImportError:
        joblib = None
    buffer = io.BytesIO()
    try:
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


def deserialize_model(data: bytes, media_type: str) -> Any:
    """Inverse of :func:`serialize_model`. Only call on bytes whose digest was verified:
    unpickling runs code."""
    if media_type == MEDIA_TYPE_JOBLIB:
        import joblib

        return joblib.load(io.BytesIO(data))
    if media_type == MEDIA_TYPE_PICKLE:
        return pickle.loads(data)  # the caller verified the digest
    raise InvalidInput(f"Artifacts of media type {media_type} are not a loadable model.")
