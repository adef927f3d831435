"""Shared pieces of the CLI: opening the store, formatting, JSON output."""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import textwrap
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from ..config import MMConfig
    from ..entities import Run
    from ..store.abstract import AbstractStore


class HelpFormatter(argparse.HelpFormatter):
    """Wraps descriptions to the terminal paragraph by paragraph (blank-line separated), but
    keeps indented lines (the examples) as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        out: list[str] = []
        for paragraph in text.split("\n\n"):
            lines = paragraph.splitlines()
            if any(line.startswith(" ") for line in lines):
                out.append("\n".join(indent + line for line in lines))
            else:
                out.append(
                    textwrap.fill(
                        " ".join(lines), width, initial_indent=indent, subsequent_indent=indent
                    )
                )
        return "\n\n".join(out)


EPILOG_CLASS = HelpFormatter


def open_cli_store(
    *, cwd: str | os.PathLike[str] | None = None, config: MMConfig | None = None
) -> AbstractStore:
    """Open the store the kernel would find (``--store`` has been copied into
    ``$JUPYTER_MM_STORE`` by ``main``). Reading commands never create a store: a missing one
    is an error that says how to get one. ``config``: the configuration already loaded."""
    from ..store import open_store

    return open_store(cwd=cwd, config=config, create=False)


def open_existing_cli_store() -> AbstractStore | None:
    """The store as :func:`open_cli_store` opens it, or None when none exists yet: a
    listing of a store nobody has written is empty, not an error (and creates nothing)."""
    from ..config import existing_store, load_mm_config

    # loaded once for both steps: a jupyter_mm_config.py is code, run once per command
    config = load_mm_config()
    _, exists = existing_store(config)
    return open_cli_store(config=config) if exists else None


def iter_all_runs(store: AbstractStore, **filters: Any) -> Iterator[Run]:
    """Every run matching ``filters``, newest first, page by page."""
    token: str | None = None
    while True:
        page = store.search_runs(limit=1000, page_token=token, **filters)
        yield from page.runs
        token = page.next_token
        if token is None:
            return


def format_time(seconds: float | None) -> str:
    if not seconds:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def format_size(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"  # pragma: no cover - loop always returns


def format_value(value: float) -> str:
    """Metrics: 4 significant digits, integers without a fraction."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}"


def display_path(path: str | None) -> str:
    """A path relative to the working directory when it is below it, else with ``~`` for
    the home directory, else as recorded."""
    if not path:
        return "-"
    candidate = Path(path)
    if not candidate.is_absolute():
        return path
    for base, prefix in ((Path.cwd(), ""), (Path.home(), "~/")):
        try:
            return prefix + str(candidate.relative_to(base))
        except ValueError:
            continue
    return path


# -- stored strings on a terminal ------------------------------------------------------------
# Names, notes, tags, params, reasons and descriptions come from the store, which may be
# shared: a control character in one would act on the reader's terminal (retitle the window,
# clear the screen, move the cursor, rewrite what was printed, reorder text with a bidi
# override). Human-readable output therefore passes through terminal_text: C0 and C1
# controls, DEL, the bidi controls and the line/paragraph separators become visible escapes.

#: what terminal_text escapes (tab and newline are handled by the caller's choice)
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
_UNSAFE_OR_LAYOUT = re.compile(f"[\t\n{_UNSAFE.pattern[1:-1]}]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\x1b": "\\e"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_text(text: str, *, lines: bool = False) -> str:
    """``text`` safe to print on a terminal: every control character as a visible escape
    (``\\e``, ``\\x07``, ``\\u202e``…). With ``lines``, newlines and tabs are kept (text
    laid out by the CLI itself); without, they are escaped too (one table cell, one line)."""
    pattern = _UNSAFE if lines else _UNSAFE_OR_LAYOUT
    return pattern.sub(_escape, text) if pattern.search(text) else text


class EscapingStream:
    """A text stream that writes through :func:`terminal_text` (newlines and tabs kept). The
    CLI's human-readable output goes through one of these (see ``main``); ``--json`` output
    does not, and stays exact. ``unescaped`` is the stream underneath, for progress bars
    that draw with carriage returns."""

    def __init__(self, stream: TextIO) -> None:
        self.unescaped = stream

    def write(self, text: str) -> int:
        self.unescaped.write(terminal_text(text, lines=True))
        return len(text)

    def __getattr__(self, name: str) -> Any:  # flush, fileno, isatty, encoding, …
        return getattr(self.unescaped, name)


def unescaped(stream: Any) -> Any:
    """The stream under an EscapingStream (the stream itself otherwise)."""
    return getattr(stream, "unescaped", stream)


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Plain left-aligned columns separated by two spaces (no trailing blanks). Each cell is
    one line: control characters in it, newlines included, are escaped."""
    rows = [[terminal_text(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = []
    for row in (headers, *rows):
        line = "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))
        lines.append(line.rstrip())
    return "\n".join(lines)


def json_safe(value: Any) -> Any:
    """``value`` with every float that is not finite written as ``"nan"``, ``"inf"`` or
    ``"-inf"``, as the REST API does: JSON has no NaN, and strict parsers (JavaScript's
    ``JSON.parse``, ``jq``) reject the bare tokens Python would write."""
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value


def print_json(data: Any) -> None:
    json.dump(json_safe(data), sys.stdout, indent=2, default=str, allow_nan=False)
    sys.stdout.write("\n")


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print machine-readable JSON (shape: see README)"
    )


def add_command(
    subparsers: argparse._SubParsersAction,
    name: str,
    *,
    run: Any,
    summary: str,
    description: str,
    examples: Sequence[str],
    **defaults: Any,
) -> argparse.ArgumentParser:
    """Add the subcommand ``name``: ``summary`` in the command list, ``description`` and the
    example command lines in its ``--help``, and ``run(args)`` (plus ``defaults``) as what
    it does. The caller adds its arguments (and :func:`add_json_flag` last)."""
    parser = subparsers.add_parser(
        name,
        help=summary,
        description=description,
        epilog="examples:\n" + "\n".join(f"  {example}" for example in examples),
        formatter_class=EPILOG_CLASS,
    )
    parser.set_defaults(func=run, **defaults)
    return parser


def run_summary(run: Run) -> dict[str, Any]:
    """The run fields every JSON output shares (execution log left out: it can be long)."""
    data = run.to_dict()
    data.pop("execution_log", None)
    data["duration"] = run.duration
    return data
