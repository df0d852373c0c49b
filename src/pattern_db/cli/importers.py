"""Commands that move data in and out: `import car|letta|rust-db` and `export car`.

The library is imported inside each command so `pattern-db --help` stays fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pattern_db.cli._app import DbPath, JsonFlag, app, human_size, kv_table, out, print_json
from pattern_db.cli._progress import progress_bars
from pattern_db.cli.database import open_existing
from pattern_db.connection import ConstellationDb

if TYPE_CHECKING:
    from pattern_db.importers import ImportReport

import_app = typer.Typer(
    help="Import legacy Pattern CAR exports, Letta agent files and Rust pattern_db files.\n\n"
    "Example: pattern-db import letta agent.af data/constellation.db",
    no_args_is_help=True,
    rich_markup_mode=None,
)
export_app = typer.Typer(
    help="Export a constellation, an agent or a group as a v3 CAR file.\n\n"
    "Example: pattern-db export car data/constellation.db backups/constellation.car",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")

DryRun = Annotated[
    bool, typer.Option("--dry-run", help="Do the whole import, report it, write nothing.")
]
SourceFile = Annotated[Path, typer.Argument(help="The file to import.")]
TargetDb = Annotated[Path, typer.Argument(help="The constellation database (created if missing).")]


@contextmanager
def _target(path: Path) -> Iterator[ConstellationDb]:
    """Open the import's target, creating it; remove it again if created and the import fails."""
    existed = path.exists()
    try:
        with ConstellationDb.open(path) as db:
            yield db
    except BaseException:
        if not existed:
            for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                leftover.unlink(missing_ok=True)
        raise


def _show(report: ImportReport, as_json: bool) -> None:
    if as_json:
        print_json(report)
        return
    verb = "would import" if report.dry_run else "imported"
    rows: dict[str, Any] = {"format": report.format, **report.counts}
    rows["audit"] = "(dry run: nothing written)" if report.dry_run else report.audit_id
    rows["time"] = f"{report.duration_ms} ms"
    out.print(kv_table(f"{verb} {report.source_file}", rows))
    by_severity: dict[str, int] = {}
    for issue in report.issues:
        by_severity[issue.severity.value] = by_severity.get(issue.severity.value, 0) + 1
    if by_severity:
        summary = ", ".join(f"{n} {s}" for s, n in sorted(by_severity.items()))
        out.print(f"issues: {summary} (details with --json or in the migration audit)")
    for issue in [i for i in report.issues if i.severity.value != "info"][:20]:
        resolution = f" -> {issue.resolution}" if issue.resolution else ""
        out.print(f"  {issue.severity.value}: {issue.description}{resolution}", markup=False)


@import_app.command("car")
def import_car_command(
    file: SourceFile,
    db_path: TargetDb,
    dry_run: DryRun = False,
    no_preserve_ids: Annotated[
        bool, typer.Option("--no-preserve-ids", help="Give every imported record a new id.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Import a Pattern CAR export (any layout, v0-v3) into DB in one transaction.

    Example: pattern-db import car export.car data/constellation.db
    """
    from pattern_db.importers import import_car

    with _target(db_path) as db, progress_bars(as_json) as progress:
        report = import_car(
            db, file, preserve_ids=not no_preserve_ids, dry_run=dry_run, progress=progress
        )
    _show(report, as_json)


@import_app.command("letta")
def import_letta_command(
    file: SourceFile, db_path: TargetDb, dry_run: DryRun = False, as_json: JsonFlag = False
) -> None:
    """Import a Letta agent file (.af, old or new layout) into DB in one transaction.

    Example: pattern-db import letta agent.af data/constellation.db
    """
    from pattern_db.importers import import_letta

    with _target(db_path) as db, progress_bars(as_json) as progress:
        report = import_letta(db, file, dry_run=dry_run, progress=progress)
    _show(report, as_json)


@import_app.command("rust-db")
def import_rust_db_command(
    src: Annotated[Path, typer.Argument(help="A database file of the Rust pattern_db crate.")],
    dest: TargetDb,
    dry_run: DryRun = False,
    as_json: JsonFlag = False,
) -> None:
    """Copy every row of SRC (written by the Rust crate) into DEST; SRC is only read.

    Example: pattern-db import rust-db old/constellation.db data/constellation.db
    """
    from pattern_db.importers import import_rust_db

    if src.resolve() == dest.resolve():
        raise typer.BadParameter("SRC and DEST must be different files", param_hint="DEST")
    with _target(dest) as db, progress_bars(as_json) as progress:
        report = import_rust_db(src, db, dry_run=dry_run, progress=progress)
    _show(report, as_json)


@export_app.command("car")
def export_car_command(
    db_path: DbPath,
    out_path: Annotated[Path, typer.Argument(help="The CAR file to write.")],
    agent: Annotated[str | None, typer.Option("--agent", help="Export only this agent.")] = None,
    group: Annotated[
        str | None, typer.Option("--group", help="Export this group and its agents.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Export DB (or one agent, or one group) as a v3 CAR file at OUT.

    Example: pattern-db export car data/constellation.db backups/constellation.car
    """
    from pattern_db.importers import export_car

    with open_existing(db_path) as db, progress_bars(as_json) as progress:
        report = export_car(db, out_path, agent_id=agent, group_id=group, progress=progress)
    if as_json:
        print_json(report)
        return
    rows: dict[str, Any] = {"type": report.export_type, "root": report.root_cid, **report.counts}
    rows["size"] = human_size(report.bytes)
    out.print(kv_table(f"exported {db_path} to {report.path}", rows))
    for issue in report.issues:
        out.print(f"  {issue.severity.value}: {issue.description}", markup=False)
