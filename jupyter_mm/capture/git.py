"""Git state of the directory a notebook runs in.

At most two ``git`` processes: one ``rev-parse`` answers top level, git dir, commit and
branch together; one ``git diff HEAD`` tells whether tracked files differ from the commit
and gives the digest of that difference. The remote URL is read from the repository's
config file directly (one more process would cost as much as the rest). Every failure —
git missing, not a repository, a timeout, a corrupt repository — gives ``{}`` or a
partial answer, never an exception: git state is context, not a reason to fail a run.

``dirty`` covers staged and unstaged changes to tracked files; untracked files do not
count (listing them can take seconds in large trees, and they are not part of
``git diff HEAD``). ``GIT_OPTIONAL_LOCKS=0`` keeps git from writing the index, so a
capture never competes with the user's own git commands for ``index.lock``.
"""

from __future__ import annotations

import os
import re
import subprocess
from typing import Any

from .redact import Redactor, default_redactor, strip_url_credentials

#: seconds; git on a network filesystem can hang, tracking must not
REV_PARSE_TIMEOUT = 5.0
DIFF_TIMEOUT = 15.0

_GIT_ENV = {"GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0"}
_SECTION_RE = re.compile(r'^\s*\[\s*remote\s+"([^"]+)"\s*\]\s*$')
_URL_RE = re.compile(r"^\s*url\s*=\s*(.*?)\s*$")


def _git(args: list[str], cwd: str, timeout: float) -> subprocess.CompletedProcess[bytes] | None:
    try:
        return subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            timeout=timeout,
            env={**os.environ, **_GIT_ENV},
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def _common_dir(git_dir: str) -> str:
    """The directory holding ``config`` (differs from the git dir in linked worktrees)."""
    try:
        with open(os.path.join(git_dir, "commondir"), encoding="utf-8") as handle:
            return os.path.normpath(os.path.join(git_dir, handle.read().strip()))
    except OSError:
        return git_dir


def _remote_url(git_dir: str) -> str | None:
    """``origin``'s URL, else the first remote's, from the repository config file."""
    try:
        with open(os.path.join(_common_dir(git_dir), "config"), encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    urls: dict[str, str] = {}
    section: str | None = None
    for line in lines:
        header = _SECTION_RE.match(line)
        if header:
            section = header.group(1)
            continue
        if line.lstrip().startswith("["):
            section = None
            continue
        value = _URL_RE.match(line)
        if section is not None and value and section not in urls:
            urls[section] = value.group(1).strip('"')
    if not urls:
        return None
    return urls.get("origin") or next(iter(urls.values()))


def _unborn_branch(git_dir: str) -> str | None:
    try:
        with open(os.path.join(git_dir, "HEAD"), encoding="utf-8") as handle:
            head = handle.read().strip()
    except OSError:
        return None
    prefix = "ref: refs/heads/"
    return head[len(prefix) :] if head.startswith(prefix) else None


def inside_repository(directory: str) -> bool:
    """Cheap check before spawning git: a ``.git`` entry (directory, or file for worktrees
    and submodules) at or above ``directory``, or GIT_DIR set. Saves a process outside
    repositories."""
    if os.environ.get("GIT_DIR"):
        return True
    current = directory
    while True:
        if os.path.exists(os.path.join(current, ".git")):
            return True
        parent = os.path.dirname(current)
        if parent == current:
            return False
        current = parent


def clean_remote(url: str, redactor: Redactor | None = None) -> str:
    """A remote URL safe to store: credentials stripped, then any secret format redacted."""
    return (redactor or default_redactor()).redact_text(strip_url_credentials(url))[0]


def git_state(path: str | os.PathLike[str], redactor: Redactor | None = None) -> dict[str, Any]:
    """Git state of the repository containing ``path`` (a directory or a file in one).

    Keys: ``toplevel``, ``commit`` (None before the first commit), ``branch`` (None when
    detached), ``dirty``, ``diff_digest`` (BLAKE3 of ``git diff HEAD --binary`` output when
    dirty, else None) and ``remote`` (credentials stripped and redacted; None without a
    remote). ``{}`` outside a repository, when git is missing or does not answer in time.
    """
    directory = os.path.abspath(os.fspath(path))
    if not os.path.isdir(directory):
        directory = os.path.dirname(directory)
    if not os.path.isdir(directory) or not inside_repository(directory):
        return {}
    probe = _git(
        ["rev-parse", "--show-toplevel", "--absolute-git-dir", "HEAD", "--abbrev-ref", "HEAD"],
        directory,
        REV_PARSE_TIMEOUT,
    )
    if probe is None:
        return {}
    lines = probe.stdout.decode("utf-8", "surrogateescape").splitlines()
    if len(lines) < 2 or not os.path.isabs(lines[0]):
        return {}  # not a repository (or a bare one: no working tree to describe)
    toplevel, git_dir = lines[0], lines[1]
    commit: str | None = None
    branch: str | None = None
    if probe.returncode == 0 and len(lines) >= 4:
        commit = lines[2]
        branch = None if lines[3] == "HEAD" else lines[3]
    else:
        branch = _unborn_branch(git_dir)  # no commit yet
    state: dict[str, Any] = {
        "toplevel": toplevel,
        "commit": commit,
        "branch": branch,
        "dirty": False,
        "diff_digest": None,
        "remote": None,
    }
    remote = _remote_url(git_dir)
    if remote:
        state["remote"] = clean_remote(remote, redactor)
    diff_args = ["diff", "--no-ext-diff", "--no-color", "--binary", "--no-textconv"]
    diff = _git(
        [*diff_args, "HEAD"] if commit else [*diff_args, "--cached"], toplevel, DIFF_TIMEOUT
    )
    if diff is None or diff.returncode != 0:
        state["dirty"] = None  # unknown: git failed or timed out
    elif diff.stdout:
        import blake3

        state["dirty"] = True
        state["diff_digest"] = blake3.blake3(diff.stdout).hexdigest()
    return state
