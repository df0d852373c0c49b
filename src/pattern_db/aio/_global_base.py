"""Hand-written base of the generated AsyncGlobalDb: its own worker, open and close."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Self, TypeVar

from pattern_db.aio._worker import Bound, Worker
from pattern_db.errors import DatabaseClosed
from pattern_db.global_db import GlobalDb, PasswordParams
from pattern_db.global_db._core import DEFAULT_BUSY_TIMEOUT_MS

__all__ = ["GlobalDbBase"]

T = TypeVar("T")


class GlobalDbBase(Bound[GlobalDb]):
    """The global database for asyncio code: a worker thread of its own runs every call."""

    def __init__(self, db: GlobalDb, *, worker: Worker | None = None) -> None:
        self._sync = db
        self._worker = worker or Worker("pattern-db-aio:global")
        self._closed = False

    @classmethod
    async def open(
        cls,
        target: str | os.PathLike[str],
        *,
        data_dir: str | os.PathLike[str] | None = None,
        key_path: str | os.PathLike[str] | None = None,
        node: str | None = None,
        password_params: PasswordParams | None = None,
        create: bool = True,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    ) -> Self:
        """Open the global database on its own worker thread; see `GlobalDb.open`."""
        worker = Worker("pattern-db-aio:global")
        try:
            db = await worker.call(
                lambda: GlobalDb.open(
                    target,
                    data_dir=data_dir,
                    key_path=key_path,
                    node=node,
                    password_params=password_params,
                    create=create,
                    busy_timeout_ms=busy_timeout_ms,
                )
            )
        except BaseException:
            worker.stop()
            raise
        return cls(db, worker=worker)

    async def _call(self, call: Callable[[], T]) -> T:
        if self._closed:
            raise DatabaseClosed("the global database is closed; open it again")
        return await self._worker.call(call)

    async def close(self) -> None:
        """Close the database connection (after the calls queued before it) and the worker."""
        if self._closed:
            return
        await self._call(self._sync.close)
        self._closed = True
        self._worker.stop()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
