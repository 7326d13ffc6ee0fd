"""The reference docs name every setting, CLI command and endpoint that exists."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from trackway.cli import parser
from trackway.ingest.intake import ENDPOINTS
from trackway.settings import setting_names

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _commands(parser: argparse.ArgumentParser, prefix: str = "trackway") -> list[str]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.extend(_commands(sub, f"{prefix} {name}") or [f"{prefix} {name}"])
    return found


def test_every_setting_is_documented() -> None:
    text = (DOCS / "settings.md").read_text()
    missing = [name for name in setting_names() if f"`{name}`" not in text]
    assert not missing


def test_every_command_is_documented() -> None:
    text = (DOCS / "cli.md").read_text()
    commands = _commands(parser())
    assert "trackway project create" in commands
    missing = [c for c in commands if f"## `{c}`" not in text]
    assert not missing


def test_every_endpoint_is_documented() -> None:
    text = (DOCS / "ingest.md").read_text()
    missing = [e for e in ENDPOINTS if f"| `/{e}` |" not in text]
    assert not missing


def test_links_between_docs_resolve() -> None:
    for page in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([^)#]+)", page.read_text()):
            if "://" not in target:
                assert (page.parent / target).resolve().exists(), f"{page.name} links to {target}"
