"""Configuration shared by the kernel, the server and the CLI, and store resolution.

Store resolution (``docs/architecture.md#configuration-and-store-resolution``), first match wins:

1. an explicit URL: the ``JUPYTER_MM_STORE`` environment variable, else the ``store_url``
   trait (``c.MMConfig.store_url``). ``sqlite:///path/mm.db`` or ``postgresql://…``.
   The artifact root is ``JUPYTER_MM_ARTIFACTS`` / ``artifact_root``, defaulting to an
   ``objects/`` directory next to a SQLite file (required for PostgreSQL);
2. the nearest ``.jupyter_mm/`` directory walking up from the working directory;
3. a new ``.jupyter_mm/`` at the git top level, else in the working directory (the server
   passes its ``root_dir``). It holds ``mm.db``, ``objects/`` and a ``.gitignore`` of ``*``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from traitlets import Bool, Dict, Float, Int, List, Unicode
from traitlets.config import Config, Configurable

from .errors import InvalidInput
from .store_names import (
    DB_FILE,
    ENV_ARTIFACTS,
    ENV_SERVER_ROOT,
    ENV_STORE,
    OBJECTS_DIR,
    STORE_DIR_NAME,
)

#: the configuration file every process reads: ``jupyter_mm_config.py`` / ``.json``
CONFIG_FILE = "jupyter_mm_config"

#: Environment variables recorded with their value (fnmatch patterns). Every other
#: variable is recorded by name only; credential-looking names never get a value.
DEFAULT_ENV_ALLOWLIST = [
    "CUDA_*",
    "CUDNN_*",
    "NVIDIA_*",
    "OMP_*",
    "MKL_*",
    "OPENBLAS_*",
    "NUMEXPR_*",
    "TF_*",
    "TORCH_*",
    "XLA_*",
    "JAX_*",
    "PYTHONHASHSEED",
    "PYTHONPATH",
    "PYTHONUTF8",
    "LANG",
    "LC_*",
    "TZ",
    "VIRTUAL_ENV",
    "CONDA_DEFAULT_ENV",
    "CONDA_PREFIX",
    "JUPYTERHUB_USER",
    "HOSTNAME",
]


class MMConfig(Configurable):
    """Settings for jupyter-mm, ``c.MMConfig.<name>`` in ``jupyter_mm_config.py`` (every
    process) or a process's own Jupyter/IPython config (see :func:`load_config`), overridden
    by the environment variables named below."""

    store_url = Unicode(
        "",
        help="Database URL of the store (sqlite:///… or postgresql://…). Empty: find or "
        "create .jupyter_mm/ in the working directory or above (docs/architecture.md in the "
        "jupyter-mm repository says how). Overridden by $JUPYTER_MM_STORE.",
    ).tag(config=True)

    artifact_root = Unicode(
        "",
        help="Where blobs live: a local path or an fsspec URL (s3://bucket/prefix). Empty: "
        "objects/ next to a SQLite database. Required with PostgreSQL. Overridden by "
        "$JUPYTER_MM_ARTIFACTS.",
    ).tag(config=True)

    artifact_storage_options = Dict(
        default_value={},
        help="Options for the fsspec filesystem of an artifact root given as a URL, e.g. "
        '{"endpoint_url": "https://minio.example.org:9000"} for MinIO or Ceph, or '
        '{"profile": "team"}. Keep credentials out of it: s3fs reads them from the usual '
        "AWS variables, ~/.aws files or the instance role; jupyter-mm never records them.",
    ).tag(config=True)

    env_allowlist = List(
        Unicode(),
        default_value=DEFAULT_ENV_ALLOWLIST,
        help="fnmatch patterns of environment variable names recorded with their value.",
    ).tag(config=True)

    capture_data = Bool(
        True, help="Record files opened during a tracked cell (audit hook) and hash them."
    ).tag(config=True)

    data_ignore = List(
        Unicode(),
        default_value=[],
        help="Extra fnmatch patterns of paths never recorded as data (site-packages, the "
        "store, /proc, /dev and /sys are always ignored).",
    ).tag(config=True)

    progress_after = Float(
        1.0, help="Show a progress bar when hashing takes longer than this many seconds."
    ).tag(config=True)

    large_output_bytes = Int(
        4096,
        help="Outputs larger than this are stored as separate blobs, once, however many "
        "checkpoints carry them.",
    ).tag(config=True)

    busy_timeout = Float(30.0, help="Seconds a SQLite writer waits for a lock before failing.").tag(
        config=True
    )


# -- loading ------------------------------------------------------------------------------


def ipython_shell() -> Any:
    """The running IPython shell (in a kernel or a terminal IPython), else None. IPython is
    not imported for this: a process that has not imported it has no shell."""
    module = sys.modules.get("IPython")
    if module is None:
        return None
    try:
        return module.get_ipython()
    except Exception:
        return None


def config_dirs(cwd: str | os.PathLike[str] | None = None) -> list[Path]:
    """Where ``jupyter_mm_config.{json,py}`` is read, lowest priority first: the Jupyter
    config path (``jupyter --paths``, most general first), then the working directory."""
    from jupyter_core.paths import jupyter_config_path

    return [*(Path(d) for d in reversed(jupyter_config_path())), Path(cwd or os.getcwd())]


def config_files(cwd: str | os.PathLike[str] | None = None) -> list[Path]:
    """The ``jupyter_mm_config`` files that exist, in the order they are loaded (a later
    file wins): per directory of :func:`config_dirs`, ``.json`` before ``.py``."""
    found: list[Path] = []
    for directory in config_dirs(cwd):
        for suffix in (".json", ".py"):
            path = directory / (CONFIG_FILE + suffix)
            if path.is_file() and path not in found:
                found.append(path)
    return found


def load_config(
    process_config: Config | None = None, *, cwd: str | os.PathLike[str] | None = None
) -> Config:
    """The configuration of every jupyter-mm configurable (``MMConfig``, ``Registry``,
    ``TrackMagics``, ...) for this process — the one loader the kernel, the server and the
    CLI share, so a setting means the same in each:

    1. the ``jupyter_mm_config`` files of :func:`config_files` (every process reads them);
    2. the process's own configuration on top: ``process_config`` when given (the server
       passes its ``ServerApp`` config, i.e. ``jupyter_server_config``), else the IPython
       shell's (``ipython_config`` / ``ipython_kernel_config`` of the profile) in a kernel.

    ``$JUPYTER_MM_STORE`` / ``$JUPYTER_MM_ARTIFACTS`` override ``store_url`` /
    ``artifact_root`` when the store is resolved. Raises InvalidInput naming a file that
    cannot be read."""
    from traitlets.config.loader import JSONFileConfigLoader, PyFileConfigLoader

    merged = Config()
    for path in config_files(cwd):
        loader_class = JSONFileConfigLoader if path.suffix == ".json" else PyFileConfigLoader
        try:
            merged.merge(loader_class(path.name, path=str(path.parent)).load_config())
        except Exception as exc:
            raise InvalidInput(f"The configuration file {path} cannot be read: {exc}.") from None
    if process_config is None:
        shell = ipython_shell()
        process_config = shell.config if shell is not None else None
    if process_config is not None:
        merged.merge(process_config)
    return merged


def load_mm_config(
    process_config: Config | None = None, *, cwd: str | os.PathLike[str] | None = None
) -> MMConfig:
    """``MMConfig`` from :func:`load_config`."""
    return MMConfig(config=load_config(process_config, cwd=cwd))


@dataclass(frozen=True)
class StoreLocation:
    """Where the store is: a database URL and a blob root."""

    url: str
    artifact_root: str
    #: the .jupyter_mm directory when the store is local and found/created by resolution
    directory: Path | None = None


def _git_toplevel(start: Path) -> Path | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=start,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None


def find_store_dir(start: Path) -> Path | None:
    """The nearest ``.jupyter_mm/`` directory at or above ``start``."""
    start = start.resolve()
    for directory in (start, *start.parents):
        candidate = directory / STORE_DIR_NAME
        if candidate.is_dir():
            return candidate
    return None


def ensure_store_dir(directory: Path) -> Path:
    """Create ``directory`` (a ``.jupyter_mm``) with its ``objects/`` and ``.gitignore``."""
    (directory / OBJECTS_DIR).mkdir(parents=True, exist_ok=True)
    ignore = directory / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    return directory


def resolve_store(
    config: MMConfig | None = None,
    *,
    cwd: str | os.PathLike[str] | None = None,
    root_dir: str | os.PathLike[str] | None = None,
    create: bool = True,
) -> StoreLocation:
    """Find the store (``docs/architecture.md#configuration-and-store-resolution``).
    ``root_dir`` is where a new store goes when there is no git repository (the server
    passes its root_dir; default: ``cwd``). With
    ``create=False`` a missing store raises InvalidInput instead of being created."""
    config = config or load_mm_config()
    here = Path(cwd or os.getcwd())
    url = os.environ.get(ENV_STORE) or config.store_url
    artifacts = os.environ.get(ENV_ARTIFACTS) or config.artifact_root
    if url:
        if url.startswith("sqlite:///"):
            db_path = Path(url[len("sqlite:///") :])
            if not artifacts:
                artifacts = str(db_path.parent / OBJECTS_DIR)
        elif not artifacts:
            raise InvalidInput(
                f"{ENV_ARTIFACTS} (or c.MMConfig.artifact_root) must be set when the store "
                "is not SQLite."
            )
        return StoreLocation(url=url, artifact_root=artifacts)

    directory = find_store_dir(here)
    if directory is None:
        if not create:
            raise InvalidInput(
                f"No {STORE_DIR_NAME}/ store found above {here}; run a tracked cell first or "
                f"set {ENV_STORE}."
            )
        directory = ensure_store_dir(_new_store_dir(here, root_dir))
    return _local_location(directory, artifacts)


def _new_store_dir(here: Path, root_dir: str | os.PathLike[str] | None) -> Path:
    """Where a new ``.jupyter_mm/`` goes: the git top level, else ``root_dir``, else the
    root of the Jupyter server that started this process when ``here`` is inside it (the
    server reads no store into existence, so its kernels create it where it looks), else
    ``here``."""
    base = _git_toplevel(here) or Path(root_dir or _server_root(here) or here)
    return base.resolve() / STORE_DIR_NAME


def _server_root(here: Path) -> Path | None:
    root = os.environ.get(ENV_SERVER_ROOT)
    if not root:
        return None
    root_path = Path(root).resolve()
    return root_path if here.resolve().is_relative_to(root_path) else None


def _local_location(directory: Path, artifacts: str | None) -> StoreLocation:
    return StoreLocation(
        url=f"sqlite:///{directory / DB_FILE}",
        artifact_root=artifacts or str(directory / OBJECTS_DIR),
        directory=directory,
    )


def existing_store(
    config: MMConfig | None = None,
    *,
    cwd: str | os.PathLike[str] | None = None,
    root_dir: str | os.PathLike[str] | None = None,
) -> tuple[StoreLocation, bool]:
    """Where :func:`resolve_store` finds (or would create) the store, and whether it exists,
    without creating anything: a read-only listing of a store nobody wrote yet is empty,
    not a reason to create one. A SQLite store exists when its database file does; a
    file that cannot be looked at, or that could never be created, counts as existing
    (opening it says what is wrong); a server database (PostgreSQL) always does."""
    config = config or load_mm_config()
    here = Path(cwd or os.getcwd())
    url = os.environ.get(ENV_STORE) or config.store_url
    if url:
        location = resolve_store(config, cwd=here, root_dir=root_dir, create=False)
        if not url.startswith("sqlite:///"):
            return location, True
        database = url[len("sqlite:///") :].split("?", 1)[0]
        return location, database == ":memory:" or _file_exists(here / database)
    directory = find_store_dir(here)
    if directory is None:
        return _local_location(_new_store_dir(here, root_dir), None), False
    location = _local_location(directory, os.environ.get(ENV_ARTIFACTS) or config.artifact_root)
    return location, _file_exists(directory / DB_FILE)


def _file_exists(path: Path) -> bool:
    try:
        path.stat()
    except FileNotFoundError:
        # not there yet; but where it could never be created (a directory without write
        # permission) the store is as unusable as a broken one, and opening says so
        parent = path.parent
        return parent.is_dir() and not os.access(parent, os.W_OK | os.X_OK)
    except OSError:  # no permission to look, a file where a directory should be: opening
        return True  # it says what is wrong
    return True
