"""Pattern CAR exports: import every layout (v0-v3), export v3."""

from __future__ import annotations

import os
from typing import Any

from pattern_db.connection import ConstellationDb, Transaction
from pattern_db.errors import ImportFailed
from pattern_db.importers._report import ImportReport, Progress, Recorder, run_import
from pattern_db.importers._sink import Sink
from pattern_db.importers.car._common import Context
from pattern_db.importers.car.export import export_car
from pattern_db.importers.car.legacy import import_legacy
from pattern_db.importers.car.reader import open_car
from pattern_db.importers.car.v3 import import_v3

__all__ = ["export_car", "import_car"]


def _layout(root: Any) -> int | None:
    """Return the manifest version of a root block, or None for a v0 file (no manifest)."""
    if isinstance(root, dict) and "data_cid" in root and "version" in root:
        version = root["version"]
        return version if isinstance(version, int) else -1
    return None


def import_car(
    db: ConstellationDb,
    path: str | os.PathLike[str],
    *,
    preserve_ids: bool = True,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a Pattern CAR export of any layout (v0, v1, v2, v3) in one transaction.

    The layout is detected from the manifest; every block is checked against its CID first.
    With `preserve_ids=False` every imported record gets a new id (to import a file twice).

    Example: `report = import_car(db, "export.car"); report.counts["messages"]`.

    Raises:
        ImportFailed: the file is truncated, corrupt, hostile, of an unknown version, or
            clashes with the database; the database is left unchanged.
    """
    with open_car(path) as car:
        root_cid = car.roots[0]
        root = car.load(root_cid, "the CAR root")
        version = _layout(root)
        if version is not None and version not in (1, 2, 3):
            raise ImportFailed(
                f"{car.path}: manifest version {root.get('version')!r} is not a Pattern export "
                "version this importer knows (0-3); upgrade pattern-db or re-export the data"
            )
        recorder = Recorder(progress)

        def body(tx: Transaction, rec: Recorder) -> tuple[str, int]:
            ctx = Context(car, Sink(tx, rec, preserve_ids=preserve_ids), rec)
            if version == 3:
                result = import_v3(ctx, root_cid, root)
            else:
                result = import_legacy(ctx, root_cid)
            ctx.sink.flush()
            rec.count("blocks_read", car.block_count)
            return result

        return run_import(db, source_file=str(path), dry_run=dry_run, recorder=recorder, body=body)
