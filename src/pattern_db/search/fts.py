"""Full-text search (FTS5) over messages, memory blocks, archival entries and file passages.

Design note. The indexes are external-content FTS5 tables kept in step by triggers (0002_fts.sql),
so a search is one statement: the FTS table ordered by `rank`, joined to its content table by
rowid, with the visibility filters (agent, archived/deleted messages, inactive blocks, sharing)
applied in the join. The trade-offs:

* **Ranking.** `rank` is bm25 (negative, lower is better). Tables that index several columns rank
  with column weights through FTS5's per-query `rank MATCH 'bm25(...)'` (see `BM25_WEIGHTS`), which
  keeps FTS5's sorted-rank plan: FTS5 computes bm25 once per match, sorts, and the join streams rows
  in rank order, so the filters and `snippet()` run only on the rows read. Ties are broken by id:
  rows are read until `limit` rows are in hand and the next row ranks worse than the last one kept,
  then sorted by (rank, id), so the answer never depends on rowids (which VACUUM renumbers).
* **Query text.** Modes `auto` (default), `fts5` and `literal`; SQLite decides what is valid (see
  `pattern_db.search.fts_query`). In `auto` an invalid query is searched as literal words, so no
  user text ever raises; empty or blank text returns `[]` (in `fts5` mode it raises InvalidData).
* **Merging tables (`search_all`).** Matches of several tables are merged by bm25 divided by
  ln(1 + N), N the table's row count: bm25's idf comes from each table's own statistics and
  grows with ln N, so a bigger table would otherwise outrank a smaller one on every word; this
  puts a word only one row holds at about the same weight in every table. Each match's `score`
  is its merge value / the best one of the list it is returned in (1.0 for the best hit, in
  (0, 1] and proportional to bm25 within a table), and is what `pattern_db.search` calls
  `fts_normalized`. Chosen by measurement: on bench/retrieval.py's mixed set (stdlib documents
  spread over the four tables) merging by bm25 scored nDCG@10 0.470, one shared index 0.480,
  and rescaling each table by its own best hit (which puts every table's best hit at 1.0,
  however weak) 0.346. The cost: FTS5 clamps the idf of a word found in more than half of a
  table's rows to 1e-6, so in a table of a few rows (an agent's four memory blocks) a word most
  of them hold weighs nothing.
* **Visibility.** Archived and tombstoned messages and inactive blocks are skipped unless asked for
  (`include_archived`, `include_deleted`, `include_inactive`). With an agent, a search covers the
  agent's scope, what that agent may see: its own rows, constellation-wide blocks and entries
  (owned by `_constellation_`), blocks shared with it (`shared_block_agents`) and the passages of
  folders attached to it; `include_shared=False` narrows it to its own rows and its folders'
  passages. `pattern_db.vector` and `pattern_db.search` apply the same scope.
* **Stats** count what the index holds (the `*_docsize` shadow tables, one row per indexed
  document), next to the content-table count; `COUNT(*)` on an external-content FTS table reads
  the content table and cannot show drift.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import apsw
import msgspec

from pattern_db import _validate, maintenance
from pattern_db.connection import Executor, scalar
from pattern_db.errors import InvalidData
from pattern_db.models.content import ContentType
from pattern_db.search.fts_query import (
    FtsMode,
    clean_query,
    invalid_query,
    is_special_query,
    literal_expression,
    looks_like_query,
    natural_expression,
    parse_mode,
    validate_fts_query,
)
from pattern_db.search.tables import (
    BM25_WEIGHTS,
    TABLES,
    TABLES_BY_TYPE,
    SearchTable,
    Visibility,
    match_sql,
)

__all__ = [
    "BM25_WEIGHTS",
    "FtsMatch",
    "FtsMode",
    "FtsStats",
    "FtsTableStats",
    "check_fts_integrity",
    "get_fts_stats",
    "merge_matches",
    "optimize_all_fts",
    "rebuild_all_fts",
    "rebuild_archival_fts",
    "rebuild_file_passages_fts",
    "rebuild_memory_blocks_fts",
    "rebuild_messages_fts",
    "search_all",
    "search_archival",
    "search_file_passages",
    "search_memory_blocks",
    "search_messages",
    "search_tables",
    "validate_fts_query",
]

DEFAULT_MARKERS = ("**", "**")
SNIPPET_ELLIPSIS = "…"
SNIPPET_TOKENS = 16


class FtsMatch(msgspec.Struct, frozen=True, kw_only=True):
    """One full-text hit.

    `rank` is bm25 (lower is better); `score` is rank relative to the best hit of the list it
    is returned in (1.0 = best, in (0, 1]); `snippet` is the best passage with the matched terms
    between markers; `agent_id` is the owner (None for file passages).
    """

    id: str
    content_type: ContentType
    content: str
    rank: float
    snippet: str
    score: float = 1.0
    agent_id: str | None = None


class FtsTableStats(msgspec.Struct, frozen=True, kw_only=True):
    """What one FTS index holds: documents indexed versus rows in its content table."""

    table: str
    content_table: str
    indexed_rows: int
    content_rows: int

    @property
    def in_sync(self) -> bool:
        """True when every content row is indexed and nothing else is."""
        return self.indexed_rows == self.content_rows


class FtsStats(msgspec.Struct, frozen=True, kw_only=True):
    """Documents indexed per FTS table (counted in the index, not in the content table)."""

    messages_indexed: int
    memory_blocks_indexed: int
    archival_indexed: int
    file_passages_indexed: int
    tables: tuple[FtsTableStats, ...]

    @property
    def in_sync(self) -> bool:
        """True when every index holds exactly the rows of its content table."""
        return all(t.in_sync for t in self.tables)


# -- running a search --------------------------------------------------------------------------


def _take_ranked(cursor: apsw.Cursor, limit: int) -> list[tuple[Any, ...]]:
    """Return the first `limit` rows of a rank-ordered cursor, ties at the cut broken by id."""
    rows: list[tuple[Any, ...]] = []
    try:
        for row in cursor:
            # Past the limit, keep reading only rows tied with the last kept one.
            if len(rows) >= limit and row[3] != rows[-1][3]:
                break
            rows.append(row)
    finally:
        # Reset the statement even when stopped early, so no read snapshot stays open.
        cursor.close()
    rows.sort(key=lambda r: (r[3], r[0]))
    return rows[:limit]


def _run_table(
    conn: apsw.Connection,
    table: SearchTable,
    text: str,
    mode: FtsMode,
    visibility: Visibility,
    limit: int,
    markers: tuple[str, str],
) -> list[FtsMatch]:
    sql, params = match_sql(table, visibility)
    params.update(
        open=markers[0], close=markers[1], ellipsis=SNIPPET_ELLIPSIS, tokens=SNIPPET_TOKENS
    )

    def run(expression: str) -> list[tuple[Any, ...]]:
        params["query"] = expression
        return _take_ranked(conn.execute(sql, params), limit)

    def natural() -> list[tuple[Any, ...]]:
        expression = natural_expression(text)
        return [] if expression is None else run(expression)

    if mode is FtsMode.LITERAL:
        rows = run(literal_expression(text))
    elif mode is FtsMode.NATURAL or (mode is FtsMode.AUTO and not looks_like_query(text)):
        rows = natural()
    elif is_special_query(text):
        if mode is FtsMode.FTS5:
            raise invalid_query(text, "a query cannot start with '*' (FTS5 special-query syntax)")
        rows = natural()
    else:
        try:
            rows = run(text)
        except apsw.SQLError as exc:
            # SQLITE_ERROR from this fixed statement can only come from the MATCH text (syntax,
            # unknown column, special query); a natural expression never has either.
            if mode is FtsMode.FTS5:
                raise invalid_query(text, exc) from exc
            rows = natural()
    return _matches(table.content_type, rows)


def _matches(content_type: ContentType, rows: list[tuple[Any, ...]]) -> list[FtsMatch]:
    if not rows:
        return []
    best = rows[0][3]
    out = []
    for id_, agent_id, content, rank, snippet in rows:
        score = _relative(rank, best)
        out.append(
            FtsMatch(
                id=id_,
                content_type=content_type,
                content=content,
                rank=rank,
                snippet=snippet or "",
                score=score,
                agent_id=agent_id,
            )
        )
    return out


def _relative(rank: float, best: float) -> float:
    """Return bm25 `rank` relative to the best rank of its list, in (0, 1]."""
    return min(1.0, rank / best) if best < 0 else 1.0


def _prepare(query: str, mode: FtsMode | str, limit: int) -> tuple[str, FtsMode] | None:
    """Return (clean text, mode), or None when nothing can match (blank text, limit 0)."""
    fts_mode = parse_mode(mode)
    _validate.limit(limit)
    text = clean_query(query)
    if not text.strip():
        if fts_mode is FtsMode.FTS5:
            raise InvalidData("empty FTS query: give at least one search term")
        return None
    if limit == 0:
        return None
    return text, fts_mode


def search_tables(
    db: Executor,
    query: str,
    content_types: Iterable[ContentType | str] | None,
    limit: int,
    *,
    mode: FtsMode | str = FtsMode.AUTO,
    agent_id: str | None = None,
    include_archived: bool = False,
    include_deleted: bool = False,
    include_inactive: bool = False,
    include_shared: bool = True,
    folder_id: str | None = None,
    markers: tuple[str, str] = DEFAULT_MARKERS,
) -> list[FtsMatch]:
    """Return the best `limit` matches of the requested tables merged, in one read (all when None).

    The building block of `search_all` and of hybrid search (see the module note on merging).

    Raises:
        InvalidData: bad mode or limit, or (mode "fts5") a query FTS5 rejects.
    """
    prepared = _prepare(query, mode, limit)
    types = _content_types(content_types)
    if prepared is None:
        return []
    text, fts_mode = prepared
    visibility = Visibility(
        agent_id=agent_id,
        include_archived=include_archived,
        include_deleted=include_deleted,
        include_inactive=include_inactive,
        include_shared=include_shared,
        folder_id=folder_id,
    )
    with db.reader() as conn:
        groups = []
        for t in types:
            table = TABLES_BY_TYPE[t]
            matches = _run_table(conn, table, text, fts_mode, visibility, limit, markers)
            if matches:
                # One table's order is its bm25 order: no scale to read.
                scale = _idf_scale(conn, table) if len(types) > 1 else 1.0
                groups.append((matches, scale))
    return merge_matches(groups, limit)


def _idf_scale(conn: apsw.Connection, table: SearchTable) -> float:
    """Return ln(1 + N) for a table of N indexed rows: the idf of a word only one row holds."""
    rows = scalar(conn, f'SELECT coalesce(max(rowid), 0) FROM "{table.fts}_docsize"')
    return math.log1p(max(1, rows))


def _content_types(content_types: Iterable[ContentType | str] | None) -> list[ContentType]:
    if content_types is None:
        return [t.content_type for t in TABLES]
    try:
        wanted = {ContentType(t) for t in content_types}
    except ValueError as exc:
        raise InvalidData(f"{exc}; content types are {[t.value for t in ContentType]}") from None
    return [t.content_type for t in TABLES if t.content_type in wanted]


def merge_matches(groups: Iterable[tuple[Sequence[FtsMatch], float]], limit: int) -> list[FtsMatch]:
    """Return the best `limit` of several tables' matches, ties by content type then id.

    Each group is (matches, idf scale of its table); matches are compared by bm25 / scale and
    each score is rescaled to the best of the merged list (see the module note).
    """
    keyed = sorted(
        ((m.rank / scale, m) for matches, scale in groups for m in matches),
        key=lambda pair: (pair[0], pair[1].content_type, pair[1].id),
    )[:limit]
    if not keyed:
        return []
    best = keyed[0][0]
    return [msgspec.structs.replace(m, score=_relative(key, best)) for key, m in keyed]


# -- public searches ---------------------------------------------------------------------------


def search_messages(
    db: Executor,
    query: str,
    agent_id: str | None = None,
    limit: int = 10,
    *,
    mode: FtsMode | str = FtsMode.AUTO,
    include_archived: bool = False,
    include_deleted: bool = False,
    markers: tuple[str, str] = DEFAULT_MARKERS,
) -> list[FtsMatch]:
    """Return the messages best matching `query` (content is the preview), best first.

    Archived and tombstoned messages are skipped unless `include_archived` / `include_deleted`.
    With `agent_id`, that agent's messages (messages are never shared).

    Raises:
        InvalidData: bad mode or limit, or (mode "fts5") a query FTS5 rejects.

    Example: `search_messages(db, '"exact phrase" OR deadline*', "agent_1", 5)`.
    """
    return search_tables(
        db,
        query,
        [ContentType.MESSAGE],
        limit,
        mode=mode,
        agent_id=agent_id,
        include_archived=include_archived,
        include_deleted=include_deleted,
        markers=markers,
    )


def search_memory_blocks(
    db: Executor,
    query: str,
    agent_id: str | None = None,
    limit: int = 10,
    *,
    mode: FtsMode | str = FtsMode.AUTO,
    include_inactive: bool = False,
    include_shared: bool = True,
    markers: tuple[str, str] = DEFAULT_MARKERS,
) -> list[FtsMatch]:
    """Return the memory blocks best matching `query` in label, description or content.

    bm25 weighs label 3, description 1.5, content 1. Inactive
    blocks are skipped unless `include_inactive`. With `agent_id`, the agent's scope: its own
    blocks, those shared with it and constellation-owned ones (`include_shared=False`: its own).

    Raises:
        InvalidData: bad mode or limit, or (mode "fts5") a query FTS5 rejects.
    """
    return search_tables(
        db,
        query,
        [ContentType.MEMORY_BLOCK],
        limit,
        mode=mode,
        agent_id=agent_id,
        include_inactive=include_inactive,
        include_shared=include_shared,
        markers=markers,
    )


def search_archival(
    db: Executor,
    query: str,
    agent_id: str | None = None,
    limit: int = 10,
    *,
    mode: FtsMode | str = FtsMode.AUTO,
    include_shared: bool = True,
    markers: tuple[str, str] = DEFAULT_MARKERS,
) -> list[FtsMatch]:
    """Return the archival entries best matching `query` in content (weight 1) or metadata (0.5).

    With `agent_id`, the agent's own entries and constellation-owned ones
    (`include_shared=False`: its own only).

    Raises:
        InvalidData: bad mode or limit, or (mode "fts5") a query FTS5 rejects.
    """
    return search_tables(
        db,
        query,
        [ContentType.ARCHIVAL_ENTRY],
        limit,
        mode=mode,
        agent_id=agent_id,
        include_shared=include_shared,
        markers=markers,
    )


def search_file_passages(
    db: Executor,
    query: str,
    folder_id: str | None = None,
    limit: int = 10,
    *,
    mode: FtsMode | str = FtsMode.AUTO,
    agent_id: str | None = None,
    markers: tuple[str, str] = DEFAULT_MARKERS,
) -> list[FtsMatch]:
    """Return the file passages best matching `query`, in one folder or in any.

    With `agent_id`, only passages of folders attached to that agent.

    Raises:
        InvalidData: bad mode or limit, or (mode "fts5") a query FTS5 rejects.
    """
    return search_tables(
        db,
        query,
        [ContentType.FILE_PASSAGE],
        limit,
        mode=mode,
        agent_id=agent_id,
        folder_id=folder_id,
        markers=markers,
    )


def search_all(
    db: Executor,
    query: str,
    agent_id: str | None = None,
    limit: int = 10,
    *,
    mode: FtsMode | str = FtsMode.AUTO,
    content_types: Iterable[ContentType | str] | None = None,
    include_archived: bool = False,
    include_deleted: bool = False,
    include_inactive: bool = False,
    include_shared: bool = True,
    markers: tuple[str, str] = DEFAULT_MARKERS,
) -> list[FtsMatch]:
    """Return the best matches across messages, blocks, archival entries and file passages.

    Merged by bm25, ties by content type then id; `score` is relative to the best match returned
    (see the module note). With `agent_id`, everything in the agent's scope (see the
    module note). In "auto" mode each table falls
    back to literal words on its own (a column filter such as `label: todo` is valid for blocks
    only, so the other tables search the words).

    Raises:
        InvalidData: bad mode or limit, or (mode "fts5") a query FTS5 rejects.
    """
    return search_tables(
        db,
        query,
        content_types,
        limit,
        mode=mode,
        agent_id=agent_id,
        include_archived=include_archived,
        include_deleted=include_deleted,
        include_inactive=include_inactive,
        include_shared=include_shared,
        markers=markers,
    )


# -- maintenance -------------------------------------------------------------------------------


def rebuild_messages_fts(db: Executor) -> None:
    """Rebuild the message index from the messages table (after bulk imports or VACUUM)."""
    maintenance.rebuild_fts(db, [TABLES_BY_TYPE[ContentType.MESSAGE].fts])


def rebuild_memory_blocks_fts(db: Executor) -> None:
    """Rebuild the memory block index from the memory_blocks table."""
    maintenance.rebuild_fts(db, [TABLES_BY_TYPE[ContentType.MEMORY_BLOCK].fts])


def rebuild_archival_fts(db: Executor) -> None:
    """Rebuild the archival index from the archival_entries table."""
    maintenance.rebuild_fts(db, [TABLES_BY_TYPE[ContentType.ARCHIVAL_ENTRY].fts])


def rebuild_file_passages_fts(db: Executor) -> None:
    """Rebuild the file passage index from the file_passages table."""
    maintenance.rebuild_fts(db, [TABLES_BY_TYPE[ContentType.FILE_PASSAGE].fts])


def rebuild_all_fts(db: Executor) -> None:
    """Rebuild every FTS index, in one transaction."""
    maintenance.rebuild_fts(db, [t.fts for t in TABLES])


def optimize_all_fts(db: Executor) -> None:
    """Merge every FTS index's segments into one (faster queries after large imports)."""
    maintenance.optimize_fts(db, [t.fts for t in TABLES])


