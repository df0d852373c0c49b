"""The `pattern-db` command line: operate constellation databases.

Every command that prints data takes `--json` (machine-readable output only, on stdout). Exit
codes: 0 success, 1 a reported failure (one readable line on stderr, never a traceback), 2 bad
usage. Each command is one library call plus presentation.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import msgspec
import typer
from rich.console import Console
from rich.table import Table

from pattern_db import migrate as migrations
from pattern_db.backup import restore_backup
from pattern_db.connection import ConstellationDb
from pattern_db.errors import DbError

__all__ = ["app", "main"]

app = typer.Typer(
    name="pattern-db",
    help="Operate pattern-db constellation databases (one SQLite file per constellation).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")

DbPath = Annotated[Path, typer.Argument(help="The constellation database file.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON only.")]
OverwriteFlag = Annotated[bool, typer.Option("--overwrite", help="Replace an existing file.")]


def _reports_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn a DbError into one line on stderr and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except DbError as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
            raise typer.Exit(1) from None

    return wrapper


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(msgspec.to_builtins(value), indent=2, sort_keys=True) + "\n")


def _require_file(path: Path) -> None:
    if not path.is_file():
        raise DbError(f"no database at {path}; create one with `pattern-db init {path}`")


def _open_existing(path: Path, *, migrate: bool = False) -> ConstellationDb:
    _require_file(path)
    return ConstellationDb.open(path, migrate=migrate)


def _kv_table(title: str, rows: dict[str, Any]) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows.items():
        table.add_row(key, str(value))
    return table


@app.command()
@_reports_errors
def init(path: DbPath, as_json: JsonFlag = False) -> None:
    """Create a constellation database at PATH (an existing one is migrated)."""
    existed = path.is_file()
    with ConstellationDb.open(path) as db:
        version = db.schema_version()
    result = {"path": str(path.absolute()), "created": not existed, "schema_version": version}
    if as_json:
        _print_json(result)
    else:
        state = "already existed" if existed else "created"
        out.print(f"{path}: {state}, schema version {version}")


@app.command()
@_reports_errors
def migrate(
    path: DbPath,
    list_only: Annotated[
        bool, typer.Option("--list", help="Show applied and pending migrations; change nothing.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Apply pending migrations to PATH (backing it up first), or list them with --list."""
    _require_file(path)
    listing = migrations.inspect_file(path)
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
            _print_json(rows)
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
        _print_json({"path": str(path), "applied": pending, "schema_version": version})
    else:
        out.print(f"applied {pending} migration(s); {path} is at schema version {version}")


@app.command()
@_reports_errors
def status(path: DbPath, as_json: JsonFlag = False) -> None:
    """Show PATH's schema, extensions, sizes, row counts and agents."""
    from pattern_db.queries.agent import list_agents

    with _open_existing(path) as db:
        caps = db.capabilities()
        stats = db.stats()
        agents = list_agents(db)
    if as_json:
        _print_json(
            {
                "capabilities": caps,
                "stats": stats,
                "agents": [{"id": a.id, "name": a.name, "status": a.status} for a in agents],
            }
        )
        return
    out.print(
        _kv_table(
            f"constellation {path}",
            {
                "schema version": f"{caps['schema_version']} "
                f"(latest {caps['latest_schema_version']})",
                "sqlite": caps["sqlite_version"],
                "sqlite-vec": caps["sqlite_vec"] or f"unavailable: {caps['sqlite_vec_error']}",
                "fts5": "yes" if caps["fts5"] else "no",
                "journal": caps["journal_mode"],
                "file size": _size(stats.file_size_bytes),
                "wal size": _size(stats.wal_size_bytes),
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
@_reports_errors
def stats(path: DbPath, as_json: JsonFlag = False) -> None:
    """Print PATH's row counts and file sizes."""
    with _open_existing(path) as db:
        result = db.stats()
    if as_json:
        _print_json(result)
    else:
        out.print(_kv_table(str(path), msgspec.to_builtins(result)))


@app.command()
@_reports_errors
def backup(
    path: DbPath,
    dest: Annotated[Path, typer.Argument(help="Where to write the copy.")],
    overwrite: OverwriteFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Copy PATH to DEST with SQLite's online backup API (safe while agents write)."""
    with _open_existing(path) as db:
        written = db.backup(dest, overwrite=overwrite)
    if as_json:
        _print_json({"backup": str(written), "bytes": written.stat().st_size})
    else:
        out.print(f"backed up {path} to {written} ({_size(written.stat().st_size)}, verified)")


@app.command()
@_reports_errors
def restore(
    backup_file: Annotated[Path, typer.Argument(help="A backup made by `pattern-db backup`.")],
    dest: DbPath,
    overwrite: OverwriteFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Restore BACKUP_FILE to DEST after checking it (stop anything using DEST first)."""
    written = restore_backup(backup_file, dest, overwrite=overwrite)
    with ConstellationDb.open(written) as db:
        version = db.schema_version()
    if as_json:
        _print_json({"restored": str(written), "schema_version": version})
    else:
        out.print(f"restored {backup_file} to {written} (schema version {version})")


@app.command()
@_reports_errors
def vacuum(path: DbPath, as_json: JsonFlag = False) -> None:
    """Compact PATH and rebuild its full-text indexes."""
    with _open_existing(path) as db:
        before = db.stats().file_size_bytes
        db.vacuum()
        db.checkpoint()
        after = db.stats().file_size_bytes
    if as_json:
        _print_json({"bytes_before": before, "bytes_after": after})
    else:
        out.print(f"vacuumed {path}: {_size(before)} -> {_size(after)}; FTS indexes rebuilt")


@app.command()
@_reports_errors
def checkpoint(path: DbPath, as_json: JsonFlag = False) -> None:
    """Checkpoint and truncate PATH's write-ahead log."""
    with _open_existing(path) as db:
        busy, wal_pages, done = db.checkpoint()
    result = {"busy": busy, "wal_pages": wal_pages, "checkpointed_pages": done}
    if as_json:
        _print_json(result)
    else:
        out.print(f"checkpointed {done} of {wal_pages} WAL pages" + (" (busy)" if busy else ""))


@app.command()
@_reports_errors
def verify(path: DbPath, as_json: JsonFlag = False) -> None:
    """Check PATH's pages, foreign keys, full-text indexes and migration history."""
    with _open_existing(path) as db:
        problems = db.verify()
    if as_json:
        _print_json({"ok": not problems, "problems": problems})
    elif problems:
        for problem in problems:
            err.print(f"[red]problem:[/] {problem}", highlight=False)
    else:
        out.print(f"{path}: ok")
    if problems:
        raise typer.Exit(1)


@app.command()
@_reports_errors
def demo(path: DbPath, overwrite: OverwriteFlag = False, as_json: JsonFlag = False) -> None:
    """Create a small demo constellation at PATH: agents, a memory block, messages."""
    from pattern_db.demo import create_demo

    summary = create_demo(path, overwrite=overwrite)
    if as_json:
        _print_json(summary)
        return
    out.print(f"demo constellation written to {path}")
    for line in summary["lines"]:
        out.print(f"  {line}", markup=False, highlight=False)


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def main() -> None:
    """Entry point of the `pattern-db` console script."""
    app()
