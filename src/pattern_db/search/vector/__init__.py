"""Vector search: one `embeddings` table per constellation, exact k-NN, filters inside the search.

Design note.
* Storage: an ordinary table `embeddings`, one row per vector (float32 bytes) with what it
  embeds (content type and id, chunk index, content hash) and its owner (an agent, or the folder
  of a file passage, or nobody: constellation-wide). `embedding_meta` records dimensions, model
  and metric (cosine by default) once per constellation, and a generation counter bumped by every
  change. The vectors stay within a small factor of their raw bytes whatever the mix of owners,
  and freed rows are reused (measured against sqlite-vec's vec0 table in
  `bench/bench_vector_storage.py`).
* Content and vectors stay in step: the triggers of migration 0003 delete a row's vectors with
  it (a tombstoned message too), and move them when the content is stored after its vectors or
  changes owner. A vector's owner is its content's; for content that is not stored, the agent
  given (or nobody). `find_orphans` / `purge_orphans` deal with vectors of content deleted
  around pattern-db.
* Scope: `agent_id=None` searches every vector. An agent's scope is what that agent may see:
  its own rows, constellation-wide rows (owned by `_constellation_`, or by nobody), memory blocks
  shared with it and the passages of folders attached to it; never another agent's private rows.
  The same scope is applied by `pattern_db.fts` and `pattern_db.search`.
* Search: exact. A per-handle float32 copy of the vectors (`cache`), grouped by owner and content
  type, answers most queries with BLAS matrix-vector products over the rows the filters select,
  within a few percent of numpy on the bare matrix; SQL with sqlite-vec's distance functions
  answers the rest (cold cache, cache off or over its memory budget, queries inside a
  transaction whose writes the cache could not follow). Both paths filter before ranking (k
  rows whenever k rows match), rank candidates on float64 distances with sqlite-vec's formulas
  and break ties by content id, chunk index, then rowid, so they return the same list.
* Input: a vector of the wrong length raises DimensionMismatch, NaN/inf or a zero vector under
  cosine InvalidData; a different model or metric is refused unless the index is reset
  (`reset_embeddings`); k is at most 4096.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import apsw
import numpy as np

from pattern_db import maintenance
from pattern_db.connection import ConstellationDb, Executor, scalar
from pattern_db.errors import DimensionMismatch, ExtensionError, InvalidData
from pattern_db.search.vector import bulk, sql
from pattern_db.search.vector.cache import (
    DEFAULT_CACHE_MAX_BYTES,
    AddedRows,
    VectorCacheInfo,
    cache_for,
    existing_cache,
)
from pattern_db.search.vector.core import (
    ContentType,
    EmbeddingLike,
    EmbeddingStats,
    IndexMeta,
    Owner,
    Scope,
    VectorSearchResult,
    as_vector,
    content_type_of,
    read_meta,
)
from pattern_db.search.vector.sql import MAX_K
from pattern_db.timeutil import now_ts

__all__ = [
    "DEFAULT_CACHE_MAX_BYTES",
    "MAX_K",
    "ContentType",
    "EmbeddingStats",
    "IndexMeta",
    "VectorCacheInfo",
    "VectorSearchResult",
    "configure_vector_cache",
    "content_hashes",
    "delete_embeddings",
    "embedding_is_current",
    "ensure_embeddings_table",
    "find_orphans",
    "get_embedding_stats",
    "get_index_config",
    "init_sqlite_vec",
    "insert_embedding",
    "insert_embeddings",
    "knn_search",
    "purge_orphans",
    "reset_embeddings",
    "search_similar",
    "update_embedding",
    "vector_cache_info",
    "verify_sqlite_vec",
    "warm_vector_cache",
]

# -- the extension -----------------------------------------------------------------------------


def get_index_config(db: Executor) -> IndexMeta | None:
    """Return the index's dimensions, model, metric and change counter (None before it exists).

    One single-row read, cheap enough to call per query (unlike `get_embedding_stats`).
    """
    with db.reader() as conn:
        return read_meta(conn)


def init_sqlite_vec() -> str:
    """Check that sqlite-vec loads into a fresh connection; return its version (e.g. "v0.1.9").

    Idempotent and cheap; `ConstellationDb.open` already loads it on every connection it makes.

    Raises:
        ExtensionError: the sqlite-vec wheel is missing or its library does not load.
    """
    from pattern_db import _vec_loader

    conn = apsw.Connection(":memory:")
    try:
        _vec_loader.load_into(conn)
        return str(scalar(conn, "SELECT vec_version()"))
    except (apsw.Error, ImportError, OSError) as exc:
        raise ExtensionError(
            f"sqlite-vec could not be loaded: {exc}; install the sqlite-vec wheel for this platform"
        ) from exc
    finally:
        conn.close()


def verify_sqlite_vec(db: Executor) -> str:
    """Return the sqlite-vec version loaded on this database's connections (e.g. "v0.1.9").

    Raises:
        ExtensionError: sqlite-vec is not loaded.
    """
    _require_vec(db)
    with db.reader() as conn:
        return sql.vec_version(conn)


def _require_vec(db: Executor) -> ConstellationDb:
    """Return the handle behind `db` once sqlite-vec is known to be loaded on it."""
    handle = db.database
    handle.require_vec()
    return handle


# -- the index ---------------------------------------------------------------------------------


def ensure_embeddings_table(
    db: Executor,
    dimensions: int,
    *,
    model: str | None = None,
    metric: str = "cosine",
    reset: bool = False,
) -> None:
    """Create the vector index on first use, or check that it matches; `reset=True` re-creates it.

    The first call records dimensions, model and metric for the constellation. Later calls must
    agree: a call without a model accepts any recorded model, and a model given when none was
    recorded is recorded. With `reset=True` every stored vector is dropped and the index is
    re-created for the new settings (see `reset_embeddings`).

    Raises:
        DimensionMismatch: the index exists with other dimensions.
        InvalidData: the index was made for another model or metric, or an argument is invalid.
        ExtensionError: sqlite-vec is not loaded.
    """
    _require_vec(db)
    checked = sql.check_config(dimensions, model, metric)
    if reset:
        reset_embeddings(db, dimensions, model=model, metric=checked)
        return
    with db.writer() as conn:
        meta = read_meta(conn)
        if meta is None:
            sql.create_index(conn, dimensions, model, checked)
            return
        if meta.dimensions != dimensions:
            raise DimensionMismatch(meta.dimensions, dimensions)
        if meta.metric != checked:
            raise InvalidData(
                f"this constellation's vector index uses the {meta.metric} metric, not {checked}; "
                "pass the same metric, or re-create the index with reset=True and re-embed"
            )
        if model is not None and meta.model is not None and model != meta.model:
            raise InvalidData(
                f"this constellation's vectors were made by model {meta.model!r}, not {model!r}; "
                "mixing models corrupts search. Re-create the index with "
                "ensure_embeddings_table(..., reset=True) (or reset_embeddings) and re-embed"
            )
        if model is not None and meta.model is None:
            conn.execute(sql.SET_MODEL, (model, now_ts()))


def reset_embeddings(
    db: Executor, dimensions: int, *, model: str | None = None, metric: str = "cosine"
) -> int:
    """Drop every stored vector and re-create the index with new settings; return how many went.

    This is the one way to switch embedding model or dimensions: re-embed the content afterwards
    (`pattern_db.embed.index_pending` finds everything without a vector).

    Raises:
        InvalidData: an argument is invalid.
        ExtensionError: sqlite-vec is not loaded.
    """
    _require_vec(db)
    checked = sql.check_config(dimensions, model, metric)
    with db.writer() as conn:
        return sql.create_index(conn, dimensions, model, checked)


# -- writes ------------------------------------------------------------------------------------


def _after_commit(
    conn: apsw.Connection,
    handle: ConstellationDb,
    meta: IndexMeta,
    generation: int,
    removed: Sequence[int],
    added: AddedRows | None,
) -> None:
    """Tell this handle's cache about a write: applied if committed, recorded inside a tx."""
    cache = existing_cache(handle)
    if cache is not None:
        cache.after_write(conn, meta, generation, removed, added)


