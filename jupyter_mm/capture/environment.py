"""Kernel environment capture (``docs/architecture.md#data-model``, ``#security-model``).

Runs in the user's kernel on every tracked cell, so the expensive parts are cached per
process:

- interpreter, platform, executable and hardware never change within a process;
- installed distributions (``importlib.metadata`` reads every METADATA file, tens to
  hundreds of ms) are re-read only when the mtime of a ``sys.path`` entry changes, which is
  what ``pip install`` / ``uninstall`` / ``-e`` do to site-packages (or when ``sys.path``
  itself changes);
- the map from importable top-level names to distributions (``top_level.txt`` or the
  RECORD file of each distribution) is built in the same pass and cached the same way.

What remains per call is a few dozen ``stat`` calls, one pass over ``sys.modules`` and
``os.environ``, the git probe (two short ``git`` processes) and one BLAKE3 of the canonical
JSON. The Environment ``id`` is that digest, so identical environments share one record.

Secrets (§7): environment variables are recorded by name only unless allowlisted;
allowlisted names that look like credentials (``is_credential_name``) still get no value;
values and argv are passed through the redactor.
"""

from __future__ import annotations

import fnmatch
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from ..entities import Environment
from .git import git_state
from .redact import Redactor, default_redactor, is_credential_name

_lock = threading.Lock()
_static: dict[str, Any] | None = None
_packages_key: tuple[Any, ...] | None = None
_packages: dict[str, str] = {}
_module_map: dict[str, list[str]] = {}
_allowlist_cache: dict[tuple[str, ...], re.Pattern[str]] = {}


# -- cached per process ------------------------------------------------------------------


