"""The `search` command: keyword, vector or hybrid search over a constellation, with --explain.

Vector and hybrid search embed the query with the model `pattern-db index` embeds with (the
bundled local model). Without --mode the search is hybrid when that model and stored vectors it
made are available, else keyword-only, said in one line on stderr.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
import typer

from pattern_db.cli._app import DbPath, JsonFlag, app, err, out, print_json
from pattern_db.cli.database import open_existing
from pattern_db.errors import DbError, ExtensionError, InvalidData, NotFound
from pattern_db.models.content import ContentType

if TYPE_CHECKING:
    from pattern_db.connection import ConstellationDb
    from pattern_db.embed import Embedder
    from pattern_db.search import ScoreBreakdown, SearchResult


class Mode(StrEnum):
    """Which retrievers run."""

    FTS = "fts"
    VECTOR = "vector"
    HYBRID = "hybrid"


class TypeChoice(StrEnum):
    """Content types by their short command-line names."""

    MESSAGE = "message"
    BLOCK = "block"
    ARCHIVAL = "archival"
    PASSAGE = "passage"


CONTENT_TYPE = {
    TypeChoice.MESSAGE: ContentType.MESSAGE,
    TypeChoice.BLOCK: ContentType.MEMORY_BLOCK,
    TypeChoice.ARCHIVAL: ContentType.ARCHIVAL_ENTRY,
    TypeChoice.PASSAGE: ContentType.FILE_PASSAGE,
}
SHORT_NAME = {ctype: choice.value for choice, ctype in CONTENT_TYPE.items()}
# Several (not all) types are searched as one search over every type, filtered afterwards: the
# retrievers take one type or all, so each fetches this many times the limit to keep enough.
_OVERFETCH = 4


@app.command("search")
def search_command(
    path: DbPath,
    query: Annotated[str, typer.Argument(help="What to look for, in plain words.")],
    mode: Annotated[
        Mode | None,
        typer.Option(
            "--mode",
            help="fts, vector or hybrid; default hybrid when the index has vectors, else fts.",
        ),
    ] = None,
    types: Annotated[
        list[TypeChoice] | None,
        typer.Option("--type", help="Search only this content type (repeatable); default all."),
    ] = None,
    agent: Annotated[
        str | None,
        typer.Option("--agent", help="Only what this agent (id or name) may see."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many results.")] = 10,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show each result's score breakdown.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Search PATH's messages, memory blocks, archival entries and file passages.

    --explain shows where each result ranked in the keyword and vector lists, the keyword
    list's confidence and the fused score. Vector and hybrid need the `embed` extra and an
    index made by `pattern-db index`.

    Example: pattern-db search data/constellation.db "task deadlines" --type message --explain
    """
    if not query.strip():
        raise typer.BadParameter("the query is empty", param_hint="QUERY")
    wanted = sorted({CONTENT_TYPE[t] for t in types or ()}, key=list(ContentType).index)
    with open_existing(path) as db:
        agent_id = None if agent is None else _agent_id(db, agent)
        used, embedder = _resolve(db, mode)
        results = _run(db, query, used, embedder, wanted, agent_id, limit)
    if as_json:
        print_json({"query": query, "mode": used.value, "results": [_json(r) for r in results]})
        return
    if not results:
        out.print(f"no results ({used.value})", markup=False)
        return
    _print(query, used, results, explain)


def _agent_id(db: ConstellationDb, key: str) -> str:
    """Return the id of the agent with id or name `key`.

    Raises:
        NotFound: no such agent.
    """
    from pattern_db.queries.agent import get_agent, get_agent_by_name

    found = get_agent(db, key) or get_agent_by_name(db, key)
    if found is None:
        raise NotFound("agent", key)
    return found.id


def _resolve(db: ConstellationDb, asked: Mode | None) -> tuple[Mode, Embedder | None]:
    """Return the mode to run and the embedder it needs (None for fts).

    Raises:
        DbError: vector or hybrid was asked for and cannot run (no extra, no vectors, or
            vectors made by another model).
    """
    if asked is Mode.FTS:
        return Mode.FTS, None
    reason = _no_vectors_reason(db)
    embedder: Embedder | None = None
    if reason is None:
        try:
            embedder = _load_embedder()
        except ExtensionError as exc:
            reason = str(exc)
    if embedder is not None:
        return asked or Mode.HYBRID, embedder
    if asked is not None:
        raise DbError(f"--mode {asked.value} cannot run: {reason}")
    err.print(f"note: keyword search only ({reason})", markup=False, soft_wrap=True)
    return Mode.FTS, None


