"""The typer application, the options every command shares, output helpers and `main()`.

Every command that prints data takes `--json` (machine-readable output only, on stdout). Exit
codes: 0 success, 1 a reported failure (one readable line on stderr, never a traceback), 2 bad
usage. Errors are caught once, in `main()`; each command is one library call plus presentation.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import msgspec
import typer
from rich.console import Console
from rich.table import Table

from pattern_db.errors import DbError, DestinationExists

__all__ = [
    "DbPath",
    "JsonFlag",
    "OverwriteFlag",
    "app",
    "err",
    "fail",
    "human_size",
    "kv_table",
    "main",
    "out",
    "print_json",
]

app = typer.Typer(
    name="pattern-db",
    help="Operate pattern-db constellation databases (one SQLite file per constellation).\n\n"
    "Every command that prints data takes --json. Exit codes: 0 success, 1 a reported "
    "failure (one line on stderr), 2 bad usage.\n\n"
    "Example: pattern-db status --json data/constellation.db",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

DbPath = Annotated[Path, typer.Argument(help="The constellation database file.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON only.")]
OverwriteFlag = Annotated[bool, typer.Option("--overwrite", help="Replace an existing file.")]


def print_json(value: Any) -> None:
    """Write `value` (records, dicts, lists) to stdout as indented JSON."""
    sys.stdout.write(json.dumps(msgspec.to_builtins(value), indent=2, sort_keys=True) + "\n")


def kv_table(title: str, rows: dict[str, Any]) -> Table:
    """Return a two-column table of labelled values."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows.items():
        table.add_row(key, str(value))
    return table


def human_size(n: int) -> str:
    """Return a byte count as `512 B`, `1.5 MiB`, ..."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def fail(message: str) -> typer.Exit:
    """Print `message` as the one error line and return the Exit(1) to raise."""
    err.print(f"error: {message}", markup=False)
    return typer.Exit(1)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `pattern-db` console script: run the app, report errors in one line.

    typer itself turns usage errors into exit code 2 and `--help` into 0; every DbError a command
    raises ends here as one line on stderr and exit code 1, and so does any other exception
    (a bug) unless PATTERN_DB_DEBUG is set.
    """
    try:
        app(args=argv, prog_name="pattern-db")
    except DestinationExists as exc:
        # The library names its keyword argument; on the command line it is a flag.
        err.print(
            f"error: {exc.path} exists; choose another path, or pass --{exc.option} to replace it",
            markup=False,
            soft_wrap=True,
        )
        sys.exit(1)
    except DbError as exc:
        err.print(f"error: {exc}", markup=False, soft_wrap=True)
        sys.exit(1)
    except OSError as exc:
        # The library turns database I/O into DbError; what is left is the CLI's own files.
        err.print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), markup=False)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        sys.exit(130)
    except Exception as exc:
        # A bug, not bad input: still one line, and the traceback on request.
        if os.environ.get("PATTERN_DB_DEBUG"):
            raise
        err.print(
            f"error: internal error ({type(exc).__name__}: {exc}); "
            "run again with PATTERN_DB_DEBUG=1 for the traceback, and please report it",
            markup=False,
            soft_wrap=True,
        )
        sys.exit(1)
