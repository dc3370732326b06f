"""The import graph of ``nas/`` has no cycles, and the torch-free part of the API loads without torch.

Edges are read with ``ast`` from every ``import`` statement, at module top level AND inside
functions: an import inside a function still runs (on first call), so a cycle hidden in a
function is a cycle that only bites later, and lazy imports must not be a way around the
layering. Imports under ``if TYPE_CHECKING:`` never run and are not edges. An import names
the most specific module it loads (``from nas.latency.table import Entry`` → ``nas.latency.table``).
Cycles are checked among modules and among the top-level parts of ``nas`` (``nas.latency``,
``nas.study``, ``nas.arch``…), the layering a reader sees in the folder tree.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import nas

ROOT = Path(nas.__file__).resolve().parent

# Package-level cycles allowed for now (none): trial records live in the leaf nas.records, read by both
# nas.study and nas.exporting, and reading a stored study for export is nas.study.selection.
KNOWN_PACKAGE_CYCLES: set[frozenset[str]] = set()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, package: str) -> list[str]:
    """Every module name an import statement in ``tree`` loads (type-checking-only blocks skipped)."""
    found: list[str] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found += [module] + [f"{module}.{alias.name}" for alias in node.names]
        stack.extend(ast.iter_child_nodes(node))
    return found


def import_graph() -> dict[str, set[str]]:
    """Module → the ``nas`` modules it imports."""
    paths = {_module_name(path): path for path in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in paths}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for target in _imports(ast.parse(path.read_text(encoding="utf-8")), package):
            while target and target not in paths:  # `from pkg import name`: name may be an attribute, not a module
                target = target.rpartition(".")[0]
            if target and target != name:
                graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _part(module: str) -> str:
    return ".".join(module.split(".")[:2])


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    parts: dict[str, set[str]] = {_part(name): set() for name in graph}
    for name, targets in graph.items():
        parts[_part(name)] |= {_part(t) for t in targets if _part(t) != _part(name)}
    return parts


def _describe(found: list[list[str]], graph: dict[str, set[str]]) -> str:
    lines = []
    for component in found:
        members = set(component)
        lines.append(" ↔ ".join(component) + ": " + "; ".join(f"{a} → {b}" for a in component for b in sorted(graph[a] & members)))
    return "\n".join(lines)


def test_no_module_level_import_cycles() -> None:
    graph = import_graph()
    found = cycles(graph)
    assert not found, "import cycles in nas/:\n" + _describe(found, graph)


def test_no_package_level_import_cycles_beyond_the_known_one() -> None:
    graph = package_graph(import_graph())
    found = cycles(graph)
    new = [c for c in found if frozenset(c) not in KNOWN_PACKAGE_CYCLES]
    assert not new, "import cycles between parts of nas/:\n" + _describe(new, graph)
    gone = KNOWN_PACKAGE_CYCLES - {frozenset(c) for c in found}
    assert not gone, f"cycle {sorted(map(sorted, gone))} is gone: remove it from KNOWN_PACKAGE_CYCLES"


def test_cycle_finder_finds_a_planted_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import x\ndef f():\n    from . import y\n")
    assert set(_imports(tree, "nas.pkg")) == {"typing", "typing.TYPE_CHECKING", "nas.pkg", "nas.pkg.y"}


TORCH_FREE = """
import sys
import nas
space = nas.get_space("mobiledet")
arch = space.random(0)
nas.count(arch)
nas.get_device("dsp").load_table().predict(arch)
nas.get_proxy("macs")
nas.ArchSpec.from_string(arch.to_string())
loaded = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
assert not loaded, loaded[:5]
assert callable(nas.build_model) and "torch" in sys.modules  # the lazy name still works, and loads torch
"""


def test_import_nas_without_torch_for_spaces_counting_and_tables() -> None:
    result = subprocess.run([sys.executable, "-c", TORCH_FREE], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
