"""``c.Monitor.*``: monitoring settings (windows, drift methods and thresholds)."""

from __future__ import annotations

from typing import Any

from traitlets import Dict, Int, TraitError, Unicode, Union, validate
from traitlets import Float as FloatTrait
from traitlets.config import Configurable

from .drift import CATEGORICAL_METHODS, NUMERIC_METHODS


class Monitor(Configurable):
    """Model monitoring, configurable as ``c.Monitor.<name>``."""

    window = Int(
        1000,
        help="Default window of `jupyter mm monitor` and the REST report: the last N logged predictions.",
    ).tag(config=True)

    timeline_windows = Int(
        10,
        help="How many timeline windows a report's window is split into (when no step is given).",
    ).tag(config=True)

    min_labels = Int(
        30,
        help="Labelled rows a timeline window needs before its measured performance replaces the estimate.",
    ).tag(config=True)

    methods = Dict(
        value_trait=Unicode(),
        default_value={},
        help="Drift method per feature ('prediction' for the prediction): wasserstein or psi "
        "for numeric features, jensenshannon or chi2 for categorical ones. Default: "
        "wasserstein / jensenshannon.",
    ).tag(config=True)

    thresholds = Dict(
        value_trait=Union([FloatTrait(), Dict(value_trait=FloatTrait())]),
        default_value={},
        help="Drift thresholds (effect sizes) per feature, overriding the ones calibrated on "
        "the reference: {'age': 0.2} for the feature's method, {'age': {'psi': 0.25}} per "
        "method, '*' for every feature.",
    ).tag(config=True)

    @validate("methods")
    def _check_methods(self, proposal: dict[str, Any]) -> dict[str, str]:
        known = (*NUMERIC_METHODS, *CATEGORICAL_METHODS)
        for feature, method in proposal["value"].items():
            if method not in known:
                raise TraitError(
                    f"c.Monitor.methods[{feature!r}] is {method!r}; use one of {', '.join(known)}."
                )
        return dict(proposal["value"])

    @validate("window", "timeline_windows", "min_labels")
    def _check_positive(self, proposal: dict[str, Any]) -> int:
        if proposal["value"] < 1:
            raise TraitError(f"c.Monitor.{proposal['trait'].name} must be at least 1.")
        return int(proposal["value"])


def load_monitor(config: Any = None) -> Monitor:
    from ..config import load_config

    return Monitor(config=load_config() if config is None else config)
