"""Layers import one way: ingest -> log; storage -> log; query -> storage; api -> query.

Reads every import statement in the package (TYPE_CHECKING ones too) and fails on an arrow
pointing the wrong way.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "trackway"
# Each layer and what it may import; lower layers never import higher ones.
ALLOWED: dict[str, set[str]] = {
    "log": set(),
    "ingest": {"log"},
    "storage": {"log"},
    "query": {"storage", "log"},
    "api": {"query", "storage", "log"},
    "cluster": {"query", "storage", "log"},
    "web": set(),
}
# Shared foundations any layer may import; they import no layer themselves.
CORE = {"errors", "settings", "projects", "types", "files"}
# Composition roots: they wire the layers together and nothing imports them.
ROOTS = {"cli", "server", "datagen", "__init__"}


def _unit(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "trackway" or len(parts) == 1:
        return None
    return parts[1]


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        found.update(unit for unit in map(_unit, names) if unit is not None)
    return found


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        unit = relative.parts[0].removesuffix(".py")
        out.append((unit, path))
    return out


@pytest.mark.parametrize(
    ("unit", "path"),
    _modules(),
    ids=lambda v: str(v.relative_to(PACKAGE)) if isinstance(v, Path) else v,
)
def test_imports_point_one_way(unit: str, path: Path) -> None:
    imported = _imports(path) - {unit}
    if unit in ROOTS:
        return
    assert not imported & ROOTS, f"{path.name} imports a composition root: {imported & ROOTS}"
    if unit in CORE:
        layers = imported - CORE
        assert not layers, f"core module {path.name} imports layers {layers}"
        return
    assert unit in ALLOWED, f"{unit} is neither a layer nor a core module; add it to ALLOWED"
    wrong = imported - CORE - ALLOWED[unit]
    assert not wrong, f"{path.relative_to(PACKAGE)} ({unit}) imports {sorted(wrong)}"


def test_every_layer_folder_exists() -> None:
    for layer in ALLOWED:
        assert (PACKAGE / layer / "__init__.py").is_file(), layer


def test_the_check_catches_a_wrong_arrow(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from trackway.api import app\nimport trackway.query.plan\n")
    assert _imports(bad) == {"api", "query"}
