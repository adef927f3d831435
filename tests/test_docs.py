"""The README documents every option a user can set: each configurable trait, each CLI
command and each ``%%track`` flag. Fails when one is added without documentation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _configurables():
    from jupyter_mm.alerts.webhooks import Webhooks
    from jupyter_mm.config import MMConfig
    from jupyter_mm.magics import TrackMagics
    from jupyter_mm.monitoring.settings import Monitor
    from jupyter_mm.permissions import Permissions
    from jupyter_mm.registry.rules import Registry
    from jupyter_mm.server.app import MMExtensionApp

    own = []
    for cls in (MMConfig, TrackMagics, Registry, MMExtensionApp, Permissions, Monitor, Webhooks):
        inherited = set()
        for base in cls.__mro__[1:]:
            if hasattr(base, "class_traits"):
                inherited |= set(base.class_traits(config=True))
        own += [
            (cls.__name__, name) for name in cls.class_traits(config=True) if name not in inherited
        ]
    return own


@pytest.mark.parametrize(("cls", "name"), _configurables())
def test_every_config_trait_is_in_the_readme(cls: str, name: str) -> None:
    assert f"c.{cls}.{name}" in README


def test_every_cli_command_is_in_the_readme() -> None:
    from jupyter_mm.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    assert commands.choices, "the CLI has commands"
    for name in commands.choices:
        assert re.search(rf"^\| `{name}\b", README, re.M), f"`jupyter mm {name}` is undocumented"


def test_every_track_flag_is_in_the_readme() -> None:
    from jupyter_mm.magics import TrackMagics

    parser = TrackMagics.track.parser
    flags = [s for a in parser._actions for s in a.option_strings if s.startswith("--")]
    assert "--param" in flags
    for flag in flags:
        if flag != "--help":
            assert f"`{flag}" in README or f"{flag} " in README, f"%%track {flag} is undocumented"


def _anchors(markdown: str) -> set[str]:
    """GitHub's anchors of the headings of ``markdown``."""
    anchors = set()
    for heading in re.findall(r"^#+ (.+)$", markdown, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def test_pointers_into_the_architecture_page_lead_somewhere() -> None:
    root = Path(__file__).resolve().parents[1]
    page = (root / "docs" / "architecture.md").read_text(encoding="utf-8")
    anchors = _anchors(page)
    pointers = []
    for path in [*root.glob("jupyter_mm/**/*.py"), *root.glob("tests/**/*.py"), root / "README.md"]:
        text = path.read_text(encoding="utf-8")
        pointers += [(path.name, a) for a in re.findall(r"docs/architecture\.md#([\w-]+)", text)]
        assert "DESIGN " + "§" not in text, f"{path} cites a design document not in the repo"
    assert len(pointers) >= 15
    assert [p for p in pointers if p[1] not in anchors] == []
