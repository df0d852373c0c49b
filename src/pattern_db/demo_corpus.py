"""Real text already on every machine: the docstrings of the running Python's standard library.

The demo loads them as archival memory and bench/retrieval.py builds its known-item set from them.
Files are parsed with `ast`; nothing is imported or executed.
"""

from __future__ import annotations

import ast
import sysconfig
from collections.abc import Iterable, Iterator
from pathlib import Path

__all__ = ["SKIP_DIRS", "module_docstrings", "stdlib_docstrings", "stdlib_root"]

# Parts of the stdlib that are tests, demos or vendored tools rather than library docs.
SKIP_DIRS = frozenset(
    {"test", "tests", "idlelib", "lib2to3", "site-packages", "turtledemo", "__pycache__"}
)


def stdlib_root() -> Path:
    """Return the directory of the running Python's standard library."""
    return Path(sysconfig.get_paths()["stdlib"])


def module_docstrings(module: str, tree: ast.Module) -> Iterator[tuple[str, str]]:
    """Yield (qualified name, docstring) of every function, class and method of a parsed module.

    Example: `("json.JSONDecoder.decode", "Return the Python representation of ``s`` ...")`.
    """
    stack: list[tuple[str, ast.AST]] = [(module, tree)]
    while stack:
        prefix, node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}.{child.name}"
                doc = ast.get_docstring(child)
                if doc:
                    yield name, doc
                if isinstance(child, ast.ClassDef):
                    stack.append((name, child))


def stdlib_docstrings(modules: Iterable[str] | None = None) -> Iterator[tuple[str, str]]:
    """Yield (qualified name, docstring) from the stdlib's source files, in path order.

    `modules` keeps top-level modules or packages by name (`["json", "shutil"]`); None walks all
    of it except tests and tools (SKIP_DIRS). Files that do not parse are skipped.
    """
    root = stdlib_root()
    wanted = None if modules is None else set(modules)
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if set(rel.parts[:-1]) & SKIP_DIRS or path.name.startswith("test_"):
            continue
        top = rel.parts[0].removesuffix(".py")
        if wanted is not None and top not in wanted:
            continue
        module = ".".join(rel.with_suffix("").parts).removesuffix(".__init__")
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        yield from module_docstrings(module, tree)
