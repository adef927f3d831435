"""Where a version's reference profile is kept, and how it is found.

``mm.log_model(model, "model", reference=X)`` stores the profile as the run artifact
``model.profile`` next to the model (the version does not exist yet); a version registered
from that artifact finds it there. ``jupyter mm profile NAME/VERSION --data PATH`` (or
:func:`attach_profile`) links a profile to the version itself (table
``reference_profiles``), which wins over the run's artifact.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..entities import ReferenceProfileLink
from ..errors import InvalidInput
from ..vocabulary import MEDIA_TYPE_PROFILE as MEDIA_TYPE_PROFILE  # re-exported
from .profile import decode_profile, encode_profile

if TYPE_CHECKING:
    from ..entities import ModelVersion
    from ..store.abstract import AbstractStore

PROFILE_SUFFIX = ".profile"


def attach_profile(
    store: AbstractStore, version: ModelVersion, profile: dict[str, Any], source: str
) -> ReferenceProfileLink:
    """Store ``profile`` and link it to ``version`` (replacing an earlier link)."""
    data = encode_profile(profile)
    link = ReferenceProfileLink(
        model=version.model,
        version=version.version,
        digest=store.blobs.put_bytes(data),
        size=len(data),
        source=source,
        created_time=time.time(),
    )
    store.set_reference_profile(link)
    return link


def find_profile(
    store: AbstractStore, version: ModelVersion
) -> tuple[dict[str, Any], ReferenceProfileLink]:
    """The version's profile and where it came from. Raises InvalidInput saying how to make
    one when there is none."""
    link = store.reference_profile(version.model, version.version)
    if link is None:
        link = _run_artifact_link(store, version)
    if link is None:
        raise InvalidInput(
            f"{version.model}/{version.version} has no reference profile: log the model with "
            f"mm.log_model(model, name, reference=X_train), or run "
            f"`jupyter mm profile {version.model}/{version.version} --data PATH`."
        )
    return decode_profile(store.blobs.get_bytes(link.digest)), link


def _run_artifact_link(store: AbstractStore, version: ModelVersion) -> ReferenceProfileLink | None:
    wanted = version.artifact + PROFILE_SUFFIX
    for artifact in store.get_run_detail(version.run_id).artifacts:
        if artifact.name == wanted:
            return ReferenceProfileLink(
                model=version.model,
                version=version.version,
                digest=artifact.digest,
                size=artifact.size,
                source=f"run {version.run_id[:8]} artifact {wanted}",
                created_time=0.0,
            )
    return None


def profile_from_file(path: str) -> Any:
    """A reference frame from a data file (CSV, Parquet, Feather, JSON lines)."""
    import os

    import pandas as pd

    if not os.path.isfile(path):
        raise InvalidInput(f"No data file at {path}.")
    lower = path.lower()
    try:
        if lower.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        if lower.endswith((".feather", ".arrow")):
            return pd.read_feather(path)
        if lower.endswith((".jsonl", ".ndjson")):
            return pd.read_json(path, lines=True)
        return pd.read_csv(path)
    except Exception as exc:
        raise InvalidInput(
            f"{path} cannot be read as a data table: {type(exc).__name__}: {exc}"
        ) from None
