"""Online backup and restore of constellation files through SQLite's backup API.

A file copy of a live WAL database can miss committed pages that are still in the WAL, or tear a
page mid-write. The backup API copies a consistent read snapshot instead. The copy is made beside
the destination, switched out of WAL mode (one self-contained file), integrity-checked, and only
then renamed into place, so a failed backup never leaves a half-written file under the final name.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import apsw

from pattern_db.errors import CorruptDatabase, DbError, InvalidData, translate
from pattern_db.files import prepare_destination, remove_with_sidecars, require_file
from pattern_db.maintenance import Progress, integrity_check

if TYPE_CHECKING:
    from pattern_db.connection import ConstellationDb

__all__ = ["online_backup", "restore_backup"]


def _temp_beside(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.{os.getpid()}.tmp")


# Pages per backup step when progress is reported (4 MiB of 4 KiB pages).
_STEP_PAGES = 1024


def _copy_into(source: apsw.Connection, dest: Path, progress: Progress | None = None) -> None:
    """Copy `source` into a new file at `dest`, verified, as a single rollback-journal file."""
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
    dest: Path, *, overwrite: bool, copy: Callable[[Path], None], remove_old: bool = False
) -> Path:
    """Run `copy(temp)` beside `dest`, then rename the verified copy into place."""
    dest = prepare_destination(dest, overwrite=overwrite)
    temp = _temp_beside(dest)
    remove_with_sidecars(temp)
    try:
        copy(temp)
        if remove_old:
            remove_with_sidecars(dest)
        os.replace(temp, dest)
    except apsw.Error as exc:
        raise translate(exc) from exc
    except OSError as exc:
        raise DbError(f"cannot write {dest}: {exc.strerror or exc}") from None
    finally:
        remove_with_sidecars(temp)
    return dest


def online_backup(
    db: ConstellationDb, dest: Path, *, overwrite: bool = False, progress: Progress | None = None
) -> Path:
    """Write a verified copy of `db` to `dest` and return the absolute path.

    `progress(stage, done, total)` hears of the stages "copying" (pages) and "verifying".

    Raises:
        InvalidData: `dest` exists and `overwrite` is False, or `dest` is the database itself.
        CorruptDatabase: the copy failed its integrity check.
    """
    dest = dest.expanduser().absolute()
    if db.path is not None and dest == db.path:
        raise InvalidData("backup destination is the database itself; choose another path")

    def copy(temp: Path) -> None:
        with db.snapshot() as source:
            _copy_into(source, temp, progress)

    return _write_verified(dest, overwrite=overwrite, copy=copy)


def restore_backup(backup: Path, dest: Path, *, overwrite: bool = False) -> Path:
    """Restore a backup file to `dest` (verified first); return the absolute path.

    Nothing may have `dest` open while it is replaced.

    Raises:
        InvalidData: `dest` exists and `overwrite` is False, or `backup` does not exist.
        CorruptDatabase: `backup` is not a sound SQLite database.
    """
    backup = backup.expanduser().absolute()
    require_file(backup, what="backup")

    def copy(temp: Path) -> None:
        source = apsw.Connection(str(backup), flags=apsw.SQLITE_OPEN_READONLY)
        try:
            problems = integrity_check(source)
            if problems:
                raise CorruptDatabase(f"{backup} fails its integrity check: {problems[0]}")
            _copy_into(source, temp)
        finally:
            source.close()

    return _write_verified(
        dest.expanduser().absolute(), overwrite=overwrite, copy=copy, remove_old=True
    )
