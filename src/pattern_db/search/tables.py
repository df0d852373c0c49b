"""SQL of the searchable tables: FTS matches and content look-ups under one set of visibility rules.

Both the FTS search and the hybrid search's content fetch for vector hits are built from the same
per-table visibility predicate (agent, archived/deleted messages, inactive blocks, sharing,
folders), so a row hidden from one retriever is hidden from the other. Builders return
`(sql, params)` and do no I/O; identifiers come from the table specs below, values are bound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from pattern_db.models.content import ContentType
from pattern_db.models.memory import CONSTELLATION_OWNER

__all__ = [
    "BM25_WEIGHTS",
    "TABLES",
    "TABLES_BY_TYPE",
    "Detail",
    "SearchTable",
    "Visibility",
    "content_sql",
    "match_sql",
]

# Column weights of bm25 where a table indexes several columns. A block's label names what the
# block is for ("todo", "persona"), so a label hit weighs most, its description next. An archival
# entry's metadata is JSON whose keys ("source", "tags") recur across entries: half weight.
BM25_WEIGHTS: dict[str, tuple[float, ...]] = {
    "messages_fts": (1.0,),
    "memory_blocks_fts": (3.0, 1.5, 1.0),
    "archival_fts": (1.0, 0.5),
    "file_passages_fts": (1.0,),
}


class Detail(msgspec.Struct):
    """What a result shows: its content, owner, snippet and the chunk the vector matched."""

    content_type: ContentType
    id: str
    content: str
    agent_id: str | None
    snippet: str | None
    chunk_index: int | None


@dataclass(frozen=True)
class Visibility:
    """Which rows a search may return (the defaults hide archived, deleted and inactive rows)."""

    agent_id: str | None = None
    include_archived: bool = False
    include_deleted: bool = False
    include_inactive: bool = False
    include_shared: bool = True
    folder_id: str | None = None


# A predicate builder returns (joins, conditions, params) for the content table's alias.
_Predicate = Callable[[Visibility], tuple[str, list[str], dict[str, Any]]]


@dataclass(frozen=True)
class SearchTable:
    """One searchable table: its FTS index, content table, columns and visibility rule."""

    content_type: ContentType
    fts: str
    content_table: str
    alias: str
    content: str  # SQL expression of the text returned as content
    agent: str  # SQL expression of the owning agent (NULL where there is none)
    predicate: _Predicate

    @property
    def rank_fn(self) -> str | None:
        """The weighted bm25 call for `rank MATCH`, or None when one column is indexed."""
        weights = BM25_WEIGHTS[self.fts]
        if len(weights) == 1:
            return None
        return "bm25(" + ", ".join(repr(w) for w in weights) + ")"


def _messages(v: Visibility) -> tuple[str, list[str], dict[str, Any]]:
    conditions, params = [], {}
    if v.agent_id is not None:
        conditions.append("m.agent_id = :agent_id")
        params["agent_id"] = v.agent_id
    if not v.include_archived:
        conditions.append("m.is_archived = 0")
    if not v.include_deleted:
        conditions.append("m.is_deleted = 0")
    return "", conditions, params


def _blocks(v: Visibility) -> tuple[str, list[str], dict[str, Any]]:
    conditions: list[str] = []
    params: dict[str, Any] = {}
    if not v.include_inactive:
        conditions.append("b.is_active = 1")
    if v.agent_id is not None:
        params["agent_id"] = v.agent_id
        if v.include_shared:
            params["owner"] = CONSTELLATION_OWNER
            conditions.append(
                "(b.agent_id IN (:agent_id, :owner) OR EXISTS (SELECT 1 FROM shared_block_agents"
                " AS s WHERE s.block_id = b.id AND s.agent_id = :agent_id))"
            )
        else:
            conditions.append("b.agent_id = :agent_id")
    return "", conditions, params


def _archival(v: Visibility) -> tuple[str, list[str], dict[str, Any]]:
    conditions: list[str] = []
    params: dict[str, Any] = {}
    if v.agent_id is not None:
        params["agent_id"] = v.agent_id
        if v.include_shared:
            params["owner"] = CONSTELLATION_OWNER
            conditions.append("e.agent_id IN (:agent_id, :owner)")
        else:
            conditions.append("e.agent_id = :agent_id")
    return "", conditions, params


def _passages(v: Visibility) -> tuple[str, list[str], dict[str, Any]]:
    conditions: list[str] = []
    params: dict[str, Any] = {}
    joins = ""
    if v.folder_id is not None or v.agent_id is not None:
        joins = " JOIN folder_files AS ff ON ff.id = p.file_id"
    if v.folder_id is not None:
        conditions.append("ff.folder_id = :folder_id")
        params["folder_id"] = v.folder_id
    if v.agent_id is not None:
        # A passage belongs to no agent; an agent sees the folders attached to it.
        conditions.append(
            "EXISTS (SELECT 1 FROM folder_attachments AS fa"
            " WHERE fa.folder_id = ff.folder_id AND fa.agent_id = :agent_id)"
        )
        params["agent_id"] = v.agent_id
    return joins, conditions, params


TABLES = (
    SearchTable(
        ContentType.MESSAGE,
        "messages_fts",
        "messages",
        "m",
        "coalesce(m.content_preview, '')",
        "m.agent_id",
        _messages,
    ),
    SearchTable(
        ContentType.MEMORY_BLOCK,
        "memory_blocks_fts",
        "memory_blocks",
        "b",
        "coalesce(b.content_preview, '')",
        "b.agent_id",
        _blocks,
    ),
    SearchTable(
        ContentType.ARCHIVAL_ENTRY,
        "archival_fts",
        "archival_entries",
        "e",
        "e.content",
        "e.agent_id",
        _archival,
    ),
    SearchTable(
        ContentType.FILE_PASSAGE,
        "file_passages_fts",
        "file_passages",
        "p",
        "p.content",
        "NULL",
        _passages,
    ),
)
TABLES_BY_TYPE = {t.content_type: t for t in TABLES}


def match_sql(table: SearchTable, visibility: Visibility) -> tuple[str, dict[str, Any]]:
    """Return the FTS statement selecting (id, agent, content, rank, snippet) in rank order.

    The caller binds :query and the snippet parameters :open, :close, :ellipsis, :tokens.
    Weighted tables rank through FTS5's per-query `rank MATCH 'bm25(...)'`, which keeps the
    sorted-by-rank plan (the join then streams rows in rank order).
    """
    joins, conditions, params = table.predicate(visibility)
    fts, a = table.fts, table.alias
    conditions.insert(0, f"{fts} MATCH :query")
    if table.rank_fn is not None:
        conditions.insert(1, f"{fts}.rank MATCH :rank_fn")
        params["rank_fn"] = table.rank_fn
    sql = (
        f"SELECT {a}.id, {table.agent}, {table.content}, {fts}.rank, "
        f"snippet({fts}, -1, :open, :close, :ellipsis, :tokens)\n"
        f"FROM {fts} JOIN {table.content_table} AS {a} ON {a}.rowid = {fts}.rowid{joins}\n"
        f"WHERE {' AND '.join(conditions)}\n"
        f"ORDER BY {fts}.rank"
    )
    return sql, params


def content_sql(table: SearchTable, visibility: Visibility) -> tuple[str, dict[str, Any]]:
    """Return the statement selecting (id, agent, content) of the visible rows among :ids.

    The caller binds :ids as a JSON array of ids.
    """
    joins, conditions, params = table.predicate(visibility)
    a = table.alias
    # CROSS JOIN keeps json_each as the outer loop: one primary-key look-up per id. Left to
    # itself the planner may prefer the agent index and scan all of an agent's rows.
    sql = (
        f"SELECT {a}.id, {table.agent}, {table.content}\n"
        f"FROM json_each(:ids) AS j CROSS JOIN {table.content_table} AS {a}"
        f" ON {a}.id = j.value{joins}\n"
    )
    if conditions:
        sql += f"WHERE {' AND '.join(conditions)}"
    return sql, params
