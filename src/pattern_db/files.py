"""Paths of database files: checked before SQLite touches them, created private, recognised.

Every file pattern-db is asked to open or write goes through here first, so a directory given
as a database, a file where a directory is expected, a missing or unwritable parent, or another
application's SQLite file becomes one clear `DbError` (`PathError`, `DestinationExists`,
`NotAConstellation`, `CorruptDatabase`) instead of an OSError or SQLite's "unable to open
database file", and nothing is written to a file that is not ours.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path

import apsw

from pattern_db.errors import (
    CorruptDatabase,
    DbError,
    DestinationExists,
    NotAConstellation,
    PathError,
)

__all__ = [
    "FileKind",
    "check_constellation",
    "file_kind",
    "prepare_destination",
    "prepare_parent",
    "remove_with_sidecars",
    "require_file",
]

MIGRATION_TABLE = "pattern_db_migrations"
RUST_MIGRATION_TABLE = "_sqlx_migrations"
SIDECARS = ("-wal", "-shm", "-journal")
_TABLES = "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name"


class FileKind(StrEnum):
    """What an existing path holds."""

    MISSING = "missing"
    EMPTY = "empty"  # a zero-byte file: a new database
    CONSTELLATION = "constellation"  # has pattern-db's migration table (or no tables at all)
    RUST = "rust"  # written by the Rust pattern_db crate (sqlx migrations, no pattern-db table)
    FOREIGN = "foreign"  # another application's SQLite database
    NOT_SQLITE = "not_sqlite"


def _os_problem(path: Path, exc: OSError) -> PathError:
    if isinstance(exc, NotADirectoryError | FileExistsError):
        return PathError(path, "a part of this path is a file, not a directory; choose another")
    if isinstance(exc, IsADirectoryError):
        return PathError(path, "is a directory, not a database file; give a file path")
    if isinstance(exc, PermissionError):
        return PathError(path, "permission denied; choose a path you can write, or fix its mode")
    return PathError(path, f"{exc.strerror or exc}")


def prepare_parent(path: Path) -> None:
    """Create the directories above `path` (0700) if missing.

    Raises:
        PathError: a part of the path is a file, or the directory cannot be created.
    """
    parent = path.parent
    try:
        if parent.is_dir():
            return
        parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise _os_problem(path, exc) from None


def require_file(path: Path, *, what: str = "database") -> None:
    """Check that `path` is an existing file.

    Raises:
        PathError: it is missing (the message says how to create one) or is a directory.
    """
    if path.is_dir():
        raise PathError(path, f"is a directory, not a {what} file; give a file path")
    if not path.is_file():
        hint = f"; create one with `pattern-db init {path}`" if what == "database" else ""
        raise PathError(path, f"no {what} file", f"no {what} at {path}{hint}")


def file_kind(path: Path) -> tuple[FileKind, list[str]]:
    """Return what `path` holds and, for SQLite files, its table names; reads only.

    Raises:
        PathError: the path is a directory or cannot be read.
    """
    if path.is_dir():
        raise PathError(path, "is a directory, not a database file; give a file path")
    try:
        if not path.exists():
            return FileKind.MISSING, []
        if path.stat().st_size == 0:
            return FileKind.EMPTY, []
        with path.open("rb") as handle:
            header = handle.read(16)
    except OSError as exc:
        raise _os_problem(path, exc) from None
    if header != b"SQLite format 3\x00":
        return FileKind.NOT_SQLITE, []
    try:
        conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    except apsw.Error as exc:
        raise PathError(path, f"cannot be read: {exc}") from None
    try:
        # Another process may be recovering the WAL after a crash: wait as a connection would.
        conn.setbusytimeout(30_000)
        tables = [str(row[0]) for row in conn.execute(_TABLES)]
    except (apsw.NotADBError, apsw.CorruptError):
        return FileKind.NOT_SQLITE, []
    except apsw.Error as exc:
        raise PathError(path, f"cannot be read: {exc}") from None
    finally:
        conn.close()
    if not tables or MIGRATION_TABLE in tables:
        return FileKind.CONSTELLATION, tables
    if RUST_MIGRATION_TABLE in tables:
        return FileKind.RUST, tables
    return FileKind.FOREIGN, tables


def check_constellation(path: Path) -> FileKind:
    """Return the kind of an existing path that pattern-db may open as a constellation.

    Raises:
        NotAConstellation: a file of the Rust crate, or another application's database.
        CorruptDatabase: a file that is not a SQLite database at all.
        PathError: a directory, or a file that cannot be read.
    """
    kind, tables = file_kind(path)
    if kind in (FileKind.RUST, FileKind.FOREIGN):
        raise NotAConstellation(path, kind.value, tables)
    if kind is FileKind.NOT_SQLITE:
        raise CorruptDatabase(
            f"{path} is not a database file (another kind of file, or a damaged one); choose "
            "another path, or restore it from a backup with `pattern-db restore`",
            "file is not a database",
        )
    return kind


def prepare_destination(dest: str | os.PathLike[str], *, overwrite: bool) -> Path:
    """Return the absolute path a new file may be written to, its directory created.

    Raises:
        DestinationExists: the file exists and `overwrite` is False.
        PathError: the path is a directory, or its directory cannot be created.
    """
    path = Path(dest).expanduser().absolute()
    if path.is_dir():
        raise PathError(path, "is a directory; give the path of the file to write")
    if path.exists() and not overwrite:
        raise DestinationExists(path)
    prepare_parent(path)
    return path


def remove_with_sidecars(path: Path) -> None:
    """Delete a database file and its -wal/-shm/-journal files, if present.

    Raises:
        DbError: a file cannot be deleted.
    """
    for suffix in ("", *SIDECARS):
        try:
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        except OSError as exc:
            raise DbError(f"cannot delete {path}{suffix}: {exc.strerror or exc}") from None
