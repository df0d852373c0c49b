"""Hand-written base of the generated AsyncHybridSearchBuilder: where `execute` runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pattern_db.aio._handles import AsyncExecutor, AsyncTransaction, handle_of, joined, worker_of
from pattern_db.aio._worker import Bound, TxToken, Worker
from pattern_db.connection import ConstellationDb
from pattern_db.search.hybrid import HybridSearchBuilder

__all__ = ["SearchBuilderBase"]

T = TypeVar("T")


class SearchBuilderBase(Bound[HybridSearchBuilder]):
    """The hybrid search builder over an async executor: set it up, then `await execute()`."""

    def __init__(self, db: AsyncExecutor) -> None:
        self._tx: TxToken | None = None
        if isinstance(db, AsyncTransaction):
            worker, self._tx, executor = db._bound()
            self._handle: ConstellationDb = db.db.sync
            self._worker: Worker = worker
            self._sync = HybridSearchBuilder(executor())
        else:
            self._handle = handle_of(db)
            self._worker = worker_of(self._handle)
            self._sync = HybridSearchBuilder(self._handle)

    async def _call(self, call: Callable[[], T]) -> T:
        if self._tx is not None:
            return await self._worker.call(call, tx=self._tx)
        return await self._worker.call(call, tx=joined(self._handle), implicit=True)
