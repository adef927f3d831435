"""Where the server's registry rules come from: ``jupyter_mm_config`` files (as the kernel
and the CLI read them) with the server's own ``c.Registry`` on top; a broken gate refuses
every transition with a sentence for the operator instead of letting versions through."""

from __future__ import annotations

from pathlib import Path

import pytest
from mm_api_data import fill_store, get_json
from mm_registry_data import register_versions, send_json
from traitlets.config import Config

pytestmark = pytest.mark.usefixtures("jp_serverapp")

TRANSITION = ("models", "churn", "versions", "1", "transition")


@pytest.fixture
def jp_server_config(request: pytest.FixtureRequest) -> Config:
    gates = getattr(request, "param", None)
    config = Config({"ServerApp": {"jpserver_extensions": {"jupyter_mm": True}}})
    if gates is not None:
        config["Registry"] = Config({"gates": gates})
    return config


async def test_a_gate_from_a_jupyter_mm_config_file_applies_to_the_server(
    jp_fetch, jp_root_dir: Path, jp_config_dir: Path
) -> None:
    # the same file a notebook's kernel reads: a promotion from the browser must meet it too
    (jp_config_dir / "jupyter_mm_config.py").write_text(
        'c.Registry.gates = {"staging": ["params.lr == 0.5"]}\n', encoding="utf-8"
    )
    data = fill_store(jp_root_dir, plain_runs=2)
    register_versions(jp_root_dir, data, promote=False)
    status, body = await send_json(jp_fetch, "POST", *TRANSITION, body={"stage": "staging"})
    assert status == 409, body
    assert body["error"]["message"] == (
        "churn version 1 -> staging refused: gate 'params.lr == 0.5' not met (params.lr = 0.1)."
    )


@pytest.mark.parametrize("jp_server_config", [{"staging": ["params.lr == 0.1"]}], indirect=True)
async def test_the_servers_own_config_wins_over_the_file(
    jp_fetch, jp_root_dir: Path, jp_config_dir: Path
) -> None:
    (jp_config_dir / "jupyter_mm_config.py").write_text(
        'c.Registry.gates = {"staging": ["params.lr == 0.5"]}\n', encoding="utf-8"
    )
    data = fill_store(jp_root_dir, plain_runs=2)
    register_versions(jp_root_dir, data, promote=False)
    status, body = await send_json(jp_fetch, "POST", *TRANSITION, body={"stage": "staging"})
    assert status == 200, body
    assert body["stage"] == "staging"


@pytest.mark.parametrize("jp_server_config", [{"production": ["metrics.acc >>= 1"]}], indirect=True)
async def test_a_broken_gate_refuses_transitions_with_a_sentence(
    jp_fetch, jp_root_dir: Path
) -> None:
    data = fill_store(jp_root_dir, plain_runs=2)
    register_versions(jp_root_dir, data, promote=False)
    status, body = await send_json(jp_fetch, "POST", *TRANSITION, body={"stage": "staging"})
    assert status == 500, body
    message = body["error"]["message"]
    assert message.startswith("The server's registry configuration is invalid")
    assert "metrics.acc >>= 1" in message
    # reads do not depend on the gates
    status, body = await get_json(jp_fetch, "models", "churn")
    assert status == 200 and body["versions"][0]["stage"] == "none"
