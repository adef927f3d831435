"""The wheel carries everything a `pip install jupyter-mm` user needs: the prebuilt lab
extension, its install.json, the server-extension switch, the alembic migrations and the
`jupyter-mm` console script.

The wheel is built from this source tree without build isolation and reuses the lab
extension already built by `pip install -e .` (the hook's skip-if-exists), so it takes
about a second instead of a full npm build.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILT_STYLE = ROOT / "jupyter_mm" / "labextension" / "static" / "style.js"
NPM_PACKAGE = json.loads((ROOT / "labextension" / "package.json").read_text())
LAB_DIR = "share/jupyter/labextensions/jupyter-mm"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    if not BUILT_STYLE.exists():
        pytest.skip("the lab extension is not built; run `pip install -e .` first")
    for backend in ("hatchling", "hatch_nodejs_version", "hatch_jupyter_builder"):
        pytest.importorskip(backend, reason="install the test extra: pip install -e '.[test]'")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "--wheel-dir",
            str(out),
            str(ROOT),
        ],
        check=True,
        timeout=90,
    )
    (path,) = out.glob("jupyter_mm-*.whl")
    with zipfile.ZipFile(path) as archive:
        yield archive


#: where a wheel keeps files installed outside site-packages (sys.prefix/...)
DATA_DIR = f"jupyter_mm-{NPM_PACKAGE['version']}.data/data"


def test_wheel_ships_the_prebuilt_lab_extension(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    lab = f"{DATA_DIR}/{LAB_DIR}"
    assert f"{lab}/package.json" in names
    assert f"{lab}/static/style.js" in names
    assert f"{lab}/install.json" in names

    built = json.loads(wheel.read(f"{lab}/package.json"))
    assert built["name"] == "jupyter-mm"
    # JupyterLab loads the federated extension from the file named here; it must ship
    assert f"{lab}/{built['jupyterlab']['_build']['load']}" in names

    install = json.loads(wheel.read(f"{lab}/install.json"))
    assert install["packageName"] == "jupyter-mm"
    assert install["packageManager"] == "python"


def test_wheel_enables_the_server_extension(wheel: zipfile.ZipFile) -> None:
    config_name = f"{DATA_DIR}/etc/jupyter/jupyter_server_config.d/jupyter_mm.json"
    config = json.loads(wheel.read(config_name))
    assert config["ServerApp"]["jpserver_extensions"] == {"jupyter_mm": True}


def test_wheel_ships_the_migrations(wheel: zipfile.ZipFile) -> None:
    source = ROOT / "jupyter_mm" / "store" / "sql" / "migrations"
    expected = {
        path.relative_to(ROOT).as_posix()
        for path in source.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    if not expected:
        pytest.skip("no alembic migrations in this source tree yet")
    assert expected <= set(wheel.namelist())
    assert "jupyter_mm/store/sql/migrations/script.py.mako" in expected


def test_wheel_metadata_and_console_script(wheel: zipfile.ZipFile) -> None:
    dist_info = f"jupyter_mm-{NPM_PACKAGE['version']}.dist-info"
    metadata = Parser().parsestr(wheel.read(f"{dist_info}/METADATA").decode())
    # one version for npm and PyPI: pyproject reads it from labextension/package.json
    assert metadata["Version"] == NPM_PACKAGE["version"]
    assert metadata["Requires-Python"] == ">=3.10"
    requirements = metadata.get_all("Requires-Dist")
    assert any(
        r.startswith("jupyter-server") or r.startswith("jupyter_server") for r in requirements
    )

    entry_points = wheel.read(f"{dist_info}/entry_points.txt").decode()
    assert "jupyter-mm = jupyter_mm.cli:main" in entry_points


def test_wheel_leaves_out_sources_and_build_debris(wheel: zipfile.ZipFile) -> None:
    for name in wheel.namelist():
        assert "node_modules/" not in name, name
        assert not name.startswith(("tests/", "labextension/", "examples/", "bench/")), name
        assert "__pycache__" not in name, name