def insert_embedding(
    db: Executor,
    content_type: ContentType | str,
    content_id: str,
    embedding: EmbeddingLike,
    chunk_index: int | None = None,
    content_hash: str | None = None,
    *,
    agent_id: str | None = None,
) -> int:
    """Store one vector for a piece of content; return its rowid.

    Several vectors per content item are allowed (one per chunk).

    Raises:
        DimensionMismatch: the vector's length is not the index's dimensions.
        InvalidData: no index yet, NaN/inf values, an all-zero vector under cosine, a bad argument.
        ExtensionError: sqlite-vec is not loaded.
    """
    return _replace(db, content_type, content_id, embedding, chunk_index, content_hash, agent_id)[0]


def update_embedding(
    db: Executor,
    content_type: ContentType | str,
    content_id: str,
    embedding: EmbeddingLike,
    chunk_index: int | None = None,
    content_hash: str | None = None,
    *,
    agent_id: str | None = None,
) -> int:
    """Replace every vector of a content item with this one, atomically; return the new rowid.

    With `agent_id=None` the new vector keeps the agent of the vectors it replaces.

    Raises:
        DimensionMismatch: the vector's length is not the index's dimensions.
        InvalidData: no index yet, NaN/inf values, an all-zero vector under cosine, a bad argument.
        ExtensionError: sqlite-vec is not loaded.
    """
    return _replace(
        db, content_type, content_id, embedding, chunk_index, content_hash, agent_id, delete=True
    )[0]


