"""``jupyter mm enable`` / ``disable``: the kernel configuration block, and a real kernel
that then runs ``%%track`` without ``%load_ext``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_mm.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def ipython_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ, IPYTHONDIR=str(tmp_path / "ipython"))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["JUPYTER_MM_STORE"] = f"sqlite:///{tmp_path / 'store' / 'mm.db'}"
    return env


def _config(env: dict[str, str]) -> Path:
    return Path(env["IPYTHONDIR"]) / "profile_default" / "ipython_kernel_config.py"


def test_enable_keeps_the_users_config_and_disable_removes_only_its_block(ipython_env) -> None:
    config = _config(ipython_env)
    config.parent.mkdir(parents=True)
    mine = 'c.InteractiveShellApp.extensions = ["autoreload"]\nc.IPKernelApp.pylab = "inline"'
    config.write_text(mine)  # no final newline: the block must still start on its own line

    first = _cli("enable", env=ipython_env)
    assert first.returncode == 0, first.stderr
    assert "enabled" in first.stdout
    again = _cli("enable", env=ipython_env)
    assert "already enabled" in again.stdout
    text = config.read_text()
    assert text.startswith(mine + "\n")
    assert text.count('extensions.append("jupyter_mm")') == 1

    gone = _cli("disable", env=ipython_env)
    assert gone.returncode == 0 and "disabled" in gone.stdout
    assert config.read_text() == mine + "\n"
    assert "was not enabled" in _cli("disable", env=ipython_env).stdout


def test_a_broken_block_is_reported_not_rewritten(ipython_env) -> None:
    from jupyter_mm.cli.setup import BEGIN

    config = _config(ipython_env)
    config.parent.mkdir(parents=True)
    config.write_text(f"{BEGIN}\nc.X = 1\n")  # the end line was deleted by hand
    done = _cli("disable", env=ipython_env)
    assert done.returncode == 2
    assert done.stderr.startswith("jupyter mm: error: ") and len(done.stderr.splitlines()) == 1
    assert config.read_text() == f"{BEGIN}\nc.X = 1\n"


@pytest.mark.kernel
def test_enabled_kernels_track_without_load_ext(ipython_env, tmp_path: Path) -> None:
    from jupyter_client.manager import start_new_kernel

    from jupyter_mm.store import open_store

    assert _cli("enable", env=ipython_env).returncode == 0
    km, kc = start_new_kernel(env=ipython_env, cwd=str(tmp_path))
    try:
        reply = kc.execute_interactive("%%track --name enabled -q\nx = 1\n", timeout=120)
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    store = open_store(ipython_env["JUPYTER_MM_STORE"], create=False)
    try:
        assert [r.name for r in store.search_runs(limit=5).runs] == ["enabled"]
    finally:
        store.close()
