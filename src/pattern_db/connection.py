"""ConstellationDb: one SQLite file per constellation, opened through apsw with sqlite-vec.

Design: one writer connection behind a re-entrant lock, every write in `BEGIN IMMEDIATE` (so
SQLite's busy timeout applies at the start of the transaction instead of failing mid-way with
SQLITE_BUSY on lock upgrade), and one reader connection per thread in WAL mode, so reads never
wait for writes. A thread inside `transaction()` reads through the writer connection and sees its
own uncommitted writes. In-memory databases have a single connection shared under the lock.

Query functions take an `Executor`: a `ConstellationDb` or a `Transaction`, both with `reader()`,
`writer()` and `database`. A Transaction's savepoint policy is explicit: with `savepoints=True`
(the default) each query inside it runs in its own savepoint, so a failing query rolls back only
its statements and the transaction goes on; with `savepoints=False` queries run straight in the
transaction (any failure aborts it), which saves a savepoint release per call, and so an FTS5
flush per call, for all-or-nothing work such as bulk loads and memory edits.

State that belongs to one handle (the vector cache) lives in `handle_state` and is freed by
`close()`.
"""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

import apsw

from pattern_db import _vec_loader, _write_queue, files, maintenance
from pattern_db import migrate as migrations
from pattern_db.errors import (
    DRIVER_ERRORS,
    DatabaseClosed,
    DbError,
    ExtensionError,
    InvalidData,
    MigrationRequired,
    ReadOnly,
    translate,
    with_path,
)
from pattern_db.models.stats import DbStats
from pattern_db.timeutil import now

__all__ = [
    "DEFAULT_DURABILITY",
    "DURABILITY_LEVELS",
    "ConstellationDb",
    "DbOrTx",
    "Executor",
    "Transaction",
    "scalar",
]

T = TypeVar("T")

DEFAULT_BUSY_TIMEOUT_MS = 30_000
NEW_FILE_PAGE_SIZE = 8192

# Per-connection pragmas (the seed's set, plus journal_size_limit so the WAL cannot grow without
# bound after a burst of writes). busy_timeout is set through apsw's setbusytimeout; synchronous
# comes from the handle's durability.
_PRAGMAS = (
    ("cache_size", "-64000"),
    ("mmap_size", "268435456"),
    ("temp_store", "MEMORY"),
    ("foreign_keys", "ON"),
    ("journal_size_limit", "67108864"),
)

# durability= of ConstellationDb.open -> PRAGMA synchronous. In WAL mode NORMAL syncs only at
# checkpoints: a commit survives the process crashing, not the machine losing power. FULL syncs
# the WAL at every commit: a commit survives power loss too.
DURABILITY_LEVELS = {"normal": "NORMAL", "full": "FULL"}
DEFAULT_DURABILITY = "normal"

_COUNT_SQL = {
    "agent_count": "SELECT count(*) FROM agents",
    "group_count": "SELECT count(*) FROM agent_groups",
    "message_count": "SELECT count(*) FROM messages",
    "memory_block_count": "SELECT count(*) FROM memory_blocks",
    "archival_entry_count": "SELECT count(*) FROM archival_entries",
    "task_count": "SELECT count(*) FROM tasks",
    "event_count": "SELECT count(*) FROM events",
    "file_passage_count": "SELECT count(*) FROM file_passages",
    "embedding_count": "SELECT count(*) FROM embeddings",
}


# SQLite calls back into Python this often (virtual machine steps) during a statement, which lets
# a pending Ctrl-C (or any signal handler) run and interrupt a long query. About 0.1% overhead.
_PROGRESS_STEPS = 50_000

_NO_QUEUE_YET = object()


def _allow_signals() -> bool:
    # Running Python code is the point: the interpreter delivers pending signals here, and an
    # exception raised by a handler (KeyboardInterrupt) aborts the statement with it.
    return False


def scalar(conn: apsw.Connection, sql: str, params: Any = ()) -> Any:
    """Return the first column of the first row of a query (None when there is no row)."""
    row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0]


class _Reading:
    """Context yielding a connection for reading and translating SQLite errors.

    A plain class rather than @contextmanager: reads are the hot path of message history and
    search, and a generator-based context costs about a microsecond more per call.
    """

    __slots__ = ("_conn",)

    def __init__(self, conn: apsw.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> apsw.Connection:
        return self._conn

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, DRIVER_ERRORS):
            raise translate(exc) from exc