def _replace(
    db: Executor,
    content_type: ContentType | str,
    content_id: str,
    embedding: EmbeddingLike,
    chunk_index: int | None,
    content_hash: str | None,
    agent_id: str | None,
    *,
    delete: bool = False,
) -> list[int]:
    handle = _require_vec(db)
    ctype = content_type_of(content_type)
    chunk = sql.check_chunk(chunk_index)
    with db.writer() as conn:
        meta = sql.require_meta(conn)
        vector = as_vector(embedding, meta.dimensions, meta.metric, what="embedding")
        removed = sql.delete_rows(conn, ctype, content_id) if delete else []
        if agent_id is None and removed:
            # An update of a vector whose content is not stored keeps its owner.
            agent_id = removed[0][1].agent_id
        owner = _owners(conn, ctype, [content_id], [agent_id])[0]
        rowid = int(
            scalar(
                conn,
                sql.INSERT_ROW,
                (ctype.value, content_id, chunk, content_hash, *owner, vector.tobytes()),
            )
        )
        generation = int(scalar(conn, sql.BUMP_GENERATION))
    added = AddedRows([rowid], vector.reshape(1, -1), ctype, [content_id], [chunk], [owner])
    _after_commit(conn, handle, meta, generation, [r for r, _ in removed], added)
    return [rowid]


def _owners(
    conn: apsw.Connection,
    ctype: ContentType,
    content_ids: Sequence[str],
    agent_ids: Sequence[str | None],
) -> list[Owner]:
    """Return each vector's owner: its stored content's, else the agent given (None: nobody).

    Raises:
        InvalidData: an agent was given that is not the owner of the stored content.
    """
    stored = sql.content_owners(conn, ctype, content_ids)
    owners = []
    for content_id, agent_id in zip(content_ids, agent_ids, strict=True):
        owner = stored.get(content_id)
        if owner is None:
            owners.append(Owner(agent_id, None))
            continue
        if agent_id is not None and agent_id != owner.agent_id:
            whose = (
                "belongs to a folder"
                if owner.agent_id is None
                else f"belongs to {owner.agent_id!r}"
            )
            raise InvalidData(
                f"{ctype.value} {content_id!r} {whose}, not to agent {agent_id!r}; a vector's "
                "owner is its content's, so leave agent_id out"
            )
        owners.append(owner)
    return owners


def insert_embeddings(
    db: Executor,
    content_type: ContentType | str,
    content_ids: Sequence[str],
    embeddings: Sequence[EmbeddingLike] | np.ndarray[Any, Any],
    *,
    chunk_indexes: Sequence[int | None] | None = None,
    content_hashes: Sequence[str | None] | None = None,
    agent_ids: Sequence[str | None] | str | None = None,
) -> list[int]:
    """Store many vectors of one content type in one transaction; return their rowids in order.

    `embeddings` is an (n, d) array or n vectors; `agent_ids` is one agent for all rows or one per
    row. Nothing is written if any row is invalid.

    Raises:
        DimensionMismatch: the vectors' length is not the index's dimensions.
        InvalidData: no index yet, NaN/inf values, a zero vector under cosine, mismatched lengths.
        ExtensionError: sqlite-vec is not loaded.
    """
    handle = _require_vec(db)
    ctype = content_type_of(content_type)
    n = len(content_ids)
    chunks = (
        [sql.check_chunk(c) for c in chunk_indexes] if chunk_indexes is not None else [None] * n
    )
    hashes = list(content_hashes) if content_hashes is not None else [None] * n
    agents = [agent_ids] * n if agent_ids is None or isinstance(agent_ids, str) else agent_ids
    if not len(chunks) == len(hashes) == len(agents) == n:
        raise InvalidData(
            "content_ids, chunk_indexes, content_hashes and agent_ids differ in length"
        )
    if n == 0:
        return []
    with db.writer() as conn:
        meta, matrix = bulk.check_matrix(conn, embeddings, n)
        owners = _owners(conn, ctype, content_ids, agents)
        written = bulk.write_vectors(
            conn, meta, ctype, content_ids, matrix, owners, chunks=chunks, hashes=hashes
        )
    bulk.publish(conn, handle, written)
    return list(written.added.rowids)


