"""``jupyter mm``: the command-line interface to a jupyter-mm store.

Commands: ``run``, ``runs``, ``show``, ``diff``, ``checkout``, ``env``, ``verify``, ``gc``,
the registry's commands and ``config`` (``jupyter mm <command> --help`` for each). The
store is found as the kernel finds it
(``docs/architecture.md#configuration-and-store-resolution``); ``--store URL`` overrides
that for one invocation (and for the kernel that ``run`` starts).

Errors a user can cause print one line, ``jupyter mm: error: <message>``, on stderr and
exit with status 2 (bad usage / input) or 1 (not found, failed cell, integrity problem).

The ``--json`` outputs are a stable interface; they are typed in :mod:`.schema` and their
documented shapes are ``JSON_SHAPES`` (rendered from those types by :func:`json_shapes`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from ..errors import InvalidInput, MMError
from ..store_names import ENV_STORE
from . import (
    alerts,
    approvals,
    execute,
    inspect,
    maintenance,
    monitor,
    registry,
    serve,
    settings,
    setup,
    team,
)
from ._common import EscapingStream, HelpFormatter, terminal_text

PROG = "jupyter mm"


def json_shapes() -> dict[str, str]:
    """The documented shape of every ``--json`` output, rendered from the typed models of
    :mod:`jupyter_mm.cli.schema` (and the REST models they reuse): ``"<command> --json"`` ->
    its shape, then ``"<Model>"`` -> the shape of every model those name. Times are seconds
    since the epoch (UTC), durations seconds, sizes bytes; ``null`` where a value is unknown.
    New keys may be added; existing keys keep their meaning."""
    from ..server.schema import MODELS
    from ..server.schema_render import referenced_models, shape_text
    from .schema import CLI_JSON_MODELS, CLI_MODELS

    models = [*MODELS, *CLI_MODELS]
    shapes = {command: shape_text(model, models) for command, model in CLI_JSON_MODELS.items()}
    for command_model in CLI_JSON_MODELS.values():
        for model in referenced_models(command_model, models)[1:]:  # [0]: the output itself
            shapes.setdefault(f"<{model.__name__}>", shape_text(model, models))
    return shapes


def __getattr__(name: str) -> object:
    # JSON_SHAPES is rendered on first use: `jupyter mm` itself never needs it
    if name == "JSON_SHAPES":
        return json_shapes()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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

    def error(self, message: str) -> NoReturn:
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
    approvals.register(subparsers)
    serve.register(subparsers)
    monitor.register(subparsers)
    alerts.register(subparsers)
    settings.register(subparsers)
    setup.register(subparsers)
    team.register(subparsers)
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
    # Everything a person reads goes through the escaping streams (stored strings may hold
    # terminal control sequences); --json output is exact JSON, which escapes them itself.
    stdout, stderr = sys.stdout, sys.stderr
    if not getattr(args, "json", False):
        sys.stdout = EscapingStream(stdout)
    sys.stderr = EscapingStream(stderr)
    try:
        return _run(args)
    finally:
        sys.stdout, sys.stderr = stdout, stderr


def _run(args: argparse.Namespace) -> int:
    """Run the chosen command; errors become one line on stderr and an exit status."""
    try:
        return int(args.func(args))
    except InvalidInput as exc:
        print(f"{PROG}: error: {terminal_text(str(exc))}", file=sys.stderr)
        return 2
    except MMError as exc:
        print(f"{PROG}: error: {terminal_text(str(exc))}", file=sys.stderr)
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


__all__ = ["JSON_SHAPES", "build_parser", "json_shapes", "main"]
