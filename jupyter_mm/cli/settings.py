"""``jupyter mm config``: the settings this process (and a kernel started here) reads.

Settings come from one loader (:func:`jupyter_mm.config.load_config`); printing what it
found answers "which store does the CLI use, and why" without reading any source."""

from __future__ import annotations

import argparse
import os
from typing import Any

from ..store_names import ENV_ARTIFACTS, ENV_STORE
from ._common import EPILOG_CLASS, add_json_flag, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "config",
        help="show the settings in effect and where they come from",
        description="Print the jupyter_mm_config files read (in order; a later one wins), "
        f"the ${ENV_STORE} / ${ENV_ARTIFACTS} overrides, and the value of every MMConfig "
        "and Registry setting after loading them. Kernels and the Jupyter server read the "
        "same files, with their own IPython / server configuration on top.",
        epilog="examples:\n  jupyter mm config\n  jupyter mm config --json",
        formatter_class=EPILOG_CLASS,
    )
    add_json_flag(p)
    p.set_defaults(func=cmd_config)


def _traits(configurable: Any) -> dict[str, Any]:
    return {
        name: getattr(configurable, name) for name in sorted(configurable.trait_names(config=True))
    }


def _without_credentials(options: Any) -> Any:
    """Storage options as shown: the value of every credential-named option (``key``,
    ``secret``, ``token``, ``aws_secret_access_key`` …, nested too) replaced whatever it
    looks like — these names are the filesystem's own, not guesses — and other text
    redacted as everywhere else."""
    from ..capture.redact import CREDENTIAL_MARKER, is_credential_name, redact_value

    if isinstance(options, dict):
        return {
            k: CREDENTIAL_MARKER
            if isinstance(k, str) and is_credential_name(k) and not isinstance(v, (dict, list))
            else _without_credentials(v)
            for k, v in options.items()
        }
    return redact_value(options)


def settings_dict() -> dict[str, Any]:
    """The ``config --json`` shape (``ConfigOutput`` in :mod:`jupyter_mm.cli.schema`)."""
    from ..config import MMConfig, config_files, load_config
    from ..registry.rules import make_registry
    from ..server.store_provider import display_url

    config = load_config()
    environment = {name: os.environ.get(name) for name in (ENV_STORE, ENV_ARTIFACTS)}
    mm = _traits(MMConfig(config=config))
    # a database URL may carry a password: shown, like everywhere, without credentials
    store_env = environment[ENV_STORE]
    if store_env:
        environment[ENV_STORE] = display_url(store_env)
    mm["store_url"] = display_url(mm["store_url"]) if mm["store_url"] else ""
    mm["artifact_storage_options"] = _without_credentials(mm["artifact_storage_options"])
    return {
        "files": [str(path) for path in config_files()],
        "environment": environment,
        "MMConfig": mm,
        "Registry": _registry_traits(make_registry(config)),
    }


def _registry_traits(rules: Any) -> dict[str, Any]:
    traits = _traits(rules)
    if traits.get("service_token"):
        traits["service_token"] = "‹set›"  # a credential: say that it is set, never what
    return traits


def cmd_config(args: argparse.Namespace) -> int:
    data = settings_dict()
    if args.json:
        print_json(data)
        return 0
    print("files read:", *(data["files"] or ["(none)"]), sep="\n  ")
    for name, value in data["environment"].items():
        print(f"${name}: {value if value is not None else '(not set)'}")
    for section in ("MMConfig", "Registry"):
        for name, value in data[section].items():
            print(f"c.{section}.{name} = {value!r}")
    return 0