def _gpu_names() -> list[str]:
    """GPU model names from ``nvidia-smi`` when it exists; [] otherwise or on any error."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=5,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    if out.returncode != 0:
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def _total_memory() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None  # not POSIX (Windows) or not reported


def _static_fields() -> dict[str, Any]:
    global _static
    if _static is None:
        _static = {
            "python": f"{platform.python_implementation()} {platform.python_version()}",
            "platform": platform.platform(),
            "executable": sys.executable or None,
            "hardware": {
                "cpu_count": os.cpu_count(),
                "machine": platform.machine(),
                "memory_bytes": _total_memory(),
                "gpus": _gpu_names(),
            },
        }
    return _static


def _path_signature() -> tuple[Any, ...]:
    """sys.path entries with their mtimes: changes when packages are (un)installed."""
    signature: list[tuple[str, int | None]] = []
    for entry in sys.path:
        try:
            signature.append((entry, os.stat(entry or ".").st_mtime_ns))
        except OSError:
            signature.append((entry, None))
    return tuple(signature)


def _top_level_names(dist: Any) -> set[str]:
    """Importable top-level names a distribution provides: ``top_level.txt`` when present,
    else the first component of every path in RECORD. Reading RECORD ourselves is several
    times faster than ``packages_distributions()``, which builds a PackagePath per line."""
    declared = dist.read_text("top_level.txt")
    if declared:
        return {line.strip() for line in declared.splitlines() if line.strip()}
    names: set[str] = set()
    for line in (dist.read_text("RECORD") or "").splitlines():
        path = line.split(",", 1)[0].strip('"')
        first, sep, _ = path.partition("/")
        if sep:
            # "numpy.libs", "x.dist-info", "x.data": not importable names
            if "." not in first and first != "__pycache__":
                names.add(first)
        elif first.endswith((".py", ".so", ".pyd")):
            names.add(first.partition(".")[0])  # single-file module or extension
    return names


def _name_and_version(dist: Any) -> tuple[str | None, str | None]:
    """A distribution's name and version from the header block of its METADATA.

    ``dist.name`` and ``dist.version`` each run the e-mail parser over the whole file, long
    description included: two parses per distribution were most of a first capture (~0.3 s
    CPU for 250 distributions, on the user's first tracked cell). The fields are single
    header lines; anything unusual falls back to the parser."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    name = version = None
    for line in text.partition("\n\n")[0].splitlines():
        key, sep, value = line.partition(":")
        if sep and key == "Name":
            name = value.strip()
        elif sep and key == "Version":
            version = value.strip()
    if not name or not version:
        meta = dist.metadata
        name, version = meta["Name"], meta["Version"]
    return name, version


def _refresh_packages() -> None:
    """Re-read distributions and the module map if sys.path (or its mtimes) changed."""
    global _packages_key, _packages, _module_map
    key = _path_signature()
    if key == _packages_key:
        return
    import importlib.metadata as metadata

    packages: dict[str, str] = {}
    module_map: dict[str, list[str]] = {}
    for dist in metadata.distributions():
        try:
            name, version = _name_and_version(dist)
            # The first one on sys.path wins, as it does for imports.
            if not name or not version or name in packages:
                continue
            packages[name] = version
            for module in _top_level_names(dist):
                module_map.setdefault(module, []).append(name)
        except Exception:
            continue  # a broken dist-info must not stop the capture
    _packages, _module_map, _packages_key = packages, module_map, key


def installed_packages() -> dict[str, str]:
    """Installed distributions visible on sys.path: name -> version (cached)."""
    with _lock:
        _refresh_packages()
        return dict(_packages)


def imported_module_versions() -> dict[str, str]:
    """Versions of imported third-party top-level modules: module -> version.

    A module maps to its distribution through the distributions' top-level names; a module with
    no distribution (a local package) is listed when it has a string ``__version__``.
    Standard-library and private (``_``-prefixed) modules are left out.
    """
    with _lock:
        _refresh_packages()
        packages, module_map = _packages, _module_map
    stdlib: frozenset[str] = getattr(sys, "stdlib_module_names", frozenset())
    versions: dict[str, str] = {}
    for name, module in list(sys.modules.items()):
        if "." in name or name.startswith("_") or name in stdlib or module is None:
            continue
        if name in sys.builtin_module_names:
            continue
        version = None
        for dist in module_map.get(name, ()):
            version = packages.get(dist)
            if version:
                break
        if version is None:
            attr = getattr(module, "__version__", None)
            version = attr if isinstance(attr, str) else None
        if version:
            versions[name] = version
    return versions


# -- per call --------------------------------------------------------------------------------


def _allowlist_regex(patterns: Iterable[str]) -> re.Pattern[str]:
    key = tuple(patterns)
    regex = _allowlist_cache.get(key)
    if regex is None:
        # One regex for all fnmatch patterns: names are matched case-sensitively, as
        # environment variables are on POSIX.
        body = "|".join(fnmatch.translate(p) for p in key) or r"(?!)"
        regex = _allowlist_cache[key] = re.compile(body)
    return regex


def environment_variables(
    allowlist: Iterable[str], redactor: Redactor | None = None
) -> dict[str, str | None]:
    """Every environment variable name; the value only for allowlisted, non-credential
    names (redacted), None for all others."""
    allowed = _allowlist_regex(allowlist)
    redactor = redactor or default_redactor()
    result: dict[str, str | None] = {}
    for name, value in os.environ.items():
        if allowed.match(name) and not is_credential_name(name):
            result[name] = redactor.redact_text(value)[0]
        else:
            result[name] = None
    return result


def environment_id(fields: Mapping[str, Any]) -> str:
    """BLAKE3 of the canonical JSON (sorted keys, compact, UTF-8) of ``fields``."""
    import blake3

    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return str(blake3.blake3(canonical.encode("utf-8", "surrogatepass")).hexdigest())


def capture_environment(
    env_allowlist: Iterable[str],
    cwd: str | os.PathLike[str] | None = None,
    redactor: Redactor | None = None,
) -> Environment:
    """The current process's environment; git state is taken for ``cwd`` (the notebook's
    directory; default: the working directory). Never raises for a missing git or an
    unreadable distribution."""
    redactor = redactor or default_redactor()
    static = _static_fields()
    with _lock:
        _refresh_packages()
        packages = dict(_packages)
    fields: dict[str, Any] = {
        "python": static["python"],
        "platform": static["platform"],
        "packages": packages,
        "modules": imported_module_versions(),
        "git": git_state(os.fspath(cwd) if cwd is not None else os.getcwd(), redactor),
        "hardware": dict(static["hardware"]),
        "env_vars": environment_variables(env_allowlist, redactor),
        "argv": redactor.redact_argv(list(sys.argv)),
        "executable": static["executable"],
    }
    return Environment(id=environment_id(fields), **fields)


# -- reading recorded environments -------------------------------------------------------------


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _packages_of(env: Environment | Mapping[str, str] | None) -> dict[str, str]:
    if env is None:
        return {}
    if isinstance(env, Environment):
        return dict(env.packages)
    return dict(env)


def environment_requirements(env: Environment) -> str:
    """pip requirements (``name==version`` lines, sorted) that recreate ``env``'s packages,
    headed by comments naming the interpreter and git commit they ran with."""
    lines = [f"# jupyter-mm environment {env.id[:12]}: {env.python} on {env.platform}"]
    git = env.git or {}
    if git.get("commit"):
        state = " (uncommitted changes)" if git.get("dirty") else ""
        where = f" {git['remote']}" if git.get("remote") else ""
        lines.append(f"# git{where} {git['commit']}{state}")
    for name in sorted(env.packages, key=_canonical):
        lines.append(f"{name}=={env.packages[name]}")
    return "\n".join(lines) + "\n"


def diff_packages(
    a: Environment | Mapping[str, str] | None, b: Environment | Mapping[str, str] | None
) -> dict[str, dict[str, Any]]:
    """Package differences from ``a`` to ``b``: ``{"added": {name: version},
    "removed": {name: version}, "changed": {name: [version_a, version_b]}}``. Names are
    matched after PEP 503 normalisation (``scikit_learn`` == ``scikit-learn``) and reported
    as spelled in ``b`` (``a`` for removals)."""
    pa, pb = _packages_of(a), _packages_of(b)
    names_a = {_canonical(n): n for n in pa}
    names_b = {_canonical(n): n for n in pb}
    added = {names_b[k]: pb[names_b[k]] for k in sorted(names_b.keys() - names_a.keys())}
    removed = {names_a[k]: pa[names_a[k]] for k in sorted(names_a.keys() - names_b.keys())}
    changed = {
        names_b[k]: [pa[names_a[k]], pb[names_b[k]]]
        for k in sorted(names_a.keys() & names_b.keys())
        if pa[names_a[k]] != pb[names_b[k]]
    }
    return {"added": added, "removed": removed, "changed": changed}
