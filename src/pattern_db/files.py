"""Paths of database files: checked before SQLite touches them, created private, recognised.

Every file pattern-db is asked to open or write goes through here first, so a directory given
as a database, a file where a directory is expected, a missing or unwritable parent, or another
application's SQLite file becomes one clear `DbError` (`PathError`, `DestinationExists`,
`NotAConstellation`, `CorruptDatabase`) instead of an OSError or SQLite's "unable to open
database file", and nothing is written to a file that is not ours.

Files pattern-db creates are private whatever the umask: 0600 files (SQLite gives `-wal` and
`-shm` the mode of their database, so creating the database file first covers all three) in 0700
directories. `file_mode` relaxes it (0o640 gives 0750 directories). A file, directory or mount
that cannot be written is opened read-only (`read_only_uri`).
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from urllib.parse import quote

import apsw

from pattern_db.errors import (
    CorruptDatabase,
    DbError,
    DestinationExists,
    InvalidData,
    NotAConstellation,
    PathError,
    ReadOnly,
)

__all__ = [
    "DEFAULT_FILE_MODE",
    "FileKind",
    "check_constellation",
    "check_file_mode",
    "create_private",
    "dir_mode",
    "file_kind",
    "is_read_only_dir",
    "is_read_only_location",
    "open_read_only",
    "prepare_destination",
    "prepare_parent",
    "read_only_uri",
    "remove_with_sidecars",
    "require_file",
]

DEFAULT_FILE_MODE = 0o600

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


def check_file_mode(file_mode: int) -> int:
    """Return `file_mode` if it is a permission mode that keeps the owner's read and write.

    Raises:
        InvalidData: other bits than permissions, or the owner could not read and write.
    """
    if (
        not isinstance(file_mode, int)
        or isinstance(file_mode, bool)
        or file_mode & ~0o666
        or (file_mode & 0o600) != 0o600
    ):
        raise InvalidData(
            f"file_mode must be a permission mode with owner read and write and no execute "
            f"bits, such as 0o600 or 0o640; got {file_mode!r}"
        )
    return file_mode


def dir_mode(file_mode: int = DEFAULT_FILE_MODE) -> int:
    """Return the mode of directories holding files of `file_mode`: x wherever r (0640 -> 0750)."""
    return file_mode | ((file_mode & 0o444) >> 2)


def prepare_parent(path: Path, *, file_mode: int = DEFAULT_FILE_MODE) -> None:
    """Create the missing directories above `path` (0700, or `dir_mode(file_mode)`).

    Existing directories are left as they are; each created one gets its mode whatever the umask.

    Raises:
        PathError: a part of the path is a file, or the directory cannot be created.
    """
    missing: list[Path] = []
    current = path.parent
    try:
        while not current.is_dir():
            missing.append(current)
            if current.parent == current:
                break
            current = current.parent
        for directory in reversed(missing):
            try:
                directory.mkdir(mode=0o700)
            except FileExistsError:
                if directory.is_dir():
                    continue  # another process made it first
                raise
            # mkdir's mode is filtered by the umask, which may be looser or stricter.
            os.chmod(directory, dir_mode(file_mode))
    except OSError as exc:
        raise _os_problem(path, exc) from None


def create_private(path: Path, file_mode: int = DEFAULT_FILE_MODE) -> bool:
    """Create an empty file at `path` with exactly `file_mode` unless one exists; True if made.

    Raises:
        PathError: the file cannot be created.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    except OSError as exc:
        raise _os_problem(path, exc) from None
    try:
        os.fchmod(fd, file_mode)  # the umask filtered os.open's mode
    finally:
        os.close(fd)
    return True


def is_read_only_dir(directory: Path) -> bool:
    """Return True when `directory` exists and no file can be created in it (mode or mount)."""
    try:
        if not directory.is_dir():
            return False
        if os.statvfs(directory).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        return False
    return not os.access(directory, os.W_OK | os.X_OK)


def is_read_only_location(path: Path) -> bool:
    """Return True when the existing file `path`, its directory or their mount cannot be written."""
    try:
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return True
    except OSError:
        return False
    return not os.access(path, os.W_OK) or is_read_only_dir(path.parent)


def read_only_uri(path: Path) -> str:
    """Return the SQLite URI opening `path` read-only (open with SQLITE_OPEN_URI).

    `mode=ro` when SQLite can use a `-shm` file (one exists, or the directory is writable);
    otherwise `immutable=1`, which reads the file without locks or a `-shm`.

    Raises:
        ReadOnly: a `-wal` with content but no `-shm` where none can be made (a writer crashed
            on a location that is now read-only): `immutable` would not see those commits.
    """
    uri = "file:" + quote(str(path)) + "?mode=ro"
    parent = path.parent
    shm = Path(f"{path}-shm")
    if shm.exists() or not is_read_only_dir(parent):
        return uri
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise ReadOnly(
            path,
            f"{wal.name} holds commits that were never checkpointed and no {shm.name} can be "
            "created here; open the file once where it can be written to recover them",
        )
    return uri + "&immutable=1"


def open_read_only(path: Path, *, busy_timeout_ms: int = 30_000) -> apsw.Connection:
    """Open `path` read-only, wherever it is (see `read_only_uri`).

    With a busy timeout: a reader of a WAL file waits while another process's first connection
    rebuilds the -shm, instead of failing with "database is locked".
    """
    flags = apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI
    conn = apsw.Connection(read_only_uri(path), flags=flags)
    conn.setbusytimeout(busy_timeout_ms)
    return conn


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
        conn = open_read_only(path)
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


def prepare_destination(
    dest: str | os.PathLike[str], *, overwrite: bool, file_mode: int = DEFAULT_FILE_MODE
) -> Path:
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
    prepare_parent(path, file_mode=file_mode)
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