def delete_embeddings(db: Executor, content_type: ContentType | str, content_id: str) -> int:
    """Delete every vector (all chunks) of a content item; return how many were deleted.

    Raises:
        ExtensionError: sqlite-vec is not loaded.
    """
    handle = _require_vec(db)
    ctype = content_type_of(content_type)
    with db.writer() as conn:
        meta = read_meta(conn)
        if meta is None:
            return 0
        removed = sql.delete_rows(conn, ctype, content_id)
        if not removed:
            return 0
        generation = int(scalar(conn, sql.BUMP_GENERATION))
    _after_commit(conn, handle, meta, generation, [r for r, _ in removed], None)
    return len(removed)


# -- search ------------------------------------------------------------------------------------


def knn_search(
    db: Executor,
    query_embedding: EmbeddingLike,
    k: int,
    content_type: ContentType | str | None = None,
    *,
    agent_id: str | None = None,
    include_shared: bool = True,
    folder_id: str | None = None,
) -> list[VectorSearchResult]:
    """Return the k nearest vectors, nearest first (ties by content_id, then chunk_index).

    Exact search. The filters apply inside the search, so k rows come back whenever k rows
    match. `agent_id=None` searches every vector; an agent id searches the agent's scope, what
    that agent may see: its own rows, constellation-wide rows (content owned by
    `_constellation_`, or vectors of content that is not stored), blocks shared with it and
    passages of folders attached to it (`include_shared=False`: its own rows and its folders'
    passages only); never another agent's private rows. `folder_id` keeps the passages of one
    folder (attached to the agent, when one is given). Without an index yet the result is
    empty. Example: `knn_search(db, q, 10, ContentType.MESSAGE, agent_id="a1")`.

    Raises:
        DimensionMismatch: the query's length is not the index's dimensions.
        InvalidData: NaN/inf in the query, an all-zero query under cosine, k outside 0..4096.
        ExtensionError: sqlite-vec is not loaded.
    """
    handle = _require_vec(db)
    ctype = None if content_type is None else content_type_of(content_type)
    sql.check_k(k)
    with db.reader() as conn:
        meta = read_meta(conn)
        if meta is None:
            return []
        query = as_vector(query_embedding, meta.dimensions, meta.metric, what="query embedding")
        if k == 0:
            return []
        scope: Scope | None = None
        if agent_id is not None:
            scope = sql.agent_scope(
                conn, agent_id, include_shared=include_shared, folder_id=folder_id
            )
        elif folder_id is not None:
            scope = Scope.of_folder(folder_id)
        cache = cache_for(handle)
        if conn.in_transaction:
            # The committed matrix plus the transaction's own writes (`overlay`), when known.
            found = cache.search_in_transaction(conn, meta, query, k, ctype, scope)
        else:
            found = cache.search(conn, meta, query, k, ctype, scope)
        if found is not None:
            return found
        return sql.sqlite_vec_knn(conn, meta, query, k, ctype, scope)


def search_similar(
    db: Executor,
    query_embedding: EmbeddingLike,
    content_type: ContentType | str | None,
    limit: int,
    max_distance: float | None = None,
    *,
    agent_id: str | None = None,
    include_shared: bool = True,
    folder_id: str | None = None,
) -> list[VectorSearchResult]:
    """Return up to `limit` nearest vectors of a content type, keeping those within max_distance.

    The agent scope is `knn_search`'s.

    Raises:
        DimensionMismatch: the query's length is not the index's dimensions.
        InvalidData: NaN/inf in the query, limit outside 0..4096.
        ExtensionError: sqlite-vec is not loaded.
    """
    found = knn_search(
        db,
        query_embedding,
        limit,
        content_type,
        agent_id=agent_id,
        include_shared=include_shared,
        folder_id=folder_id,
    )
    if max_distance is None:
        return found
    return [r for r in found if r.distance <= max_distance]


