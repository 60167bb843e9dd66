"""drwlab's imports form layers: no cycle between modules or packages, nothing imports upward.

The imports are read from the source (``ast``), not by importing: every
``import`` and ``from ... import`` statement counts, those inside functions
too (a late import is still a dependency, only a hidden one), except those
under ``if TYPE_CHECKING:``, which never run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import drwlab

PACKAGE = Path(drwlab.__file__).resolve().parent

LAYERS: dict[str, tuple[str, ...]] = {
    # what a module of this part may not import (its own layer or any above it)
    "drwlab.views": ("drwlab.sandbox", "drwlab.notebook", "drwlab.cli", "drwlab.demo"),
    "drwlab.sandbox": ("drwlab.notebook", "drwlab.cli", "drwlab.demo"),
    "drwlab.store": ("drwlab.views", "drwlab.sandbox", "drwlab.notebook", "drwlab.actors"),
    "drwlab.bus": ("drwlab.views", "drwlab.sandbox", "drwlab.notebook", "drwlab.actors"),
    "drwlab.actors": ("drwlab.views", "drwlab.sandbox", "drwlab.notebook"),
    "drwlab.wire": ("drwlab.",),
}
"""Part of drwlab -> prefixes of the modules it must not import."""


def module_name(path: Path) -> str:
    """``drwlab/views/html.py`` -> ``drwlab.views.html``; a package is named by its ``__init__``."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (n for child in node.orelse for n in _import_nodes(child))
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        yield from _import_nodes(node)


def _resolve(node: ast.ImportFrom, here: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = here.split(".") if is_package else here.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_in(source_text: str, here: str, is_package: bool, known: set[str]) -> set[str]:
    """The modules of ``known`` that module ``here`` imports (``from pkg import mod``
    names the module ``pkg.mod``)."""
    found: set[str] = set()
    for node in _import_nodes(ast.parse(source_text)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            source = _resolve(node, here, is_package)
            targets = [f"{source}.{alias.name}" for alias in node.names]
            targets = [name if name in known else source for name in targets]
        found |= {name for name in targets if name in known and name != here}
    return found


def import_graph() -> dict[str, set[str]]:
    """Every drwlab module -> the drwlab modules it imports (the root package left out:
    it only names things lazily, and every module is inside it)."""
    paths = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    known = set(paths)
    graph = {
        name: imports_in(path.read_text(encoding="utf-8"), name, path.stem == "__init__", known)
        for name, path in paths.items()
    }
    graph.pop("drwlab", None)
    return {name: targets - {"drwlab"} for name, targets in graph.items()}


def part_of(module: str) -> str:
    """The package a module belongs to (``drwlab.views.html`` -> ``drwlab.views``);
    a top-level module is its own part (``drwlab.sandbox``)."""
    return ".".join(module.split(".")[:2])


def collapse(graph: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """The graph between parts of drwlab (subpackages and top-level modules)."""
    parts: dict[str, set[str]] = {}
    for module, targets in graph.items():
        edges = parts.setdefault(part_of(module), set())
        edges |= {part_of(t) for t in targets if part_of(t) != part_of(module)}
    return parts


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that ends where it starts, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle_and_only_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_late_imports_count_and_type_checking_imports_do_not() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from drwlab import sandbox\n"
        "def late():\n    from . import html\n"
    )
    known = {"drwlab.sandbox", "drwlab.views", "drwlab.views.html"}
    assert imports_in(source, "drwlab.views.probe", False, known) == {"drwlab.views.html"}


def test_no_module_of_drwlab_imports_itself_back_through_others() -> None:
    graph = import_graph()
    assert "drwlab.views.html" in graph and "drwlab.sandbox" in graph  # the walk saw the tree
    assert find_cycle(graph) is None, f"import cycle between modules: {find_cycle(graph)}"


def test_no_package_of_drwlab_imports_itself_back_through_others() -> None:
    parts = collapse(import_graph())
    cycle = find_cycle(parts)
    assert cycle is None, f"import cycle between packages: {' -> '.join(cycle or [])}"


def test_nothing_imports_upward() -> None:
    upward = [
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        for part, forbidden in LAYERS.items()
        if module == part or module.startswith(part + ".")
        for target in targets
        if target.startswith(forbidden)
    ]
    assert upward == []
