"""Layers import one way (docs/architecture.md draws these arrows), and no module imports
itself back through others.

Reads every import statement in the package, those inside functions and ``TYPE_CHECKING``
blocks too: a function-local import hides a cycle from Python at start-up, not from here.
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
    "saved": {"storage"},
    "query": {"storage", "saved"},
    "services": {"query", "saved", "storage"},
    "api": {"services", "query", "saved"},
    "web": set(),
}
# Shared foundations any layer may import; they import no layer themselves.
CORE = {"errors", "settings", "projects", "property_names", "types", "files"}
# Composition roots: they wire the layers together and nothing imports them.
ROOTS = {"cli", "server", "datagen", "__init__"}


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imported(module: str, tree: ast.AST) -> set[str]:
    """The package's modules ``module`` imports: ``from a.b import c`` counts as a.b and, when
    c is a module, a.b.c. Its own packages (which Python has already begun) do not count."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        else:
            continue
        found.update(
            t for t in targets if t in MODULES and t != module and not module.startswith(t + ".")
        )
    return found


GRAPH = {
    name: _imported(name, ast.parse(path.read_text(), str(path))) for name, path in MODULES.items()
}


def _unit(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_one_way(module: str) -> None:
    unit = _unit(module)
    imported = {_unit(m) for m in GRAPH[module]} - {unit}
    if unit in ROOTS:
        return
    assert not imported & ROOTS, f"{module} imports a composition root: {imported & ROOTS}"
    if unit in CORE:
        layers = imported - CORE
        assert not layers, f"core module {module} imports layers {layers}"
        return
    assert unit in ALLOWED, f"{unit} is neither a layer nor a core module; add it to ALLOWED"
    wrong = imported - CORE - ALLOWED[unit]
    assert not wrong, f"{module} ({unit}) imports {sorted(wrong)}"


def test_every_layer_folder_exists() -> None:
    for layer in ALLOWED:
        assert (PACKAGE / layer / "__init__.py").is_file(), layer


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            following = next(edges, None)
            if following is not None:
                if following not in index:
                    index[following] = low[following] = len(index)
                    stack.append(following)
                    on_stack.add(following)
                    work.append((following, iter(sorted(graph[following]))))
                elif following in on_stack:
                    low[node] = min(low[node], index[following])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_module_imports_itself_back() -> None:
    assert cycles(GRAPH) == []


def test_the_checks_catch_a_wrong_arrow_and_a_cycle() -> None:
    tree = ast.parse("from trackway.api import app\nimport trackway.query.reports\n")
    assert _imported("trackway.storage.scan", tree) == {
        "trackway.api.app",
        "trackway.api",
        "trackway.query.reports",
    }
    local = ast.parse("def f():\n    from trackway.query import frame\n")
    assert _imported("trackway.query.context", local) == {"trackway.query.frame"}
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
