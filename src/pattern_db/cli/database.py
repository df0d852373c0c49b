"""Commands that create a constellation file and show its contents: init, migrate, status, stats."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer
from rich.table import Table

from pattern_db import files
from pattern_db import migrate as migrations
from pattern_db.cli._app import DbPath, JsonFlag, app, human_size, kv_table, out, print_json
from pattern_db.connection import ConstellationDb


def require_file(path: Path) -> None:
    """Raise PathError (naming the command to run) unless `path` is an existing file."""
    files.require_file(path)


def open_existing(path: Path, *, migrate: bool = False) -> ConstellationDb:
    """Open an existing constellation file (never create one)."""
    require_file(path)
    return ConstellationDb.open(path, migrate=migrate)


@app.command()
def init(path: DbPath, as_json: JsonFlag = False) -> None:
    """Create a constellation database at PATH (an existing one is migrated).

    Example: pattern-db init data/constellation.db
    """
    existed = path.is_file()
    with ConstellationDb.open(path) as db:
        version = db.schema_version()
    result = {"path": str(path.absolute()), "created": not existed, "schema_version": version}
    if as_json:
        print_json(result)
    else:
        state = "already existed" if existed else "created"
        out.print(f"{path}: {state}, schema version {version}", markup=False)


@app.command()
def migrate(
    path: DbPath,
    list_only: Annotated[
        bool, typer.Option("--list", help="Show applied and pending migrations; change nothing.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Migrate a temporary copy and check it; leave PATH unchanged."
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Apply pending migrations to PATH (backing it up first), or list them with --list.

    --dry-run applies them to a verified copy beside PATH, runs `verify` on the result and
    deletes the copy.

    Example: pattern-db migrate --list data/constellation.db
    """
    if list_only and dry_run:
        raise typer.BadParameter("--list and --dry-run exclude each other")
    require_file(path)
    listing = migrations.inspect_file(path)
    if dry_run:
        _dry_run(path, [m for m, done in listing if done is None], as_json)
        return
    if list_only:
        rows: list[dict[str, Any]] = [
            {
                "version": m.version,
                "name": m.name,
                "state": "applied" if done else "pending",
                "applied_at": done.applied_at if done else None,
            }
            for m, done in listing
        ]
        if as_json:
            print_json(rows)
            return
        table = Table("version", "name", "state", "applied at", title=str(path))
        for row in rows:
            table.add_row(
                f"{row['version']:04d}", row["name"], row["state"], row["applied_at"] or ""
            )
        out.print(table)
        return
    pending = sum(1 for _, done in listing if done is None)
    with ConstellationDb.open(path) as db:
        version = db.schema_version()
    if as_json:
        print_json({"path": str(path), "applied": pending, "schema_version": version})
    else:
        out.print(
            f"applied {pending} migration(s); {path} is at schema version {version}", markup=False
        )


def _dry_run(path: Path, pending: list[migrations.Migration], as_json: bool) -> None:
    """Migrate a snapshot copy of `path` in a temporary directory beside it; report, delete it."""
    from pattern_db.backup import restore_backup

    problems: list[str] = []
    version = migrations.latest_version()
    if pending:
        with tempfile.TemporaryDirectory(prefix=".pattern-db-dry-run-", dir=path.parent) as tmp:
            copy = restore_backup(path, Path(tmp) / path.name)
            with ConstellationDb.open(copy, backup_before_migrate=False) as db:
                version = db.schema_version()
                problems = db.verify()
    result = {
        "path": str(path),
        "dry_run": True,
        "would_apply": [{"version": m.version, "name": m.name} for m in pending],
        "schema_version": version,
        "problems": problems,
    }
    if as_json:
        print_json(result)
    elif not pending:
        out.print(f"{path} is at schema version {version}: nothing to apply", markup=False)
    else:
        names = ", ".join(f"{m.version:04d}_{m.name}" for m in pending)
        out.print(
            f"dry run: {len(pending)} migration(s) apply cleanly to a copy of {path} "
            f"({names}), giving schema version {version}; {path} is unchanged",
            markup=False,
            soft_wrap=True,
        )
        for problem in problems:
            out.print(f"problem after migrating: {problem}", markup=False, soft_wrap=True)
    if problems:
        raise typer.Exit(1)


@app.command()
def status(path: DbPath, as_json: JsonFlag = False) -> None:
    """Show PATH's schema, extensions, sizes, row counts and agents.

    Example: pattern-db status data/constellation.db
    """
    from pattern_db.queries.agent import list_agents

    with open_existing(path) as db:
        caps = db.capabilities()
        stats = db.stats()
        agents = list_agents(db)
    if as_json:
        print_json(
            {
                "capabilities": caps,
                "stats": stats,
                "agents": [{"id": a.id, "name": a.name, "status": a.status} for a in agents],
            }
        )
        return
    out.print(
        kv_table(
            f"constellation {path}",
            {
                "schema version": f"{caps['schema_version']} "
                f"(latest {caps['latest_schema_version']})",
                "sqlite": caps["sqlite_version"],
                "sqlite-vec": caps["sqlite_vec"] or f"unavailable: {caps['sqlite_vec_error']}",
                "fts5": "yes" if caps["fts5"] else "no",
                "journal": caps["journal_mode"],
                "file size": human_size(stats.file_size_bytes),
                "wal size": human_size(stats.wal_size_bytes),
            },
        )
    )
    counts = Table("entity", "rows", title="contents", title_justify="left")
    for label, value in (
        ("agents", stats.agent_count),
        ("groups", stats.group_count),
        ("messages", stats.message_count),
        ("memory blocks", stats.memory_block_count),
        ("archival entries", stats.archival_entry_count),
        ("tasks", stats.task_count),
        ("events", stats.event_count),
        ("file passages", stats.file_passage_count),
        ("embeddings", stats.embedding_count),
    ):
        counts.add_row(label, str(value))
    out.print(counts)
    if agents:
        table = Table("id", "name", "model", "status", title="agents", title_justify="left")
        for a in agents:
            table.add_row(a.id, a.name, f"{a.model_provider}/{a.model_name}", str(a.status))
        out.print(table)


@app.command()
def stats(path: DbPath, as_json: JsonFlag = False) -> None:
    """Print PATH's row counts and file sizes.

    Example: pattern-db stats --json data/constellation.db
    """
    with open_existing(path) as db:
        result = db.stats()
    if as_json:
        print_json(result)
    else:
        out.print(kv_table(str(path), msgspec.to_builtins(result)))
