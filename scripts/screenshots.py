"""Regenerate the README's screenshots of the JupyterLab sidebar.

Runs the browser tests of the notebook flow, of the registry and of Notebook 7
(tests/browser/test_browser_runs.py, test_browser_registry.py and test_browser_notebook7.py:
a real `jupyter lab` / `jupyter notebook`,
Debian's Chromium), which write their screenshots to test-artifacts/screenshots/,
then copies the ones the README shows into docs/images/. Nothing is copied unless every
browser test passed, so the README never shows a broken state.

Usage, from the repository root with the dev environment active:

    python scripts/screenshots.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "test-artifacts" / "screenshots"
TARGET = REPO / "docs" / "images"
#: screenshot written by the tests -> file name the README links to
README_IMAGES = {
    "runs-list.png": "sidebar-runs.png",
    "run-detail.png": "run-detail.png",
    "diff-view.png": "run-diff.png",
    "run-card.png": "run-card.png",
    "models.png": "models.png",
    "notebook7-runs.png": "notebook7-runs.png",
}


def main() -> int:
    for name in README_IMAGES:
        (SOURCE / name).unlink(missing_ok=True)  # a stale file must not pass for a fresh one
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/browser/test_browser_runs.py",
        "tests/browser/test_browser_registry.py",
        "tests/browser/test_browser_notebook7.py",
        "-q",
    ]
    if subprocess.run(command, cwd=REPO).returncode != 0:
        print("The browser tests failed; docs/images/ was left as it was.", file=sys.stderr)
        return 1
    missing = [name for name in README_IMAGES if not (SOURCE / name).exists()]
    if missing:
        print(f"The browser tests wrote no {', '.join(missing)}.", file=sys.stderr)
        return 1
    TARGET.mkdir(parents=True, exist_ok=True)
    for name, readme_name in README_IMAGES.items():
        shutil.copyfile(SOURCE / name, TARGET / readme_name)
        print(f"docs/images/{readme_name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
