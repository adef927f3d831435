"""The model registry: versions, stages, gates, aliases, rollback, audit trail, loading.

``import jupyter_mm as mm``::

    v = mm.register_model("latest", "model", "churn", "forest, 200 trees")
    mm.transition("churn", v.version, "staging", reason="offline eval ok")
    mm.transition("churn", v.version, "production", reason="A/B win")   # gates apply
    mm.set_alias("churn", v.version, "champion")
    model = mm.load_model("churn@production")     # digest verified before loading
    mm.rollback("churn", reason="latency regression")

Every function takes an optional ``store`` (default: the store the kernel uses) so the
server and the CLI share this one implementation of the rules (:mod:`.rules`). Every write
takes an optional ``actor``, the user recorded in the audit trail: the server passes the
request's authenticated user; left out, it is the user of this process
(:func:`jupyter_mm.identity.process_user`). Changes go
through the store's registry methods, each one transaction together with its audit event;
refused transitions are recorded too.

Team mode (:mod:`.team`): each write first checks the acting user's roles
(``c.Permissions``), or, with ``c.Registry.service_url`` set, is made by the registry
service instead of this process.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..entities import STAGES, Event, Model, ModelVersion, Rollback, Run
from ..errors import Conflict, Forbidden, IntegrityError, InvalidInput, MMError, NotFound
from ..identity import process_user
from ..permissions import role_for_transition
from ..store.blobs import hash_bytes, is_digest
from ..store.registry_contract import check_model_name, check_version
from .rules import Registry, make_registry, transition_problem
from .team import route_write

if TYPE_CHECKING:
    import pandas

    from ..store.abstract import AbstractStore

__all__ = [
    "ModelDetail",
    "Registry",
    "get_model",
    "load_model",
    "models",
    "register_model",
    "remove_alias",
    "resolve_version",
    "rollback",
    "rollback_versions",
    "set_alias",
    "transition",
]

REFERENCE_HELP = "name@stage, name@alias, name/VERSION or name/latest"


def _actor(actor: str | None) -> str | None:
    """The user a write is recorded for: ``actor`` when the caller knows who is acting."""
    return actor if actor is not None else process_user()


def _store(store: AbstractStore | None) -> AbstractStore:
    if store is not None:
        return store
    from ..tracking import default_store

    return default_store()


def _publish(store: AbstractStore, events: Callable[[], list[Event]]) -> None:
    """Send registry events to the configured webhooks, after the write committed. The
    events are only read when a hook is configured; a bad webhook setting or a delivery
    problem is a warning, never an error of the write (see jupyter_mm.alerts.webhooks)."""
    import warnings

    from ..alerts.webhooks import make_webhooks, publish_events

    try:
        webhooks = make_webhooks()
    except InvalidInput as exc:
        warnings.warn(f"jupyter-mm: webhooks not delivered: {exc}", stacklevel=3)
        return
    if webhooks.hooks:
        publish_events(store, events(), webhooks=webhooks)


@dataclass
class ModelDetail:
    """A model with its versions (oldest first) and its audit trail (oldest first)."""

    model: Model
    versions: list[ModelVersion] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def version(self, number: int) -> ModelVersion:
        for v in self.versions:
            if v.version == number:
                return v
        raise NotFound(f"Model {self.model.name} has no version {number}.")

    @property
    def production(self) -> ModelVersion | None:
        return next((v for v in self.versions if v.stage == "production"), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.to_dict(),
            "versions": [v.to_dict() for v in self.versions],
            "events": [e.to_dict() for e in self.events],
        }


# -- references ---------------------------------------------------------------------------------


def parse_reference(ref: str) -> tuple[str, str, str]:
    """``name@x`` -> (name, "stage" | "alias", x); ``name/3`` -> (name, "version", "3");
    ``name/latest`` -> (name, "latest", ""). Raises InvalidInput."""
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidInput(f"A model reference is {REFERENCE_HELP}, not {ref!r}.")
    ref = ref.strip()
    if "@" in ref:
        name, _, target = ref.partition("@")
        check_model_name(name)
        if not target:
            raise InvalidInput(f"Model reference {ref!r} names no stage or alias after '@'.")
        return name, ("stage" if target in STAGES else "alias"), target
    if "/" in ref:
        name, _, number = ref.partition("/")
        check_model_name(name)
        if number == "latest":
            return name, "latest", ""
        if not number.isdigit() or int(number) < 1:
            raise InvalidInput(f"Model reference {ref!r}: {number!r} is not a version number.")
        return name, "version", number
    raise InvalidInput(f"Model reference {ref!r} is incomplete; use {REFERENCE_HELP}.")


def resolve_version(ref: str, *, store: AbstractStore | None = None) -> ModelVersion:
    """The version a reference names. With several versions in one stage (staging), the
    newest wins. Raises NotFound saying what is missing."""
    name, kind, target = parse_reference(ref)
    store = _store(store)
    if kind == "version":
        return store.get_version(name, int(target))
    versions = store.list_versions(name)
    if kind == "latest":
        return versions[-1]
    if kind == "stage":
        matches = [v for v in versions if v.stage == target]
        if not matches:
            raise NotFound(f"Model {name} has no version in {target}.")
        return matches[-1]
    holder = next((v for v in versions if target in v.aliases), None)
    if holder is None:
        raise NotFound(f"Model {name} has no version with the alias {target!r}.")
    return holder


# -- registering and moving versions -----------------------------------------------------------


def _run_id(run: Any, store: AbstractStore) -> str:
    if isinstance(run, Run):
        return run.id
    if hasattr(run, "run") and isinstance(run.run, Run):  # an ActiveRun
        run.flush()
        return str(run.run.id)
    if not isinstance(run, str):
        raise InvalidInput(f"A run is an id, an id prefix or 'latest', not {run!r}.")
    return store.resolve_run(run).id


def register_model(
    run: Any,
    artifact: str = "model",
    name: str | None = None,
    description: str | None = None,
    *,
    store: AbstractStore | None = None,
    actor: str | None = None,
    registry: Registry | None = None,
) -> ModelVersion:
    """Register a run's artifact as the next version of model ``name`` (default: the
    artifact's name). ``run`` is a run id, a unique prefix, ``latest``, a Run or an active
    run. The flavor comes from the artifact's media type; the input signature from the
    ``<artifact>.signature.json`` artifact that ``log_model(..., input_example=X)`` wrote."""
    from ..flavors import SIGNATURE_SUFFIX, flavor_of
    from ..safe_paths import check_artifact_name
    from ..vocabulary import SIDECAR_MEDIA_TYPES

    store = _store(store)
    check_artifact_name(artifact)  # a file name when the model is loaded
    run_id = _run_id(run, store)
    name = check_model_name(name or artifact)
    service = route_write(registry or make_registry(), "register", name, actor)
    if service is not None:
        return service.register(run_id, artifact, name, description, actor)
    detail = store.get_run_detail(run_id)
    by_name = {a.name: a for a in detail.artifacts}
    if artifact not in by_name:
        available = ", ".join(sorted(by_name)) or "none"
        raise NotFound(
            f"Run {run_id} has no artifact named {artifact!r} (its artifacts: {available})."
        )
    if by_name[artifact].media_type in SIDECAR_MEDIA_TYPES:
        raise InvalidInput(
            f"{artifact} describes a model (its signature or reference profile) and is not "
            "one itself; register the model artifact it belongs to."
        )
    signature = None
    sidecar = by_name.get(artifact + SIGNATURE_SUFFIX)
    if sidecar is not None:
        try:
            signature = json.loads(store.blobs.get_bytes(sidecar.digest))
        except ValueError:
            raise InvalidInput(
                f"The artifact {sidecar.name} of run {run_id} is not a JSON signature."
            ) from None
    version = store.register_version(
        name,
        run_id,
        artifact,
        flavor=flavor_of(by_name[artifact].media_type),
        user=_actor(actor),
        signature=signature,
        description=description,
    )
    _publish(store, lambda: store.model_events(name, version.version)[-1:])
    return version


def _refuse(
    store: AbstractStore,
    version: ModelVersion,
    stage: str,
    problem: str,
    reason: str | None,
    actor: str | None,
) -> Conflict:
    note = f"{problem} (requested: {reason})" if reason else problem
    store.append_event(
        "transition_refused",
        model=version.model,
        version=version.version,
        user=actor,
        from_stage=version.stage,
        to_stage=stage if stage in STAGES else None,
        reason=note,
    )
    return Conflict(f"{version.model} version {version.version} -> {stage} refused: {problem}.")


def record_forbidden(
    store: AbstractStore,
    name: str,
    version: int,
    stage: str,
    refusal: Forbidden,
    reason: str | None,
    actor: str | None,
) -> None:
    """Record a transition refused for want of a role, as every refused transition is
    (``transition_refused``). Best effort: a store this process may not write (a user's
    own login on a team store) or an unknown version leaves the refusal unrecorded."""
    try:
        current = store.get_version(name, version)
        _refuse(store, current, stage, str(refusal).rstrip("."), reason, actor)
    except MMError:
        pass


def transition(
    name: str,
    version: int,
    stage: str,
    reason: str | None = None,
    *,
    store: AbstractStore | None = None,
    registry: Registry | None = None,
    actor: str | None = None,
    force: bool = False,
) -> ModelVersion:
    """Move a version to ``stage`` if the rules and the gates of ``stage`` allow it (see
    :mod:`jupyter_mm.registry.rules`). A refusal raises Conflict with the reason and is
    recorded as a ``transition_refused`` event. Going to production archives the previous
    production version. Archiving a version that a live ``jupyter mm serve`` process
    serves is refused unless ``force`` (the server would go on serving it: an archived
    version no reference resolves to is never swapped out). Returns the version as it is
    now."""
    registry = registry or make_registry()
    check_version(version)
    try:
        service = route_write(registry, role_for_transition(stage), check_model_name(name), actor)
    except Forbidden as exc:
        record_forbidden(_store(store), name, version, stage, exc, reason, _actor(actor))
        raise
    if service is not None:
        return service.transition(name, version, stage, reason, actor)
    store = _store(store)
    actor = _actor(actor)
    current = store.get_version(check_model_name(name), version)
    problem = transition_problem(current.stage, stage)
    if problem is None and stage == "archived" and not force:
        problem = _served_problem(store, name, version)
    if problem is None:
        from .approvals import approval_needed  # four eyes: registry/approvals.py

        problem = approval_needed(registry, name, version, stage)
    if problem is None:
        run_id = current.run_id
        metrics = store.latest_metrics([run_id]).get(run_id, {})
        params = store.params_of([run_id]).get(run_id, {})
        failed = [r for r in registry.check_gates(stage, metrics, params) if not r.passed]
        if failed:
            problem = "; ".join(r.describe() for r in failed)
    if problem is not None:
        raise _refuse(store, current, stage, problem, reason, actor)
    events = store.transition_version(
        name,
        version,
        from_stage=current.stage,
        to_stage=stage,
        user=actor,
        reason=reason,
    )
    _publish(store, lambda: events)
    return store.get_version(name, version)


def _served_problem(store: AbstractStore, name: str, version: int) -> str | None:
    from ..serving.endpoints import served_by

    serving = served_by(store, name, version)
    if not serving:
        return None
    return (
        f"it is being served by {', '.join(serving)}; stop the server or move its "
        "reference first, or archive anyway with force (--force)"
    )


def set_alias(
    name: str,
    version: int,
    alias: str,
    reason: str | None = None,
    *,
    store: AbstractStore | None = None,
    actor: str | None = None,
    registry: Registry | None = None,
) -> ModelVersion:
    """Point ``alias`` (e.g. ``champion``) at a version; it leaves the version that had it."""
    service = route_write(registry or make_registry(), "manage", check_model_name(name), actor)
    if service is not None:
        return service.set_alias(name, version, alias, reason, actor)
    return _store(store).set_alias(name, version, alias, user=_actor(actor), reason=reason)


def remove_alias(
    name: str,
    alias: str,
    *,
    store: AbstractStore | None = None,
    actor: str | None = None,
    registry: Registry | None = None,
) -> ModelVersion:
    """Remove ``alias`` from the version holding it; returns that version."""
    service = route_write(registry or make_registry(), "manage", check_model_name(name), actor)
    if service is not None:
        return service.remove_alias(name, alias, actor)
    return _store(store).remove_alias(name, alias, user=_actor(actor))


def rollback_versions(
    name: str,
    reason: str | None = None,
    *,
    store: AbstractStore | None = None,
    actor: str | None = None,
    registry: Registry | None = None,
) -> Rollback:
    """:func:`rollback`, returning both versions it moved: ``.restored`` (now in production)
    and ``.archived`` (the production version it replaced)."""
    service = route_write(registry or make_registry(), "approve", check_model_name(name), actor)
    if service is not None:
        return service.rollback(name, reason, actor)
    store = _store(store)
    done = store.rollback(name, user=_actor(actor), reason=reason)
    _publish(store, lambda: store.model_events(name, done.restored.version)[-1:])
    return done


def rollback(
    name: str,
    reason: str | None = None,
    *,
    store: AbstractStore | None = None,
    actor: str | None = None,
    registry: Registry | None = None,
) -> ModelVersion:
    """Put the previous production version back and archive the current one. Returns the
    restored version. Raises Conflict when there is nothing to roll back to."""
    return rollback_versions(name, reason, store=store, actor=actor, registry=registry).restored


# -- reading -----------------------------------------------------------------------------------


def get_model(name: str, *, store: AbstractStore | None = None) -> ModelDetail:
    """A model with its versions and audit trail."""
    store = _store(store)
    return ModelDetail(
        model=store.get_model(name),
        versions=store.list_versions(name),
        events=store.model_events(name),
    )


def models(*, store: AbstractStore | None = None) -> pandas.DataFrame:
    """Every registered version as a DataFrame: model, version, stage, aliases, run_id,
    flavor, created, description."""
    import pandas as pd

    store = _store(store)
    rows = []
    for model in store.list_models():
        for v in store.list_versions(model.name):
            rows.append(
                {
                    "model": v.model,
                    "version": v.version,
                    "stage": v.stage,
                    "aliases": ", ".join(v.aliases),
                    "run_id": v.run_id,
                    "flavor": v.flavor,
                    "created": v.created_time,
                    "description": v.description,
                }
            )
    columns = ["model", "version", "stage", "aliases", "run_id", "flavor", "created"]
    frame = pd.DataFrame(rows, columns=[*columns, "description"])
    frame["created"] = pd.to_datetime(frame["created"], unit="s", utc=True)
    return frame


# -- loading -----------------------------------------------------------------------------------


def _verified_bytes(store: AbstractStore, digest: str, what: str) -> bytes:
    data = store.blobs.get_bytes(digest)
    if hash_bytes(data) != digest:
        raise IntegrityError(
            f"{what} does not match its recorded digest {digest[:12]}…: the stored bytes "
            "changed; refusing to load it (`jupyter mm verify` lists damaged blobs)."
        )
    return data


def _materialize(store: AbstractStore, version: ModelVersion, dest: str | None) -> Path:
    """Write a file/directory model to ``dest`` (default: a new temp directory), each
    file's bytes verified against its digest first. Returns the path of the model.

    The version's artifact name and the manifest's paths come from the store, which is
    shared data: each must be a plain name (:mod:`jupyter_mm.safe_paths`), or nothing is
    written, and no link on the way is followed."""
    from ..safe_paths import make_directory_inside, name_problem, write_inside

    what = f"Model {version.model} version {version.version}"
    problem = name_problem(version.artifact)
    if problem is not None:
        raise IntegrityError(f"{what} names its artifact {version.artifact!r}: {problem}.")
    manifest = _verified_bytes(store, version.digest, what)
    members = {} if version.flavor == "file" else _manifest_members(manifest, what)
    prefix = f"mm-{check_model_name(version.model)}-"
    base = Path(dest) if dest else Path(tempfile.mkdtemp(prefix=prefix))
    base.mkdir(parents=True, exist_ok=True)
    if version.flavor == "file":
        return write_inside(base, (version.artifact,), manifest)
    target = make_directory_inside(base, (version.artifact,))
    for parts, digest in members.items():
        data = _verified_bytes(store, digest, f"{what}, file {'/'.join(parts)}")
        write_inside(base, (version.artifact, *parts), data)
    return target


def _manifest_members(manifest: bytes, what: str) -> dict[tuple[str, ...], str]:
    """relative path pieces -> digest for each file of a directory manifest, every path
    checked before anything is written. Raises IntegrityError naming the first bad one."""
    from ..safe_paths import member_parts

    try:
        files = json.loads(manifest)["files"]
    except (ValueError, KeyError, TypeError):
        raise IntegrityError(f"{what} is a directory model without a readable manifest.") from None
    if not isinstance(files, dict):
        raise IntegrityError(f"{what} is a directory model without a readable manifest.")
    members: dict[tuple[str, ...], str] = {}
    for relative, entry in files.items():
        parts = member_parts(relative)
        if parts is None:
            raise IntegrityError(f"{what} names a file outside its directory: {relative!r}.")
        digest = entry.get("digest") if isinstance(entry, dict) else None
        if not is_digest(digest):
            raise IntegrityError(f"{what} lists {relative!r} without a digest.")
        members[parts] = str(digest)
    return members


def load_model(
    ref: str,
    *,
    trusted: bool | Sequence[str] | None = None,
    dest: str | os.PathLike[str] | None = None,
    store: AbstractStore | None = None,
    registry: Registry | None = None,
) -> Any:
    """Load a registered model: ``"churn@production"``, ``"churn/3"``, ``"churn@champion"``.

    The artifact's BLAKE3 digest is checked against the version's before anything is
    deserialized. Objects come back as objects (skops, torch state_dict, joblib, pickle);
    file and directory models come back as the path of a verified copy (in ``dest``, or a
    new temporary directory). joblib/pickle models run code when loaded, so they need
    ``trusted=True`` (or ``c.Registry.trust_pickled_models = True``). skops models load
    the types skops trusts by default; ``trusted=["module.Type", ...]`` adds types, and
    ``trusted=True`` accepts any (the config setting does not)."""
    from ..flavors import FLAVORS, PATH_FLAVORS, PICKLE_FLAVORS, deserialize_model

    store = _store(store)
    version = resolve_version(ref, store=store)
    what = f"Model {version.model} version {version.version}"
    if version.flavor in PATH_FLAVORS:
        return _materialize(store, version, os.fspath(dest) if dest else None)
    if version.flavor in PICKLE_FLAVORS and trusted is None:
        trusted = (registry or make_registry()).trust_pickled_models
    if version.flavor in PICKLE_FLAVORS and trusted is not True:
        raise InvalidInput(
            f"{what} is a {version.flavor} pickle: loading it runs code stored in the model. "
            "Pass trusted=True (or set c.Registry.trust_pickled_models) if you trust who "
            "registered it."
        )
    media_type = next((m for m, f in FLAVORS.items() if f == version.flavor), None)
    if media_type is None:
        raise InvalidInput(f"{what} has flavor {version.flavor!r}, which cannot be loaded.")
    data = _verified_bytes(store, version.digest, what)
    return deserialize_model(data, media_type, trusted=trusted or False)