def _no_vectors_reason(db: ConstellationDb) -> str | None:
    """Return why this database has no vectors to search (None when it has)."""
    from pattern_db import vector
    from pattern_db.embed import MODEL_ID

    meta = vector.get_index_config(db)
    if meta is None:
        return "no vectors yet; run `pattern-db index` first"
    if meta.model is not None and meta.model != MODEL_ID:
        return f"the vectors were made by {meta.model!r}, this command embeds with {MODEL_ID!r}"
    try:
        stats = vector.get_embedding_stats(db)
    except ExtensionError as exc:
        return str(exc)
    if stats.total_embeddings == 0:
        return "no vectors yet; run `pattern-db index` first"
    return None


def _load_embedder() -> Embedder:
    from pattern_db.embed import LocalEmbedder

    try:
        return LocalEmbedder().load()
    except ImportError as exc:
        raise ExtensionError(
            f"the local model needs the extra: pip install 'pattern-db[embed]' ({exc})"
        ) from exc


def _run(
    db: ConstellationDb,
    query: str,
    mode: Mode,
    embedder: Embedder | None,
    wanted: list[ContentType],
    agent: str | None,
    limit: int,
) -> list[SearchResult]:
    from pattern_db.search import ContentFilter, SearchMode, search

    one = wanted[0] if len(wanted) == 1 else None
    subset = len(wanted) > 1 and len(wanted) < len(ContentType)
    builder = search(db).filter(ContentFilter(content_type=one, agent_id=agent))
    builder = builder.limit(limit * _OVERFETCH if subset else limit)
    if mode is not Mode.VECTOR:
        builder = builder.text(query)
    if embedder is not None and mode is not Mode.FTS:
        builder = builder.embedding(embedder.embed([query])[0])
    builder = builder.mode(
        {
            Mode.FTS: SearchMode.FTS_ONLY,
            Mode.VECTOR: SearchMode.VECTOR_ONLY,
            Mode.HYBRID: SearchMode.HYBRID,
        }[mode]
    )
    try:
        results = builder.execute()
    except InvalidData as exc:
        raise InvalidData(f"cannot search for {query!r}: {exc}") from exc
    if subset:
        results = [r for r in results if r.content_type in wanted][:limit]
    return results


def _json(result: SearchResult) -> dict[str, Any]:
    value: dict[str, Any] = msgspec.to_builtins(result)
    return value


def _explain(s: ScoreBreakdown) -> str:
    keywords = (
        "keywords: -"
        if s.fts_position is None
        else f"keywords: #{s.fts_position}, bm25 {s.fts_rank:.3g}"
        + ("" if s.keyword_confidence is None else f", confidence {s.keyword_confidence:.2f}")
    )
    vectors = (
        "vectors: -"
        if s.vector_position is None
        else f"vectors: #{s.vector_position}, distance {s.vector_distance:.4f}"
    )
    return f"{keywords} | {vectors} | fused {s.fused_normalized:.3f} (raw {s.fused_raw:.4f})"


def _print(query: str, mode: Mode, results: list[SearchResult], explain: bool) -> None:
    """Print each result as a heading line, its text, and (with --explain) its scores."""
    out.print(f"{query!r}: {len(results)} results ({mode.value})", markup=False)
    for n, r in enumerate(results, start=1):
        owner = f"  agent {r.agent_id}" if r.agent_id else ""
        out.print(
            f"{n:>2}. {r.score:.3f}  {SHORT_NAME[r.content_type]}  {r.id}{owner}",
            markup=False,
            soft_wrap=True,
        )
        text = " ".join((r.snippet or r.content).split())
        out.print(f"    {text}", markup=False, soft_wrap=True)
        if explain:
            out.print(f"    {_explain(r.scores)}", markup=False, soft_wrap=True)
