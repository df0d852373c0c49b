"""The `index` command: embed what has no current vector, with the bundled local model."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import msgspec
import typer
from rich.table import Table

from pattern_db.cli._app import DbPath, JsonFlag, app, out, print_json
from pattern_db.cli._progress import progress_bars
from pattern_db.cli.database import open_existing

if TYPE_CHECKING:
    from pattern_db.embed import IndexReport


class ModelChoice(StrEnum):
    """Embedding models the command line can run."""

    LOCAL = "local"


@app.command()
def index(
    path: DbPath,
    model: Annotated[
        ModelChoice,
        typer.Option("--model", help="Embedding model: local = bundled all-MiniLM-L6-v2 (int8)."),
    ] = ModelChoice.LOCAL,
    reembed: Annotated[
        bool,
        typer.Option("--reembed", help="Drop every vector and embed everything again."),
    ] = False,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Items per committed batch.")
    ] = 64,
    as_json: JsonFlag = False,
) -> None:
    """Embed every message, block, archival entry and passage without a current vector.

    Resumable: an interrupted run keeps what it finished. Needs the `embed` extra.

    Example: pattern-db index data/constellation.db
    """
    from pattern_db.embed import LocalEmbedder, index_pending

    # Load first: a missing extra or a bad model file fails before the database is touched.
    embedder = LocalEmbedder().load()
    with open_existing(path) as db, progress_bars(as_json) as bar:
        report = index_pending(
            db,
            embedder,
            batch_size=batch_size,
            reembed=reembed,
            progress=None if bar is None else (lambda done, total: bar("embedding", done, total)),
        )
    if as_json:
        print_json({**_builtins(report), "items_per_second": report.items_per_second})
        return
    out.print(_table(report))
    out.print(
        f"embedded {report.embedded} items ({report.chunks} vectors) in {report.seconds:.1f} s"
        + (f", {report.items_per_second:.1f} items/s" if report.embedded else "")
        + f"; {report.current} already current",
        markup=False,
    )


def _builtins(report: IndexReport) -> dict[str, object]:
    value: dict[str, object] = msgspec.to_builtins(report)
    return value


def _table(report: IndexReport) -> Table:
    table = Table(title=f"index ({report.model})", title_justify="left")
    for column in ("content", "embedded", "vectors", "current", "empty", "removed"):
        table.add_column(column, justify="left" if column == "content" else "right")
    for name, part in report.by_type.items():
        table.add_row(
            name,
            str(part.embedded),
            str(part.chunks),
            str(part.current),
            str(part.empty),
            str(part.removed),
        )
    return table
