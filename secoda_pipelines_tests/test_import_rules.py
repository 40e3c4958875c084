"""Which way the imports run (ARCHITECTURE.md, "Which way the arrows run"), read from the
source with `ast`: every import counts, at module level, inside a function or under
`if TYPE_CHECKING:`."""

from __future__ import annotations

import ast
import sys
from functools import cache
from pathlib import Path

import pytest

import secoda_pipelines

PACKAGE_ROOT = Path(secoda_pipelines.__file__).parent

# What of ours each package may import besides itself.
MAY_IMPORT = {
    "secoda": set(),
    "store": set(),
    "sandbox": set(),
    "instance": set(),
    "catalog": set(),
    "dbt": set(),
    "lineage": {"catalog", "dbt", "secoda"},
    "defs": {"catalog", "dbt", "secoda", "store", "lineage", "instance"},
}
NO_DAGSTER = ["secoda", "catalog", "sandbox", "lineage", "dbt"]


def module_name(path: Path) -> str:
    """Returns the dotted name of the module at `path` (a package for its __init__.py)."""
    parts = path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    """Returns {dotted name: file} for every module of secoda_pipelines."""
    return {module_name(path): path for path in sorted(PACKAGE_ROOT.rglob("*.py"))}


@cache
def imports(module: str) -> frozenset[str]:
    """Returns the modules `module` imports, anywhere in it; `from package import name`
    counts as the submodule when `name` is one, else as the package."""
    found: set[str] = set()
    path = modules()[module]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{path}: relative import of {node.module}"
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in modules() else node.module)
    return frozenset(found)


def package_of(module: str) -> str:
    """Returns the top package (`store` for secoda_pipelines.store.duckdb.io)."""
    return module.split(".")[1] if module.count(".") else ""


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Returns one cycle of `graph` as [a, b, ..., a], or None when it has none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def test_find_cycle_names_the_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_modules_import_one_another_in_a_circle() -> None:
    graph = {name: {m for m in imports(name) if m in modules()} for name in modules()}
    assert len(graph) > 50, sorted(graph)  # the test reads the real package
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_a_package_imports_only_what_its_arrows_allow(package: str) -> None:
    allowed = {package, *MAY_IMPORT[package]}
    wrong = sorted(
        f"{name} imports {imported}"
        for name in modules()
        if package_of(name) == package
        for imported in imports(name)
        if imported.split(".")[0] in ("secoda_pipelines", "secoda_pipelines_tests")
        and (
            imported.split(".")[0] == "secoda_pipelines_tests"
            or package_of(imported) not in allowed
        )
    )
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("package", NO_DAGSTER)
def test_rules_client_and_sandbox_know_nothing_of_dagster(package: str) -> None:
    wrong = sorted(
        f"{name} imports {imported}"
        for name in modules()
        if package_of(name) == package
        for imported in imports(name)
        if imported.split(".")[0].startswith("dagster")
    )
    assert not wrong, "\n".join(wrong)


def test_dbt_reads_manifests_with_the_standard_library_alone() -> None:
    """ARCHITECTURE.md: no dbt import at run time; a manifest is read as the JSON it is."""
    ours = [name for name in modules() if package_of(name) == "dbt"]
    assert "secoda_pipelines.dbt.manifest" in ours
    wrong = sorted(
        f"{name} imports {imported}"
        for name in ours
        for imported in imports(name)
        if imported.split(".")[0] not in sys.stdlib_module_names
        and not imported.startswith("secoda_pipelines.dbt")
    )
    wrong += sorted(
        f"{name} imports {imported}"
        for name in modules()
        for imported in imports(name)
        if imported.split(".")[0] == "dbt"
    )
    assert not wrong, "\n".join(wrong)
