"""pattern_db.aio: the whole API as `async def`, each call run on the database's worker thread.

Example:
    >>> import asyncio
    >>> from pattern_db import aio
    >>> async def main() -> int:
    ...     async with await aio.AsyncConstellationDb.open_in_memory() as adb:
    ...         return await adb.schema_version()
    >>> asyncio.run(main()) > 0
    True

Design note.

* One worker thread per handle. Every async call on a `ConstellationDb` handle (through an
  `AsyncConstellationDb`, the `ConstellationDb` itself or an `AsyncTransaction`) runs the sync
  code on that handle's own thread, in arrival order, so calls on one handle never run on two
  threads at once and the event loop never blocks on SQLite. The thread starts on first use
  and ends when the handle is closed. `AsyncGlobalDb` has a worker of its own.
* Generated, not written twice. The modules here (`queries.*`, `fts`, `vector`, `search`,
  `memory_docs`, `global_db`, `importers`, `embed` and the handle's methods) are generated from the
  sync ones by `python -m pattern_db.aio._codegen` and checked in, so they carry real
  signatures for mypy and IDEs; a test fails when they fall behind the sync API. Functions
  that take no database (`fts.validate_fts_query`) are the sync ones, re-exported.
* Transactions. `async with adb.transaction() as tx:` holds the write lock on the worker;
  calls given `tx`, or given `adb` by the task inside the block, run in it; other tasks'
  calls wait until it ends. Leaving the block commits; an exception or the task's
  cancellation rolls back: the rollback is queued on the worker before the task can be
  interrupted again, so a cancelled task never leaves a transaction open.
* A call cancelled before it started does not run; one already running on the worker
  finishes (a thread cannot be interrupted) and its result is dropped.
"""

from typing import TYPE_CHECKING, Any

from pattern_db.aio._handles import (
    AsyncConstellationDb,
    AsyncExecutor,
    AsyncHandle,
    AsyncTransaction,
)

if TYPE_CHECKING:
    from pattern_db.aio import (
        embed,
        fts,
        global_db,
        importers,
        memory_docs,
        queries,
        search,
        vector,
    )
    from pattern_db.aio.global_db import AsyncGlobalDb
    from pattern_db.aio.memory_docs import AsyncMemoryDocs

_LAZY_MODULES = frozenset(
    {"embed", "fts", "global_db", "importers", "memory_docs", "queries", "search", "vector"}
)
_LAZY_NAMES = {
    "AsyncGlobalDb": "pattern_db.aio.global_db",
    "AsyncMemoryDocs": "pattern_db.aio.memory_docs",
}

open = AsyncConstellationDb.open
open_in_memory = AsyncConstellationDb.open_in_memory


def __getattr__(name: str) -> Any:
    import importlib

    if name in _LAZY_MODULES:
        return importlib.import_module(f"pattern_db.aio.{name}")
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(_LAZY_NAMES[name]), name)
    raise AttributeError(f"module 'pattern_db.aio' has no attribute {name!r}")


__all__ = [
    "AsyncConstellationDb",
    "AsyncExecutor",
    "AsyncGlobalDb",
    "AsyncHandle",
    "AsyncMemoryDocs",
    "AsyncTransaction",
    "embed",
    "fts",
    "global_db",
    "importers",
    "memory_docs",
    "open",
    "open_in_memory",
    "queries",
    "search",
    "vector",
]
