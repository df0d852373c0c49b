"""Hand-written base of the generated AsyncMemoryDocs: construction and where calls run."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from pattern_db.aio._handles import AsyncConstellationDb, AsyncHandle, handle_of, joined, worker_of
from pattern_db.aio._worker import Bound
from pattern_db.memory_docs import MemoryDocs

if TYPE_CHECKING:
    from pattern_db.memory_docs import LoroStorageConfig

__all__ = ["MemoryDocsBase"]

T = TypeVar("T")


class MemoryDocsBase(Bound[MemoryDocs]):
    """`MemoryDocs` over an async database: each method runs on the handle's worker thread."""

    def __init__(self, db: AsyncHandle, config: LoroStorageConfig | None = None) -> None:
        handle = handle_of(db)
        self._adb = db if isinstance(db, AsyncConstellationDb) else AsyncConstellationDb(handle)
        self._sync = MemoryDocs(handle, config)

    @property
    def db(self) -> AsyncConstellationDb:
        """The database these documents live in."""
        return self._adb

    async def _call(self, call: Callable[[], T]) -> T:
        handle = self._adb.sync
        return await worker_of(handle).call(call, tx=joined(handle), implicit=True)
