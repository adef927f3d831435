"""Whose predictions, labels and endpoint counters a model's monitoring believes.

On a team store every user's login may write the prediction log; the database only makes
sure each row names its real writer (``store.sql.writers``). Monitoring, whose rules can
roll production back, acts only on rows from writers trusted for the model:

1. the owner of the store's tables — the registry service, and serving processes run with
   its credentials;
2. the users whose runs became versions of the model (``runs.user`` is the login role
   that wrote the run, enforced by the database; only the registry service registers
   versions, after its permission check);
3. users named (``alice`` or ``user:alice``; not groups or ``*``, which the store cannot
   resolve) with a role above ``read`` on the model in ``c.Permissions.roles``;
4. the login roles ``c.Monitor.trusted_writers`` lists for the model's name pattern.

Everything else is ignored, and counted, so a report shows "ignored labels from N
writers" instead of silently believing or silently dropping them. A single-machine store
(SQLite) has no database identities: there every writer is trusted, as before.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..permissions import Permissions
    from ..store.abstract import AbstractStore
    from .settings import Monitor

#: roles whose holders are trusted to feed a model's monitoring
FEEDING_ROLES = ("register", "stage", "approve", "manage")


@dataclass(frozen=True)
class WriterTrust:
    """The writers trusted for one model; ``writers`` None: every writer (SQLite)."""

    writers: frozenset[str] | None

    def admits(self, writer: str | None) -> bool:
        return self.writers is None or (writer is not None and writer in self.writers)


def configured_writers(settings: Monitor, model: str) -> set[str]:
    """The login roles ``c.Monitor.trusted_writers`` trusts for ``model``."""
    found: set[str] = set()
    for pattern, names in settings.trusted_writers.items():
        if fnmatch.fnmatchcase(model, pattern):
            found.update(names)
    return found


def named_role_holders(permissions: Permissions, model: str) -> set[str]:
    """Users named directly with a role above read on ``model``."""
    found: set[str] = set()
    for pattern, grants in permissions.roles.items():
        if not fnmatch.fnmatchcase(model, pattern):
            continue
        for role, principals in grants.items():
            if role in FEEDING_ROLES:
                found.update(
                    p.removeprefix("user:")
                    for p in principals
                    if p != "*" and not p.startswith("group:")
                )
    return found


def writer_trust(
    store: AbstractStore,
    model: str,
    *,
    settings: Monitor | None = None,
    permissions: Permissions | None = None,
) -> WriterTrust:
    """The writers ``model``'s monitoring trusts on ``store`` (see the module docstring)."""
    owner = store.writer_trust_base()
    if owner is None:
        return WriterTrust(None)
    from ..permissions import load_permissions
    from .settings import load_monitor

    settings = settings or load_monitor()
    permissions = permissions or load_permissions()
    trusted = {owner, *store.model_run_owners(model)}
    trusted |= named_role_holders(permissions, model)
    trusted |= configured_writers(settings, model)
    trusted.discard("")
    return WriterTrust(frozenset(trusted))


def trust_summary(
    trust: WriterTrust, ignored_labels: dict[str, int], ignored_batches: dict[str, int]
) -> Any:
    """The report's ``trust`` section (wire model ``MonitoringTrust``)."""
    return {
        "writers": None if trust.writers is None else sorted(trust.writers),
        "ignored_labels": sum(ignored_labels.values()),
        "ignored_label_writers": sorted(ignored_labels),
        "ignored_batches": sum(ignored_batches.values()),
        "ignored_batch_writers": sorted(ignored_batches),
    }