def get_fts_stats(db: Executor) -> FtsStats:
    """Return the documents each FTS index holds, beside its content table's row count.

    Counted in the `*_docsize` shadow tables: `COUNT(*)` on an external-content FTS table reads
    the content table, so it could never show an index out of step.
    """
    with db.reader() as conn:
        tables = tuple(
            FtsTableStats(
                table=t.fts,
                content_table=t.content_table,
                # One *_docsize row per indexed document (FTS5 keeps it with columnsize=1).
                indexed_rows=int(scalar(conn, f"SELECT count(*) FROM {t.fts}_docsize")),
                content_rows=int(scalar(conn, f"SELECT count(*) FROM {t.content_table}")),
            )
            for t in TABLES
        )
    counts = {t.table: t.indexed_rows for t in tables}
    return FtsStats(
        messages_indexed=counts["messages_fts"],
        memory_blocks_indexed=counts["memory_blocks_fts"],
        archival_indexed=counts["archival_fts"],
        file_passages_indexed=counts["file_passages_fts"],
        tables=tables,
    )


def check_fts_integrity(db: Executor) -> list[str]:
    """Return the FTS tables whose index disagrees with their content table ([] when all agree).

    FTS5's `integrity-check` reads everything, so it is a maintenance call (`pattern-db verify`),
    not a probe.
    """
    return maintenance.check_fts(db, [t.fts for t in TABLES])
