"""The public surface of each package, as httpx's test_exported_members.py keeps its own:
every package says in `__all__` what it exports, and what one package uses of another is
exported there, never a private name."""

from __future__ import annotations
import __future__

import ast
import importlib
import pkgutil
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

import secoda_pipelines

PACKAGE_ROOT = Path(secoda_pipelines.__file__).parent
TESTS_ROOT = Path(__file__).parent
ROOT = PACKAGE_ROOT.parent


def packages() -> list[str]:
    """Returns the dotted names of secoda_pipelines's packages (not the root itself)."""
    return sorted(
        info.name
        for info in pkgutil.walk_packages([str(PACKAGE_ROOT)], "secoda_pipelines.")
        if info.ispkg
    )


def public_members(module: types.ModuleType) -> list[str]:
    """Returns the names a package's __init__ binds that are not private, submodules or
    `from __future__` features."""
    return sorted(
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and value is not __future__.annotations
    )


@pytest.mark.parametrize("name", packages())
def test_package_exports_what_it_binds(name: str) -> None:
    package = importlib.import_module(name)
    assert hasattr(package, "__all__"), f"{name} has no __all__"
    assert sorted(package.__all__) == public_members(package), name


def imports_of(path: Path) -> Iterator[tuple[int, str, str]]:
    """Yields (line, module, name) for every `from secoda_pipelines... import name` in the
    file at `path`, wherever it stands (module level, functions, TYPE_CHECKING blocks)."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").split(".")[0] == "secoda_pipelines"
        ):
            for alias in node.names:
                yield node.lineno, node.module, alias.name


def top_package(module: str) -> str:
    """Returns `secoda_pipelines.<top>` for a module path below it (or the path itself)."""
    return ".".join(module.split(".")[:2])


def exporters(module: str) -> Iterator[str]:
    """Yields the packages on the way from `module`'s top package down to `module`."""
    parts = module.split(".")
    for depth in range(2, len(parts) + 1):
        candidate = ".".join(parts[:depth])
        if (PACKAGE_ROOT.parent / Path(*candidate.split(".")) / "__init__.py").exists():
            yield candidate


def cross_package_imports() -> list[tuple[str, int, str, str]]:
    """Returns (file, line, module, name) for each import in secoda_pipelines of a name of
    another of its packages."""
    found = []
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).with_suffix("")
        importer = ".".join(relative.parts)
        for line, module, name in imports_of(path):
            if top_package(module) != top_package(importer) and module != "secoda_pipelines":
                found.append((str(path.relative_to(ROOT)), line, module, name))
    return found


def test_packages_use_only_what_other_packages_export() -> None:
    unexported = []
    for file, line, module, name in cross_package_imports():
        exported = any(
            name in getattr(importlib.import_module(package), "__all__", ())
            for package in exporters(module)
        )
        if not exported:
            unexported.append(f"{file}:{line}: {name} from {module}")
    assert not unexported, "imported across packages but not in a package's __all__:\n" + (
        "\n".join(unexported)
    )


def test_no_private_name_is_imported_across_packages() -> None:
    private = [
        f"{path.relative_to(ROOT)}:{line}: {name} from {module}"
        for root in (PACKAGE_ROOT, TESTS_ROOT, ROOT / "benchmarks")
        for path in sorted(root.rglob("*.py"))
        for line, module, name in imports_of(path)
        if name.startswith("_")
        and top_package(module) != top_package(".".join(path.relative_to(ROOT).parts))
    ]
    assert not private, "\n".join(private)
