"""Online backup and restore of constellation files through SQLite's backup API.

A file copy of a live WAL database can miss committed pages that are still in the WAL, or tear a
page mid-write. The backup API copies a consistent read snapshot instead. The copy is made beside
the destination, switched out of WAL mode (one self-contained file), integrity-checked, and only
then renamed into place, so a failed backup never leaves a half-written file under the final name.

Restore is the other way round and never renames over a database: other processes may hold it
open, and a rename would leave them reading, and writing to, the old file, their later commits
lost without an error. Instead the verified backup is copied *into* the live file by the backup
API, as one write transaction: every open handle sees the old content until it commits and the
restored content from its next transaction on, and its later writes land in the restored file.
Only a destination that is missing or not a SQLite file (no SQLite handle can hold it) is written
beside and renamed into place.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import apsw

from pattern_db.errors import (
    CorruptDatabase,
    DbError,
    DestinationExists,
    InvalidData,
    ReadOnly,
    translate,
)
from pattern_db.files import (
    DEFAULT_FILE_MODE,
    FileKind,
    check_constellation,
    check_file_mode,
    create_private,
    file_kind,
    is_read_only_location,
    open_read_only,
    prepare_destination,
    remove_with_sidecars,
    require_file,
)
from pattern_db.maintenance import Progress, integrity_check
from pattern_db.timeutil import now_ts

if TYPE_CHECKING:
    from pattern_db.connection import ConstellationDb

__all__ = ["RestoreProgress", "empty_live_database", "online_backup", "restore_backup"]

# (pages copied, pages in all) after each step of a restore.
RestoreProgress = Callable[[int, int], None]

DEFAULT_RESTORE_BUSY_MS = 30_000
# Pages copied per backup step (8 MiB of 8 KiB pages): the progress granularity. The live file's
# write lock is held from the first step to the last either way.
_STEP_PAGES = 1024

_HAS_INDEX_META = "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'embedding_meta'"
# Processes with vectors in memory reuse them while (dimensions, metric, created_at) and the
# generation agree; the restored index gets a new created_at so each of them reloads it.
_MARK_INDEX_RESTORED = "UPDATE embedding_meta SET created_at = ?1, updated_at = ?1 WHERE id = 1"


def _temp_beside(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.{os.getpid()}.tmp")


# Pages per backup step when progress is reported (4 MiB of 4 KiB pages).
_STEP_PAGES = 1024


def _copy_into(
    source: apsw.Connection, dest: Path, file_mode: int, progress: Progress | None = None
) -> None:
    """Copy `source` into a new file at `dest`, verified, as a single rollback-journal file."""
    create_private(dest, file_mode)
    target = apsw.Connection(str(dest))
    try:
        with target.backup("main", source, "main") as job:
            if progress is None:
                # One step holds one read snapshot for the whole copy: consistent, never restarted.
                job.step(-1)
            else:
                _step_with_progress(source, job, progress)
        target.execute("PRAGMA journal_mode = DELETE").fetchall()
        if progress is not None:
            progress("verifying", 0, None)
        problems = integrity_check(target)
        if progress is not None:
            progress("verifying", 1, 1)
        if problems:
            raise CorruptDatabase(
                f"backup copy failed its integrity check: {'; '.join(problems[:5])}"
            )
    finally:
        target.close()


def _step_with_progress(source: apsw.Connection, job: apsw.Backup, progress: Progress) -> None:
    """Copy in steps, reporting pages; one read transaction keeps every step on one snapshot."""
    own = not source.in_transaction
    if own:
        source.execute("BEGIN")
        source.execute("SELECT count(*) FROM sqlite_schema").fetchall()  # takes the snapshot
    try:
        progress("copying", 0, None)
        while not job.step(_STEP_PAGES):
            progress("copying", job.page_count - job.remaining, job.page_count)
        progress("copying", job.page_count, job.page_count)
    finally:
        if own:
            source.execute("COMMIT")


def _write_verified(
    dest: Path,
    *,
    overwrite: bool,
    copy: Callable[[Path], None],
    remove_old: bool = False,
    file_mode: int = DEFAULT_FILE_MODE,
) -> Path:
    """Run `copy(temp)` beside `dest`, then rename the verified copy into place."""
    dest = prepare_destination(dest, overwrite=overwrite, file_mode=file_mode)
    temp = _temp_beside(dest)
    remove_with_sidecars(temp)
    try:
        copy(temp)
        if remove_old:
            remove_with_sidecars(dest)
        os.replace(temp, dest)
    except apsw.Error as exc:
        raise translate(exc, path=dest) from exc
    except OSError as exc:
        raise DbError(f"cannot write {dest}: {exc.strerror or exc}") from None
    finally:
        remove_with_sidecars(temp)
    return dest


def online_backup(
    db: ConstellationDb,
    dest: Path,
    *,
    overwrite: bool = False,
    file_mode: int = DEFAULT_FILE_MODE,
    progress: Progress | None = None,
) -> Path:
    """Write a verified copy of `db` to `dest` (created `file_mode`) and return the absolute path.

    `progress(stage, done, total)` hears of the stages "copying" (pages) and "verifying".

    Raises:
        InvalidData: `dest` exists and `overwrite` is False, or `dest` is the database itself.
        CorruptDatabase: the copy failed its integrity check.
        DiskFull: no space left for the copy (nothing is left under `dest`).
    """
    dest = dest.expanduser().absolute()
    if db.path is not None and dest == db.path:
        raise InvalidData("backup destination is the database itself; choose another path")

    def copy(temp: Path) -> None:
        with db.snapshot() as source:
            try:
                _copy_into(source, temp, file_mode, progress)
            except apsw.Error as exc:
                # Name the file being written: a full disk is the destination's.
                raise translate(exc, path=dest) from exc

    return _write_verified(dest, overwrite=overwrite, copy=copy, file_mode=file_mode)


def _open_checked_backup(backup: Path) -> apsw.Connection:
    """Open a backup read-only after checking it is a sound constellation file."""
    check_constellation(backup)
    source = open_read_only(backup)
    try:
        problems = integrity_check(source)
    except apsw.Error as exc:
        problems = [str(exc)]
    if problems:
        source.close()
        raise CorruptDatabase(
            f"{backup} fails its integrity check, so it was not restored (the destination is "
            f"unchanged): {problems[0]}",
            "; ".join(problems[:5]),
        )
    return source


def _prepare_copy(source: apsw.Connection, temp: Path, page_size: int | None, mode: int) -> None:
    """Copy the checked backup to `temp`: one file, `page_size` pages, index marked restored."""
    create_private(temp, mode)
    target = apsw.Connection(str(temp))
    try:
        with target.backup("main", source, "main") as job:
            job.step(-1)
        target.execute("PRAGMA journal_mode = DELETE").fetchall()
        if page_size is not None and target.execute("PRAGMA page_size").fetchone() != (page_size,):
            # A WAL database keeps its page size: the backup API refuses a source that differs.
            target.execute(f"PRAGMA page_size = {int(page_size)}").fetchall()
            target.execute("VACUUM").fetchall()
        if target.execute(_HAS_INDEX_META).fetchone():
            target.execute(_MARK_INDEX_RESTORED, (now_ts(),))
    finally:
        target.close()


def _copy_live(
    source: apsw.Connection,
    dest: Path,
    *,
    progress: RestoreProgress | None,
    busy_timeout_ms: int,
) -> None:
    """Copy `source` into the live database file `dest` as one write transaction."""
    target = apsw.Connection(str(dest), flags=apsw.SQLITE_OPEN_READWRITE)
    try:
        # Writers of other handles wait for the lock like for any long write; readers go on
        # reading the old content until the copy commits.
        target.setbusytimeout(busy_timeout_ms)
        with target.backup("main", source, "main") as job:
            while True:
                job.step(_STEP_PAGES)
                if progress is not None:
                    progress(job.pagecount - job.remaining, job.pagecount)
                if job.done:
                    break
        with contextlib.suppress(apsw.Error):
            # The whole file went through the WAL; fold it back while nobody reads (best effort).
            target.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        target.close()


def _live_page_size(dest: Path) -> int | None:
    """Return the page size a copy into `dest` must have (None when any size will do)."""
    conn = apsw.Connection(str(dest), flags=apsw.SQLITE_OPEN_READWRITE)
    try:
        conn.setbusytimeout(DEFAULT_RESTORE_BUSY_MS)
        pages = conn.execute("PRAGMA page_count").fetchone()
        size = conn.execute("PRAGMA page_size").fetchone()
    finally:
        conn.close()
    return None if not pages or not pages[0] or size is None else int(size[0])


def restore_backup(
    backup: Path,
    dest: Path,
    *,
    overwrite: bool = False,
    progress: RestoreProgress | None = None,
    busy_timeout_ms: int = DEFAULT_RESTORE_BUSY_MS,
    file_mode: int = DEFAULT_FILE_MODE,
) -> Path:
    """Restore a backup file to `dest` (verified first); return the absolute path.

    An existing database is restored in place through the backup API, safe while other threads
    or processes have it open (see the module note); `progress(done, total)` is called with
    pages after each step. A new file is created `file_mode`.

    Raises:
        DestinationExists: `dest` exists and `overwrite` is False.
        PathError: `backup` does not exist, or `dest` is a directory.
        CorruptDatabase: `backup` is not a sound SQLite database (`dest` is unchanged).
        NotAConstellation: `backup` is another application's database.
        DatabaseBusy: a write transaction on `dest` lasted longer than `busy_timeout_ms`.
        DiskFull: no space left for the copy (`dest` is unchanged).
        ReadOnly: `dest` is on a read-only file, directory or mount.
    """
    check_file_mode(file_mode)
    backup = backup.expanduser().absolute()
    dest = dest.expanduser().absolute()
    require_file(backup, what="backup")
    if backup == dest:
        raise InvalidData("the backup and the destination are the same file; choose another")
    kind, _ = file_kind(dest)
    if kind in (FileKind.MISSING, FileKind.NOT_SQLITE):
        # Nothing SQLite can have this path open: write beside it and rename into place.
        def copy(temp: Path) -> None:
            source = _open_checked_backup(backup)
            try:
                _prepare_copy(source, temp, None, file_mode)
            finally:
                source.close()

        return _write_verified(
            dest, overwrite=overwrite, copy=copy, remove_old=True, file_mode=file_mode
        )
    if not overwrite:
        raise DestinationExists(dest)
    if is_read_only_location(dest):
        raise ReadOnly(dest, "a backup cannot be restored into it")
    temp = _temp_beside(dest)
    remove_with_sidecars(temp)
    try:
        source = _open_checked_backup(backup)
        try:
            _prepare_copy(source, temp, _live_page_size(dest), file_mode)
        finally:
            source.close()
        prepared = apsw.Connection(str(temp), flags=apsw.SQLITE_OPEN_READONLY)
        try:
            _copy_live(prepared, dest, progress=progress, busy_timeout_ms=busy_timeout_ms)
        finally:
            prepared.close()
    except apsw.Error as exc:
        raise translate(exc, path=dest) from exc
    finally:
        remove_with_sidecars(temp)
    return dest


def empty_live_database(path: Path, *, busy_timeout_ms: int = DEFAULT_RESTORE_BUSY_MS) -> None:
    """Empty the database at `path` in place, safe while others have it open; remove a non-db.

    For overwrites that then write a new constellation there (`pattern-db demo --overwrite`).

    Raises:
        DatabaseBusy: a write transaction on `path` lasted longer than `busy_timeout_ms`.
    """
    path = path.expanduser().absolute()
    kind, _ = file_kind(path)
    if kind is FileKind.MISSING:
        return
    if kind is FileKind.NOT_SQLITE:
        remove_with_sidecars(path)
        return
    try:
        page_size = _live_page_size(path)
        empty = apsw.Connection(":memory:")
        try:
            if page_size is not None:
                empty.execute(f"PRAGMA page_size = {int(page_size)}").fetchall()
            _copy_live(empty, path, progress=None, busy_timeout_ms=busy_timeout_ms)
        finally:
            empty.close()
    except apsw.Error as exc:
        raise translate(exc, path=path) from exc
