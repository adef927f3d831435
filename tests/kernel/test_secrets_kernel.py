"""Secrets never reach the store (``docs/architecture.md#security-model``), end to end
through a real kernel.

Secrets from the external corpus (tests/capture/secret_corpus.py: documented formats,
random values on every run) are planted in every place a run records: literal and flagged
params, ``mm.log_param(s)`` with nested dicts, tags and notes (magic and API), printed text
in every corpus context, rich outputs (HTML, JSON, Markdown, JavaScript, LaTeX, SVG), a
raised exception with IPython's coloured traceback, environment variables, ``sys.argv`` and
the cell sources. The notebook is then saved with those outputs and a last run checkpoints
it. Every byte of the store (database, WAL, blobs, decompressed where compressed) is searched
for every secret, and the count is reported per path.
"""

from __future__ import annotations

import bz2
import collections
import gzip
import json
import lzma
import secrets as random_source
import string
import sys
import zlib
from pathlib import Path

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel

from .conftest import Execution, execute, kernel_env

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "capture"))
from secret_corpus import CONTEXTS, FORMATS, applicable, case, password

pytestmark = pytest.mark.kernel


def _decompressed(data: bytes) -> bytes:
    for opener in (gzip.decompress, zlib.decompress, bz2.decompress, lzma.decompress):
        try:
            return opener(data)
        except Exception:
            continue
    try:
        import zstandard

        return zstandard.ZstdDecompressor().decompress(data)
    except Exception:
        return b""


def store_bytes(root: Path) -> bytes:
    """Every file under the store directory, and the decompressed form of any that is."""
    chunks = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            chunks += [data, _decompressed(data)]
    return b"\n".join(chunks)


class Plant:
    """Secrets by the path they were given to the kernel through."""

    def __init__(self) -> None:
        self.by_path: dict[str, list[str]] = collections.defaultdict(list)

    def add(self, path: str, secret: str) -> str:
        self.by_path[path].append(secret)
        return secret

    def new(self, path: str) -> str:
        return self.add(path, password())


def _corpus_cases(plant: Plant) -> dict[str, list[str]]:
    """Texts to print and to display: every format in every context it applies to."""
    printed, shown = [], []
    for fmt in FORMATS:
        for context in CONTEXTS:
            if not applicable(fmt, context):
                continue
            text, secret = case(fmt, context)
            printed.append(text)
            plant.add(f"printed: {context}", secret)
        text, secret = case(fmt, "html table")
        shown.append(text)
        plant.add("display: text/html", secret)
    return {"print": printed, "html": shown}


def _rich_outputs_cell(plant: Plant) -> str:
    s = [plant.new(f"display: {mime}") for mime in (
        "application/json", "text/markdown", "application/javascript", "text/latex",
        "image/svg+xml", "text/html (dict repr)", "pandas DataFrame (column header)",
    )]  # fmt: skip
    return (
        "%%track --name rich\n"
        "from IPython.display import display, HTML, JSON, Markdown, Javascript, Latex, SVG\n"
        "for t in CASES['html']:\n    display(HTML(t))\n"
        f"display(JSON({{'config': {{'smtp': {{'host': 'mail', 'pass': {s[0]!r}}}}}}}))\n"
        f"display(Markdown('| key | value |\\n|---|---|\\n| `db_password` | `' + {s[1]!r} + '` |'))\n"
        f"display(Javascript('const apiKey = \"{s[2]}\";'))\n"
        f"display(Latex(r'\\texttt{{db\\_password = {s[3]}}}'))\n"
        f'display(SVG(\'<svg xmlns="http://www.w3.org/2000/svg"><text>DB_PASS={s[4]}'
        "</text></svg>'))\n"
        f"display(HTML(repr({{'user': 'ada', 'password': {s[5]!r}}})))\n"
        "import pandas as pd\n"
        f"display(pd.DataFrame([{{'host': 'db1', 'db_password': {s[6]!r}, 'port': 5432}}]))\n"
    )


def _params_cell(plant: Plant) -> str:
    s = [plant.new(p) for p in (
        "literal param api_key", "literal param db_password", "--param hf_token",
        "mm.log_param('password')", "mm.log_params nested {'smtp': {'pass'}}", "--tag api_key",
        "--note prose",
    )]  # fmt: skip
    return (
        f"%%track --name params --param hf_token --tag api_key={s[5]} "
        f"--note 'the password is {s[6]}'\n"
        "import jupyter_mm as mm\n"
        f"api_key = {s[0]!r}\n"
        f"db_password = {s[1]!r}\n"
        f"hf_token = {s[2]!r}\n"
        "max_tokens = 512\nkey_dim = 64\ntokenizer = 'bert-base-uncased'\n"
        f"mm.log_param('password', {s[3]!r})\n"
        f"mm.log_params({{'smtp': {{'host': 'mail', 'pass': {s[4]!r}}}, 'passes': 3}})\n"
    )


def _api_cell(plant: Plant) -> str:
    s = [plant.new(p) for p in ("start_run tags", "start_run note", "ActiveRun.log_param")]
    return (
        "import jupyter_mm as mm\n"
        f"with mm.start_run('api', tags={{'db_password': {s[0]!r}}}, "
        f"note='pwd is {s[1]}') as run:\n"
        f"    run.log_param('client_secret', {s[2]!r})\n"
        "    run.log_param('password_min_length', 8)\n"
    )


