"""git_state against real temporary repositories."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import blake3
import pytest

from jupyter_mm.capture.git import git_state

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", *args],
        cwd=repo,
        capture_output=True,
        check=True,
        env={**os.environ, **GIT_ENV},
    )
    return out.stdout.decode()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    return root


def commit_file(repo: Path, name: str = "train.py", content: str = "print(1)\n") -> str:
    (repo / name).write_text(content)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", f"add {name}")
    return git(repo, "rev-parse", "HEAD").strip()


def test_outside_a_repository_gives_empty_dict(tmp_path: Path) -> None:
    assert git_state(tmp_path) == {}
    assert git_state(tmp_path / "does-not-exist") == {}


def test_missing_git_binary_gives_empty_dict(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    commit_file(repo)
    monkeypatch.setenv("PATH", str(repo / "no-bin-here"))
    assert git_state(repo) == {}


def test_repository_without_commits(repo: Path) -> None:
    state = git_state(repo)
    assert state["toplevel"] == str(repo)
    assert (state["commit"], state["branch"], state["dirty"]) == (None, "main", False)
    (repo / "a.txt").write_text("staged")
    git(repo, "add", "a.txt")
    staged = git_state(repo)
    assert staged["dirty"] is True and len(staged["diff_digest"]) == 64


def test_clean_commit_branch_and_subdirectories(repo: Path) -> None:
    head = commit_file(repo)
    (repo / "sub").mkdir()
    state = git_state(repo / "sub")
    assert state == {
        "toplevel": str(repo),
        "commit": head,
        "branch": "main",
        "dirty": False,
        "diff_digest": None,
        "remote": None,
    }
    assert git_state(repo / "train.py") == state  # a file path means its directory


def test_dirty_digest_is_blake3_of_the_diff_and_tracks_changes(repo: Path) -> None:
    commit_file(repo)
    (repo / "untracked.csv").write_text("not part of git diff HEAD")
    assert git_state(repo)["dirty"] is False
    (repo / "train.py").write_text("print(2)\n")
    state = git_state(repo)
    diff = subprocess.run(
        ["git", "diff", "--no-ext-diff", "--no-color", "--binary", "--no-textconv", "HEAD"],
        cwd=repo,
        capture_output=True,
        check=True,
    ).stdout
    assert state["dirty"] is True
    assert state["diff_digest"] == blake3.blake3(diff).hexdigest()
    (repo / "train.py").write_text("print(3)\n")
    assert git_state(repo)["diff_digest"] != state["diff_digest"]
    (repo / "train.py").write_text("print(2)\n")
    assert git_state(repo)["diff_digest"] == state["diff_digest"]


def test_detached_head_has_no_branch(repo: Path) -> None:
    head = commit_file(repo)
    git(repo, "checkout", "-q", "--detach")
    state = git_state(repo)
    assert (state["commit"], state["branch"]) == (head, None)


def test_remote_credentials_are_stripped_and_redacted(repo: Path) -> None:
    commit_file(repo)
    git(repo, "remote", "add", "upstream", "https://example.com/other.git")
    token = "ghp_" + "Zx9" * 12
    git(repo, "remote", "add", "origin", f"https://x-access-token:{token}@github.com/org/repo.git")
    assert git_state(repo)["remote"] == "https://github.com/org/repo.git"  # origin preferred
    git(repo, "remote", "set-url", "origin", f"https://github.com/org/repo.git?auth={token}")
    remote = git_state(repo)["remote"]
    assert token not in remote and "‹redacted:" in remote


def test_linked_worktree_reads_the_shared_config(repo: Path, tmp_path: Path) -> None:
    head = commit_file(repo)
    git(repo, "remote", "add", "origin", "git@github.com:org/repo.git")
    git(repo, "worktree", "add", "-q", "-b", "feature", str(tmp_path / "wt"))
    state = git_state(tmp_path / "wt")
    assert state["toplevel"] == str(tmp_path / "wt")
    assert (state["commit"], state["branch"]) == (head, "feature")
    assert state["remote"] == "git@github.com:org/repo.git"


def test_capture_does_not_take_the_index_lock(repo: Path) -> None:
    commit_file(repo)
    (repo / "train.py").write_text("changed\n")
    lock = repo / ".git" / "index.lock"
    lock.write_text("")  # the user's own git command is running
    try:
        assert git_state(repo)["dirty"] is True
    finally:
        lock.unlink()
