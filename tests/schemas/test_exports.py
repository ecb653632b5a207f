"""Each `schemas` module's `__all__` lists exactly its public names (as httpx's test_exported_members).

A module's public names are the names its own top-level statements define (classes, functions,
assignments) that do not start with `_`; imported names are not its own. A package's `__all__`
is the union of its public submodules' `__all__`, without duplicates.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import schemas


def _modules(package: ModuleType) -> list[str]:
    names = []
    for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


MODULES = _modules(schemas)
PACKAGES = ["schemas", *(name for name in MODULES if hasattr(importlib.import_module(name), "__path__"))]
LEAVES = [name for name in MODULES if name not in PACKAGES]


def _defined_names(module: ModuleType) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(inspect.getsource(module)).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif type(node).__name__ == "TypeAlias":  # `type X = ...` (Python 3.12+)
            names.add(node.name.id)  # type: ignore[attr-defined]
    return {name for name in names if not name.startswith("_")}


def test_the_protocol_modules_are_covered() -> None:
    assert {
        "schemas.oauth2",
        "schemas.oid4vci.common",
        "schemas.oid4vci.errors",
        "schemas.oid4vp",
        "schemas.dcql",
    } <= set(LEAVES)
    assert "schemas.oid4vci" in PACKAGES


@pytest.mark.parametrize("name", LEAVES)
def test_module_all_lists_exactly_its_public_names(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert len(exported) == len(set(exported)), "duplicates in __all__"
    assert set(exported) == _defined_names(module)
    for public in exported:
        assert hasattr(module, public)


@pytest.mark.parametrize("name", PACKAGES)
def test_package_all_is_the_union_of_its_modules(name: str) -> None:
    package = importlib.import_module(name)
    children = [importlib.import_module(child) for child in MODULES if child.rpartition(".")[0] == name]
    union = [public for child in children for public in child.__all__]
    assert len(union) == len(set(union)), "two modules export the same name"
    assert len(package.__all__) == len(set(package.__all__))
    assert set(package.__all__) == set(union)
    for public in package.__all__:
        assert getattr(package, public) is getattr(next(c for c in children if public in c.__all__), public)
