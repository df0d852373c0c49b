"""The SQL side of `pattern_db.vector`: the vec0 table, its settings row, and sqlite-vec's KNN.

Static statements are constants with bound parameters; the two dynamic ones (`index_sql`, whose
values are a checked int and a whitelisted word, and `knn_sql`, whose filters are bound) are
built by `*_sql()` helpers that do no I/O.
"""

from __future__ import annotations

from typing import Any

import apsw
import numpy as np

from pattern_db.connection import scalar
from pattern_db.errors import ExtensionError, InvalidData
from pattern_db.search.vector.core import (
    F32,
    METRICS,
    Candidate,
    ContentType,
    IndexMeta,
    Metric,
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

HAS_INDEX_TABLE = "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'embeddings'"
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
INSERT_ROW = """
INSERT INTO embedding_rows (content_type, content_id, chunk_index, content_hash, agent_id)
VALUES (?, ?, ?, ?, ?) RETURNING id
"""
INSERT_ROW_WITH_ID = """
INSERT INTO embedding_rows (id, content_type, content_id, chunk_index, content_hash, agent_id)
VALUES (?, ?, ?, ?, ?, ?)
"""
LAST_ROW_ID = "SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'embedding_rows'"
INSERT_VECTOR = (
    "INSERT INTO embeddings (rowid, embedding, agent_id, content_type) VALUES (?, ?, ?, ?)"
)
DELETE_ROWS = """
DELETE FROM embedding_rows WHERE content_type = ? AND content_id = ? RETURNING id, agent_id
"""
DELETE_VECTOR = "DELETE FROM embeddings WHERE rowid = ?"
COUNT_ROWS = "SELECT count(*) FROM embedding_rows"
# One hash per item when every chunk carries the same non-NULL hash, else NULL (stale).
HASHES_BY_CONTENT = """
SELECT content_id,
       CASE WHEN count(*) = count(content_hash) AND min(content_hash) = max(content_hash)
            THEN min(content_hash) END
FROM embedding_rows WHERE content_type = ? GROUP BY content_id
"""
COUNT_BY_TYPE = "SELECT content_type, count(*) FROM embedding_rows GROUP BY content_type"
HASHES_MATCH = """
SELECT count(*), coalesce(sum(content_hash IS NOT NULL AND content_hash = ?), 0)
FROM embedding_rows WHERE content_type = ? AND content_id = ?
"""


def vec_version(conn: apsw.Connection) -> str:
    """Return sqlite-vec's version on this connection, or raise ExtensionError."""
    try:
        return str(scalar(conn, "SELECT vec_version()"))
    except apsw.SQLError as exc:
        raise ExtensionError(f"sqlite-vec is not loaded on this connection: {exc}") from exc


def index_sql(dimensions: int, metric: Metric) -> str:
    """Return the DDL of the vec0 table: agent as partition key, content type as metadata."""
    # Both values are checked by check_config (an int and a whitelisted word), never user text.
    return (
        f"CREATE VIRTUAL TABLE embeddings USING vec0("
        f"embedding float[{dimensions}] distance_metric={metric}, "
        "agent_id text partition key, content_type text)"
    )


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
    """Drop any index and its rows, create an empty one, record the settings; return rows lost."""
    dropped = int(scalar(conn, COUNT_ROWS))
    conn.execute("DROP TABLE IF EXISTS embeddings")
    conn.execute("DELETE FROM embedding_rows")
    conn.execute(index_sql(dimensions, metric))
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
    if chunk_index is None:
        return None
    if isinstance(chunk_index, bool) or not isinstance(chunk_index, int) or chunk_index < 0:
        raise InvalidData(f"chunk_index must be a non-negative int or None, got {chunk_index!r}")
    return chunk_index


def delete_rows(
    conn: apsw.Connection, ctype: ContentType, content_id: str
) -> list[tuple[int, str | None]]:
    """Delete a content item's vectors; return the (rowid, agent_id) of each one deleted."""
    removed: list[Any] = conn.execute(DELETE_ROWS, (ctype.value, content_id)).fetchall()
    for rowid, _ in removed:
        conn.execute(DELETE_VECTOR, (rowid,))
    return [(int(rowid), agent) for rowid, agent in removed]


def check_k(k: int) -> int:
    """Return k if it is an int in 0..MAX_K, else raise InvalidData."""
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= MAX_K:
        raise InvalidData(f"k must be an int between 0 and {MAX_K}, got {k!r}")
    return k


def knn_sql(
    query: bytes, k: int, content_type: ContentType | None, agent_id: str | None
) -> tuple[str, list[Any]]:
    """Return sqlite-vec's KNN with the filters as vec0 constraints (applied while ranking)."""
    where = ["embedding MATCH ?", "k = ?"]
    params: list[Any] = [query, k]
    if content_type is not None:
        where.append("content_type = ?")
        params.append(content_type.value)
    if agent_id is not None:
        where.append("agent_id = ?")
        params.append(agent_id)
    # vec0 KNN: bind k = ? rather than LIMIT; LIMIT only works on SQLite >= 3.41. The LEFT JOIN
    # keeps the row count equal to what vec0 returned, which the loop below relies on.
    sql = f"""
    WITH knn AS (SELECT rowid, distance, embedding FROM embeddings WHERE {" AND ".join(where)})
    SELECT knn.rowid, knn.distance, knn.embedding, r.content_type, r.content_id, r.chunk_index
    FROM knn LEFT JOIN embedding_rows r ON r.id = knn.rowid
    """
    return sql, params


def sqlite_vec_knn(
    conn: apsw.Connection,
    meta: IndexMeta,
    query: F32,
    k: int,
    content_type: ContentType | None,
    agent_id: str | None,
) -> list[VectorSearchResult]:
    """Return the exact k nearest using sqlite-vec's own KNN (filters applied by vec0)."""
    # Ask for a few more than k, and for more again while the last row is within float32
    # rounding of the k-th: then every row of the exact top k (and every row tied with the k-th)
    # is among those returned, and the float64 re-ranking below is exact.
    fetch = min(MAX_K, k + max(8, k // 4))
    while True:
        sql, params = knn_sql(query.tobytes(), fetch, content_type, agent_id)
        rows: list[Any] = conn.execute(sql, params).fetchall()
        if len(rows) < fetch or fetch >= MAX_K:
            break  # every matching row is here
        # NULL distances (vectors of other software with no direction) hold places but rank nowhere.
        distances = sorted(r[1] for r in rows if r[1] is not None)
        if len(distances) >= k and distances[-1] > sqlite_vec_threshold(
            meta.metric, meta.dimensions, distances[k - 1]
        ):
            break
        fetch = min(MAX_K, fetch * 2)
    rows = [r for r in rows if r[4] is not None]
    if not rows:
        return []
    vectors = np.frombuffer(b"".join(r[2] for r in rows), np.float32).reshape(len(rows), -1)
    exact = exact_distances(vectors, query, meta.metric).tolist()
    candidates = [
        Candidate(d, r[4], chunk_key(r[5]), int(r[0]), ContentType(r[3]))
        for d, r in zip(exact, rows, strict=True)
    ]
    return top_k(candidates, k)
