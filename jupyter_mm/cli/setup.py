"""``jupyter mm enable`` / ``disable``: load the IPython extension in every kernel.

IPython kernels read ``ipython_kernel_config.py`` from the user's profile
(``~/.ipython/profile_default``, or ``$IPYTHONDIR``) and from ``<sys.prefix>/etc/ipython``
(the environment's own, for ``--sys-prefix``). ``enable`` adds one marked block to that file,
``c.InteractiveShellApp.extensions.append("jupyter_mm")``, so extensions configured there by
the user or other tools are kept; ``disable`` removes exactly that block. Both are idempotent.
Only kernels read this file (not terminal IPython), and only kernels started afterwards.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import InvalidInput
from ._common import EPILOG_CLASS

CONFIG_NAME = "ipython_kernel_config.py"
BEGIN = "# >>> jupyter-mm >>> (added by `jupyter mm enable`; `jupyter mm disable` removes it)"
END = "# <<< jupyter-mm <<<"
BLOCK = f'{BEGIN}\nc.InteractiveShellApp.extensions.append("jupyter_mm")\n{END}\n'


def register(subparsers: argparse._SubParsersAction) -> None:
    for name, func, summary in (
        ("enable", cmd_enable, "load jupyter-mm in every new IPython kernel"),
        ("disable", cmd_disable, "stop loading jupyter-mm in every new IPython kernel"),
    ):
        p = subparsers.add_parser(
            name,
            help=summary,
            description=f"{summary[0].upper()}{summary[1:]}, so %%track works without "
            "`%load_ext jupyter_mm` (writes a marked block in the kernel configuration "
            f"file {CONFIG_NAME}; kernels already running are not affected).",
            epilog=f"examples:\n  jupyter mm {name}\n  jupyter mm {name} --sys-prefix",
            formatter_class=EPILOG_CLASS,
        )
        where = p.add_mutually_exclusive_group()
        where.add_argument(
            "--user",
            action="store_true",
            help="the user's IPython profile (default): $IPYTHONDIR/profile_default",
        )
        where.add_argument(
            "--sys-prefix",
            action="store_true",
            help=f"this Python environment: {Path(sys.prefix) / 'etc' / 'ipython'}",
        )
        p.set_defaults(func=func)


def config_file(sys_prefix: bool) -> Path:
    """The kernel configuration file ``enable`` writes."""
    if sys_prefix:
        return Path(sys.prefix) / "etc" / "ipython" / CONFIG_NAME
    from IPython.paths import get_ipython_dir

    return Path(get_ipython_dir()) / "profile_default" / CONFIG_NAME


def _without_block(text: str) -> tuple[str, bool]:
    """``text`` with our marked block removed, and whether there was one."""
    start = text.find(BEGIN)
    if start < 0:
        return text, False
    end = text.find(END, start)
    if end < 0:
        raise InvalidInput(
            f"The jupyter-mm block in the kernel configuration has no end line ({END!r}); "
            "fix the file by hand."
        )
    end += len(END)
    if text[end : end + 1] == "\n":
        end += 1
    return text[:start] + text[end:], True


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".jupyter-mm-tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)  # never a half-written configuration file


def cmd_enable(args: argparse.Namespace) -> int:
    path = config_file(args.sys_prefix)
    text = _read(path)
    rest, present = _without_block(text)
    if present:
        print(f"jupyter-mm is already enabled in {path}")
        return 0
    if rest and not rest.endswith("\n"):
        rest += "\n"
    _write(path, rest + BLOCK)
    print(f"enabled: new IPython kernels load jupyter-mm ({path})")
    return 0


def cmd_disable(args: argparse.Namespace) -> int:
    path = config_file(args.sys_prefix)
    rest, present = _without_block(_read(path))
    if not present:
        print(f"jupyter-mm was not enabled in {path}")
        return 0
    _write(path, rest)
    print(f"disabled: new IPython kernels no longer load jupyter-mm ({path})")
    return 0
