"""``c.Monitor.*``: monitoring settings — the report's windows, drift methods and thresholds,
and the alert rules evaluated on it (:mod:`jupyter_mm.alerts.rules`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traitlets import Bool, Dict, Int, List, TraitError, Unicode, Union, validate
from traitlets import Float as FloatTrait
from traitlets.config import Configurable

from .drift import CATEGORICAL_METHODS, NUMERIC_METHODS

if TYPE_CHECKING:
    from ..alerts.rules import MonitorRule, WindowSpec


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

    rules = List(
        Union([Unicode(), Dict()]),
        default_value=[],
        help="Rules evaluated on production models' live metrics, e.g. "
        "{'when': 'roc_auc < 0.78 over 1000 labelled', 'actions': ['notify', 'rollback'], "
        "'models': 'fraud*'}. A plain string is a rule for every model that notifies. "
        "Actions: notify, rollback, retrain.",
    ).tag(config=True)

    interval = FloatTrait(
        0.0,
        help="Seconds between rule evaluations in the Jupyter server (0: the server does "
        "not evaluate; `jupyter mm watch` does).",
    ).tag(config=True)

    retrain_parameters = Dict(
        default_value={},
        help="Parameters injected into the notebook's parameters cell when a rule retrains, "
        "e.g. {'data_path': '/data/latest.csv'}.",
    ).tag(config=True)

    trusted_writers = Dict(
        value_trait=List(Unicode()),
        default_value={},
        help="On a team store: database login roles, per model name pattern, whose logged "
        "predictions, labels and endpoint counters monitoring and alert rules use besides "
        "the store's owner (the registry service), the users whose runs became versions of "
        "the model and users named with a role above read in c.Permissions.roles, e.g. "
        "{'fraud*': ['labeller']}. Rows of other writers are ignored and counted.",
    ).tag(config=True)

    retrain_to_production = Bool(
        False,
        help="Let an automatic retrain promote its new version to production when it beats "
        "the current one on the same recent labelled window (else: staging).",
    ).tag(config=True)

    @validate("rules")
    def _check_rules(self, proposal: dict[str, Any]) -> list[Any]:
        from ..alerts.rules import parse_rule
        from ..errors import InvalidInput

        for entry in proposal["value"]:
            try:
                parse_rule(entry)
            except InvalidInput as exc:
                raise TraitError(str(exc)) from None
        return list(proposal["value"])

    def parsed_rules(self) -> list[MonitorRule]:
        from ..alerts.rules import parse_rule

        return [parse_rule(entry) for entry in self.rules]

    def default_window(self) -> WindowSpec:
        """The window of a rule without a qualifier: the last ``window`` predictions."""
        from ..alerts.rules import WindowSpec

        return WindowSpec("predictions", self.window)

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
