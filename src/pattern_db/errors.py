"""Errors raised by pattern-db, and the one place SQLite errors are translated.

Every error is a `DbError`. Errors that have an obvious builtin meaning also subclass the builtin
(`NotFound` is a `LookupError`, `InvalidData` a `ValueError`), so generic handlers keep working.
SQLite errors are classified by apsw's extended result code, never by message text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import apsw

__all__ = [
    "DRIVER_ERRORS",
    "AlreadyExists",
    "ConstraintViolation",
    "CorruptDatabase",
    "DatabaseBusy",
    "DatabaseClosed",
    "DbError",
    "DestinationExists",
    "DimensionMismatch",
    "DiskFull",
    "ExtensionError",
    "ImportFailed",
    "InvalidData",
    "MigrationError",
    "MigrationRequired",
    "NotAConstellation",
    "NotFound",
    "PathError",
    "ReadOnly",
    "translate",
    "translate_errors",
    "with_path",
]


class DbError(Exception):
    """Base class of every error pattern-db raises."""


class NotFound(DbError, LookupError):
    """A row the call needs to act on does not exist."""

    def __init__(self, entity_type: str, entity_id: object) -> None:
        self.entity_type = entity_type
        self.entity_id = entity_id
        super().__init__(f"{entity_type} not found: {entity_id}")


class AlreadyExists(DbError):
    """A row with the same primary key or unique value exists already.

    `fields` names the unique columns that clashed and the values given for them (empty for a
    primary key clash): `agent named 'Pattern' already exists`.
    """

    def __init__(
        self,
        entity_type: str,
        entity_id: object,
        detail: str | None = None,
        *,
        fields: dict[str, object] | None = None,
    ) -> None:
        self.entity_type = entity_type
        self.entity_id = entity_id
        self.detail = detail
        self.fields = dict(fields or {})
        if list(self.fields) == ["name"]:
            message = f"{entity_type} named {self.fields['name']!r} already exists"
        elif self.fields:
            clash = " and ".join(f"{column} {value!r}" for column, value in self.fields.items())
            message = f"{entity_type} with {clash} already exists"
        else:
            message = f"{entity_type} already exists: {entity_id}" + (
                f" ({detail})" if detail else ""
            )
        super().__init__(message)


class ConstraintViolation(DbError):
    """A CHECK, NOT NULL or foreign-key constraint refused the write."""


class InvalidData(DbError, ValueError):
    """Input that cannot be stored or understood: a malformed query, a naive datetime, ..."""


class DimensionMismatch(InvalidData):
    """An embedding has a different number of dimensions than the constellation's index."""

    def __init__(self, expected: int, got: int) -> None:
        self.expected = expected
        self.got = got
        super().__init__(
            f"embedding has {got} dimensions but this constellation's index has {expected}; "
            "embed with the same model, or re-create the index for the new model"
        )


class ExtensionError(DbError):
    """A SQLite extension (sqlite-vec) is not available on this connection."""


class MigrationError(DbError):
    """A migration failed or the recorded migration history does not match the shipped files."""


class MigrationRequired(MigrationError):
    """The schema is older than this pattern-db and migrating was not allowed."""

    def __init__(self, path: str | Path, current: int, target: int) -> None:
        self.path = str(path)
        self.current = current
        self.target = target
        super().__init__(
            f"{path} is at schema version {current}, this pattern-db needs {target}; "
            f"run `pattern-db migrate {path}` or open it with migrate=True"
        )


class ImportFailed(DbError):
    """An import file is malformed, truncated or of an unknown format; nothing was written."""


class PathError(InvalidData):
    """A path that cannot serve as asked: a directory given as a file, a file as a directory, ..."""

    def __init__(self, path: str | Path, problem: str, message: str | None = None) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(message or f"{path}: {problem}")


class DestinationExists(InvalidData):
    """A file would be replaced and replacing was not asked for (`overwrite`)."""

    def __init__(self, path: str | Path, option: str = "overwrite") -> None:
        self.path = str(path)
        self.option = option
        super().__init__(f"{path} exists; choose another path, or pass {option}=True to replace it")


class NotAConstellation(DbError):
    """An existing SQLite file that is not a pattern-db constellation; it was left untouched.

    `kind` is "rust" for a file of the Rust pattern_db crate (it can be imported) and "foreign"
    for another application's database.
    """

    def __init__(self, path: str | Path, kind: str, tables: list[str]) -> None:
        self.path = str(path)
        self.kind = kind
        self.tables = tables
        if kind == "rust":
            message = (
                f"{path} was written by the Rust pattern_db crate; convert it into a new file "
                f"with `pattern-db import rust-db {path} NEW.db` (it stays unchanged)"
            )
        else:
            shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
            message = (
                f"{path} is another application's SQLite database (tables: {shown}); it was "
                "left untouched: give pattern-db a new file for the constellation"
            )
        super().__init__(message)


class DatabaseBusy(DbError):
    """The database stayed locked by another connection for longer than the busy timeout."""


class ReadOnly(DbError):
    """A write was asked of a database opened read-only (asked for, or a read-only file/mount).

    `detail` is SQLite's own text when SQLite refused the write.
    """

    def __init__(self, path: str | Path | None, detail: str | None = None) -> None:
        self.path = None if path is None else str(path)
        self.detail = detail
        where = self.path or "the database"
        super().__init__(
            f"{where} is open read-only (a read-only file, directory or mount, or "
            "read_only=True); writes are refused, reads work" + (f" ({detail})" if detail else "")
        )