class Executor(Protocol):
    """What every query function needs: connections to read and write with, and their handle."""

    @property
    def database(self) -> ConstellationDb:
        """The handle these connections belong to."""
        ...

    def reader(self) -> contextlib.AbstractContextManager[apsw.Connection]:
        """Return a context manager yielding a connection for reading."""
        ...

    def writer(self) -> contextlib.AbstractContextManager[apsw.Connection]:
        """Return a context manager yielding a connection inside a write transaction."""
        ...


class Transaction:
    """A write transaction in progress; pass it wherever a ConstellationDb is accepted.

    `savepoints` is the policy for the queries run in it (see the module note). Example:
    `with db.transaction() as tx: queries.agent.create_agent(tx, agent)`.
    """

    def __init__(
        self, db: ConstellationDb, conn: apsw.Connection, *, savepoints: bool = True
    ) -> None:
        self._db = db
        self._conn: apsw.Connection | None = conn
        self.savepoints = savepoints

    @property
    def db(self) -> ConstellationDb:
        """The database this transaction belongs to."""
        return self._db

    @property
    def database(self) -> ConstellationDb:
        """The database this transaction belongs to (the Executor protocol's name)."""
        return self._db

    def _connection(self) -> apsw.Connection:
        if self._conn is None:
            raise DatabaseClosed("this transaction has ended; start a new db.transaction()")
        return self._conn

    def reader(self) -> _Reading:
        """Return a context yielding the transaction's connection (it sees its own writes)."""
        return _Reading(self._connection())

    @contextmanager
    def writer(self) -> Iterator[apsw.Connection]:
        """Yield the transaction's connection, inside a savepoint when the policy says so.

        With savepoints a failing query rolls back only its own statements and the transaction
        goes on; without, the failure propagates and the whole transaction rolls back.
        """
        conn = self._connection()
        try:
            if self.savepoints:
                with conn:
                    yield conn
            else:
                yield conn
        except DRIVER_ERRORS as exc:
            raise translate(exc) from exc

    def _end(self) -> None:
        self._conn = None


