"""pattern-db: the storage engine for constellations of cooperating LLM agents.

Example:
    >>> from pattern_db import ConstellationDb
    >>> with ConstellationDb.open_in_memory() as db:
    ...     db.schema_version() > 0
    True
"""

from typing import TYPE_CHECKING, Any

from pattern_db import errors
from pattern_db.connection import ConstellationDb, DbOrTx, Executor, Transaction
from pattern_db.errors import (
    AlreadyExists,
    ConstraintViolation,
    DbError,
    DimensionMismatch,
    ExtensionError,
    ImportFailed,
    InvalidData,
    MigrationError,
    MigrationRequired,
    NotFound,
)

if TYPE_CHECKING:
    from pattern_db import (
        embed,
        fts,
        global_db,
        ids,
        importers,
        integrations,
        memory_docs,
        models,
        queries,
        search,
        timeutil,
        vector,
    )
    from pattern_db.global_db import GlobalDb

# Loaded on first use, so `import pattern_db` (and `pattern-db --help`) stay cheap: vector search
# imports numpy, memory documents loro, the embedder onnxruntime.
_LAZY_MODULES = frozenset(
    {
        "embed",
        "fts",
        "global_db",
        "ids",
        "importers",
        "integrations",
        "memory_docs",
        "models",
        "queries",
        "search",
        "timeutil",
        "vector",
    }
)
_LAZY_NAMES = {"GlobalDb": "pattern_db.global_db"}


def __getattr__(name: str) -> Any:
    import importlib

    if name in _LAZY_MODULES:
        return importlib.import_module(f"pattern_db.{name}")
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(_LAZY_NAMES[name]), name)
    raise AttributeError(f"module 'pattern_db' has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "AlreadyExists",
    "ConstellationDb",
    "ConstraintViolation",
    "DbError",
    "DbOrTx",
    "DimensionMismatch",
    "Executor",
    "ExtensionError",
    "GlobalDb",
    "ImportFailed",
    "InvalidData",
    "MigrationError",
    "MigrationRequired",
    "NotFound",
    "Transaction",
    "__version__",
    "embed",
    "errors",
    "fts",
    "global_db",
    "ids",
    "importers",
    "integrations",
    "memory_docs",
    "models",
    "queries",
    "search",
    "timeutil",
    "vector",
]
