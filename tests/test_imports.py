"""The import graph of arena/, agents/ and league/ (issue 24): no circles between modules, no module reaching into
another's private names, and imports that point one way, league -> agents -> arena (DESIGN.md, "Architecture").

Every import statement counts: at module level, inside functions, and under `if TYPE_CHECKING:`. A short `ast`
walk; nothing is imported.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
PACKAGES = ("arena", "agents", "league")
LAYERS = {"arena": 0, "agents": 1, "league": 2}
"""A package may import its own layer and the ones below it."""


@dataclasses.dataclass(frozen=True)
class Edge:
    """One import statement of `source` that loads `target` (both module names), at `line`."""

    source: str
    target: str
    line: int


def module_files(root: Path = REPOSITORY) -> dict[str, Path]:
    """Module name -> file, for every module of the three packages (a package is its __init__.py)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def is_package(name: str, files: dict[str, Path]) -> bool:
    return files[name].name == "__init__.py"


def absolute_base(module: str, node: ast.ImportFrom, files: dict[str, Path]) -> str:
    """The module a `from ... import` statement names, with relative imports resolved."""
    if node.level == 0:
        return node.module or ""
    package = module if is_package(module, files) else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def import_edges(module: str, tree: ast.AST, files: dict[str, Path]) -> list[Edge]:
    """The modules of ours that each import statement of `module` loads: `import a.b` loads a.b, `from a import b`
    loads a.b where that is a module, else a (its __init__)."""
    edges = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            edges += [Edge(module, alias.name, node.lineno) for alias in node.names if alias.name in files]
        elif isinstance(node, ast.ImportFrom):
            base = absolute_base(module, node, files)
            for alias in node.names:
                target = f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base
                if target in files:
                    edges.append(Edge(module, target, node.lineno))
    return [edge for edge in edges if edge.target != module]


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of `graph` (node -> successors), iteratively; each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph.get(successor, ())))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
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
                    components.append(sorted(component))
    return components


def one_circle(component: list[str], edges: list[Edge]) -> list[Edge]:
    """A shortest circle through the component's first module, as the import statements that make it."""
    inside = set(component)
    first_edge = {}
    for edge in edges:
        if edge.source in inside and edge.target in inside:
            first_edge.setdefault((edge.source, edge.target), edge)
    start = component[0]
    paths = {start: []}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for (source, target), edge in sorted(first_edge.items()):
                if source != node:
                    continue
                if target == start:
                    return paths[node] + [edge]
                if target not in paths:
                    paths[target] = paths[node] + [edge]
                    following.append(target)
        frontier = following
    return []


def circles(files: dict[str, Path]) -> list[str]:
    """One line per import circle: the modules it runs through, with the file lines of its imports."""
    edges = [edge for name, path in files.items() for edge in import_edges(name, ast.parse(path.read_text()), files)]
    graph: dict[str, set[str]] = {name: set() for name in files}
    for edge in edges:
        graph[edge.source].add(edge.target)
    found = []
    for component in strongly_connected(graph):
        if len(component) > 1:
            circle = one_circle(component, edges)
            steps = " -> ".join(f"{e.source} (line {e.line})" for e in circle) + f" -> {circle[0].source}"
            found.append(f"{len(component)} modules in a circle ({', '.join(component)}), e.g. {steps}")
    return found


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def bound_by_imports(tree: ast.AST) -> dict[str, str]:
    """Local name -> the module or module member an import statement binds it to."""
    bound = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound[alias.asname or alias.name.partition(".")[0]] = alias.name if alias.asname else \
                    alias.name.partition(".")[0]
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return bound


def dotted(node: ast.expr) -> str | None:
    """`a.b.c` for an attribute chain on a plain name, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def private_uses(module: str, tree: ast.AST, files: dict[str, Path]) -> list[str]:
    """`from X import _name`, and `name._private` where `name` was bound by an import (another module, or a class or
    function of one), in `module`."""
    found = []
    bound = bound_by_imports(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = absolute_base(module, node, files)
            found += [f"{module} line {node.lineno}: from {base} import {alias.name}" for alias in node.names
                      if is_private(alias.name) and base != module]
        elif isinstance(node, ast.Attribute) and is_private(node.attr):
            chain = dotted(node.value)
            if chain is not None and chain.partition(".")[0] in bound:
                found.append(f"{module} line {node.lineno}: {chain}.{node.attr} "
                             f"({chain.partition('.')[0]} is {bound[chain.partition('.')[0]]})")
    return found


def layer_violations(files: dict[str, Path]) -> list[str]:
    """Imports that point up: arena importing agents or league, agents importing league."""
    found = []
    for name, path in files.items():
        for edge in import_edges(name, ast.parse(path.read_text()), files):
            source, target = edge.source.partition(".")[0], edge.target.partition(".")[0]
            if LAYERS[target] > LAYERS[source]:
                found.append(f"{edge.source} line {edge.line} imports {edge.target}")
    return found


def test_no_import_circles_between_modules():
    found = circles(module_files())
    assert not found, "import circles:\n" + "\n".join(found)


def test_no_module_uses_another_modules_private_names():
    files = module_files()
    found = [use for name, path in files.items() for use in private_uses(name, ast.parse(path.read_text()), files)]
    assert not found, "private names used across modules:\n" + "\n".join(found)


def test_imports_point_from_league_to_agents_to_arena():
    found = layer_violations(module_files())
    assert not found, "imports against league -> agents -> arena:\n" + "\n".join(found)


def test_the_walk_finds_a_circle_and_a_private_import(tmp_path):
    sources = {"arena/__init__.py": "", "arena/a.py": "def f():\n    from arena import b\n",
               "arena/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import arena.a\n",
               "arena/c.py": "import argparse\nfrom arena.a import _hidden\nargparse._SubParsersAction\n"}
    for name, text in sources.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    for package in ("agents", "league"):
        (tmp_path / package).mkdir()
    files = module_files(tmp_path)
    assert circles(files) == ["2 modules in a circle (arena.a, arena.b), e.g. arena.a (line 2) -> arena.b (line 3) "
                              "-> arena.a"]
    c = ast.parse(files["arena.c"].read_text())
    assert private_uses("arena.c", c, files) == [
        "arena.c line 2: from arena.a import _hidden",
        "arena.c line 3: argparse._SubParsersAction (argparse is argparse)"]
