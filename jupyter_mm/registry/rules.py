"""Registry policy: which stage may follow which, promotion gates, and their configuration.

Allowed transitions (anything else is refused, and the refusal is recorded as an event):

=============== ================================ =====================================
from            to                               why
=============== ================================ =====================================
``none``        ``staging``                      the normal path starts
``staging``     ``production``                   release (gates of ``production`` apply)
``production``  ``staging``                      demote a release for another look
``archived``    ``staging``                      bring an old version back for re-validation
any other stage ``archived``                     retire a version at any point
=============== ================================ =====================================

Going to ``production`` archives the version that was there (one production version per
model); ``rollback`` is the way back. A gate configured for a stage is checked on every
transition *into* that stage; rollback skips gates (the restored version passed them when
it was first promoted, and a rollback is what you do when there is no time).

Configuration, read by :func:`jupyter_mm.config.load_config` like every other setting
(``jupyter_mm_config.py`` in the working directory or any Jupyter config directory —
``jupyter --paths`` — or the IPython/Jupyter server config of the process)::

    c.Registry.gates = {"production": ["metrics.roc_auc >= 0.78", "params.model != 'dummy'"]}
    c.Registry.metric_tolerance = 1e-6
    c.Registry.trust_pickled_models = False
    c.Registry.require_approval = ["production"]   # four eyes: see registry/approvals.py
    c.Registry.approval_expiry_days = 7
"""

from __future__ import annotations

from typing import Any

from traitlets import Bool, Dict, Float, List, TraitError, Unicode, validate
from traitlets.config import Config, Configurable

from ..entities import STAGES
from ..errors import InvalidInput
from .gates import GateResult, evaluate_gate, parse_gate

#: (from, to) pairs the rules allow; see the module docstring for the table
ALLOWED_TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("none", "staging"),
        ("staging", "production"),
        ("production", "staging"),
        ("archived", "staging"),
        ("none", "archived"),
        ("staging", "archived"),
        ("production", "archived"),
    }
)


class Registry(Configurable):
    """Rules of the model registry, configurable as ``c.Registry.<name>``."""

    gates = Dict(
        value_trait=List(Unicode()),
        default_value={},
        help="Conditions per target stage, e.g. {'production': ['metrics.roc_auc >= 0.78']}. "
        "A transition into the stage is refused unless every condition holds for the "
        "version's run. Language: metrics.<name>, params.<name>, numbers, strings, "
        "< <= > >= == !=, and, or, not, parentheses.",
    ).tag(config=True)

    metric_tolerance = Float(
        1e-6,
        help="Relative tolerance when `jupyter mm reproduce` compares a re-run's metrics "
        "with the recorded ones.",
    ).tag(config=True)

    trust_pickled_models = Bool(
        False,
        help="Let load_model unpickle joblib/pickle models without trusted=True. Unpickling "
        "runs code chosen by whoever saved the model: enable only for stores you control.",
    ).tag(config=True)

    require_approval = List(
        Unicode(),
        default_value=[],
        help="Stages a version moves into only through an approved request: someone asks "
        "(`jupyter mm request`), someone else approves (`jupyter mm approve`), and only "
        "then does the transition happen, gates checked again. E.g. ['production'].",
    ).tag(config=True)

    approval_expiry_days = Float(
        7.0,
        help="Days after which a pending approval request expires (recorded as an event).",
    ).tag(config=True)

    @validate("require_approval")
    def _check_require_approval(self, proposal: dict[str, Any]) -> list[str]:
        for stage in proposal["value"]:
            if stage not in STAGES or stage == "none":
                raise TraitError(
                    f"c.Registry.require_approval names stage {stage!r}; approvals apply to "
                    "staging, production or archived."
                )
        return list(proposal["value"])

    @validate("approval_expiry_days")
    def _check_expiry(self, proposal: dict[str, Any]) -> float:
        days = float(proposal["value"])
        if not 0 < days <= 3650:
            raise TraitError(f"c.Registry.approval_expiry_days must be > 0 and ≤ 3650, not {days}.")
        return days

    service_url = Unicode(
        "",
        help="Team mode: the URL of the jupyter-mm registry service (a JupyterHub service, "
        "e.g. http://127.0.0.1:8000/services/jupyter-mm/). Set, every registry write of "
        "this process goes there and is checked and made by the service.",
    ).tag(config=True)

    service_token = Unicode(
        "",
        help="Token sent to the registry service. Empty: $JUPYTER_MM_SERVICE_TOKEN, else "
        "$JUPYTERHUB_API_TOKEN (set in a hub's servers and kernels).",
    ).tag(config=True)

    #: whether registry writes check ``c.Permissions`` in this process; the registry
    #: service turns it off because it checks the hub's answer for the caller itself
    check_permissions = Bool(True)

    @validate("gates")
    def _check_gates(self, proposal: dict[str, Any]) -> dict[str, list[str]]:
        gates = proposal["value"]
        for stage, conditions in gates.items():
            if stage not in STAGES or stage == "none":
                raise TraitError(
                    f"c.Registry.gates names stage {stage!r}; gates apply to "
                    "staging, production or archived."
                )
            for condition in conditions:
                try:
                    parse_gate(condition)
                except InvalidInput as exc:
                    raise TraitError(str(exc)) from None
        return gates

    def gates_for(self, stage: str) -> list[str]:
        return list(self.gates.get(stage, []))

    def check_gates(
        self, stage: str, metrics: dict[str, float], params: dict[str, str]
    ) -> list[GateResult]:
        """Every gate of ``stage`` evaluated against a run's latest metrics and params."""
        return [evaluate_gate(gate, metrics, params) for gate in self.gates_for(stage)]


def transition_problem(from_stage: str, to_stage: str) -> str | None:
    """Why the rules refuse ``from_stage -> to_stage``, or None when it is allowed."""
    if to_stage not in STAGES:
        return f"{to_stage!r} is not a stage (use one of {', '.join(STAGES)})"
    if from_stage == to_stage:
        return f"the version is already in {to_stage}"
    if (from_stage, to_stage) in ALLOWED_TRANSITIONS:
        return None
    allowed = sorted(to for frm, to in ALLOWED_TRANSITIONS if frm == from_stage)
    return f"{from_stage} -> {to_stage} is not allowed (from {from_stage}: {', '.join(allowed)})"


def make_registry(config: Config | None = None) -> Registry:
    """A Registry from ``config`` (default: :func:`jupyter_mm.config.load_config`, the
    loader every process uses). A malformed gate is an InvalidInput naming it."""
    from ..config import load_config

    try:
        return Registry(config=load_config() if config is None else config)
    except TraitError as exc:
        raise InvalidInput(str(exc).splitlines()[0]) from None
