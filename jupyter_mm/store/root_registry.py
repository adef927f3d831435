"""Which stores use an artifact root, so that ``gc`` deletes only blobs none of them names.

Several stores may share one artifact root: ``JUPYTER_MM_ARTIFACTS`` set in a shell used for
two projects, or a team's bucket behind several databases. A blob one store does not
reference may be another's. So every store records itself in the root when it opens
(``<root>/stores/<id>.json``: its URL without credentials), and ``gc`` takes the union of
the references of every recorded store before it deletes anything. When it cannot read one
of them it deletes nothing and says which store and how to go on.

A root that already held blobs when its first store recorded itself is marked
(``stores/blobs-before-registry``): stores that used it before then may never record
themselves, so ``gc`` deletes nothing there until the user confirms that the recorded
stores are all there are (``gc --claim-root``).
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from typing import Any

import blake3

from ..errors import IntegrityError, InvalidInput, MMError, NotFound
from .blobs import BlobStore

#: the marker of a root that held blobs before any store recorded itself in it
LEGACY_MARKER = "blobs-before-registry"
_SUFFIX = ".json"


def store_id(url: str) -> str:
    """A store's name in the registry: derived from its URL (without credentials)."""
    return blake3.blake3(url.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class RootStore:
    """A store recorded in the root's registry."""

    id: str
    #: its URL without credentials (None when the record is unreadable)
    url: str | None


def register_store(blobs: BlobStore, url: str) -> None:
    """Record that the store ``url`` uses this root; cheap when it is recorded already.

    Best effort: a store that cannot write to the root writes no blobs there either."""
    name = store_id(url) + _SUFFIX
    with contextlib.suppress(MMError, OSError):
        if blobs.read_registry(name) is not None:
            return
        if not blobs.registry_names() and next(iter(blobs.iter_digests()), None) is not None:
            blobs.write_registry(LEGACY_MARKER, b"stores used this root before it had a registry\n")
        record = {"url": url, "registered": time.time()}
        blobs.write_registry(name, json.dumps(record).encode("utf-8"))


def registered_stores(blobs: BlobStore) -> tuple[list[RootStore], bool]:
    """(the stores recorded in the root, whether the root predates its registry)."""
    names = blobs.registry_names()
    stores = []
    for name in names:
        if not name.endswith(_SUFFIX):
            continue
        url = None
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            url = json.loads(blobs.read_registry(name) or b"null").get("url")
        stores.append(RootStore(name[: -len(_SUFFIX)], url if isinstance(url, str) else None))
    return stores, LEGACY_MARKER in names


def forget_store(blobs: BlobStore, ident: str, current_url: str) -> RootStore:
    """Remove a store (by id or URL) from the root's registry, for a store that is gone for
    good. Never the current one."""
    stores, _ = registered_stores(blobs)
    wanted = store_id(ident) if "://" in ident else ident
    match = next((s for s in stores if s.id == wanted), None)
    if match is None:
        raise NotFound(f"No store {ident!r} is recorded in the artifact root {blobs.root}.")
    if match.id == store_id(current_url):
        raise InvalidInput("The current store cannot be forgotten: it uses this artifact root.")
    blobs.delete_registry(match.id + _SUFFIX)
    return match


def claim_root(blobs: BlobStore) -> None:
    """Drop the marker of a root that predates its registry (the user confirmed that the
    recorded stores are all the stores using it)."""
    blobs.delete_registry(LEGACY_MARKER)


def references_of(url: str, blobs: BlobStore, busy_timeout: float = 10.0) -> set[str]:
    """Every blob the store at ``url`` references, read without changing that store
    (no schema upgrade, no crash marking). Raises MMError saying why it cannot be read."""
    from .sql.engine import (
        check_known,
        create_store_engine,
        current_revision,
        display_url,
        normalize_url,
        sqlite_path,
    )
    from .sql.store import SqlStore

    parsed = normalize_url(url)
    if parsed.password == "***":  # a recorded URL: the password was never stored
        parsed = parsed.set(password=None)
    db_file = sqlite_path(parsed)
    if db_file is not None and not db_file.is_file():
        raise NotFound("its database file does not exist (any more)")
    engine = create_store_engine(parsed, busy_timeout=busy_timeout)
    try:
        revision = current_revision(engine)
        if revision is None:
            raise NotFound("there is no jupyter-mm store there")
        check_known(revision, display_url(parsed))
        other = SqlStore(engine, blobs, display_url(parsed))
        # a run links only its checkpoint's manifest: the parts are found through it
        from ..capture.checkpoint import expand_checkpoints

        parts, problems = expand_checkpoints(blobs, sorted(other.checkpoint_manifests()))
        if problems:
            raise IntegrityError(
                f"{len(problems)} of its checkpoints cannot be read whole ({problems[0][1]})"
            )
        return other.referenced_digests() | parts
    finally:
        engine.dispose()


def same_database_key(url: str) -> tuple[str, ...]:
    """What names one database whoever connects: a team's members reach the same
    PostgreSQL database under their own roles, so their URLs (and store records) differ
    by the user name only, and gc must see one store there, not another it cannot read."""
    from .sql.engine import normalize_url, sqlite_path

    parsed = normalize_url(url)
    db_file = sqlite_path(parsed)
    if db_file is not None:
        return ("sqlite", str(db_file))
    family = parsed.get_backend_name()
    return (family, (parsed.host or "").lower(), str(parsed.port or ""), parsed.database or "")


@dataclass
class SharedReferences:
    """What the other stores on a root reference, and which could not be read."""

    digests: set[str]
    #: one entry per other store: {"id", "url", "references": int|None, "problem": str|None}
    stores: list[dict[str, Any]]
    #: sentences saying why deleting is not safe (empty when it is)
    blockers: list[str]


def shared_references(
    store: Any, other_urls: list[str], *, claimed: bool = False
) -> SharedReferences:
    """The union of the references of every other store recorded on ``store``'s root (the
    URLs in ``other_urls``, with credentials, are used for the stores they name)."""
    from .sql.engine import display_url, normalize_url

    register_store(store.blobs, store.url)
    given = {store_id(display_url(normalize_url(u))): u for u in other_urls}
    recorded, legacy = registered_stores(store.blobs)
    result = SharedReferences(set(), [], [])
    mine = store_id(store.url)
    my_database = same_database_key(store.url)
    for other in recorded:
        if other.id == mine or (other.url and same_database_key(other.url) == my_database):
            continue
        entry: dict[str, Any] = {"id": other.id, "url": other.url, "references": None}
        entry["problem"] = None
        try:
            url = given.get(other.id) or other.url
            if url is None:
                raise InvalidInput("its record in the artifact root is unreadable")
            digests = references_of(url, store.blobs)
        except Exception as exc:  # any failure to read it means: do not delete
            lines = str(exc).strip().splitlines() or [type(exc).__name__]
            entry["problem"] = lines[0].rstrip(".")
            result.blockers.append(
                f"the store {other.url or other.id} (id {other.id}) also uses this artifact "
                f"root and cannot be read from here: {entry['problem']}"
            )
        else:
            entry["references"] = len(digests)
            result.digests |= digests
        result.stores.append(entry)
    unknown = set(given) - {s.id for s in recorded}
    if unknown:
        raise InvalidInput(
            "--other-store names a store that is not recorded in this artifact root: "
            + ", ".join(display_url(normalize_url(given[i])) for i in sorted(unknown))
        )
    if legacy and not claimed:
        result.blockers.append(
            "this artifact root held blobs before jupyter-mm recorded which stores use it, so "
            "a store that has not been opened since may still reference some"
        )
    return result
