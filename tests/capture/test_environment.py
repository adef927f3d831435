"""capture_environment and the helpers reading recorded environments."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jupyter_mm.capture import environment
from jupyter_mm.capture.environment import (
    capture_environment,
    diff_packages,
    environment_id,
    environment_requirements,
)
from jupyter_mm.capture.redact import redact_text
from jupyter_mm.config import DEFAULT_ENV_ALLOWLIST
from jupyter_mm.entities import Environment

GITHUB = "ghp_" + "Q7w" * 12


def make_distribution(site: Path, name: str, version: str, module: str | None = None) -> None:
    """A minimal installed distribution, as pip leaves it, plus its importable module."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    records = []
    if module:
        (site / module).mkdir()
        (site / module / "__init__.py").write_text("VALUE = 1\n")
        (info / "top_level.txt").write_text(module + "\n")
        records.append(f"{module}/__init__.py,,")
    (info / "RECORD").write_text("\n".join(records) + "\n")
    # pip's rename into place bumps the directory mtime; make sure the test sees a change
    # even on filesystems with coarse timestamps.
    later = time.time() + 5 + len(list(site.iterdir()))
    os.utime(site, (later, later))


def test_fields_describe_this_interpreter(tmp_path: Path) -> None:
    env = capture_environment(DEFAULT_ENV_ALLOWLIST, cwd=tmp_path)
    assert env.python == f"{platform.python_implementation()} {platform.python_version()}"
    assert env.platform == platform.platform()
    assert env.executable == sys.executable
    assert env.packages["pytest"] == importlib.metadata.version("pytest")
    assert env.modules["pytest"] == importlib.metadata.version("pytest")
    assert "json" not in env.modules and "sys" not in env.modules  # standard library
    assert env.hardware["cpu_count"] == os.cpu_count()
    assert env.hardware["memory_bytes"] > 0
    assert env.git == {}  # tmp_path is not in a repository
    assert env.argv == [redact_text(arg)[0] for arg in sys.argv]


def test_env_vars_allowlist_credentials_and_redaction(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    monkeypatch.setenv("MYAPP_MODE", "fast")
    monkeypatch.setenv("MYAPP_API_TOKEN", "plain-value-1")
    monkeypatch.setenv("MYAPP_DB_URL", "postgresql://bob:hunter22@db/x")
    monkeypatch.setenv("UNLISTED_VAR", "hidden")
    allowlist = ["CUDA_*", "MYAPP_*"]
    env = capture_environment(allowlist, cwd=tmp_path)
    assert env.env_vars["CUDA_VISIBLE_DEVICES"] == "0,1"
    assert env.env_vars["MYAPP_MODE"] == "fast"
    assert env.env_vars["MYAPP_API_TOKEN"] is None  # credential-like: never a value
    assert env.env_vars["MYAPP_DB_URL"] == "postgresql://bob:‹redacted:url_password›@db/x"
    assert env.env_vars["UNLISTED_VAR"] is None  # name only
    assert set(env.env_vars) == set(os.environ)


def test_argv_is_redacted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "argv", ["train.py", f"--github={GITHUB}", "--epochs=3"])
    env = capture_environment([], cwd=tmp_path)
    assert env.argv == ["train.py", "--github=‹redacted:github_token›", "--epochs=3"]


