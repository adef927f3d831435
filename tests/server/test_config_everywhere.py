"""One configuration for every process: a setting placed where the README says reaches a
real kernel, a real ``jupyter server`` subprocess and the ``jupyter mm`` CLI subprocess.

Each supported place sets a different setting, so one start of each process kind shows
every place reaching it:

* ``jupyter_mm_config.py`` in the Jupyter config path: ``c.MMConfig.store_url`` (the
  setting that used to reach the server only when put in ``jupyter_server_config``) and
  ``c.Registry.metric_tolerance``;
* ``jupyter_mm_config.json`` in the Jupyter config path: ``c.Registry.gates``,
  ``c.MMConfig.large_output_bytes`` and (kernels only read it) ``c.TrackMagics.card``;
* ``jupyter_mm_config.py`` in the working directory: ``c.MMConfig.busy_timeout`` and
  ``c.Registry.trust_pickled_models``;
* the environment: ``JUPYTER_MM_ARTIFACTS``;
* a process's own configuration, for that process only: the IPython profile
  (``c.MMConfig.capture_data``) for kernels, ``jupyter_server_config.py``
  (``c.MMExtensionApp.open_store_at_start``) for the server.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mm_api_data import fill_store
from mm_registry_data import register_versions
from mm_test_support import free_port

from jupyter_mm.config import ENV_ARTIFACTS, ENV_STORE, StoreLocation

REPO = str(Path(__file__).resolve().parents[2])
GATE = "params.lr == 0.5"
REFUSAL = f"churn version 1 -> staging refused: gate '{GATE}' not met (params.lr = 0.1)."


@dataclass
class Layout:
    config_dir: Path
    ipython_dir: Path
    workdir: Path
    location: StoreLocation
    base_run: str
    env: dict[str, str]


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    config_dir, ipython_dir, workdir = (tmp_path / d for d in ("config", "ipython", "work"))
    for directory in (config_dir, ipython_dir / "profile_default", workdir):
        directory.mkdir(parents=True)
    team = tmp_path / "team"
    team.mkdir()
    location = StoreLocation(
        url=f"sqlite:///{team / 'mm.db'}", artifact_root=str(tmp_path / "blobs")
    )
    (config_dir / "jupyter_mm_config.py").write_text(
        f"c.MMConfig.store_url = {location.url!r}\nc.Registry.metric_tolerance = 0.25\n"
    )
    (config_dir / "jupyter_mm_config.json").write_text(
        json.dumps(
            {
                "Registry": {"gates": {"staging": [GATE]}},
                "MMConfig": {"large_output_bytes": 1234},
                "TrackMagics": {"card": False},
            }
        )
    )
    (workdir / "jupyter_mm_config.py").write_text(
        "c.MMConfig.busy_timeout = 7.5\nc.Registry.trust_pickled_models = True\n"
    )
    (ipython_dir / "profile_default" / "ipython_kernel_config.py").write_text(
        "c.MMConfig.capture_data = False\n"
    )
    (config_dir / "jupyter_server_config.py").write_text(
        "c.MMExtensionApp.open_store_at_start = True\n"
    )
    data = fill_store(tmp_path, plain_runs=2, location=location)
    register_versions(tmp_path, data, promote=False, location=location)
    env = dict(os.environ)
    for name in (ENV_STORE, "JPY_SESSION_NAME", "JUPYTER_PATH"):
        env.pop(name, None)
    env.update(
        {
            "JUPYTER_CONFIG_DIR": str(config_dir),
            "IPYTHONDIR": str(ipython_dir),
            ENV_ARTIFACTS: location.artifact_root,
            "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
            "PYTHONPATH": os.pathsep.join(filter(None, [REPO, env.get("PYTHONPATH")])),
        }
    )
    return Layout(config_dir, ipython_dir, workdir, location, data.base_id, env)


def _expected_mm(layout: Layout) -> dict[str, Any]:
    return {"store_url": layout.location.url, "large_output_bytes": 1234, "busy_timeout": 7.5}


def _expected_registry() -> dict[str, Any]:
    return {"gates": {"staging": [GATE]}, "metric_tolerance": 0.25, "trust_pickled_models": True}


def _subset(values: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    return {name: values[name] for name in expected}


# -- a real kernel ------------------------------------------------------------------------------

KERNEL_PROBE = """
import json
from jupyter_mm import registry
from jupyter_mm.registry.rules import make_registry
from jupyter_mm.tracking import default_store, get_config
config, rules, store = get_config(), make_registry(), default_store()
get_ipython().run_line_magic("load_ext", "jupyter_mm")
card = get_ipython().magics_manager.registry["TrackMagics"].card
try:
    registry.transition("churn", 1, "staging")
