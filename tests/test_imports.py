"""The package's import graph: no cycles (imports inside functions included) and no reach into private names.

The graph is read from the source with ``ast``, not by importing, so an import hidden inside a function (which
Python only runs when the function is called) counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import northstar

PACKAGE_ROOT = Path(northstar.__file__).resolve().parent
PACKAGE = "northstar"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES: dict[str, Path] = {module_name(p): p for p in sorted(PACKAGE_ROOT.rglob("*.py"))}


@dataclass(frozen=True)
class Import:
    importer: str
    line: int
    module: str  # the package module imported (the one whose code runs)
    name: str | None  # the name taken from it (`from module import name`), None for `import module`


def resolve_from(importer: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    is_package = MODULES[importer].name == "__init__.py"
    base = importer.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(importer: str) -> Iterator[Import]:
    tree = ast.parse(MODULES[importer].read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES:
                    yield Import(importer, node.lineno, alias.name, None)
        elif isinstance(node, ast.ImportFrom):
            source = resolve_from(importer, node)
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if submodule in MODULES:  # `from package import module`
                    yield Import(importer, node.lineno, submodule, None)
                elif source in MODULES:
                    yield Import(importer, node.lineno, source, alias.name)


def packages_run(importer: str, module: str) -> Iterator[str]:
    """``module`` and the packages Python imports before it, except those enclosing ``importer`` (already running)."""
    parts = module.split(".")
    for depth in range(1, len(parts) + 1):
        name = ".".join(parts[:depth])
        if name != importer and not importer.startswith(name + "."):
            yield name


def import_graph() -> dict[str, set[str]]:
    """Each module -> the package modules importing it runs (the ``__init__`` of packages on the way included)."""
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for importer in MODULES:
        for imp in imports_of(importer):
            graph[importer].update(packages_run(importer, imp.module))
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """The first cycle found by a depth-first walk, as a path ``[a, b, ..., a]``; None if there is none.

    >>> find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}})
    ['a', 'b', 'c', 'a']
    >>> find_cycle({"a": {"b"}, "b": set()}) is None
    True
    """
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(node: str) -> list[str] | None:
        path.append(node)
        on_path.add(node)
        for child in sorted(graph[node]):
            if child in on_path:
                return path[path.index(child) :] + [child]
            if child not in done and (cycle := visit(child)):
                return cycle
        path.pop()
        on_path.discard(node)
        done.add(node)
        return None

    for start in sorted(graph):
        if start not in done and (cycle := visit(start)):
            return cycle
    return None


def test_the_walker_sees_imports_inside_functions():
    """The walker is what the cycle test trusts: check it finds a function-level import in the package."""
    graph = import_graph()
    assert "northstar.metrics.cli" in graph["northstar.cli"]  # imported inside a command, to keep start-up fast


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_module_imports_another_modules_private_names():
    reaches = [
        f"{imp.importer} (line {imp.line}) imports {imp.module}.{imp.name}"
        for importer in MODULES
        for imp in imports_of(importer)
        if imp.name and imp.name.startswith("_") and not imp.name.startswith("__") and imp.module != importer
    ]
    assert reaches == []


def test_building_a_project_without_metrics_does_not_import_sqlglot(make_project):
    """sqlglot costs ~0.15 s to import: a build, a no-change build and a full refresh of plain models (their lineage
    cached after the first build) never need it, so they never import it (northstar/lazy.py)."""
    import subprocess
    import sys

    root = make_project()
    code = (
        "import sys\n"
        "from northstar.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit as done:\n"
        "    assert not done.code, done.code\n"
        "print('sqlglot' in sys.modules)\n"
    )
    imported = []
    for args in (["build", "--quiet"], ["build", "--quiet"], ["run", "--full-refresh", "--quiet"], ["compile"]):
        command = [sys.executable, "-c", code, *args, "--project-dir", str(root)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        imported.append(done.stdout.split()[-1])
    assert imported == ["True", "False", "False", "False"]  # the first build analyses the lineage
