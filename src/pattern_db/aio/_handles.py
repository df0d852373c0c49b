"""AsyncConstellationDb and AsyncTransaction, and the two runners every generated call uses."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pattern_db import files
from pattern_db.aio._db_methods import DbMethods
from pattern_db.aio._worker import TxToken, Worker, current_transactions
from pattern_db.connection import (
    DEFAULT_BUSY_TIMEOUT_MS,
    DEFAULT_DURABILITY,
    ConstellationDb,
    DbOrTx,
    Transaction,
)
from pattern_db.errors import DbError, InvalidData

__all__ = [
    "AsyncConstellationDb",
    "AsyncExecutor",
    "AsyncHandle",
    "AsyncTransaction",
    "handle_of",
    "joined",
    "run",
    "run_on",
    "worker_of",
]

T = TypeVar("T")

_WORKER_KEY = "pattern_db.aio.worker"


def _worker_name(db: ConstellationDb) -> str:
    return f"pattern-db-aio:{db.path.name if db.path is not None else ':memory:'}"


def worker_of(db: ConstellationDb) -> Worker:
    """Return the handle's worker, made on first use and stopped by `db.close()`.

    Raises:
        DatabaseClosed: the handle is closed.
    """
    found: Worker | None = db.existing_state(_WORKER_KEY)
    if found is not None:
        return found
    return db.handle_state(_WORKER_KEY, lambda: Worker(_worker_name(db)))


def joined(db: ConstellationDb) -> TxToken | None:
    """The innermost async transaction of `db` the current task is inside, if any."""
    for handle, token in reversed(current_transactions.get()):
        if handle is db:
            return token
    return None


class AsyncTransaction:
    """An async write transaction: `async with adb.transaction() as tx:` then pass `tx`.

    Queries given `tx` (or the database, from the task inside the block) run in it on the
    worker thread; other tasks' calls on the database wait until it ends. Leaving the block
    commits; an exception, or the task's cancellation, rolls back.
    """

    def __init__(self, db: AsyncConstellationDb, *, savepoints: bool = True) -> None:
        self._adb = db
        self._savepoints = savepoints
        self._token = TxToken()
        self._sync_tx: Transaction | None = None
        self._cm: contextlib.AbstractContextManager[Transaction] | None = None
        self._context: Any = None

    @property
    def db(self) -> AsyncConstellationDb:
        """The database this transaction belongs to."""
        return self._adb

    @property
    def database(self) -> AsyncConstellationDb:
        """The database this transaction belongs to (the sync Executor's name)."""
        return self._adb

    @property
    def savepoints(self) -> bool:
        """The savepoint policy of the queries run in it (see `ConstellationDb.transaction`)."""
        return self._savepoints

    @property
    def active(self) -> bool:
        """True between entering and leaving the `async with` block."""
        return self._token.open

    def _bound(self) -> tuple[Worker, TxToken, Callable[[], Transaction]]:
        worker = worker_of(self._adb.sync)

        def executor() -> Transaction:
            if self._sync_tx is None:
                raise DbError("enter the transaction first: `async with adb.transaction() as tx:`")
            return self._sync_tx

        return worker, self._token, executor

    def _begin(self, worker: Worker) -> None:
        cm = self._adb.sync.transaction(savepoints=self._savepoints)
        self._sync_tx = cm.__enter__()
        self._cm = cm
        worker.begin(self._token)

    def _end(self, worker: Worker, exc: BaseException | None) -> None:
        cm, self._cm = self._cm, None
        if cm is None:
            return
        try:
            cm.__exit__(type(exc) if exc is not None else None, exc, None)
        finally:
            self._sync_tx = None
            worker.end(self._token)

    async def __aenter__(self) -> AsyncTransaction:
        if self._cm is not None or self._context is not None:
            raise DbError("this transaction was already entered; start a new adb.transaction()")
        db = self._adb.sync
        worker = worker_of(db)
        parent = joined(db)
        try:
            await worker.call(lambda: self._begin(worker), tx=parent, implicit=True)
        except asyncio.CancelledError:
            # The begin may have run (or be running): end it, whatever happens to this task.
            cancelled = asyncio.CancelledError()
            with contextlib.suppress(BaseException):
                await worker.call(
                    lambda: self._end(worker, cancelled), tx=self._token, implicit=True, always=True
                )
            raise
        self._context = current_transactions.set((*current_transactions.get(), (db, self._token)))
        return self

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if self._context is not None:
            with contextlib.suppress(ValueError):  # left from another context: nothing to undo
                current_transactions.reset(self._context)
            self._context = None
        worker = worker_of(self._adb.sync)
        # `always`: the commit or rollback runs even if this task is cancelled meanwhile.
        await worker.call(lambda: self._end(worker, exc), tx=self._token, always=True)


class AsyncConstellationDb(DbMethods):
    """A constellation's database for asyncio code; every call runs on the handle's worker.

    Open with `await AsyncConstellationDb.open(path)` (or wrap an open `ConstellationDb`);
    `sync` is the ConstellationDb underneath, usable from other threads as usual.
    """

    def __init__(self, db: ConstellationDb) -> None:
        if not isinstance(db, ConstellationDb):
            raise InvalidData(f"AsyncConstellationDb wraps a ConstellationDb, got {db!r}")
        self._sync = db

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        *,
        migrate: bool = True,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        backup_before_migrate: bool = True,
        read_only: bool = False,
        file_mode: int = files.DEFAULT_FILE_MODE,
        durability: str = DEFAULT_DURABILITY,
    ) -> AsyncConstellationDb:
        """Open (creating and migrating) a constellation file; see `ConstellationDb.open`."""
        db = await asyncio.to_thread(
            ConstellationDb.open,
            path,
            migrate=migrate,
            busy_timeout_ms=busy_timeout_ms,
            backup_before_migrate=backup_before_migrate,
            read_only=read_only,
            file_mode=file_mode,
            durability=durability,
        )
        return cls(db)

    @classmethod
    async def open_in_memory(cls) -> AsyncConstellationDb:
        """Open a new private in-memory database with the full schema."""
        return cls(await asyncio.to_thread(ConstellationDb.open_in_memory))

    async def _call(self, call: Callable[[], T]) -> T:
        db = self._sync
        return await worker_of(db).call(call, tx=joined(db), implicit=True)

    @property
    def path(self) -> Path | None:
        """The database file, or None for an in-memory database."""
        return self._sync.path

    @property
    def closed(self) -> bool:
        """True once close() has been called."""
        return self._sync.closed

    @property
    def vec_version(self) -> str | None:
        """The loaded sqlite-vec version, or None when it could not load."""
        return self._sync.vec_version

    @property
    def read_only(self) -> bool:
        """True when the handle was opened read-only; see `ConstellationDb.read_only`."""
        return self._sync.read_only

    @property
    def durability(self) -> str:
        """The handle's durability, "normal" or "full"; see `ConstellationDb.open`."""
        return self._sync.durability

    @property
    def database(self) -> AsyncConstellationDb:
        """This handle (so an AsyncConstellationDb and an AsyncTransaction both answer it)."""
        return self

    def transaction(self, *, savepoints: bool = True) -> AsyncTransaction:
        """Return an async write transaction: `async with adb.transaction() as tx: ...`.

        Inside the block of the task that entered it, calls given `adb` join it too (a nested
        `adb.transaction()` is a savepoint), as sync calls do on the thread inside
        `db.transaction()`.
        """
        return AsyncTransaction(self, savepoints=savepoints)

    def require_vec(self) -> str:
        """Return the sqlite-vec version (raises ExtensionError when it is not loaded)."""
        return self._sync.require_vec()

    async def close(self) -> None:
        """Close the handle after the calls queued before it; its worker thread then ends."""
        db = self._sync
        if db.closed:
            return
        await self._call(db.close)

    async def __aenter__(self) -> AsyncConstellationDb:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


