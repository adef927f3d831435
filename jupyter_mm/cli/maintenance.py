"""Store maintenance: ``verify`` and ``gc``."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import Conflict, IntegrityError, InvalidInput, MMError, NotFound
from ..formatting import short_digest
from ._common import (
    EPILOG_CLASS,
    add_json_flag,
    format_size,
    iter_all_runs,
    open_cli_store,
    print_json,
    unescaped,
)

if TYPE_CHECKING:
    from ..store.abstract import AbstractStore

#: show a progress bar when verifying at least this many blobs
PROGRESS_AFTER_BLOBS = 200

GC_GRACE_HELP = """\
Blobs younger than the grace period are never collected, however unreferenced they look:
a running kernel writes a blob (durable: temp file, fsync, rename) *before* it commits the
row that names it, so for a moment every fresh checkpoint or artifact is unreferenced.
Collecting it then would leave that row pointing at nothing. The grace period must exceed
the longest such window (a tracked cell's run); the default of 1 hour is generous. A
blob's age is its file's modification time, on object storage its LastModified; a writer
that reuses a blob older than 10 minutes renews it, so a reused blob looks young too (a
grace period shorter than that does not protect reused blobs).

Stores sharing an artifact root (one JUPYTER_MM_ARTIFACTS for several projects, a team's
bucket) are recorded in the root when they open, and a blob is collected only when none of
them references it. gc deletes nothing when it cannot read one of them: give its URL with
--other-store, or drop a store that is gone for good with --forget-store. Links below the
root are never followed."""

SHARED_ROOT_HOW = (
    "Give that store's URL (with its credentials) as --other-store URL; if it is gone for "
    "good, remove it with --forget-store ID; if every store that uses this root has been "
    "opened by this version of jupyter-mm, confirm that with --claim-root."
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "verify",
        help="check the store's integrity",
        description="Re-hash every blob, run the database's integrity checks and check that "
        "every blob a row names exists. Each problem is printed on its own line naming the "
        "blob and the runs concerned; the exit status is 1 when there is any problem.",
        epilog="examples:\n  jupyter mm verify\n  jupyter mm --store sqlite:///team/mm.db "
        "verify --json",
        formatter_class=EPILOG_CLASS,
    )
    add_json_flag(p)
    p.set_defaults(func=cmd_verify)

    p = subparsers.add_parser(
        "gc",
        help="delete blobs no run references",
        description="List blobs that no row references, with their sizes; with --yes, delete "
        "them.\n\n" + GC_GRACE_HELP,
        epilog="examples:\n  jupyter mm gc\n  jupyter mm gc --yes\n"
        "  jupyter mm gc --grace 24 --yes",
        formatter_class=EPILOG_CLASS,
    )
    p.add_argument("--yes", action="store_true", help="delete the listed blobs")
    p.add_argument(
        "--grace",
        type=float,
        default=1.0,
        metavar="HOURS",
        help="keep unreferenced blobs younger than this (default: 1)",
    )
    p.add_argument(
        "--other-store",
        action="append",
        default=[],
        metavar="URL",
        help="the URL of another store on this artifact root, to read its references (repeatable)",
    )
    p.add_argument(
        "--forget-store",
        action="append",
        default=[],
        metavar="ID",
        help="remove a store that no longer exists from the artifact root's record (by the id "
        "gc prints, or its URL)",
    )
    p.add_argument(
        "--claim-root",
        action="store_true",
        help="confirm that the stores recorded on this artifact root are all that use it",
    )
    add_json_flag(p)
    p.set_defaults(func=cmd_gc)


def all_references(store: AbstractStore) -> tuple[set[str], list[tuple[str, str]]]:
    """(every blob the store references: what its rows name and the parts of every
    checkpoint, found through the manifests; one line per checkpoint whose parts cannot all
    be found). A run links its checkpoint's manifest only, so this is what gc must keep."""
    from ..capture.checkpoint import expand_checkpoints

    referenced = store.referenced_digests()
    parts, problems = expand_checkpoints(store.blobs, sorted(store.checkpoint_manifests()))
    return referenced | parts, problems


# -- verify ---------------------------------------------------------------------------------


def _runs_referencing(store: AbstractStore, digests: set[str]) -> dict[str, list[str]]:
    """Which runs name each of ``digests`` (checkpoint manifest or part, artifact). Only
    called when something is wrong, so its full scan costs nothing on a healthy store."""
    from ..capture.checkpoint import checkpoint_digests

    found: dict[str, list[str]] = {d: [] for d in digests}
    for run in iter_all_runs(store):
        try:
            named = {a.digest for a in store.get_run_detail(run.id).artifacts}
        except MMError:  # a row naming something missing: check_integrity reports it
            named = set()
        if run.checkpoint_digest:
            named.add(run.checkpoint_digest)
            try:
                named |= checkpoint_digests(store.blobs, run.checkpoint_digest)
            except MMError:  # the manifest itself is damaged: reported on its own
                pass
        for digest in named & digests:
            found[digest].append(run.id)
    return found


def verify_store(store: AbstractStore, *, progress: bool = True) -> dict[str, Any]:
    """Check every blob and row; return the ``verify --json`` shape."""
    problems: list[dict[str, Any]] = []
    present = list(store.blobs.iter_digests())
    bar = None
    if progress and len(present) >= PROGRESS_AFTER_BLOBS:
        from tqdm import tqdm

        bar = tqdm(total=len(present), unit="blob", desc="verifying", file=unescaped(sys.stderr))
    corrupt: set[str] = set()
    for digest in present:
        try:
            if not store.blobs.verify(digest):
                corrupt.add(digest)
        except NotFound:  # deleted while we were checking: gc ran concurrently
            pass
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()

    referenced, unreadable = all_references(store)
    missing = referenced - set(present)
    damaged = corrupt | missing | {manifest for manifest, _ in unreadable}
    owners = _runs_referencing(store, damaged) if damaged else {}

    def runs_text(digest: str) -> str:
        ids = owners.get(digest) or []
        return f" (used by run {', '.join(ids)})" if ids else ""

    for digest in sorted(corrupt):
        problems.append(
            {
                "kind": "corrupt_blob",
                "digest": digest,
                "runs": owners.get(digest, []),
                "message": f"blob {digest} does not match its digest (corrupted)"
                + runs_text(digest),
            }
        )
    for digest in sorted(missing):
        problems.append(
            {
                "kind": "missing_blob",
                "digest": digest,
                "runs": owners.get(digest, []),
                "message": f"blob {digest} is referenced but missing" + runs_text(digest),
            }
        )
    for manifest, reason in unreadable:
        if manifest in corrupt or manifest in missing:
            continue  # the manifest itself is listed above
        problems.append(
            {
                "kind": "unreadable_checkpoint",
                "digest": manifest,
                "runs": owners.get(manifest, []),
                "message": f"checkpoint {manifest} cannot be read whole: {reason}",
            }
        )
    for line in store.check_integrity():
        problems.append({"kind": "database", "digest": None, "runs": [], "message": line})
    run_count = sum(1 for _ in iter_all_runs(store))
    return {
        "ok": not problems,
        "blobs": len(present),
        "runs": run_count,
        "problems": problems,
    }


def cmd_verify(args: argparse.Namespace) -> int:
    with open_cli_store() as store:
        report = verify_store(store, progress=not args.json)
    if args.json:
        print_json(report)
    else:
        for problem in report["problems"]:
            print(problem["message"])
        status = "OK" if report["ok"] else f"{len(report['problems'])} problem(s)"
        print(f"checked {report['blobs']} blobs, {report['runs']} runs: {status}")
    return 0 if report["ok"] else 1


# -- gc -------------------------------------------------------------------------------------


def _blob_age(store: AbstractStore, digest: str, now: float) -> float | None:
    modified = store.blobs.modified_time(digest)
    return None if modified is None else now - modified


def collect_garbage(
    store: AbstractStore,
    *,
    grace_hours: float,
    delete: bool,
    other_stores: Sequence[str] = (),
    claim_root: bool = False,
) -> dict[str, Any]:
    """Find (and with ``delete``, remove) blobs no store on the artifact root references;
    the ``gc --json`` shape. Raises Conflict, deleting nothing, when ``delete`` is asked but
    another store on the root cannot be read."""
    from ..store import root_registry

    if grace_hours < 0:
        raise InvalidInput("--grace must be zero or more hours.")
    # List the blobs *before* reading the references: a blob written and referenced in
    # between is then simply not in the listing, never mistaken for garbage. (A store
    # records itself in the root before it writes a blob there.)
    present = list(store.blobs.iter_digests())
    referenced, unreadable = all_references(store)
    if unreadable:
        # the parts of a checkpoint that cannot be read are unknown: deleting anything
        # could take a part of it that is still there
        raise IntegrityError(
            f"gc found {len(unreadable)} checkpoint(s) whose parts cannot all be read "
            f"({unreadable[0][1]}); nothing was deleted. Run `jupyter mm verify` for details."
        )
    shared = root_registry.shared_references(store, list(other_stores), claimed=claim_root)
    if delete and shared.blockers:
        raise Conflict("gc deleted nothing: " + "; ".join(shared.blockers) + ". " + SHARED_ROOT_HOW)
    referenced |= shared.digests
    now = time.time()
    grace = grace_hours * 3600
    unreferenced: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []
    for digest in present:
        if digest in referenced:
            continue
        try:
            size = store.blobs.size(digest)
        except NotFound:
            continue
        age = _blob_age(store, digest, now)
        entry: dict[str, Any] = {"digest": digest, "size": size, "age_seconds": age}
        # A blob whose age the backend cannot tell is only collected with --grace 0, when
        # the user has said no kernel is writing. Object stores give their LastModified
        # time (the server's clock: a skew of minutes is small against the grace hours).
        if grace > 0 and (age is None or age < grace):
            kept.append(entry)
        else:
            unreferenced.append(entry)
    if delete:
        for entry in unreferenced:
            store.blobs.delete(entry["digest"])
        if claim_root:
            root_registry.claim_root(store.blobs)
    return {
        "unreferenced": unreferenced,
        "total_bytes": sum(e["size"] for e in unreferenced),
        "deleted": delete,
        "kept_young": kept,
        "grace_hours": grace_hours,
        "other_stores": shared.stores,
        "blockers": shared.blockers,
    }


def _format_age(seconds: float | None) -> str:
    if seconds is None:
        return "age unknown"
    if seconds < 3600:
        return f"{int(seconds // 60)} min old"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h old"
    return f"{seconds / 86400:.1f} days old"


def cmd_gc(args: argparse.Namespace) -> int:
    from ..store import root_registry

    with open_cli_store() as store:
        for ident in args.forget_store:
            gone = root_registry.forget_store(store.blobs, ident, store.url)
            if not args.json:
                print(f"forgot the store {gone.url or gone.id} (id {gone.id})")
        report = collect_garbage(
            store,
            grace_hours=args.grace,
            delete=args.yes,
            other_stores=args.other_store,
            claim_root=args.claim_root,
        )
    if args.json:
        print_json(report)
        return 0
    for other in report["other_stores"]:
        if other["problem"] is None:
            print(f"also on this root: {other['url']} (id {other['id']}), read")
    for entry in report["unreferenced"]:
        print(
            f"{short_digest(entry['digest'])}  {format_size(entry['size']):>9}  "
            f"{_format_age(entry['age_seconds'])}"
        )
    count, total = len(report["unreferenced"]), format_size(report["total_bytes"])
    if report["kept_young"]:
        print(
            f"kept {len(report['kept_young'])} unreferenced blob(s) younger than "
            f"{args.grace:g} h (a kernel may still be committing them)"
        )
    if report["blockers"]:
        print("Nothing can be deleted now: " + "; ".join(report["blockers"]) + ".")
        print(SHARED_ROOT_HOW)
    if not count:
        print("No unreferenced blobs to delete.")
    elif args.yes:
        print(f"deleted {count} unreferenced blob(s), {total}")
    else:
        print(f"{count} unreferenced blob(s), {total} in total; run with --yes to delete them")
    return 0