def test_id_is_the_digest_of_the_other_fields(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    first = capture_environment(["OMP_*"], cwd=tmp_path)
    again = capture_environment(["OMP_*"], cwd=tmp_path)
    assert first.id == again.id
    fields = first.to_dict()
    del fields["id"]
    assert first.id == environment_id(fields)
    monkeypatch.setenv("OMP_NUM_THREADS", "8")
    assert capture_environment(["OMP_*"], cwd=tmp_path).id != first.id
    assert Environment.from_dict(first.to_dict()) == first


def test_installing_a_package_invalidates_the_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    make_distribution(site, "mm-fake-alpha", "1.0", module="mm_fake_alpha")
    monkeypatch.syspath_prepend(str(site))
    env = capture_environment([], cwd=tmp_path)
    assert env.packages["mm-fake-alpha"] == "1.0"
    assert "mm_fake_alpha" not in env.modules  # not imported yet
    import mm_fake_alpha  # noqa: F401

    env = capture_environment([], cwd=tmp_path)
    assert env.modules["mm_fake_alpha"] == "1.0"
    make_distribution(site, "mm-fake-beta", "2.5")
    env = capture_environment([], cwd=tmp_path)
    assert env.packages["mm-fake-beta"] == "2.5"
    monkeypatch.delitem(sys.modules, "mm_fake_alpha")


def test_package_versions_match_importlib_metadata(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Name and version are read from METADATA's header block; a long description with
    # header-like lines, CRLF line ends and a PKG-INFO-only (egg) layout must not fool it.
    site = tmp_path / "site"
    make_distribution(site, "mm-fake-gamma", "3.1")
    info = site / "mm_fake_delta-0.4.dist-info"
    info.mkdir()
    (info / "METADATA").write_bytes(
        b"Metadata-Version: 2.1\r\nName: mm-fake-delta\r\nVersion: 0.4\r\n\r\n"
        b"Version: 9.9 (in the description)\r\nName: not-this\r\n"
    )
    egg = site / "mm_fake_eps.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.0\nName: mm-fake-eps\nVersion: 7\n")
    os.utime(site, (time.time() + 60, time.time() + 60))
    monkeypatch.syspath_prepend(str(site))
    expected: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        if dist.name and dist.version:
            expected.setdefault(dist.name, dist.version)
    packages = capture_environment([], cwd=tmp_path).packages
    assert packages == expected
    assert (packages["mm-fake-delta"], packages["mm-fake-eps"]) == ("0.4", "7")


def test_git_state_of_the_notebook_directory(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    env = capture_environment([], cwd=repo / "notebooks")
    assert env.git["toplevel"] == str(repo)
    assert env.git["branch"] == "main"


def test_repeated_capture_reuses_the_package_scan(tmp_path: Path) -> None:
    from jupyter_mm.capture import environment

    first = capture_environment(DEFAULT_ENV_ALLOWLIST, cwd=tmp_path)
    scanned = environment._packages
    again = capture_environment(DEFAULT_ENV_ALLOWLIST, cwd=tmp_path)
    assert environment._packages is scanned, "an unchanged sys.path must not be rescanned"
    assert again.id == first.id


def test_gpu_names_from_nvidia_smi(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert environment._gpu_names() == []
    tool = tmp_path / "nvidia-smi"
    tool.write_text("#!/bin/sh\nprintf 'NVIDIA A100-SXM4-40GB\\nNVIDIA A100-SXM4-40GB\\n'\n")
    tool.chmod(0o755)
    assert environment._gpu_names() == ["NVIDIA A100-SXM4-40GB"] * 2
    tool.write_text("#!/bin/sh\nexit 9\n")
    assert environment._gpu_names() == []


def make_env(packages: dict[str, str], **git: object) -> Environment:
    return Environment(
        id="e" * 64, python="CPython 3.11.7", platform="Linux", packages=packages, git=dict(git)
    )


def test_environment_requirements() -> None:
    env = make_env(
        {"scikit-learn": "1.5.0", "Pandas": "2.2.2", "attrs": "23.1.0"},
        commit="abc123",
        dirty=True,
        remote="https://github.com/o/r.git",
    )
    assert environment_requirements(env) == (
        "# jupyter-mm environment eeeeeeeeeeee: CPython 3.11.7 on Linux\n"
        "# git https://github.com/o/r.git abc123 (uncommitted changes)\n"
        "attrs==23.1.0\n"
        "Pandas==2.2.2\n"
        "scikit-learn==1.5.0\n"
    )


def test_diff_packages_normalises_names() -> None:
    a = make_env({"scikit_learn": "1.4.0", "numpy": "1.26.4", "old-lib": "0.1"})
    b = make_env({"scikit-learn": "1.5.0", "numpy": "1.26.4", "new.lib": "2.0"})
    assert diff_packages(a, b) == {
        "added": {"new.lib": "2.0"},
        "removed": {"old-lib": "0.1"},
        "changed": {"scikit-learn": ["1.4.0", "1.5.0"]},
    }
    assert diff_packages(None, {"x": "1"}) == {"added": {"x": "1"}, "removed": {}, "changed": {}}


def test_environment_outside_git_is_reused_until_something_it_records_changes(
    tmp_path, monkeypatch
):
    from jupyter_mm.tracking.process import capture_environment_now

    first = capture_environment_now(str(tmp_path))
    assert capture_environment_now(str(tmp_path)) is first
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # allowlisted: recorded with its value
    changed = capture_environment_now(str(tmp_path))
    assert changed is not first and changed.env_vars["OMP_NUM_THREADS"] == "3"
    (tmp_path / ".git").mkdir()  # inside a repository git is asked every time
    assert capture_environment_now(str(tmp_path)) is not capture_environment_now(str(tmp_path))
