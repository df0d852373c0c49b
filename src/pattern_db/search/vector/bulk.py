"""Many vectors in one pass: checked, written with multi-row statements, then given to the cache.

The one bulk write of the `embeddings` table: `vector.insert_embeddings` and `pattern_db.ingest`
both go through `write_vectors` inside their write transaction and `publish` after it, which
hands the rows to this handle's cache (so it stays warm without reading them back): applied when
committed, recorded in the transaction's overlay inside a caller's `db.transaction()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import apsw
import numpy as np

from pattern_db.connection import ConstellationDb, scalar
from pattern_db.errors import InvalidData
from pattern_db.queries._bulk import insert_many
from pattern_db.search.vector import sql
from pattern_db.search.vector.cache import AddedRows, existing_cache
from pattern_db.search.vector.core import F32, ContentType, IndexMeta, Owner, as_matrix

__all__ = ["VectorWrite", "check_matrix", "publish", "write_vectors"]


class VectorWrite(NamedTuple):
    """A committed-or-pending bulk write: the index it went to, its generation, its rows."""

    meta: IndexMeta
    generation: int
    added: AddedRows


def check_matrix(conn: apsw.Connection, embeddings: object, n: int) -> tuple[IndexMeta, F32]:
    """Return the index settings and `n` embeddings as a checked (n, d) float32 matrix.

    Raises:
        DimensionMismatch: a vector's length is not the index's dimensions.
        InvalidData: no index yet, NaN/inf, a zero vector under cosine, not `n` vectors.
    """
    meta = sql.require_meta(conn)
    matrix = as_matrix(embeddings, meta.dimensions, meta.metric, what="embeddings")
    if len(matrix) != n:
        raise InvalidData(f"{len(matrix)} embeddings for {n} items; give one vector per item")
    return meta, matrix


def write_vectors(
    conn: apsw.Connection,
    meta: IndexMeta,
    content_type: ContentType,
    content_ids: Sequence[str],
    matrix: F32,
    owners: Sequence[Owner],
    *,
    chunks: Sequence[int | None] | None = None,
    hashes: Sequence[str | None] | None = None,
) -> VectorWrite:
    """Insert one vector per content id inside the caller's write transaction; bump generation.

    `matrix` comes from `check_matrix` (or `as_matrix`); `owners` are the rows' owners.
    """
    n = len(content_ids)
    chunk_list: Sequence[int | None] = [None] * n if chunks is None else chunks
    hash_list: Sequence[str | None] = [None] * n if hashes is None else hashes
    # Ids are given rather than returned row by row: the write lock makes them ours, and
    # AUTOINCREMENT's counter moves past them as it would have.
    first = int(scalar(conn, sql.LAST_ROW_ID)) + 1
    type_value = content_type.value
    # Slices of one view of the matrix bind as blobs without a copy per row in Python.
    blob = np.ascontiguousarray(matrix).reshape(-1).view(np.uint8).data
    size = matrix.shape[1] * 4
    rows: list[tuple[Any, ...]] = [
        (
            first + i,
            type_value,
            content_ids[i],
            chunk_list[i],
            hash_list[i],
            owners[i][0],
            owners[i][1],
            blob[i * size : (i + 1) * size],
        )
        for i in range(n)
    ]
    insert_many(
        conn,
        sql.INSERT_ROWS_WITH_ID,
        sql.INSERT_ROWS_WIDTH,
        rows,
        entity="embedding",
        name_of=lambda i: content_ids[i],
    )
    generation = int(scalar(conn, sql.BUMP_GENERATION))
    rowids = list(range(first, first + n))
    added = AddedRows(rowids, matrix, content_type, list(content_ids), list(chunk_list), owners)
    return VectorWrite(meta, generation, added)


def publish(
    conn: apsw.Connection,
    handle: ConstellationDb,
    write: VectorWrite,
    removed: Sequence[int] = (),
) -> None:
    """Hand a write to the handle's cache: applied if committed, recorded inside a transaction."""
    cache = existing_cache(handle)
    if cache is not None:
        cache.after_write(conn, write.meta, write.generation, removed, write.added)
