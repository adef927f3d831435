"""The registry half of the store contract: models, versions, aliases and the audit trail.

:class:`AbstractRegistryStore` is mixed into :class:`~jupyter_mm.store.abstract.AbstractStore`;
its docstrings are the contract and ``tests/registry/test_registry_contract.py`` checks every
backend against them. The store is deliberately mechanical: it keeps the invariants that
must hold whatever the caller (one production version per model, aliases unique per model,
an event for every change, written in the same transaction) while the *policy* — which
stage may follow which, metric gates — lives in :mod:`jupyter_mm.registry.rules`, so the
server, the CLI and the Python API all apply the same rules through one module.

Event actions written by the store:

==================== ======================================================================
``register``         a new version (to_stage ``none``)
``transition``       a version changed stage at a user's request
``superseded``       a production version archived because another one was promoted
``transition_refused`` a transition the rules refused (written with :meth:`append_event`)
``rollback``         two events per rollback: the production version leaving (from
                     ``production``) and the previous one coming back (to ``production``)
``alias`` / ``unalias`` an alias set on / removed from a version (the alias is in ``reason``)
==================== ======================================================================

Nothing in the contract updates or deletes an event.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..entities import STAGES
from ..errors import InvalidInput

if TYPE_CHECKING:
    from ..entities import Event, Model, ModelVersion

EVENT_ACTIONS: tuple[str, ...] = (
    "register",
    "transition",
    "superseded",
    "transition_refused",
    "rollback",
    "alias",
    "unalias",
    # a serving process switched to a version, or refused to (it failed to load or to
    # answer a smoke prediction)
    "serve_swap",
    "serve_swap_refused",
)

#: Model names travel in URLs and in references like ``name@production`` and ``name/3``, so
#: ``@`` and ``/`` are out; the rest is what file names and MLflow allow.
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,254}")
#: An alias must not look like a version number or a stage, or ``name@x`` would be ambiguous.
_ALIAS = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{0,63}")


def check_model_name(name: object) -> str:
    """Return ``name`` when it can name a model; InvalidInput otherwise."""
    if not isinstance(name, str) or not _MODEL_NAME.fullmatch(name):
        raise InvalidInput(
            f"{name!r} is not a model name: use 1 to 255 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit."
        )
    return name


def check_alias(alias: object) -> str:
    """Return ``alias`` when it can be an alias; InvalidInput otherwise."""
    if not isinstance(alias, str) or not _ALIAS.fullmatch(alias):
        raise InvalidInput(
            f"{alias!r} is not an alias: use a letter followed by up to 63 letters, digits, "
            "'_' or '-'."
        )
    if alias in STAGES or alias == "latest":
        raise InvalidInput(f"{alias!r} is a stage name, so it cannot be an alias.")
    return alias


def check_stage(stage: object) -> str:
    if stage not in STAGES:
        raise InvalidInput(f"Unknown stage {stage!r}; expected one of {', '.join(STAGES)}.")
    return stage  # type: ignore[return-value]


def check_version(version: object) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidInput(f"A model version is a positive integer, not {version!r}.")
    return version


def production_history(events: Iterable[Event]) -> list[int]:
    """The versions that were in production, oldest first, as rollback sees them: the last
    element is the current production version and the one before it is where a rollback
    goes. ``events`` are one model's events in id order.

    A promotion pushes its version. A version archived because another was promoted
    (``superseded``) stays in the list: it is the rollback target. A version a user took out
    of production on purpose (``transition`` from production) is removed: a deliberately
    withdrawn release must not come back by rollback. A rollback removes the version it
    rolled back from and truncates the list to the version it restored, so two rollbacks in
    a row walk two steps back instead of bouncing between two versions.
    """
    history: list[int] = []
    for event in events:
        version = event.version
        if version is None:
            continue
        if event.action in ("transition", "rollback") and event.to_stage == "production":
            if event.action == "rollback" and version in history:
                del history[history.index(version) + 1 :]
                continue
            if version in history:
                history.remove(version)
            history.append(version)
        elif (
            event.action in ("transition", "rollback")
            and event.from_stage == "production"
            and version in history
        ):
            history.remove(version)
    return history


class AbstractRegistryStore(ABC):
    """Models, versions, aliases and the append-only event log.

    Rules every implementation keeps besides those of AbstractStore:

    * Each write below is ONE transaction together with its event(s); a reader never sees a
      stage change without its event or the other way round.
    * Concurrent writers to one model are serialized (a row lock on the model on PostgreSQL;
      SQLite's write lock), so "one production version" and "aliases unique per model" hold
      under concurrency, not only in one process.
    * ``user`` is recorded as given (the caller resolves JupyterHub/OS user).
    """

    @abstractmethod
    def register_version(
        self,
        model: str,
        run_id: str,
        artifact: str,
        *,
        flavor: str,
        user: str | None,
        signature: dict[str, Any] | None = None,
        description: str | None = None,
        model_description: str | None = None,
    ) -> ModelVersion:
        """Create the next version of ``model`` (1 for a new model, which is created with
        ``model_description``) from the artifact named ``artifact`` of run ``run_id``. The
        version's digest is the artifact's digest; its stage is ``none``. Writes a
        ``register`` event. Raises NotFound for an unknown run or artifact, InvalidInput for a
        malformed name or flavor."""

    @abstractmethod
    def get_model(self, name: str) -> Model:
        """Raises NotFound."""

    @abstractmethod
    def list_models(self) -> list[Model]:
        """Every model, by name."""

    @abstractmethod
    def get_version(self, model: str, version: int) -> ModelVersion:
        """Raises NotFound (naming the model or the version that is missing)."""

    @abstractmethod
    def list_versions(self, model: str) -> list[ModelVersion]:
        """The versions of ``model``, oldest first. Raises NotFound for an unknown model."""

    @abstractmethod
    def transition_version(
        self,
        model: str,
        version: int,
        *,
        from_stage: str,
        to_stage: str,
        user: str | None,
        reason: str | None,
    ) -> list[Event]:
        """Move a version from ``from_stage`` to ``to_stage`` and write a ``transition``
        event. ``from_stage`` is what the caller checked its rules against: if the version is
        no longer there, nothing changes and Conflict is raised. Moving to ``production``
        archives the other production version(s) with a ``superseded`` event each. Returns
        the events written, in order."""

    @abstractmethod
    def append_event(
        self,
        action: str,
        *,
        model: str | None,
        version: int | None,
        user: str | None,
        from_stage: str | None = None,
        to_stage: str | None = None,
        reason: str | None = None,
    ) -> Event:
        """Append one event (used for refused transitions, which change nothing else).
        ``action`` must be one of EVENT_ACTIONS (InvalidInput otherwise)."""

    @abstractmethod
    def set_alias(
        self, model: str, version: int, alias: str, *, user: str | None, reason: str | None = None
    ) -> ModelVersion:
        """Point ``alias`` at this version; a version of the same model holding it loses it
        (aliases are unique per model). Writes an ``alias`` event (``reason``: the alias, and
        the version it moved from). Returns the updated version."""

    @abstractmethod
    def remove_alias(self, model: str, alias: str, *, user: str | None) -> ModelVersion:
        """Remove ``alias`` from the version holding it and write an ``unalias`` event.
        Raises NotFound when no version of the model holds it. Returns that version."""

    @abstractmethod
    def rollback(self, model: str, *, user: str | None, reason: str | None) -> ModelVersion:
        """Put the previous production version (per :func:`production_history`) back in
        production and archive the current one, with two ``rollback`` events. Raises Conflict
        when the model has no production version or no earlier one to go back to. Returns
        the restored version."""

    @abstractmethod
    def model_events(self, model: str, version: int | None = None) -> list[Event]:
        """The whole audit trail of one model (or one of its versions), oldest first.
        (``AbstractStore.list_events`` pages through every model's events, newest first.)"""

    @abstractmethod
    def versions_of_run(self, run_id: str) -> list[ModelVersion]:
        """The model versions registered from this run (for run pages and lineage)."""