AsyncExecutor = AsyncConstellationDb | AsyncTransaction | ConstellationDb
AsyncHandle = AsyncConstellationDb | ConstellationDb


async def run(db: AsyncExecutor, call: Callable[[DbOrTx], T]) -> T:
    """Run `call(executor)` on the worker of `db`'s handle, in its transaction if it is one.

    Raises:
        InvalidData: `db` is a sync Transaction (pass the AsyncTransaction instead).
        DatabaseClosed: the handle is closed.
    """
    if isinstance(db, AsyncTransaction):
        worker, token, executor = db._bound()
        return await worker.call(lambda: call(executor()), tx=token)
    handle = handle_of(db)
    return await worker_of(handle).call(lambda: call(handle), tx=joined(handle), implicit=True)


async def run_on(db: AsyncHandle, call: Callable[[ConstellationDb], T]) -> T:
    """Run `call(handle)` on the handle's worker (for functions that take the handle itself)."""
    handle = handle_of(db)
    return await worker_of(handle).call(lambda: call(handle), tx=joined(handle), implicit=True)


def handle_of(db: object) -> ConstellationDb:
    if isinstance(db, AsyncConstellationDb):
        return db.sync
    if isinstance(db, ConstellationDb):
        return db
    if isinstance(db, Transaction):
        raise InvalidData(
            "pattern_db.aio calls take an AsyncConstellationDb, a ConstellationDb or the "
            "AsyncTransaction of `async with adb.transaction() as tx`, not a sync Transaction"
        )
    raise InvalidData(f"expected an AsyncConstellationDb or a ConstellationDb, got {db!r}")
