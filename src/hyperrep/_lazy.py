"""Package attributes imported on first use, so that `hyperrep --help` does not load
torch, pandas or scikit-learn (PEP 562 module `__getattr__`).

A package lists its public names once, as the imports of its `if TYPE_CHECKING:` block
(which type checkers and editors read); `lazy_package` reads that block from the
package's source and serves the names from it at run time.
"""

from __future__ import annotations

import ast
import importlib
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any


def type_checking_imports(init_file: str | Path) -> dict[str, str]:
    """name -> absolute module, for every `from M import name` under `if TYPE_CHECKING:`
    at the top level of `init_file`."""
    tree = ast.parse(Path(init_file).read_text(encoding="utf-8"))
    exports: dict[str, str] = {}
    for node in tree.body:
        if not (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Name)
            and node.test.id == "TYPE_CHECKING"
        ):
            continue
        for statement in node.body:
            if isinstance(statement, ast.ImportFrom) and statement.module and not statement.level:
                for alias in statement.names:
                    exports[alias.asname or alias.name] = statement.module
    return exports


def lazy_package(
    package: str, init_file: str
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """`__getattr__`, `__dir__` and `__all__` of `package`: its `TYPE_CHECKING` imports,
    imported on first use, and the public names its `__init__` has defined when it calls
    this (eager imports and constants; not modules)."""
    exports = type_checking_imports(init_file)
    eager = [
        name
        for name, value in vars(sys.modules[package]).items()
        if (not name.startswith("_") or name == "__version__")
        and name != "TYPE_CHECKING"
        and value is not lazy_package
        and not isinstance(value, types.ModuleType)
    ]

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        vars(sys.modules[package])[name] = value  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exports})

    return __getattr__, __dir__, sorted({*exports, *eager})
