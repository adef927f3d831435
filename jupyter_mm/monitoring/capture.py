"""The reference profile made when a model is logged (``mm.log_model(..., reference=X)``).

Which data, when the user names none: a model fitted on a DataFrame knows its input
columns (scikit-learn's ``feature_names_in_``). The notebook's namespace is searched for
DataFrames with exactly those columns, in that order; the largest is profiled (a split's
training part is larger than its test part; the frame before the split, when kept, is the
same population). The choice is named in the profile's ``source`` and in one notice line.
A model without column names (fitted on arrays), or no matching frame: no profile (say
``reference=X_train``). ``reference=False`` turns this off.
"""

from __future__ import annotations

import sys
from typing import Any

from ..errors import InvalidInput


def _namespace() -> dict[str, Any]:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return {}
    shell = get_ipython()
    return dict(shell.user_ns) if shell is not None else {}


def find_reference_frame(model: Any, namespace: dict[str, Any]) -> tuple[str, Any] | None:
    """The namespace's (name, DataFrame) with exactly the model's input columns, largest
    first (ties: the first name in sorted order); None when there is none."""
    columns = getattr(model, "feature_names_in_", None)
    if columns is None or "pandas" not in sys.modules:
        return None
    import pandas as pd

    wanted = [str(c) for c in columns]
    matches = [
        (name, value)
        for name, value in namespace.items()
        if not name.startswith("_")
        and isinstance(value, pd.DataFrame)
        and [str(c) for c in value.columns] == wanted
        and len(value) > 0
    ]
    if not matches:
        return None
    matches.sort(key=lambda item: (-len(item[1]), item[0]))
    return matches[0]


def reference_profile_bytes(model: Any, reference: Any, target: Any, name: str) -> bytes | None:
    """The encoded profile to store beside the model, or None. Raises InvalidInput (before
    anything is stored) when a named reference cannot be profiled."""
    from .profile import build_profile, encode_profile

    if reference is False:
        return None
    source = "log_model(reference=...)"
    if reference is None:
        found = find_reference_frame(model, _namespace())
        if found is None:
            return None
        variable, reference = found
        try:
            profile = build_profile(
                reference,
                model=model,
                source=f"namespace DataFrame {variable!r} ({len(reference)} rows)",
            )
        except Exception as exc:  # a guess must never cost the user the logged model
            print(
                f"jupyter-mm: no reference profile for {name} ({variable} could not be "
                f"profiled: {type(exc).__name__}); pass reference=X_train.",
                file=sys.stderr,
            )
            return None
        print(
            f"jupyter-mm: reference profile of {name} from {variable} ({len(reference)} rows).",
            file=sys.stderr,
        )
        return encode_profile(profile)
    try:
        profile = build_profile(reference, model=model, target=target, source=source)
    except InvalidInput:
        raise
    except Exception as exc:
        raise InvalidInput(
            f"The reference cannot be profiled with this model: {type(exc).__name__}: {exc}"
        ) from None
    return encode_profile(profile)
