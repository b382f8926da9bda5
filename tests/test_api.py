"""The package's shape: public names that resolve, and imports that only go down the
data flow (data -> arch -> population -> zoo -> weights -> representation -> sampling ->
probes -> report -> pipeline -> cli; the private top-level modules below all of them)."""

import ast
import importlib
from pathlib import Path

import pytest

import hyperrep
from hyperrep._lazy import type_checking_imports

SRC = Path(hyperrep.__file__).parent
LAYERS = [
    "data",
    "arch",
    "population",
    "zoo",
    "weights",
    "representation",
    "sampling",
    "probes",
    "report",
    "pipeline",
    "cli",
]
PACKAGES = ["hyperrep"] + [f"hyperrep.{p}" for p in LAYERS if p != "cli"]  # cli: no library API


@pytest.mark.parametrize("name", PACKAGES)
def test_every_public_name_resolves_and_is_listed_once(name):
    package = importlib.import_module(name)
    assert len(package.__all__) == len(set(package.__all__))
    for attribute in package.__all__:
        assert getattr(package, attribute) is not None, attribute
    lazy = type_checking_imports(Path(package.__file__))
    assert set(lazy) <= set(package.__all__) <= set(dir(package))


def _layer(module: str) -> int | None:
    """Rank of a hyperrep module's package in LAYERS; -1 for the private top-level
    modules (hyperrep._errors, ...); None for the top-level package itself."""
    parts = module.split(".")
    if parts[0] != "hyperrep" or len(parts) == 1:
        return None
    return LAYERS.index(parts[1]) if parts[1] in LAYERS else -1


def _imports(path: Path, module: str) -> set[str]:
    """Every hyperrep module `path` imports, at any depth (function-level imports too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: -node.level]
                found.add(".".join(base + ([node.module] if node.module else [])))
            elif node.module:
                found.add(node.module)
    return {m for m in found if m.split(".")[0] == "hyperrep"}


def test_imports_only_go_down_the_data_flow():
    upward = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC.parent).with_suffix("")
        module = ".".join(relative.parts[:-1] if relative.name == "__init__" else relative.parts)
        rank = _layer(module)
        if rank is None:
            continue
        for target in _imports(path, module):
            other = _layer(target)
            if other is not None and other > rank and not (rank == -1 and other == -1):
                upward.append(f"{module} imports {target}")
            if other is None:  # the facade imports everything; nothing imports it back
                upward.append(f"{module} imports the top-level package")
    assert upward == []


def test_the_private_top_level_modules_import_no_package():
    for path in SRC.glob("_*.py"):
        if path.name == "__init__.py":
            continue
        module = f"hyperrep.{path.stem}"
        assert all(_layer(t) == -1 for t in _imports(path, module)), module


def test_benchmarks_and_experiments_use_only_public_names():
    repo = SRC.parents[1]
    private = []
    for path in sorted([*repo.glob("benchmarks/*.py"), *repo.glob("experiments/*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hyperrep"):
                names = [a.name for a in node.names if a.name != "__version__"]
                if any(part.startswith("_") for part in node.module.split(".")) or any(
                    n.startswith("_") for n in names
                ):
                    private.append(f"{path.name}: from {node.module} import {', '.join(names)}")
    assert private == []


@pytest.mark.parametrize("name", PACKAGES)
def test_optional_arguments_past_the_second_are_keyword_only(name):
    import inspect

    package = importlib.import_module(name)
    loose = []
    for attribute in package.__all__:
        obj = getattr(package, attribute)
        if not inspect.isfunction(obj):
            continue
        params = [
            p
            for p in inspect.signature(obj).parameters.values()
            if p.kind == p.POSITIONAL_OR_KEYWORD
        ]
        loose += [f"{attribute}({p.name})" for p in params[2:] if p.default is not p.empty]
    assert loose == []