except Exception as exc:
    refusal = str(exc)
print(json.dumps({
    "store": store.url,
    "mm": {n: getattr(config, n) for n in config.trait_names(config=True)},
    "registry": {n: getattr(rules, n) for n in rules.trait_names(config=True)},
    "refusal": refusal,
    "card": card,
}))
"""


def test_every_place_reaches_a_kernel(layout: Layout) -> None:
    from jupyter_client.manager import start_new_kernel

    out: list[str] = []
    km, kc = start_new_kernel(kernel_name="python3", env=layout.env, cwd=str(layout.workdir))
    try:
        kc.execute_interactive(KERNEL_PROBE, timeout=120, output_hook=_collect(out))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    probe = json.loads("".join(out))
    assert probe["store"] == layout.location.url
    assert _subset(probe["mm"], _expected_mm(layout)) == _expected_mm(layout)
    assert probe["mm"]["capture_data"] is False  # the IPython profile, kernels only
    assert probe["mm"]["artifact_root"] == ""  # the environment wins at resolution instead
    assert _subset(probe["registry"], _expected_registry()) == _expected_registry()
    assert probe["refusal"] == REFUSAL
    assert probe["card"] is False


def _collect(into: list[str]) -> Any:
    def hook(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
            into.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            into.append("\n".join(msg["content"]["traceback"]))

    return hook


# -- the CLI subprocess -------------------------------------------------------------------------


def _cli(layout: Layout, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyter_mm.cli", *args],
        cwd=layout.workdir,
        env=layout.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_place_reaches_the_cli(layout: Layout) -> None:
    shown = _cli(layout, "config", "--json")
    assert shown.returncode == 0, shown.stderr
    settings = json.loads(shown.stdout)
    assert settings["files"] == [
        str(layout.config_dir / "jupyter_mm_config.json"),
        str(layout.config_dir / "jupyter_mm_config.py"),
        str(layout.workdir / "jupyter_mm_config.py"),
    ]
    assert settings["environment"] == {
        ENV_STORE: None,
        ENV_ARTIFACTS: layout.location.artifact_root,
    }
    assert _subset(settings["MMConfig"], _expected_mm(layout)) == _expected_mm(layout)
    assert settings["MMConfig"]["capture_data"] is True  # the IPython profile is the kernel's
    assert _subset(settings["Registry"], _expected_registry()) == _expected_registry()

    # the configured store is the one read (no .jupyter_mm/ exists anywhere near workdir)
    listed = _cli(layout, "runs", "--json")
    assert listed.returncode == 0, listed.stderr
    assert layout.base_run in [run["id"] for run in json.loads(listed.stdout)["runs"]]
    # the artifact root from the environment is where blobs are read
    assert _cli(layout, "verify").returncode == 0
    refused = _cli(layout, "promote", "churn", "1", "staging")
    assert refused.returncode == 1
    assert REFUSAL in refused.stderr


# -- a real Jupyter server ----------------------------------------------------------------------


def _request(url: str, token: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
        method="GET" if body is None else "POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def test_every_place_reaches_a_jupyter_server(layout: Layout) -> None:
    port, token = free_port(), secrets.token_hex(16)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            f"--port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={layout.workdir}",
            "--allow-root",
        ],
        cwd=layout.workdir,
        env=layout.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if server.poll() is not None:
                pytest.fail(f"jupyter server exited: {server.stderr.read()[-2000:]}")
            try:
                if _request(f"{base}/api/status", token)[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        status, info = _request(f"{base}/jupyter-mm/api/info", token)
        assert status == 200, info
        assert info["store"] == layout.location.url
        api = f"{base}/jupyter-mm/api"
        status, body = _request(
            f"{api}/models/churn/versions/1/transition", token, {"stage": "staging"}
        )
        assert status == 409, body
        assert body["error"]["message"] == REFUSAL
        # blobs come from the artifact root the environment names
        status, _ = _request(f"{api}/runs/{layout.base_run}/checkpoint", token)
        assert status == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    # jupyter_server_config.py reached the server: it opened the store at start
    assert f"jupyter-mm: store {layout.location.url} opened" in server.stderr.read()
