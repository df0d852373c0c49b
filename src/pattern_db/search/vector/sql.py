"""The SQL side of `pattern_db.vector`: the `embeddings` table, its settings row, the SQL k-NN.

Static statements are constants with bound parameters. The two dynamic ones are built by
`*_sql()` helpers that do no I/O: `scope_sql` (the agent-scope predicate, values bound as JSON
arrays) and `knn_sql` (the distance function is picked from a whitelist by metric).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import apsw
import numpy as np

from pattern_db import _validate
from pattern_db.codec import json_text
from pattern_db.connection import scalar
from pattern_db.errors import ExtensionError, InvalidData
from pattern_db.models.content import ContentType
from pattern_db.search.vector.core import (
    F32,
    METRICS,
    Candidate,
    IndexMeta,
    Metric,
    Owner,
    Scope,
    VectorSearchResult,
    chunk_key,
    exact_distances,
    read_meta,
    sqlite_vec_threshold,
    top_k,
)
from pattern_db.timeutil import now_ts

MAX_K = 4096
MAX_DIMENSIONS = 8192

INSERT_META = """
INSERT INTO embedding_meta (id, model, dimensions, metric, generation, created_at, updated_at)
VALUES (1, ?, ?, ?, 0, ?, ?)
ON CONFLICT(id) DO UPDATE SET
    model = excluded.model, dimensions = excluded.dimensions, metric = excluded.metric,
    generation = generation + 1, created_at = excluded.created_at, updated_at = excluded.updated_at
"""
SET_MODEL = "UPDATE embedding_meta SET model = ?, updated_at = ? WHERE id = 1"
BUMP_GENERATION = (
    "UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1 RETURNING generation"
)
_COLUMNS = "content_type, content_id, chunk_index, content_hash, agent_id, folder_id, embedding"
INSERT_ROW = f"INSERT INTO embeddings ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id"
# Many rows with their ids: `queries._bulk.insert_many` adds the VALUES lists.
INSERT_ROWS_WITH_ID = f"INSERT INTO embeddings (id, {_COLUMNS})"
INSERT_ROWS_WIDTH = 8
LAST_ROW_ID = "SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'embeddings'"
DELETE_ROWS = """
DELETE FROM embeddings WHERE content_type = ? AND content_id = ?
RETURNING id, agent_id, folder_id
"""
DELETE_ALL = "DELETE FROM embeddings"
COUNT_ROWS = "SELECT count(*) FROM embeddings"
COUNT_BY_TYPE = "SELECT content_type, count(*) FROM embeddings GROUP BY content_type"
HASHES_MATCH = """
SELECT count(*), coalesce(sum(content_hash IS NOT NULL AND content_hash = ?), 0)
FROM embeddings WHERE content_type = ? AND content_id = ?
"""
# One hash per item when every chunk carries the same non-NULL hash, else NULL (stale).
HASHES_BY_CONTENT = """
SELECT content_id,
       CASE WHEN count(*) = count(content_hash) AND min(content_hash) = max(content_hash)
            THEN min(content_hash) END
FROM embeddings WHERE content_type = ? GROUP BY content_id
"""
# Where the content of each type lives and who owns it: (id, agent, folder) of the ids asked.
_OWNERS = {
    ContentType.MESSAGE: "SELECT id, agent_id, NULL FROM messages",
    ContentType.MEMORY_BLOCK: "SELECT id, agent_id, NULL FROM memory_blocks",
    ContentType.ARCHIVAL_ENTRY: "SELECT id, agent_id, NULL FROM archival_entries",
    ContentType.FILE_PASSAGE: (
        "SELECT p.id, NULL, f.folder_id FROM file_passages AS p "
        "JOIN folder_files AS f ON f.id = p.file_id"
    ),
}
_ID_COLUMN = {ContentType.FILE_PASSAGE: "p.id"}
_SHARED_BLOCKS = "SELECT block_id FROM shared_block_agents WHERE agent_id = ? ORDER BY block_id"
_ATTACHED_FOLDERS = "SELECT folder_id FROM folder_attachments WHERE agent_id = ? ORDER BY folder_id"
_DISTANCE = {"cosine": "vec_distance_cosine", "l2": "vec_distance_l2", "l1": "vec_distance_l1"}


def vec_version(conn: apsw.Connection) -> str:
    """Return sqlite-vec's version on this connection, or raise ExtensionError."""
    try:
        return str(scalar(conn, "SELECT vec_version()"))
    except apsw.SQLError as exc:
        raise ExtensionError(f"sqlite-vec is not loaded on this connection: {exc}") from exc