class ConstellationDb:
    """A constellation's database. Open with `ConstellationDb.open(path)` or `open_in_memory()`."""

    # The file's write queue, opened on the first write (None: no queue for this handle).
    _queue: _write_queue.WriteQueue | object | None = _NO_QUEUE_YET

    def __init__(
        self,
        path: Path | None,
        *,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        read_only: bool = False,
        file_mode: int = files.DEFAULT_FILE_MODE,
        durability: str = DEFAULT_DURABILITY,
    ) -> None:
        self._synchronous = _synchronous(durability)
        self._durability = durability
        self._path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._read_only = read_only and path is not None
        self._file_mode = file_mode
        self._lock = threading.RLock()
        self._tx_owner: int | None = None
        self._closed = False
        self._local = threading.local()
        self._readers: weakref.WeakSet[apsw.Connection] = weakref.WeakSet()
        self._readers_lock = threading.Lock()
        self._vec_version: str | None = None
        self._vec_error: str | None = None
        self._state: dict[str, Any] = {}
        self._state_lock = threading.Lock()
        self._writer = self._connect(writer=True)

    # -- opening and closing -------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        migrate: bool = True,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        backup_before_migrate: bool = True,
        read_only: bool = False,
        file_mode: int = files.DEFAULT_FILE_MODE,
        durability: str = DEFAULT_DURABILITY,
    ) -> ConstellationDb:
        """Open (creating it and its directories if needed) and migrate a constellation file.

        An existing file is checked before anything is written to it: another application's
        database, or one written by the Rust crate, is refused and left as it was. A file whose
        file, directory or mount cannot be written opens read-only, like `read_only=True`:
        reads and searches work, every write raises ReadOnly. Files this creates (the database,
        its -wal and -shm, backups) are `file_mode` (0600) and new directories 0700 (x added
        wherever `file_mode` has r, so 0o640 gives 0750), whatever the umask.
        `durability="normal"` (synchronous=NORMAL) keeps every commit through a process crash
        but may lose the last ones on power loss; "full" (synchronous=FULL) keeps them through
        power loss too, at the cost of a sync per commit.

        Raises:
            InvalidData: `file_mode` is not a permission mode with owner read and write, or
                `durability` is neither "normal" nor "full".
            ReadOnly: a new file was asked for in a read-only directory, or a read-only file
                needs migrating.
            MigrationRequired: `migrate=False` and the schema is older than this code.
            MigrationError: a migration failed or an applied one was edited.
            NotAConstellation: the file is another application's SQLite database, or the Rust
                crate's (the message names the import command).
            CorruptDatabase: the file is not a SQLite database.
            PathError: the path is a directory, or its directory cannot be created.
        """
        files.check_file_mode(file_mode)
        _synchronous(durability)
        file_path = Path(path).expanduser().absolute()
        kind = files.check_constellation(file_path)
        existed = kind is files.FileKind.CONSTELLATION
        if kind is not files.FileKind.MISSING:
            read_only = read_only or files.is_read_only_location(file_path)
        elif read_only or files.is_read_only_dir(file_path.parent):
            raise ReadOnly(file_path, "there is no database here, and none can be created")
        if not migrate and not existed:
            raise MigrationRequired(file_path, 0, migrations.latest_version())
        if not read_only:
            files.prepare_parent(file_path, file_mode=file_mode)
            # SQLite gives -wal and -shm the database file's mode: creating it first sets all three.
            files.create_private(file_path, file_mode)
        db = cls(
            file_path,
            busy_timeout_ms=busy_timeout_ms,
            read_only=read_only,
            file_mode=file_mode,
            durability=durability,
        )
        try:
            db._prepare_schema(migrate=migrate, backup=backup_before_migrate and existed)
        except BaseException:
            db.close()
            raise
        return db

    @classmethod
    def open_in_memory(cls) -> ConstellationDb:
        """Open a new private in-memory database with the full schema (one shared connection)."""
        db = cls(None)
        try:
            db._prepare_schema(migrate=True, backup=False)
        except BaseException:
            db.close()
            raise
        return db

    def _prepare_schema(self, *, migrate: bool, backup: bool) -> None:
        with self._lock:
            conn = self._writer
            try:
                pending = migrations.pending_migrations(conn)
                if not pending:
                    return
                if self._read_only:
                    raise ReadOnly(
                        self._path,
                        f"its schema is at version {migrations.current_version(conn)} and this "
                        f"pattern-db needs {migrations.latest_version()}; migrate it where it "
                        "can be written",
                    )
                if not migrate:
                    raise MigrationRequired(
                        self._path or ":memory:",
                        migrations.current_version(conn),
                        migrations.latest_version(),
                    )
                if backup and migrations.current_version(conn) > 0:
                    self._backup_before_migrate(migrations.current_version(conn))
                migrations.apply_migrations(conn)
            except apsw.Error as exc:
                raise translate(exc, path=self._path) from exc

    def _backup_before_migrate(self, version: int) -> Path:
        assert self._path is not None
        stamp = now().strftime("%Y%m%dT%H%M%SZ")
        return self.backup(self._path.with_name(f"{self._path.name}.v{version}-{stamp}.bak"))

    def _connect(self, *, writer: bool) -> apsw.Connection:
        filename = ":memory:" if self._path is None else str(self._path)
        flags = apsw.SQLITE_OPEN_READWRITE
        if writer:
            flags |= apsw.SQLITE_OPEN_CREATE
        try:
            if self._read_only and self._path is not None:
                filename = files.read_only_uri(self._path)
                flags = apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI
            conn = apsw.Connection(filename, flags=flags)
        except apsw.Error as exc:
            raise translate(exc, path=self._path) from exc
        try:
            conn.setbusytimeout(self._busy_timeout_ms)
            conn.set_progress_handler(_allow_signals, _PROGRESS_STEPS)
            if self._path is not None and writer and not self._read_only:
                if scalar(conn, "PRAGMA page_count") == 0:
                    # Only a new file can choose: 8 KiB pages hold five 384-float vectors where
                    # 4 KiB pages hold two (1.07x instead of 1.34x their raw bytes).
                    conn.execute(f"PRAGMA page_size = {NEW_FILE_PAGE_SIZE}").fetchall()
                conn.execute("PRAGMA journal_mode = WAL").fetchall()
            conn.execute(f"PRAGMA synchronous = {self._synchronous}").fetchall()
            for name, value in _PRAGMAS:
                conn.execute(f"PRAGMA {name} = {value}").fetchall()
            if not writer or self._read_only:
                # A reader that tries to write is a bug in pattern-db; make it fail loudly.
                conn.execute("PRAGMA query_only = 1").fetchall()
        except apsw.Error as exc:
            conn.close()
            raise translate(exc, path=self._path) from exc
        self._load_vec(conn)
        return conn

    def _load_vec(self, conn: apsw.Connection) -> None:
        if self._vec_error is not None:
            return
        try:
            _vec_loader.load_into(conn)
            if self._vec_version is None:
                self._vec_version = str(scalar(conn, "SELECT vec_version()"))
        except (apsw.Error, ImportError, OSError) as exc:
            # The database stays usable (FTS works); vector calls raise ExtensionError.
            self._vec_error = f"sqlite-vec could not be loaded: {exc}"

    def close(self) -> None:
        """Close every connection of this handle; later use raises DatabaseClosed."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            with self._readers_lock:
                readers = list(self._readers)
                self._readers.clear()
            for conn in readers:
                conn.close()
            self._writer.close()
            if isinstance(self._queue, _write_queue.WriteQueue):
                self._queue.close()
            with self._state_lock:
                states = list(self._state.values())
                self._state.clear()
        for state in states:
            # A state with a `handle_closed()` method (pattern_db.aio's worker) is told, so it
            # can let go of what it holds; outside the lock, which its thread may be waiting on.
            closed = getattr(state, "handle_closed", None)
            if callable(closed):
                closed()

    def __enter__(self) -> ConstellationDb:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- access --------------------------------------------------------------------------------

    @property
    def path(self) -> Path | None:
        """The database file, or None for an in-memory database."""
        return self._path

    @property
    def durability(self) -> str:
        """The durability level: "normal" (survives process crashes) or "full" (power loss)."""
        return self._durability

    @property
    def read_only(self) -> bool:
        """True when this handle refuses writes (asked for, or a read-only file or mount)."""
        return self._read_only

    @property
    def closed(self) -> bool:
        """True once close() has been called."""
        return self._closed

    @property
    def database(self) -> ConstellationDb:
        """This handle (so a ConstellationDb and a Transaction both answer `database`)."""
        return self

    def handle_state(self, key: str, factory: Callable[[], T]) -> T:
        """Return this handle's object stored under `key`, made by `factory()` on first use.

        For per-handle caches of higher layers (the vector cache); freed by `close()`, which
        calls the object's `handle_closed()` method when it has one.
        """
        with self._state_lock:
            if key not in self._state:
                self._check_open()
                self._state[key] = factory()
            value: T = self._state[key]
            return value

    def existing_state(self, key: str) -> Any:
        """Return this handle's object stored under `key`, or None when there is none."""
        with self._state_lock:
            return self._state.get(key)

    def in_transaction(self) -> bool:
        """Return True when the calling thread is inside a write transaction of this handle."""
        return self._tx_owner == threading.get_ident()

    def _check_open(self) -> None:
        if self._closed:
            raise DatabaseClosed("the database is closed; open it again with ConstellationDb.open")

    def _check_writable(self) -> None:
        self._check_open()
        if self._read_only:
            raise ReadOnly(self._path)

    def _reader_connection(self) -> apsw.Connection:
        conn: apsw.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect(writer=False)
            self._local.conn = conn
            with self._readers_lock:
                self._readers.add(conn)
        return conn

    def reader(self) -> contextlib.AbstractContextManager[apsw.Connection]:
        """Return a context yielding a reading connection.

        That is this thread's reader, or the writer when this thread is inside a transaction
        (so it sees its own writes). In-memory databases read under the lock.
        """
        if self._closed:
            self._check_open()
        if self._path is None:
            return self._locked_reading()
        if self._tx_owner == threading.get_ident():
            return _Reading(self._writer)
        conn = getattr(self._local, "conn", None)
        return _Reading(conn if conn is not None else self._reader_connection())

    @contextmanager
    def _locked_reading(self) -> Iterator[apsw.Connection]:
        with self._lock:
            try:
                yield self._writer
            except DRIVER_ERRORS as exc:
                raise translate(exc) from exc

    @contextmanager
    def writer(self) -> Iterator[apsw.Connection]:
        """Yield the writer connection inside `BEGIN IMMEDIATE` (a savepoint when nested).

        Commits when the block ends, rolls back on any exception.
        """
        self._check_writable()
        conn = self._writer
        with self._lock:
            if self._tx_owner == threading.get_ident():
                try:
                    with conn:
                        yield conn
                except DRIVER_ERRORS as exc:
                    raise translate(exc) from exc
                return
            with self._write_turn():
                try:
                    conn.execute("BEGIN IMMEDIATE")
                except apsw.Error as exc:
                    raise translate(exc, path=self._path) from exc
                self._tx_owner = threading.get_ident()
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException as exc:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    if isinstance(exc, DRIVER_ERRORS):
                        raise translate(exc, path=self._path) from exc
                    if isinstance(exc, DbError):
                        # A query's own translation could not name the file (DiskFull, ReadOnly).
                        named = with_path(exc, self._path)
                        if named is not exc:
                            raise named from exc
                    raise
                finally:
                    self._tx_owner = None

    def _write_turn(self) -> contextlib.AbstractContextManager[None]:
        """Wait for this handle's turn among every process writing the file (`_write_queue`)."""
        if self._path is None:
            return contextlib.nullcontext()
        queue = self._queue
        if queue is _NO_QUEUE_YET:
            queue = self._queue = _write_queue.open_queue(self._path)
        if not isinstance(queue, _write_queue.WriteQueue):
            return contextlib.nullcontext()
        return queue.turn(self._busy_timeout_ms / 1000)

    @contextmanager
    def transaction(self, *, savepoints: bool = True) -> Iterator[Transaction]:
        """Group several query calls into one atomic write transaction.

        `savepoints=False` runs the queries straight in the transaction (see the module note).
        Example: `with db.transaction() as tx: create_agent(tx, a); create_block(tx, b)`.
        """
        with self.writer() as conn:
            tx = Transaction(self, conn, savepoints=savepoints)
            try:
                yield tx
            finally:
                tx._end()

    @contextmanager
    def exclusive(self) -> Iterator[apsw.Connection]:
        """Yield the writer connection under the lock, outside any transaction.

        For statements that cannot run in a transaction (VACUUM, wal_checkpoint); nothing else
        of this handle writes meanwhile.

        Raises:
            DbError: the calling thread is inside a transaction of this handle.
            ReadOnly: the handle is read-only.
        """
        self._check_writable()
        with self._lock:
            if self._tx_owner == threading.get_ident():
                raise DbError("VACUUM and checkpoints cannot run inside db.transaction()")
            try:
                yield self._writer
            except DRIVER_ERRORS as exc:
                raise translate(exc) from exc

    @contextmanager
    def snapshot(self) -> Iterator[apsw.Connection]:
        """Yield a read-only connection holding one consistent snapshot (backups, exports).

        A file database gets a fresh connection of its own; an in-memory one, its single
        connection under the lock.
        """
        self._check_open()
        if self._path is None:
            with self.exclusive() as conn:
                yield conn
            return
        try:
            conn = files.open_read_only(self._path)
        except apsw.Error as exc:
            raise translate(exc, path=self._path) from exc
        try:
            conn.setbusytimeout(self._busy_timeout_ms)
            yield conn
        except DRIVER_ERRORS as exc:
            raise translate(exc) from exc
        finally:
            conn.close()

    # -- extensions and capabilities -----------------------------------------------------------

    @property
    def vec_version(self) -> str | None:
        """The loaded sqlite-vec version (e.g. "v0.1.9"), or None when it could not load."""
        return self._vec_version

    def require_vec(self) -> str:
        """Return the sqlite-vec version.

        Raises:
            ExtensionError: sqlite-vec is not loaded; the message says why.
        """
        if self._vec_version is None:
            raise ExtensionError(
                (self._vec_error or "sqlite-vec is not loaded")
                + "; install the sqlite-vec wheel for this platform. Full-text search still works."
            )
        return self._vec_version

    def schema_version(self) -> int:
        """Return the highest applied migration version."""
        with self.reader() as conn:
            return migrations.current_version(conn)

    def capabilities(self) -> dict[str, Any]:
        """Return what this database and driver can do.

        Example: `{"sqlite_version": "3.54.1", "fts5": True, "sqlite_vec": "v0.1.9", ...}`.
        """
        with self.reader() as conn:
            options = {row[0] for row in conn.execute("PRAGMA compile_options")}
            journal = scalar(conn, "PRAGMA journal_mode")
            version = migrations.current_version(conn)
        return {
            "driver": "apsw",
            "apsw_version": apsw.apswversion(),
            "sqlite_version": apsw.sqlite_lib_version(),
            "fts5": "ENABLE_FTS5" in options,
            "json": True,
            "sqlite_vec": self._vec_version,
            "sqlite_vec_error": self._vec_error,
            "schema_version": version,
            "latest_schema_version": migrations.latest_version(),
            "journal_mode": journal,
            "read_only": self._read_only,
            "durability": self._durability,
            "path": str(self._path) if self._path else ":memory:",
        }

    # -- maintenance ---------------------------------------------------------------------------

    def health_check(self) -> None:
        """Check that the database answers and its schema is current.

        Raises:
            DbError: the database does not answer, or its schema is out of date.
        """
        with self.reader() as conn:
            if conn.execute("SELECT 1").fetchall() != [(1,)]:
                raise DbError("health check failed: SELECT 1 did not return 1")
            current = migrations.current_version(conn)
        if current != migrations.latest_version():
            raise MigrationRequired(self._path or ":memory:", current, migrations.latest_version())

    def stats(self) -> DbStats:
        """Return row counts (every row, archived and inactive included) and file sizes."""
        with self.reader() as conn:
            counts = {name: int(scalar(conn, sql)) for name, sql in _COUNT_SQL.items()}
            page_count = int(scalar(conn, "PRAGMA page_count"))
            page_size = int(scalar(conn, "PRAGMA page_size"))
            version = migrations.current_version(conn)
        file_size = wal_size = 0
        if self._path is not None:
            file_size = _file_size(self._path)
            wal_size = _file_size(self._path.with_name(self._path.name + "-wal"))
        return DbStats(
            **counts,
            schema_version=version,
            page_count=page_count,
            page_size=page_size,
            file_size_bytes=file_size,
            wal_size_bytes=wal_size,
        )

    def vacuum(self, *, progress: maintenance.Progress | None = None) -> None:
        """Rebuild the file compactly, then rebuild the FTS indexes (`maintenance.vacuum`)."""
        maintenance.vacuum(self, progress=progress)

    def verify(self) -> list[str]:
        """Return every problem found, one line each; empty when sound (`maintenance.verify`).

        Pages (integrity_check), foreign keys, the migration history, each full-text index
        against its table, and vectors whose content is not stored.
        """
        return maintenance.verify(self)

    def checkpoint(self) -> tuple[int, int, int]:
        """Run `wal_checkpoint(TRUNCATE)`; return (busy, wal pages, pages checkpointed)."""
        return maintenance.checkpoint(self)

    def backup(
        self,
        dest: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        file_mode: int | None = None,
        progress: maintenance.Progress | None = None,
    ) -> Path:
        """Copy the database to `dest` through SQLite's online backup API; return the path.

        The copy is a consistent snapshot even while other threads or processes write. It is
        written next to `dest` first, integrity-checked, then renamed into place, with
        `file_mode` (by default the handle's, 0600). `progress(stage, done, total)` hears of
        pages copied, then of the check.

        Raises:
            InvalidData: `dest` exists and `overwrite` is False, or a bad `file_mode`.
            DbError: the copy failed its integrity check.
            DiskFull: no space left for the copy.
        """
        from pattern_db.backup import online_backup

        self._check_open()
        mode = self._file_mode if file_mode is None else files.check_file_mode(file_mode)
        return online_backup(
            self, Path(dest), overwrite=overwrite, file_mode=mode, progress=progress
        )


DbOrTx = ConstellationDb | Transaction


def _synchronous(durability: str) -> str:
    level = DURABILITY_LEVELS.get(durability) if isinstance(durability, str) else None
    if level is None:
        raise InvalidData(
            f"durability must be 'normal' (survives process crashes) or 'full' (survives power "
            f"loss too), got {durability!r}"
        )
    return level


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
