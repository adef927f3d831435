"""What a serving process serves: the champion, an optional canary and shadow, each a
registry reference followed as the registry changes (blue-green swaps).

A swap loads the new version beside the old one, checks it with a smoke prediction, then
replaces the arm's model in one assignment: a request in flight keeps the model it started
with, the next one gets the new one, none fails. A version that cannot load or fails the
smoke prediction is not switched to; the event ``serve_swap_refused`` says why.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput, MMError

if TYPE_CHECKING:
    from ..entities import ModelVersion
    from ..store.abstract import AbstractStore

ARMS = ("champion", "canary", "shadow")


@dataclass(frozen=True)
class LoadedModel:
    """One loaded version; replaced whole, never changed in place.

    ``array_input``: the model was checked, when loaded, to give the same answers for a
    plain array of the signature's columns (in the signature's order) as for a DataFrame.
    Such a model is called with the array: scikit-learn's per-column checks of a DataFrame
    cost more than the prediction itself on small requests."""

    version: ModelVersion
    model: Any
    columns: tuple[str, ...] | None = None  # the signature's column names, when it has them
    array_input: bool = False
    #: requests may be predicted together (see :func:`answers_rows_alone`)
    batchable: bool = False

    @property
    def label(self) -> str:
        return f"{self.version.model}/{self.version.version}"

    def predict(self, data: Any) -> Any:
        import numpy as np

        if self.array_input and not isinstance(data, np.ndarray):
            if self.columns and list(data.columns) != list(self.columns):
                data = data[list(self.columns)]
            data = data.to_numpy()
        return np.asarray(self.model.predict(data))

    def class_scores(self, features: Any) -> tuple[Any, Any]:
        """``predict_proba`` of many requests' inputs at once, with the class labels; (None,
        None) when the model has none. Called by the log writer, never per request."""
        import numpy as np

        scorer = getattr(self.model, "predict_proba", None)
        if scorer is None:
            return None, None
        data = features
        if isinstance(features, np.ndarray) and not self.array_input and self.columns:
            import pandas as pd

            data = pd.DataFrame(features, columns=list(self.columns))
        elif self.array_input and not isinstance(features, np.ndarray):
            data = features.to_numpy()
        try:
            scores = np.asarray(scorer(data))
        except Exception:  # scores are a bonus for the log, never a reason to fail
            return None, None
        if scores.ndim != 2 or len(scores) != len(features):
            return None, None
        return scores, getattr(self.model, "classes_", None)


NUMERIC_DTYPE_PREFIXES = ("int", "uint", "float")


def numeric_columns(signature: dict[str, Any] | None) -> tuple[str, ...] | None:
    """The column names of a DataFrame signature whose columns are all numbers, else None."""
    if not signature or signature.get("type") != "dataframe":
        return None
    columns = signature.get("columns") or []
    if not columns or not all(c["dtype"].startswith(NUMERIC_DTYPE_PREFIXES) for c in columns):
        return None
    return tuple(c["name"] for c in columns)


def accepts_array(model: Any, signature: dict[str, Any] | None) -> bool:
    """Whether ``model`` answers an array of the signature's numeric columns exactly as it
    answers the DataFrame (checked on random rows; a model that selects columns by name,
    or was fitted on columns in another order, is not)."""
    import warnings

    import numpy as np

    names = numeric_columns(signature)
    if names is None or not hasattr(model, "predict"):
        return False
    fitted = getattr(model, "feature_names_in_", None)
    if fitted is not None and [str(n) for n in fitted] != list(names):
        return False
    frame = _random_rows(signature, 16)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = np.asarray(model.predict(frame))
            got = np.asarray(model.predict(frame.to_numpy()))
    except Exception:
        return False
    return expected.shape == got.shape and bool(np.all(expected == got))


def answers_rows_alone(model: Any, signature: dict[str, Any] | None) -> bool:
    """Whether ``model``, called with an array of the signature's columns, gives each row
    of a stack of rows exactly the answer it gives that row alone (checked on random rows,
    values compared exactly) — what the server needs to predict requests that arrive
    together in one call. A model whose answer for a row depends on the other rows, or
    whose arithmetic rounds differently for a stack (float outputs of a BLAS product can),
    fails and is called request by request."""
    import warnings

    import numpy as np

    rows = _random_rows(signature, 16)
    if rows is None:
        return False
    array = rows.to_numpy()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            together = np.asarray(model.predict(array))
            alone = [np.asarray(model.predict(array[i : i + 1])) for i in range(len(array))]
    except Exception:
        return False
    if together.shape[:1] != (len(array),) or any(a.shape[:1] != (1,) for a in alone):
        return False
    return bool(np.array_equal(together, np.concatenate(alone)))


def _random_rows(signature: dict[str, Any] | None, count: int) -> Any:
    """``count`` random rows of the signature's numeric columns (a DataFrame), or None."""
    import numpy as np
    import pandas as pd

    if numeric_columns(signature) is None:
        return None
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            c["name"]: rng.integers(0, 10, count).astype(c["dtype"])
            if c["dtype"].startswith(("int", "uint"))
            else rng.normal(size=count).astype(c["dtype"])
            for c in (signature or {}).get("columns", [])
        }
    )


def parse_canary(text: str) -> tuple[str, float]:
    """``"fraud@staging:10%"`` -> (reference, 0.10)."""
    ref, sep, share = text.rpartition(":")
    if not sep or not share.endswith("%"):
        raise InvalidInput(f"--canary takes REF:PERCENT%, e.g. fraud@staging:10%, not {text!r}.")
    try:
        value = float(share[:-1]) / 100
    except ValueError:
        raise InvalidInput(f"--canary share {share!r} is not a percentage.") from None
    if not 0 < value < 1:
        raise InvalidInput("--canary share must be between 0% and 100% (exclusive).")
    return ref, value