def check_config(dimensions: int, model: str | None, metric: str) -> Metric:
    """Return the metric once the index settings are known to be valid, or raise InvalidData."""
    if isinstance(dimensions, bool) or not isinstance(dimensions, int):
        raise InvalidData(f"dimensions must be an int, got {dimensions!r}")
    if not 1 <= dimensions <= MAX_DIMENSIONS:
        raise InvalidData(f"dimensions must be between 1 and {MAX_DIMENSIONS}, got {dimensions}")
    if model is not None and not isinstance(model, str):
        raise InvalidData(f"model must be a string or None, got {model!r}")
    for known in METRICS:
        if metric == known:
            return known
    raise InvalidData(f"unknown metric {metric!r}; expected one of: {', '.join(METRICS)}")


def create_index(conn: apsw.Connection, dimensions: int, model: str | None, metric: Metric) -> int:
    """Drop every vector and record new settings; return how many vectors went."""
    dropped = int(scalar(conn, COUNT_ROWS))
    conn.execute(DELETE_ALL)
    stamp = now_ts()
    conn.execute(INSERT_META, (model, dimensions, metric, stamp, stamp))
    return dropped


def require_meta(conn: apsw.Connection) -> IndexMeta:
    """Return the index settings; InvalidData (saying what to call) when there is no index."""
    meta = read_meta(conn)
    if meta is None:
        raise InvalidData(
            "this constellation has no vector index yet; call "
            "vector.ensure_embeddings_table(db, dimensions, model=...) first"
        )
    return meta


def check_chunk(chunk_index: int | None) -> int | None:
    """Return a valid chunk index (None or >= 0), or raise InvalidData."""
    return None if chunk_index is None else _validate.count(chunk_index, "chunk_index")


def check_k(k: int) -> int:
    """Return k if it is an int in 0..MAX_K, else raise InvalidData."""
    if _validate.count(k, "k") > MAX_K:
        raise InvalidData(f"k must be an int between 0 and {MAX_K}, got {k!r}")
    return k


def content_owners(
    conn: apsw.Connection, content_type: ContentType, content_ids: Sequence[str]
) -> dict[str, Owner]:
    """Return the owner (agent, folder) of each stored content row among `content_ids`."""
    id_column = _ID_COLUMN.get(content_type, "id")
    sql = f"{_OWNERS[content_type]} WHERE {id_column} IN (SELECT value FROM json_each(?))"
    rows: list[Any] = conn.execute(sql, (json_text(list(dict.fromkeys(content_ids))),)).fetchall()
    return {row[0]: Owner(row[1], row[2]) for row in rows}


def delete_rows(
    conn: apsw.Connection, ctype: ContentType, content_id: str
) -> list[tuple[int, Owner]]:
    """Delete a content item's vectors; return the (rowid, owner) of each one deleted."""
    removed: list[Any] = conn.execute(DELETE_ROWS, (ctype.value, content_id)).fetchall()
    return [(int(rowid), Owner(agent, folder)) for rowid, agent, folder in removed]


def agent_scope(
    conn: apsw.Connection, agent_id: str, *, include_shared: bool, folder_id: str | None
) -> Scope:
    """Return what `agent_id` may see (see `Scope`), read in the caller's snapshot.

    With `folder_id`, only that folder's passages, and only if the folder is attached.
    """
    folders = [str(r[0]) for r in conn.execute(_ATTACHED_FOLDERS, (agent_id,))]
    if folder_id is not None:
        return Scope.of_folder(folder_id if folder_id in folders else None)
    shared: list[str] = []
    if include_shared:
        shared = [str(r[0]) for r in conn.execute(_SHARED_BLOCKS, (agent_id,))]
    return Scope.of_agent(agent_id, include_shared=include_shared, folders=folders, shared=shared)