# -- bookkeeping -------------------------------------------------------------------------------


def embedding_is_current(
    db: Executor, content_type: ContentType | str, content_id: str, content_hash: str
) -> bool:
    """Return True if the content has vectors and every one was made from this content hash.

    A missing vector, a stored NULL hash or any other hash gives False (never an error).

    Raises:
        ExtensionError: sqlite-vec is not loaded.
    """
    _require_vec(db)
    ctype = content_type_of(content_type)
    params = (content_hash, ctype.value, content_id)
    with db.reader() as conn:
        row: Any = conn.execute(sql.HASHES_MATCH, params).fetchone()
    total, matching = int(row[0]), int(row[1])
    return total > 0 and matching == total


def content_hashes(db: Executor, content_type: ContentType | str) -> dict[str, str | None]:
    """Return, for each content item of a type that has vectors, the hash they were made from.

    The value is None when a vector carries no hash or the item's chunks disagree, so such an
    item always counts as stale. Example: `content_hashes(db, "message") -> {"msg_1": "9f2c…"}`.

    Raises:
        ExtensionError: sqlite-vec is not loaded.
    """
    _require_vec(db)
    ctype = content_type_of(content_type)
    with db.reader() as conn:
        rows: list[Any] = conn.execute(sql.HASHES_BY_CONTENT, (ctype.value,)).fetchall()
    return dict(rows)


def find_orphans(db: Executor) -> dict[ContentType, int]:
    """Return how many vectors, per content type, embed content that is not stored.

    Content deleted through pattern-db takes its vectors along; orphans come from vectors stored
    for ids that were never stored (allowed: constellation-wide content) or from writes around
    pattern-db. `pattern-db verify` reports them (`maintenance.orphan_vectors`).
    """
    return {ContentType(t): n for t, n in maintenance.orphan_vectors(db).items()}


def purge_orphans(db: Executor) -> int:
    """Delete every vector whose content is not stored; return how many went."""
    return maintenance.purge_orphan_vectors(db)


def get_embedding_stats(db: Executor) -> EmbeddingStats:
    """Return the number of stored vectors, per content type, and the index settings.

    Raises:
        ExtensionError: sqlite-vec is not loaded.
    """
    _require_vec(db)
    with db.reader() as conn:
        meta = read_meta(conn)
        rows: list[Any] = conn.execute(sql.COUNT_BY_TYPE).fetchall()
    counts = {ContentType(t): int(n) for t, n in rows}
    return EmbeddingStats(
        total_embeddings=sum(counts.values()),
        by_content_type=counts,
        dimensions=None if meta is None else meta.dimensions,
        model=None if meta is None else meta.model,
        metric=None if meta is None else meta.metric,
    )


# -- the in-memory cache -----------------------------------------------------------------------


def configure_vector_cache(
    db: ConstellationDb, *, enabled: bool = True, max_bytes: int = DEFAULT_CACHE_MAX_BYTES
) -> None:
    """Turn this handle's in-memory vector cache on or off and set its memory budget.

    With the cache off (or the index over budget) every query uses the SQL scan.

    Raises:
        ExtensionError: sqlite-vec is not loaded.
    """
    db.require_vec()
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
        raise InvalidData(f"max_bytes must be a non-negative int, got {max_bytes!r}")
    cache_for(db).configure(enabled=enabled, max_bytes=max_bytes)


def warm_vector_cache(db: ConstellationDb) -> int:
    """Load (or refresh) this handle's vector cache now; return how many vectors it holds.

    Returns 0 when the cache is off, the index is over the memory budget, or there is no index.
    Servers call this at start so that the first query is already fast.

    Raises:
        ExtensionError: sqlite-vec is not loaded.
    """
    db.require_vec()
    with db.reader() as conn:
        meta = read_meta(conn)
        if meta is None or conn.in_transaction:
            return 0
        return cache_for(db).warm(conn, meta)


def vector_cache_info(db: ConstellationDb) -> VectorCacheInfo:
    """Return what this handle's vector cache holds (loaded, vectors, bytes, generation).

    Raises:
        ExtensionError: sqlite-vec is not loaded.
    """
    db.require_vec()
    return cache_for(db).info()
