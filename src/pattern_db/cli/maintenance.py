"""Commands that keep a constellation file healthy: backup, restore, vacuum, checkpoint.

`verify` is in `pattern_db.cli.verify`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pattern_db.backup import restore_backup
from pattern_db.cli._app import (
    DbPath,
    JsonFlag,
    OverwriteFlag,
    app,
    human_size,
    out,
    print_json,
)
from pattern_db.cli._progress import progress_bars
from pattern_db.cli.database import open_existing
from pattern_db.connection import ConstellationDb


@app.command()
def backup(
    path: DbPath,
    dest: Annotated[Path, typer.Argument(help="Where to write the copy.")],
    overwrite: OverwriteFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Copy PATH to DEST with SQLite's online backup API (safe while agents write).

    Example: pattern-db backup data/constellation.db backups/2026-12-02.db
    """
    with open_existing(path) as db, progress_bars(as_json) as progress:
        written = db.backup(dest, overwrite=overwrite, progress=progress)
    if as_json:
        print_json({"backup": str(written), "bytes": written.stat().st_size})
    else:
        out.print(
            f"backed up {path} to {written} ({human_size(written.stat().st_size)}, verified)",
            markup=False,
        )


@app.command()
def restore(
    backup_file: Annotated[Path, typer.Argument(help="A backup made by `pattern-db backup`.")],
    dest: DbPath,
    overwrite: OverwriteFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Restore BACKUP_FILE to DEST after checking it (safe while agents have DEST open).

    An existing DEST is restored in place: open handles see the backup's content from their
    next transaction on, and nothing they write afterwards is lost.

    Example: pattern-db restore --overwrite backups/2026-12-02.db data/constellation.db
    """
    with progress_bars(as_json) as bars:
        written = restore_backup(
            backup_file,
            dest,
            overwrite=overwrite,
            progress=None if bars is None else (lambda done, total: bars("restoring", done, total)),
        )
    with ConstellationDb.open(written) as db:
        version = db.schema_version()
    if as_json:
        print_json({"restored": str(written), "schema_version": version})
    else:
        out.print(f"restored {backup_file} to {written} (schema version {version})", markup=False)


@app.command()
def vacuum(path: DbPath, as_json: JsonFlag = False) -> None:
    """Compact PATH and rebuild its full-text indexes.

    Example: pattern-db vacuum data/constellation.db
    """
    with open_existing(path) as db:
        before = db.stats().file_size_bytes
        with progress_bars(as_json) as progress:
            db.vacuum(progress=progress)
        db.checkpoint()
        after = db.stats().file_size_bytes
    if as_json:
        print_json({"bytes_before": before, "bytes_after": after})
    else:
        out.print(
            f"vacuumed {path}: {human_size(before)} -> {human_size(after)}; FTS indexes rebuilt",
            markup=False,
        )


@app.command()
def checkpoint(path: DbPath, as_json: JsonFlag = False) -> None:
    """Checkpoint and truncate PATH's write-ahead log.

    Example: pattern-db checkpoint data/constellation.db
    """
    with open_existing(path) as db:
        busy, wal_pages, done = db.checkpoint()
    result = {"busy": busy, "wal_pages": wal_pages, "checkpointed_pages": done}
    if as_json:
        print_json(result)
    else:
        out.print(f"checkpointed {done} of {wal_pages} WAL pages" + (" (busy)" if busy else ""))
