"""Secrets never reach the store (``docs/architecture.md#security-model``), end to end
through a real kernel.

Secrets are planted where a careless tracker would write them: a credential-named environment
variable, an allowlisted variable whose value embeds a token, the kernel's argv-like values, a
param, a printed output, the cell's own source and the notebook file on disk. After the runs,
every byte of the store (database files and blobs) is searched for every secret.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel

from .conftest import execute, kernel_env

pytestmark = pytest.mark.kernel

# synthetic values in well-known formats (none of them is a real credential)
GITHUB = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
AWS_KEY_ID = "AKIA" + "QX7TESTKEYID4ZB2"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY42"
SLACK = "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
URL_PASSWORD = "s3cr3t-Passw0rd-9f8e"
SECRETS = [GITHUB, AWS_KEY_ID, AWS_SECRET, SLACK, URL_PASSWORD]


def _store_bytes(root: Path) -> bytes:
    chunks = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            chunks.append(path.read_bytes())
    return b"\n".join(chunks)


def test_no_secret_reaches_the_store(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    notebook = tmp_path / "secrets.ipynb"
    tracked = (
        "%%track --name leaky --param api_token\n"
        f"api_token = {GITHUB!r}\n"
        f"db = 'postgresql://alice:{URL_PASSWORD}@db.internal:5432/prod'\n"
        f"print('slack', {SLACK!r})\n"
        "print('connecting to', db)\n"
    )
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("%load_ext jupyter_mm", id="load"))
    nb.cells.append(nbformat.v4.new_code_cell(tracked, id="leak"))
    nbformat.write(nb, notebook)

    env = kernel_env(f"sqlite:///{store_dir / 'mm.db'}")
    env["JPY_SESSION_NAME"] = str(notebook)
    env["AWS_ACCESS_KEY_ID"] = AWS_KEY_ID
    env["AWS_SECRET_ACCESS_KEY"] = AWS_SECRET
    env["MY_SERVICE_TOKEN"] = GITHUB
    # allowlisted by name, yet its value carries a token: the value must be scanned
    env["PYTHONPATH"] = env["PYTHONPATH"] + f":/opt/{GITHUB}"
    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(tmp_path))
    try:
        assert execute(kc, "%load_ext jupyter_mm", cell_id="load").status == "ok"
        result = execute(kc, tracked, cell_id="leak")
        assert result.status == "ok", result.errors
        assert SLACK in result.stdout, "the user's own output is untouched"
        card = result.cards[0]["application/vnd.jupyter-mm.run+json"]
        assert card["status"] == "finished"
        # a second run whose checkpoint now carries the printed secrets as saved outputs
        nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text=result.stdout)]
        nbformat.write(nb, notebook)
        assert execute(kc, tracked, cell_id="leak").status == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)

    from jupyter_mm.store import open_store

    with open_store(f"sqlite:///{store_dir / 'mm.db'}") as store:
        runs = store.search_runs(limit=10).runs
        assert len(runs) == 2 and all(r.checkpoint_digest for r in runs)
        detail = store.get_run_detail(runs[0].id)
        assert "‹redacted:" in detail.params[0].value
        env_vars = detail.environment.env_vars
        assert env_vars["AWS_SECRET_ACCESS_KEY"] is None
        assert env_vars["MY_SERVICE_TOKEN"] is None
        assert "MY_SERVICE_TOKEN" in env_vars, "names are kept, values are not"
        dump = json.dumps(detail.to_dict())
    everything = _store_bytes(store_dir)
    assert len(everything) > 10_000, "the store was written"
    for secret in SECRETS:
        assert secret.encode() not in everything, f"{secret[:6]}… reached the store"
        assert secret not in dump
