"""pattern-db: the storage engine for constellations of cooperating LLM agents.

Example:
    >>> from pattern_db import ConstellationDb
    >>> with ConstellationDb.open_in_memory() as db:
    ...     db.schema_version() > 0
    True
"""

from pattern_db import errors, fts, ids, memory_docs, models, queries, search, timeutil, vector
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
    "ImportFailed",
    "InvalidData",
    "MigrationError",
    "MigrationRequired",
    "NotFound",
    "Transaction",
    "__version__",
    "errors",
    "fts",
    "ids",
    "memory_docs",
    "models",
    "queries",
    "search",
    "timeutil",
    "vector",
]
