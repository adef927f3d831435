"""``jupyter mm``: the command-line interface to a jupyter-mm store.

Commands: ``run``, ``runs``, ``show``, ``diff``, ``checkout``, ``env``, ``verify``, ``gc``
(``jupyter mm <command> --help`` for each). The store is found as the kernel finds it
(DESIGN §3); ``--store URL`` overrides that for one invocation (and for the kernel that
``run`` starts).

Errors a user can cause print one line, ``jupyter mm: error: <message>``, on stderr and
exit with status 2 (bad usage / input) or 1 (not found, failed cell, integrity problem).

The ``--json`` outputs are a stable interface; their shapes are in :data:`JSON_SHAPES`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ..config import ENV_STORE
from ..errors import InvalidInput, MMError
from . import execute, inspect, maintenance, registry
from ._common import HelpFormatter

PROG = "jupyter mm"

#: The documented shape of every ``--json`` output. Times are seconds since the epoch (UTC),
#: durations seconds, sizes bytes; ``null`` where a value is unknown. New keys may be added;
#: existing keys keep their meaning.
JSON_SHAPES: dict[str, str] = {
    "run (shared by every output that lists a run)": """\
{"id": str, "name": str|null, "status": "running"|"finished"|"failed"|"crashed",
 "start_time": float, "end_time": float|null, "duration": float|null,
 "notebook_path": str|null, "cell_id": str|null, "user": str|null, "host": str|null,
 "pid": int|null, "parent_id": str|null, "tags": {str: str}, "note": str|null,
 "checkpoint_digest": str|null, "checkpoint_source": "live"|"file"|"history"|"none",
 "environment_id": str|null, "flags": [{"kind": str, "message": str, "cell_id": str|null}],
 "warnings": [str], "error": str|null, "outputs_digest": str|null}""",
    "runs --json": """\
{"runs": [<run> + {"params": {name: str}, "metrics": {name: float (value at the highest
 step)}}], "count": int}""",
    "show --json": """\
{"run": <run> + {"execution_log": [{"count": int|null, "cell_id": str|null,
 "source_hash": str}]},
 "params": {name: str},
 "metrics": {name: {"value": float, "step": int, "points": int}},
 "data": [{"name": str, "role": "input"|"output", "kind": "file"|"directory"|"object",
           "size": int|null, "algorithm": str, "digest": str, "detail": str|null}],
 "artifacts": [{"name": str, "digest": str, "size": int, "media_type": str}],
 "environment": {"id": str, "python": str, "platform": str, "executable": str|null,
                 "packages": int (number of distributions), "git": {...}} | null,
 "checkpoint": {"digest": str|null, "source": str},
 "flags": [{"kind": str, "message": str, "cell_id": str|null}], "warnings": [str],
 "outputs": [nbformat 4 output (stream, display_data, execute_result, error) the tracked
             cell produced, text redacted]}""",
    "diff --json": "RunDiff.to_dict() of jupyter_mm.diffing (documented there)",
    "env --json": """\
{"run_id": str, "environment_id": str, "python": str, "platform": str,
 "executable": str|null, "git": {...}, "packages": {distribution: version},
 "requirements": str (the text `jupyter mm env` prints)}""",
    "verify --json": """\
{"ok": bool, "blobs": int (checked), "runs": int,
 "problems": [{"kind": "corrupt_blob"|"missing_blob"|"unreadable_checkpoint"|"database",
               "digest": str|null,
               "runs": [run id], "message": str}]}""",
    "models --json": """\
{"models": [{"name": str, "description": str|null, "created_time": float,
             "versions": [<version>]}], "count": int}
 <version> = {"model": str, "version": int, "run_id": str, "artifact": str, "digest": str,
 "flavor": str, "stage": "none"|"staging"|"production"|"archived", "aliases": [str],
 "signature": {...}|null, "description": str|null, "created_time": float}""",
    "model --json": """\
{"model": {"name", "description", "created_time"}, "versions": [<version>],
 "events": [{"id": int, "time": float, "user": str|null, "action": str, "model": str,
             "version": int|null, "from_stage": str|null, "to_stage": str|null,
             "reason": str|null}]}""",
    "register --json": "<version>",
    "promote --json": '{"version": <version>, "archived": [int (versions archived)]}',
    "lineage --json": """\
{"version": <version>, "run": {"id", "name", "status", "start_time", "end_time", "user",
 "host", "notebook_path", "cell_id", "params": {name: str}, "metrics": {name: float}},
 "checkpoint": {"digest": str|null, "source": str, "flags": [...]},
 "data": [{"name", "role", "kind", "size", "algorithm", "digest", "detail"}],
 "environment": {"id", "python", "platform", "executable", "git": {...},
                 "packages": {distribution: version}}|null, "events": [<event>]}""",
    "reproduce --json": """\
{"run_id": str, "ok": bool, "executed": bool, "new_run_id": str|null, "reasons": [str],
 "warnings": [str], "data": [{"name", "kind", "recorded", "current", "status":
 "same"|"changed"|"missing"}], "metrics": [{"name", "recorded", "reproduced",
 "relative_difference", "ok"}], "environment": {"python": [old, new], "packages":
 {"added": {...}, "removed": {...}, "changed": {name: [old, new]}}} (keys only when they
 differ), "tolerance": float, "duration": float, "workdir": str|null}""",
    "gc --json": """\
{"unreferenced": [{"digest": str, "size": int, "age_seconds": float|null}],
 "total_bytes": int, "deleted": bool, "grace_hours": float,
 "kept_young": [{"digest": str, "size": int, "age_seconds": float|null}]}""",
}


def absolute_sqlite_url(url: str) -> str:
    """``sqlite:///rel/mm.db`` -> ``sqlite:////cwd/rel/mm.db``; other URLs unchanged."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return url
    path, sep, query = url[len(prefix) :].partition("?")
    if not path or os.path.isabs(path) or path == ":memory:":
        return url
    return prefix + os.path.abspath(path) + sep + query


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line, like every other error of the CLI."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{PROG}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Browse, compare, reproduce and maintain the runs that %%track records.",
        epilog="examples:\n  jupyter mm run train.ipynb -p C=0.5\n  jupyter mm runs\n"
        "  jupyter mm show latest\n  jupyter mm diff 01JD3K latest\n"
        "  jupyter mm checkout latest -o restored.ipynb\n  jupyter mm verify",
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--store",
        metavar="URL",
        help=f"store database URL (sqlite:///… or postgresql://…); default: ${ENV_STORE}, "
        "else the nearest .jupyter_mm/ directory",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    execute.register(subparsers)
    inspect.register(subparsers)
    maintenance.register(subparsers)
    registry.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``jupyter mm`` / ``jupyter-mm``; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed
        return int(exc.code or 0)
    if args.store:
        # Through the environment so that a kernel started by `run` uses the same store.
        os.environ[ENV_STORE] = args.store
    if os.environ.get(ENV_STORE):
        # A relative SQLite path means "relative to where I typed the command"; the kernel
        # of `run` works in the notebook's directory, so pass it on absolute.
        os.environ[ENV_STORE] = absolute_sqlite_url(os.environ[ENV_STORE])
    try:
        return int(args.func(args))
    except InvalidInput as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except MMError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `jupyter mm runs | head`: the reader left; not an error worth a traceback. Point
        # stdout at /dev/null so the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:
        # The machine refused (disk full, read-only file system, permissions): one line
        # that names the file, like the errors above, not a traceback.
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"{PROG}: error: {exc.strerror or exc}{where}.", file=sys.stderr)
        return 1


__all__ = ["JSON_SHAPES", "build_parser", "main"]
