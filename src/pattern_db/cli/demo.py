"""The `demo` command: a demo constellation, real text indexed by the local model, questions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import msgspec
import typer
from rich.table import Table

from pattern_db.cli._app import DbPath, JsonFlag, OverwriteFlag, app, err, out, print_json
from pattern_db.cli._progress import progress_bars

if TYPE_CHECKING:
    from pattern_db.demo_tour import TourReport
    from pattern_db.embed import Embedder


@app.command()
def demo(
    path: DbPath,
    overwrite: OverwriteFlag = False,
    search_tour: Annotated[
        bool,
        typer.Option(
            "--search/--no-search",
            help="Also load stdlib docs and a Letta agent, index them and ask questions.",
        ),
    ] = True,
    as_json: JsonFlag = False,
) -> None:
    """Create a demo constellation at PATH, index real text with the local model, search it.

    Agents, a group, a memory block, messages and a task; then (unless --no-search) the
    docstrings of well-known stdlib modules as archival memory and a real Letta agent file,
    embedded offline with the bundled model, and hybrid answers with their score breakdown.

    Example: pattern-db demo --overwrite demo-data/constellation.db
    """
    from pattern_db.connection import ConstellationDb
    from pattern_db.demo import create_demo

    summary = create_demo(path, overwrite=overwrite)
    if not as_json:
        out.print(f"demo constellation written to {path}", markup=False)
        for line in summary["lines"]:
            out.print(f"  {line}", markup=False)
    if not search_tour:
        if as_json:
            print_json(summary)
        return
    embedder = _embedder()
    with ConstellationDb.open(path) as db:
        report = _tour(db, embedder, quiet=as_json)
    if as_json:
        print_json({**summary, "tour": msgspec.to_builtins(report)})
        return
    _print_tour(report, embedder is not None)


def _embedder() -> Embedder | None:
    from pattern_db.embed import LocalEmbedder
    from pattern_db.errors import ExtensionError

    try:
        return LocalEmbedder().load()
    except ExtensionError as exc:
        err.print(f"keyword search only: {exc}", markup=False)
        return None


def _tour(db: Any, embedder: Embedder | None, *, quiet: bool) -> TourReport:
    from pattern_db.demo_tour import run_tour

    labels = {"import": "importing the Letta agent", "index": "embedding with the local model"}
    with progress_bars(quiet, labels) as progress:
        return run_tour(db, embedder=embedder, progress=progress)


def _print_tour(report: TourReport, vectors: bool) -> None:
    out.print(
        f"  {report.archival_entries} stdlib docstrings as archival memory; Letta agent imported: "
        f"{report.imported_messages} messages, {report.imported_blocks} memory blocks",
        markup=False,
    )
    if vectors:
        out.print(
            f"  embedded {report.embedded} items in {report.index_seconds:.1f} s "
            f"({report.items_per_second:.0f} items/s, all-MiniLM-L6-v2 int8, offline)",
            markup=False,
        )
    for answer in report.answers:
        table = Table(
            title=f"{answer.question!r}  ({answer.seconds * 1000:.0f} ms)",
            title_justify="left",
            expand=False,
        )
        for column in ("score", "kw pos", "vec pos", "kw conf", "type"):
            table.add_column(column, no_wrap=True)
        table.add_column("content", no_wrap=True, overflow="ellipsis", max_width=70)
        for r in answer.results:
            s = r.scores
            table.add_row(
                f"{r.score:.3f}",
                "-" if s.fts_position is None else str(s.fts_position),
                "-" if s.vector_position is None else str(s.vector_position),
                "-" if s.keyword_confidence is None else f"{s.keyword_confidence:.2f}",
                r.content_type.value,
                " ".join(r.content.split()),
            )
        out.print(table)
    out.print(f"tour done in {report.seconds:.1f} s", markup=False)