def _failing_cell(plant: Plant) -> str:
    s = [plant.new(p) for p in ("traceback source line", "exception message")]
    return (
        "%%track --name fails\n"
        "def connect():\n"
        f"    password = {s[0]!r}; raise ConnectionError('login failed, token={s[1]}')\n"
        "connect()\n"
    )


def _argv_cell(plant: Plant) -> str:
    s = [plant.new(p) for p in ("argv --password S", "argv --api-key=S", "argv --token S")]
    return (
        "import sys\n"
        f"sys.argv = ['train.py', '--password', {s[0]!r}, '--api-key={s[1]}', "
        f"'--token', {s[2]!r}, '--epochs', '3']\n"
    )


def _outputs(result: Execution) -> list[nbformat.NotebookNode]:
    """The outputs JupyterLab would save for what the kernel sent."""
    outputs = []
    if result.stdout:
        outputs.append(nbformat.v4.new_output("stream", name="stdout", text=result.stdout))
    for data in result.displays:
        outputs.append(nbformat.v4.new_output("display_data", data=data))
    for error in result.errors:
        outputs.append(
            nbformat.v4.new_output(
                "error",
                ename=error["ename"],
                evalue=error["evalue"],
                traceback=error["traceback"],
            )
        )
    return outputs


def _check_runs(store_url: str) -> None:
    """Every run was recorded, credential params lost their values, look-alikes did not."""
    from jupyter_mm.store import open_store

    with open_store(store_url) as store:
        runs = {r.name: r for r in store.search_runs(limit=50).runs}
        assert {"prints", "rich", "params", "api", "fails", "final"} <= set(runs)
        params = {p.name: p.value for p in store.get_run_detail(runs["params"].id).params}
        # look-alikes stay as they were
        assert params["max_tokens"] == "512" and params["key_dim"] == "64"
        assert params["tokenizer"] == "bert-base-uncased"
        assert "‹redacted:credential›" in params["api_key"]
        api_params = {p.name: p.value for p in store.get_run_detail(runs["api"].id).params}
        assert api_params["password_min_length"] == "8"
        assert runs["final"].checkpoint_digest
        environment = store.get_run_detail(runs["final"].id).environment
        # argv was recorded, its credential values were not
        assert environment.argv[:2] == ["train.py", "--password"]
        assert environment.argv[2] == "‹redacted:credential›"
        assert "DB_PASSWORD" in environment.env_vars and environment.env_vars["DB_PASSWORD"] is None


def test_no_planted_secret_reaches_the_store(tmp_path: Path) -> None:
    plant = Plant()
    env = kernel_env(f"sqlite:///{tmp_path / 'store' / 'mm.db'}")
    notebook = tmp_path / "leaky.ipynb"
    env["JPY_SESSION_NAME"] = str(notebook)
    env["DB_PASSWORD"] = plant.new("env DB_PASSWORD (and print(dict(os.environ)))")
    env["SMTP_PASS"] = plant.new("env SMTP_PASS")
    # GitHub's documented classic token: ghp_ and 36 letters or digits (a password() value
    # may hold punctuation, which would make it no token at all)
    github = "ghp_" + "".join(
        random_source.choice(string.ascii_letters + string.digits) for _ in range(36)
    )
    env["PYTHONPATH"] += ":/opt/" + plant.add("env allowlisted PYTHONPATH with a token", github)
    (tmp_path / "cases.json").write_text(json.dumps(_corpus_cases(plant)))

    cells = {
        "load": "%load_ext jupyter_mm\nimport json, os\nCASES = json.load(open('cases.json'))",
        "argv": _argv_cell(plant),
        "prints": "%%track --name prints\nfor t in CASES['print']:\n    print(t)\n"
        "print(dict(os.environ))\n",
        "rich": _rich_outputs_cell(plant),
        "params": _params_cell(plant),
        "api": _api_cell(plant),
        "fails": _failing_cell(plant),
        "final": "%%track --name final\nx = 1\n",
    }
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src, id=cell_id) for cell_id, src in cells.items()]
    nbformat.write(nb, notebook)

    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(tmp_path))
    try:
        for index, (cell_id, source) in enumerate(cells.items()):
            result = execute(kc, source, cell_id=cell_id)
            assert (result.status == "ok") == (cell_id != "fails"), (cell_id, result.errors)
            if cell_id == "fails":
                assert any("\x1b[" in line for line in result.errors[0]["traceback"])
            nb.cells[index].outputs = _outputs(result)
        # the last run checkpoints the notebook with every output above saved in it
        nbformat.write(nb, notebook)
        assert execute(kc, cells["final"], cell_id="final").status == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)

    _check_runs(f"sqlite:///{tmp_path / 'store' / 'mm.db'}")
    everything = store_bytes(tmp_path / "store")
    assert len(everything) > 50_000, "the store was written"
    leaked: dict[str, list[str]] = {}
    for path, secrets in sorted(plant.by_path.items()):
        found = [s for s in secrets if s.encode() in everything]
        leaked[path] = found
        print(f"{path:55s} {len(secrets) - len(found):4d} / {len(secrets):4d} kept out")
    total = sum(map(len, plant.by_path.values()))
    assert total > 600
    assert not any(leaked.values()), [k for k, v in leaked.items() if v]