def smoke_input(signature: dict[str, Any] | None) -> Any:
    """One row of zeros (empty strings for text columns) shaped by the signature, or None
    when there is no signature to shape it."""
    import numpy as np
    import pandas as pd

    if not signature:
        return None
    if signature.get("type") == "dataframe":
        row = {
            c["name"]: ("" if c["dtype"] in ("object", "string", "category") else 0)
            for c in signature.get("columns", [])
        }
        frame = pd.DataFrame([row])
        for c in signature.get("columns", []):
            if c["dtype"] not in ("object", "string", "category"):
                frame[c["name"]] = frame[c["name"]].astype(c["dtype"])
        return frame
    shape = [1 if n is None else n for n in signature.get("shape", [])]
    if not shape:
        return None
    return np.zeros(shape, dtype=signature.get("dtype") or "float64")


class Arm:
    """One registry reference and the version of it being served."""

    def __init__(self, name: str, ref: str, share: float = 0.0) -> None:
        self.name, self.ref, self.share = name, ref, share
        self.current: LoadedModel | None = None
        self.last_problem: str | None = None


class Deployment:
    def __init__(
        self,
        store: AbstractStore,
        champion: str,
        *,
        canary: tuple[str, float] | None = None,
        shadow: str | None = None,
        trusted: bool = False,
    ) -> None:
        self.store = store
        self.trusted = trusted
        self.arms: dict[str, Arm] = {"champion": Arm("champion", champion)}
        if canary is not None:
            self.arms["canary"] = Arm("canary", canary[0], canary[1])
        if shadow is not None:
            self.arms["shadow"] = Arm("shadow", shadow)
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self.swaps = 0

    # -- loading ----------------------------------------------------------------------------

    def load_all(self) -> None:
        """Load every arm; the champion must load (InvalidInput/NotFound otherwise)."""
        for arm in self.arms.values():
            version = self._resolve(arm)
            if version is None:
                if arm.name == "champion":
                    raise InvalidInput(f"{arm.ref} names no model version: {arm.last_problem}")
                continue
            loaded, problem = self._load(version)
            if loaded is None and arm.name == "champion":
                raise InvalidInput(f"{arm.ref} cannot be served: {problem}")
            arm.current, arm.last_problem = loaded, problem

    def _resolve(self, arm: Arm) -> ModelVersion | None:
        from ..registry import resolve_version

        try:
            return resolve_version(arm.ref, store=self.store)
        except MMError as exc:
            arm.last_problem = str(exc)
            return None

    def _load(self, version: ModelVersion) -> tuple[LoadedModel | None, str | None]:
        from ..registry import load_model

        ref = f"{version.model}/{version.version}"
        try:
            model = load_model(ref, trusted=self.trusted, store=self.store)
            array_input = accepts_array(model, version.signature)
            loaded = LoadedModel(
                version,
                model,
                columns=_signature_names(version.signature),
                array_input=array_input,
                batchable=array_input and answers_rows_alone(model, version.signature),
            )
            sample = smoke_input(version.signature)
            if sample is not None:
                loaded.predict(sample)
        except Exception as exc:
            return None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        return loaded, None

    # -- following the registry -----------------------------------------------------------

    def check_for_changes(self) -> list[str]:
        """Swap every arm whose reference now names another version. Returns what changed."""
        changes = []
        for arm in self.arms.values():
            version = self._resolve(arm)
            current = arm.current.version if arm.current else None
            if version is None or (
                current is not None
                and (version.model, version.version) == (current.model, current.version)
            ):
                continue
            loaded, problem = self._load(version)
            label = f"{version.model}/{version.version}"
            if loaded is None:
                if arm.last_problem != problem:
                    self._event(version, "serve_swap_refused", f"{arm.name} stays: {problem}")
                arm.last_problem = problem
                continue
            arm.current, arm.last_problem = loaded, None  # the swap: one assignment
            self.swaps += 1
            changes.append(f"{arm.name} -> {label}")
            self._event(version, "serve_swap", f"{arm.name} now serves {label} ({arm.ref})")
        return changes

    def _event(self, version: ModelVersion, action: str, reason: str) -> None:
        try:
            self.store.append_event(
                action, model=version.model, version=version.version, user=None, reason=reason
            )
        except Exception:
            pass  # the audit line is lost, the serving goes on

    def start_polling(self, interval: float) -> None:
        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.check_for_changes()
                except Exception:
                    continue  # a store hiccup: try again at the next tick

        self._poller = threading.Thread(target=loop, name="jupyter-mm-swap", daemon=True)
        self._poller.start()

    def stop(self) -> None:
        self._stop.set()

    # -- routing -----------------------------------------------------------------------------

    def route(self, key: str) -> Arm:
        """The arm answering a request: the canary for its share of routing keys (sticky:
        the same key always lands on the same arm), else the champion."""
        canary = self.arms.get("canary")
        if canary is not None and canary.current is not None:
            bucket = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
            if bucket / 2**64 < canary.share:
                return canary
        return self.arms["champion"]

    def describe(self) -> dict[str, Any]:
        return {
            name: {
                "ref": arm.ref,
                "version": arm.current.version.version if arm.current else None,
                "model": arm.current.version.model if arm.current else None,
                "share": arm.share,
                "problem": arm.last_problem,
            }
            for name, arm in self.arms.items()
        }


def _signature_names(signature: dict[str, Any] | None) -> tuple[str, ...] | None:
    if not signature or signature.get("type") != "dataframe":
        return None
    return tuple(c["name"] for c in signature.get("columns") or []) or None
