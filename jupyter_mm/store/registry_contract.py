"""The registry half of the store contract: models, versions, aliases and the audit trail.

:class:`AbstractRegistryStore` is its own contract, apart from the run store's
(:class:`~jupyter_mm.store.abstract.AbstractRunStore`), as MLflow keeps its model-registry
store apart from its tracking store; a backend implements both as
:class:`~jupyter_mm.store.abstract.AbstractStore`. Its docstrings are the contract and ``tests/registry/test_registry_contract.py`` checks every
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
``transition_requested`` a request for a transition that needs approval (``reason``:
                     ``request #N: <why>``; ``to_stage`` the target stage)
``transition_approved`` a second person approved request #N; the ``transition`` event (and
                     any ``superseded``) follow in the same transaction
``transition_rejected`` a second person rejected request #N
``transition_request_expired`` request #N was still pending at its expiry time (no user)
``alert``            a monitor rule fired (``reason``: its evidence as JSON; see
                     :mod:`jupyter_mm.alerts`); ``alert_cleared`` when it stopped firing
``retrain``          one step of a retrain (``reason``: JSON with the step and the alert)
==================== ======================================================================

An approved request whose transition cannot happen (the version moved meanwhile, or the
caller found a gate failing) becomes ``failed`` with a ``transition_refused`` event.

Nothing in the contract updates or deletes an event.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

# the registry's argument checks, importable from the contract they belong to
from .validation import check_alias, check_model_name, check_stage, check_version

if TYPE_CHECKING:
    from ..entities import ApprovalRequest, Event, Model, ModelVersion, Rollback

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
    # four eyes: see AbstractRegistryStore.create_approval_request
    "transition_requested",
    "transition_approved",
    "transition_rejected",
    "transition_request_expired",
    # a monitor rule started firing (reason: the evidence as JSON), stopped firing, and the
    # steps of a retrain (reason: JSON with the step, the alert and the new version)
    "alert",
    "alert_cleared",
    "retrain",
)

#: how a decision on an approval request is given to ``decide_approval_request``
DECISIONS: tuple[str, ...] = ("approve", "reject", "fail")

__all__ = [
    "DECISIONS",
    "EVENT_ACTIONS",
    "AbstractRegistryStore",
    "check_alias",
    "check_model_name",
    "check_stage",
    "check_version",
    "production_history",
    "rollback_target",
]


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


def rollback_target(events: Iterable[Event], current: int | None) -> int | None:
    """The version a rollback puts back in production when ``current`` is there: the last
    earlier one of :func:`production_history`; None when there is nothing to roll back."""
    if current is None:
        return None
    history = [v for v in production_history(events) if v != current]
    return history[-1] if history else None


class AbstractRegistryStore(ABC):
    """Models, versions, aliases and the append-only event log.

    Rules every implementation keeps besides the general ones of
    :mod:`jupyter_mm.store.abstract`:

    * Each write below is ONE transaction together with its event(s); a reader never sees a
      stage change without its event or the other way round.
    * Concurrent writers to one model are serialized (a row lock on the model on PostgreSQL;
      SQLite's write lock), so "one production version" and "aliases unique per model" hold
      under concurrency, not only in one process.
    * ``user`` is recorded as given: the caller says who is acting (the registry's
      ``actor``); the store never looks up a user itself.
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
    def rollback(self, model: str, *, user: str | None, reason: str | None) -> Rollback:
        """Put the previous production version (per :func:`production_history`) back in
        production and archive the current one, with two ``rollback`` events. Raises Conflict
        when the model has no production version or no earlier one to go back to. Returns
        both versions as they are now (``restored`` in production, ``archived``), so no
        caller has to read the events back to learn which version left."""

    @abstractmethod
    def model_events(self, model: str, version: int | None = None) -> list[Event]:
        """The whole audit trail of one model (or one of its versions), oldest first.
        (``AbstractStore.list_events`` pages through every model's events, newest first.)"""

    @abstractmethod
    def versions_of_run(self, run_id: str) -> list[ModelVersion]:
        """The model versions registered from this run (for run pages and lineage)."""

    @abstractmethod
    def list_events(
        self, *, model: str | None = None, limit: int = 50, page_token: str | None = None
    ) -> tuple[list[Event], str | None]:
        """Audit events, newest first, one page at a time: ``(events, next_token)``.

        ``model`` keeps the events of that model only. Paging is keyset-based on the event
        id; ``next_token`` is None on the last page. ``limit`` is 1..1000 (InvalidInput
        otherwise); a malformed token is InvalidInput.
        """

    # -- approvals (four eyes) ------------------------------------------------------------------

    @abstractmethod
    def create_approval_request(
        self,
        model: str,
        version: int,
        *,
        from_stage: str,
        to_stage: str,
        user: str | None,
        reason: str | None,
        expires_time: float,
    ) -> ApprovalRequest:
        """Record a pending request to move a version from ``from_stage`` (what the caller
        checked its rules against) to ``to_stage``, with a ``transition_requested`` event,
        in one transaction. Raises NotFound for an unknown model or version; Conflict when
        the version is no longer in ``from_stage`` or already has a pending request for
        ``to_stage`` (one open request per version and target); InvalidInput for a
        malformed stage or reason. ``user`` is the requester."""

    @abstractmethod
    def get_approval_request(self, request_id: int) -> ApprovalRequest:
        """One request as it is now. Raises NotFound, InvalidInput for a malformed id."""

    @abstractmethod
    def list_approval_requests(
        self,
        *,
        model: str | None = None,
        status: str | None = None,
        requester: str | None = None,
        limit: int = 200,
    ) -> list[ApprovalRequest]:
        """Requests, newest first, optionally of one model, in one status, by one
        requester. ``limit`` is 1..1000; an unknown status is InvalidInput. Lists the
        stored state: pending requests past their expiry stay ``pending`` until
        :meth:`expire_approval_requests` has run (the registry runs it first)."""

    @abstractmethod
    def expire_approval_requests(self, now: float) -> list[ApprovalRequest]:
        """Mark every pending request whose ``expires_time`` is at or before ``now`` as
        ``expired``, each with a ``transition_request_expired`` event (no user: nobody
        acted). Returns them as they are now. Safe to call from several processes at
        once: a request expires once."""

    @abstractmethod
    def decide_approval_request(
        self,
        request_id: int,
        *,
        decision: str,
        user: str,
        reason: str | None,
        now: float,
    ) -> tuple[ApprovalRequest, list[Event]]:
        """Decide a pending request, in one transaction with its events.

        ``decision`` is one of DECISIONS. ``approve``: a ``transition_approved`` event, then
        the transition itself as :meth:`transition_version` writes it (``transition``,
        ``superseded``); the request becomes ``approved``. If the version is no longer in
        the request's ``from_stage``, nothing moves: the request becomes ``failed`` with a
        ``transition_refused`` event (returned, not raised: the caller tells the user).
        ``reject``: ``rejected`` with a ``transition_rejected`` event. ``fail``: the caller's
        rules refused the approved transition (a gate): ``failed`` with a
        ``transition_refused`` event whose reason is ``reason``.

        Four eyes hold here, whatever the caller: ``user`` must be named and differ from
        the requester (Conflict otherwise, nothing written). A request that is not
        pending, or whose ``expires_time`` is at or before ``now``, is a Conflict naming
        its state. Returns the request as it is now and the events written, in order."""