def scope_sql(scope: Scope) -> tuple[str, dict[str, Any]]:
    """Return the SQL predicate (on alias `e`) selecting the rows of `scope`, and its params."""
    parts: list[str] = []
    params: dict[str, Any] = {}
    agents = [a for a in scope.agents if a is not None]
    if agents:
        parts.append(
            "(e.folder_id IS NULL AND e.agent_id IN (SELECT value FROM json_each(:agents)))"
        )
        params["agents"] = json_text(agents)
    if None in scope.agents:
        parts.append("(e.folder_id IS NULL AND e.agent_id IS NULL)")
    if scope.folders:
        parts.append("e.folder_id IN (SELECT value FROM json_each(:folders))")
        params["folders"] = json_text(list(scope.folders))
    if scope.shared_blocks:
        parts.append(
            "(e.content_type = 'memory_block'"
            " AND e.content_id IN (SELECT value FROM json_each(:shared)))"
        )
        params["shared"] = json_text(list(scope.shared_blocks))
    return ("(" + " OR ".join(parts) + ")" if parts else "0"), params


def knn_sql(
    meta: IndexMeta, k: int, content_type: ContentType | None, scope: Scope | None
) -> tuple[str, dict[str, Any]]:
    """Return the SQL k-NN: the filters select rows first, then sqlite-vec's distance ranks them.

    The caller binds :query (float32 bytes). A row of another length (written around
    pattern-db) or without a direction gets no distance (NULL) and is left out.
    """
    where = ["d IS NOT NULL"]
    params: dict[str, Any] = {"k": k, "bytes": meta.dimensions * 4}
    if content_type is not None:
        where.append("e.content_type = :content_type")
        params["content_type"] = content_type.value
    if scope is not None:
        predicate, scope_params = scope_sql(scope)
        where.append(predicate)
        params.update(scope_params)
    distance = f"{_DISTANCE[meta.metric]}(e.embedding, :query)"
    sql = (
        f"SELECT e.id, CASE WHEN length(e.embedding) = :bytes THEN {distance} END AS d, "
        "e.embedding, e.content_type, e.content_id, e.chunk_index\n"
        f"FROM embeddings AS e WHERE {' AND '.join(where)}\n"
        "ORDER BY d LIMIT :k"
    )
    return sql, params


def sqlite_vec_knn(
    conn: apsw.Connection,
    meta: IndexMeta,
    query: F32,
    k: int,
    content_type: ContentType | None,
    scope: Scope | None,
) -> list[VectorSearchResult]:
    """Return the exact k nearest with sqlite-vec's distance functions in SQL."""
    # Ask for a few more than k, and for more again while the last row is within float32
    # rounding of the k-th: then every row of the exact top k (and every row tied with the k-th)
    # is among those returned, and the float64 re-ranking below is exact.
    fetch = min(MAX_K, k + max(8, k // 4))
    while True:
        sql, params = knn_sql(meta, fetch, content_type, scope)
        params["query"] = query.tobytes()
        rows: list[Any] = conn.execute(sql, params).fetchall()
        if len(rows) < fetch or fetch >= MAX_K:
            break  # every matching row is here
        distances = [r[1] for r in rows]
        if distances[-1] > sqlite_vec_threshold(meta.metric, meta.dimensions, distances[k - 1]):
            break
        fetch = min(MAX_K, fetch * 2)
    rows = [r for r in rows if len(r[2]) == meta.dimensions * 4]
    if not rows:
        return []
    vectors = np.frombuffer(b"".join(r[2] for r in rows), np.float32).reshape(len(rows), -1)
    exact = exact_distances(vectors, query, meta.metric).tolist()
    candidates = [
        Candidate(d, r[4], chunk_key(r[5]), int(r[0]), ContentType(r[3]))
        for d, r in zip(exact, rows, strict=True)
    ]
    return top_k(candidates, k)
