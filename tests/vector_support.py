"""Helpers for the vector tests: random data, a float64 brute-force oracle, path selection."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pattern_db import ConstellationDb, vector
from pattern_db.models.memory import CONSTELLATION_OWNER
from pattern_db.vector import ContentType

TYPES = list(ContentType)


@dataclass
class Row:
    """A stored vector and what it embeds, as the test wrote it."""

    content_type: ContentType
    content_id: str
    vector: np.ndarray[Any, Any]
    chunk_index: int | None = None
    agent_id: str | None = None


@dataclass
class Dataset:
    """Everything written to the index, keyed by rowid."""

    rows: dict[int, Row] = field(default_factory=dict)

    def insert(self, db: Any, row: Row) -> int:
        rowid = vector.insert_embedding(
            db,
            row.content_type,
            row.content_id,
            row.vector,
            row.chunk_index,
            agent_id=row.agent_id,
        )
        self.rows[rowid] = row
        return rowid

    def delete(self, db: Any, content_type: ContentType, content_id: str) -> int:
        gone = [
            r
            for r, row in self.rows.items()
            if row.content_type == content_type and row.content_id == content_id
        ]
        for rowid in gone:
            del self.rows[rowid]
        return vector.delete_embeddings(db, content_type, content_id)


def distance(a: np.ndarray[Any, Any], q: np.ndarray[Any, Any], metric: str) -> float:
    """Return the distance in float64 from the textbook formula."""
    a64, q64 = a.astype(np.float64), q.astype(np.float64)
    if metric == "cosine":
        return float(1.0 - a64 @ q64 / (np.linalg.norm(a64) * np.linalg.norm(q64)))
    if metric == "l2":
        return float(np.linalg.norm(a64 - q64))
    return float(np.abs(a64 - q64).sum())


def brute_force(
    data: Dataset,
    q: np.ndarray[Any, Any],
    k: int,
    content_type: ContentType | None = None,
    agent_id: str | None = None,
    metric: str = "cosine",
    *,
    include_shared: bool = True,
) -> list[tuple[str, int | None, float]]:
    """Return the k nearest (content_id, chunk_index, distance), ties by content id then chunk.

    No content rows are stored in these tests, so an agent's scope is its own vectors plus, with
    `include_shared`, the constellation-wide ones (no owner, or `_constellation_`).
    """
    visible = {agent_id, None, CONSTELLATION_OWNER} if include_shared else {agent_id}
    scored = [
        (
            distance(row.vector, q, metric),
            row.content_id,
            -1 if row.chunk_index is None else row.chunk_index,
            rowid,
        )
        for rowid, row in data.rows.items()
        if (content_type is None or row.content_type == content_type)
        and (agent_id is None or row.agent_id in visible)
    ]
    scored.sort()
    return [(cid, None if chunk < 0 else chunk, d) for d, cid, chunk, _ in scored[:k]]


def as_tuples(results: list[vector.VectorSearchResult]) -> list[tuple[str, int | None, float]]:
    """Return results in brute_force's shape."""
    return [(r.content_id, r.chunk_index, r.distance) for r in results]


def use_path(db: ConstellationDb, path: str) -> None:
    """Make knn_search answer from the warm cache ("cache") or from sqlite-vec ("sqlite-vec")."""
    if path == "cache":
        vector.configure_vector_cache(db, enabled=True)
        vector.warm_vector_cache(db)
        assert vector.vector_cache_info(db).loaded
    else:
        vector.configure_vector_cache(db, enabled=False)


def random_dataset(
    db: ConstellationDb,
    n: int,
    dimensions: int,
    *,
    seed: int = 0,
    agents: tuple[str | None, ...] = ("a1", "a2", "a3"),
    metric: str = "cosine",
) -> Dataset:
    """Create the index and insert n random vectors spread over agents and content types."""
    vector.ensure_embeddings_table(db, dimensions, metric=metric)
    rng = np.random.default_rng(seed)
    data = Dataset()
    matrix = rng.standard_normal((n, dimensions)).astype(np.float32)
    for i in range(n):
        data.insert(
            db,
            Row(
                TYPES[int(rng.integers(0, len(TYPES)))],
                f"c{i:04d}",
                matrix[i],
                int(rng.integers(0, 3)) if i % 2 else None,
                agents[int(rng.integers(0, len(agents)))],
            ),
        )
    return data
