"""The package's modules import each other without a cycle, counting the imports made inside
functions too (``TYPE_CHECKING`` blocks are left out: they never run)."""

from __future__ import annotations

import ast
from pathlib import Path

import drf_twostep

PACKAGE = Path(drf_twostep.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(tree, module: str, is_package: bool, modules: set[str]):
    """The package's modules that ``module`` imports, anywhere in its code."""
    base = module.split(".") if is_package else module.split(".")[:-1]
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            prefix = base[: len(base) - node.level + 1] if node.level else []
            source = ".".join([*prefix, *(node.module or "").split(".")]).strip(".")
            # "from . import x" may name a module, "from .x import y" names x.
            targets = [f"{source}.{alias.name}" for alias in node.names] + [source]
        else:
            stack.extend(ast.iter_child_nodes(node))
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != module:
                yield target


def import_graph() -> dict[str, set[str]]:
    paths = [p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts]
    modules = {_module_name(p): p for p in paths}
    return {
        name: set(
            _imported(ast.parse(path.read_text()), name, path.name == "__init__.py", set(modules))
        )
        for name, path in modules.items()
    }


def cycles(graph) -> list[list[str]]:
    """Every cycle found by a depth-first walk (one path per cycle's entry point)."""
    found, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return found


def test_the_import_graph_covers_the_package():
    graph = import_graph()
    assert "drf_twostep.services" in graph["drf_twostep.views.login"]
    assert len(graph) > 30


def test_the_package_has_no_import_cycle():
    assert cycles(import_graph()) == []


def test_a_cycle_through_an_import_inside_a_function_is_found():
    source = "def f():\n    from .b import g\n"
    modules = {"pkg.a", "pkg.b"}
    imported = set(_imported(ast.parse(source), "pkg.a", False, modules))
    assert imported == {"pkg.b"}
    assert cycles({"pkg.a": imported, "pkg.b": {"pkg.a"}}) == [["pkg.a", "pkg.b", "pkg.a"]]