class DiskFull(DbError):
    """The disk holding the database (or the file being written) has no space left.

    `detail` is SQLite's own text; the database is unchanged (the write rolled back).
    """

    def __init__(self, path: str | Path | None, detail: str | None = None) -> None:
        self.path = None if path is None else str(path)
        self.detail = detail
        where = self.path or "the database"
        # SQLite's text is "not an error" when the backup API hit the full disk: not shown.
        shown = f" ({detail})" if detail and detail != "not an error" else ""
        super().__init__(
            f"no space left on the disk holding {where}; free some space and retry (nothing "
            "was written)" + shown
        )


class DatabaseClosed(DbError):
    """The database handle was used after close()."""


class CorruptDatabase(DbError):
    """The file is not a SQLite database, or its pages fail SQLite's checks.

    `detail` is SQLite's own description of the problem.
    """

    def __init__(self, message: str, detail: str | None = None) -> None:
        self.detail = detail or message
        super().__init__(message)


_TABLE_IN_MESSAGE = re.compile(r"failed: (\w+)\.")
# "UNIQUE constraint failed: memory_blocks.agent_id, memory_blocks.label": the columns, to name
# the clash (the error is classified by its code; the text only supplies the column names).
_UNIQUE_COLUMNS = re.compile(r"\w+\.(\w+)")
_KEY_COLUMNS = frozenset({"id", "rowid"})

# What binding caller values can raise besides apsw.Error: text with a lone surrogate (no UTF-8
# encoding) and an int outside SQLite's 64-bit range. Both are bad input, translated like SQLite's.
DRIVER_ERRORS = (apsw.Error, UnicodeEncodeError, OverflowError)

_ALREADY_EXISTS_CODES = frozenset(
    {apsw.SQLITE_CONSTRAINT_UNIQUE, apsw.SQLITE_CONSTRAINT_PRIMARYKEY, apsw.SQLITE_CONSTRAINT_ROWID}
)


def translate(
    exc: apsw.Error | UnicodeEncodeError | OverflowError,
    entity_type: str | None = None,
    entity_id: object = None,
    *,
    record: object = None,
    path: str | Path | None = None,
) -> DbError:
    """Return the DbError for an apsw error, classified by its extended result code.

    `record` (a Struct or a mapping of column values) lets a unique clash name the values that
    clashed; `path` names the file in ReadOnly and DiskFull. Example:
    `raise translate(exc, "agent", "a1", record=agent) from exc`.
    """
    if isinstance(exc, UnicodeEncodeError):
        return InvalidData(
            f"text holding a lone surrogate ({exc.object[exc.start : exc.end]!r} at {exc.start}) "
            "cannot be stored or searched as UTF-8; decode the input with errors='replace'"
        )
    if isinstance(exc, OverflowError):
        return InvalidData(f"a number is outside SQLite's 64-bit integer range ({exc})")
    code = getattr(exc, "extendedresult", None)
    message = str(exc)
    if isinstance(exc, apsw.ConstraintError):
        if code in _ALREADY_EXISTS_CODES:
            if entity_type is None:
                found = _TABLE_IN_MESSAGE.search(message)
                entity_type = found.group(1) if found else "row"
            columns = _UNIQUE_COLUMNS.findall(message.partition("failed:")[2])
            fields = {}
            unique = code == apsw.SQLITE_CONSTRAINT_UNIQUE and not _KEY_COLUMNS.issuperset(columns)
            if unique and record is not None:
                fields = {column: _value_of(record, column) for column in columns}
            return AlreadyExists(
                entity_type, entity_id if entity_id is not None else "?", message, fields=fields
            )
        if code == apsw.SQLITE_CONSTRAINT_FOREIGNKEY:
            what = f" for {entity_type} {entity_id}" if entity_type else ""
            return ConstraintViolation(
                f"foreign key constraint failed{what}: a referenced row does not exist "
                "(or a row still refers to the one being deleted)"
            )
        return ConstraintViolation(message)
    if isinstance(exc, apsw.BusyError | apsw.LockedError):
        return DatabaseBusy(
            f"database is locked by another connection ({message}); retry, or raise busy_timeout_ms"
        )
    if isinstance(exc, apsw.ReadOnlyError):
        return ReadOnly(path, message)
    if isinstance(exc, apsw.FullError):
        return DiskFull(path, message)
    if isinstance(exc, apsw.ConnectionClosedError | apsw.CursorClosedError):
        return DatabaseClosed("the database handle is closed; open it again")
    if isinstance(exc, apsw.NotADBError | apsw.CorruptError):
        return CorruptDatabase(
            f"{message}; restore from a backup (`pattern-db restore`) or run `pattern-db verify`",
            message,
        )
    if isinstance(exc, apsw.TooBigError | apsw.MismatchError | apsw.RangeError):
        return InvalidData(message)
    return DbError(f"SQLite error: {message}")


def with_path(exc: DbError, path: str | Path | None) -> DbError:
    """Return `exc` naming `path` when it is a ReadOnly or DiskFull that names no file yet."""
    if isinstance(exc, ReadOnly | DiskFull) and exc.path is None and path is not None:
        named = type(exc)(path, exc.detail)
        named.__cause__ = exc.__cause__
        return named
    return exc


def _value_of(record: object, column: str) -> object:
    if isinstance(record, dict):
        return record.get(column)
    return getattr(record, column, None)


@contextmanager
def translate_errors(
    entity_type: str | None = None, entity_id: object = None, *, record: object = None
) -> Iterator[None]:
    """Turn any apsw error raised in the block into the matching DbError.

    Example: `with db.writer() as conn, translate_errors("agent", agent.id, record=agent): ...`.
    """
    try:
        yield
    except DRIVER_ERRORS as exc:
        raise translate(exc, entity_type, entity_id, record=record) from exc
