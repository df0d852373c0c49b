"""Vector search internals: record types, input checks, exact distances, float32 error bounds.

Shared by `pattern_db.vector`, its SQL module and its cache. Both search paths (the in-memory
matrix, and SQL with sqlite-vec's distance functions) first pick candidates with float32
arithmetic, then recompute the distance of every candidate in float64 with the same formula and
sort on (distance, content_id, chunk_index, rowid). A row can only be left out of the candidates
if its float32 distance is further from the k-th one than twice the rounding error bound below,
so the final list is the exact k nearest, identical on both paths, with ties broken
deterministically.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, Literal, NamedTuple, TypeAlias

import apsw
import msgspec
import numpy as np
import numpy.typing as npt

from pattern_db import _validate
from pattern_db.errors import DimensionMismatch, InvalidData
from pattern_db.models._base import Record
from pattern_db.models.content import CONTENT_TYPES, ContentType
from pattern_db.models.memory import CONSTELLATION_OWNER

__all__ = [
    "CONTENT_TYPES",
    "F32",
    "I64",
    "METRICS",
    "AddedRows",
    "Candidate",
    "ContentType",
    "EmbeddingLike",
    "EmbeddingStats",
    "IndexMeta",
    "Metric",
    "Owner",
    "Scope",
    "VectorSearchResult",
    "as_matrix",
    "as_vector",
    "cache_margin",
    "chunk_key",
    "content_type_of",
    "exact_distances",
    "read_meta",
    "sqlite_vec_threshold",
    "top_k",
]

Metric: TypeAlias = Literal["cosine", "l2", "l1"]
METRICS: tuple[Metric, ...] = ("cosine", "l2", "l1")

# An embedding as callers give it: a list/tuple of floats or a 1-D numpy array.
EmbeddingLike: TypeAlias = Sequence[float] | npt.NDArray[Any]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

# float32 unit roundoff: every float32 sum of n products is within n * U of the exact value,
# relative to the sum of the absolute terms, whatever the summation order (BLAS or sequential).
U = 2.0**-24


class VectorSearchResult(msgspec.Struct, frozen=True):
    """One nearest neighbour: the content it embeds and its distance to the query."""

    content_id: str
    distance: float
    content_type: ContentType
    chunk_index: int | None = None


class EmbeddingStats(Record, kw_only=True):
    """How many vectors the index holds, per content type, and how the index is configured.

    `dimensions`, `model` and `metric` are None when no index has been created yet.
    """

    total_embeddings: int = 0
    by_content_type: dict[ContentType, int] = msgspec.field(default_factory=dict)
    dimensions: int | None = None
    model: str | None = None
    metric: str | None = None


class Owner(NamedTuple):
    """Who a vector belongs to: an agent, a folder (file passages), or neither.

    Neither means constellation-wide, as does the agent `_constellation_`.
    """

    agent_id: str | None
    folder_id: str | None


class Scope(NamedTuple):
    """The vectors a search may return: rows of these owners, folders and shared blocks.

    An agent's scope is what the agent may see: its own rows, constellation-wide rows (no owner, or
    `_constellation_`), memory blocks shared with it and the passages of folders attached to it;
    with `include_shared=False` only its own rows and its folders' passages. `agents` lists the
    owning agents (None for no owner) of rows outside folders.
    """

    agents: tuple[str | None, ...]
    folders: tuple[str, ...]
    shared_blocks: tuple[str, ...]

    @classmethod
    def of_agent(
        cls,
        agent_id: str,
        *,
        include_shared: bool,
        folders: Sequence[str],
        shared: Sequence[str],
    ) -> Scope:
        """Return an agent's scope given its attached folders and the blocks shared with it."""
        agents = (agent_id, None, CONSTELLATION_OWNER) if include_shared else (agent_id,)
        return cls(agents, tuple(folders), tuple(shared))

    @classmethod
    def of_folder(cls, folder_id: str | None) -> Scope:
        """Return the passages of one folder (nothing for None)."""
        return cls((), () if folder_id is None else (folder_id,), ())

    def owners(self) -> list[Owner]:
        """Return every owner whose rows are in scope (shared blocks aside)."""
        return [Owner(a, None) for a in self.agents] + [Owner(None, f) for f in self.folders]


class AddedRows(msgspec.Struct):
    """Rows a write added: ids, vectors (n, d) and what each embeds."""

    rowids: Sequence[int]
    vectors: F32
    content_type: ContentType
    content_ids: Sequence[str]
    chunks: Sequence[int | None]
    owners: Sequence[Owner]


class IndexMeta(NamedTuple):
    """The embedding_meta row: how the index is configured and its change counter."""

    dimensions: int
    model: str | None
    metric: Metric
    generation: int
    created_at: str


_READ_META = """
SELECT dimensions, model, metric, generation, created_at FROM embedding_meta WHERE id = 1
"""


def read_meta(conn: apsw.Connection) -> IndexMeta | None:
    """Return the index configuration and change counter, or None before the index exists."""
    row = conn.execute(_READ_META).fetchone()
    if row is None:
        return None
    dimensions, model, metric, generation, created_at = row
    return IndexMeta(int(dimensions), model, metric, int(generation), str(created_at))


class Candidate(NamedTuple):
    """A row that may be among the nearest: its exact distance and its sort key parts."""

    distance: float
    content_id: str
    chunk: int  # chunk_index, -1 for None, so rows without a chunk sort first
    rowid: int
    content_type: ContentType

    def result(self) -> VectorSearchResult:
        """Return the public record of this candidate."""
        return VectorSearchResult(
            self.content_id,
            self.distance,
            self.content_type,
            None if self.chunk < 0 else self.chunk,
        )


def chunk_key(chunk_index: int | None) -> int:
    """Return the sort key of a chunk index (None first)."""
    return -1 if chunk_index is None else chunk_index


def top_k(candidates: Iterable[Candidate], k: int) -> list[VectorSearchResult]:
    """Return the k best candidates: distance ascending, ties by content_id, chunk, rowid."""
    ranked = sorted(c for c in candidates if not math.isnan(c.distance))
    return [c.result() for c in ranked[:k]]


def content_type_of(value: ContentType | str) -> ContentType:
    """Return the ContentType for a member or its stored string.

    Raises:
        InvalidData: the value names no content type.
    """
    return _validate.enum_value(ContentType, value, "content type")


def _float32_array(value: object, what: str) -> F32:
    try:
        raw = value if isinstance(value, np.ndarray) else np.asarray(value)
    except (TypeError, ValueError, OverflowError) as exc:  # ragged nesting, odd objects
        raise InvalidData(f"{what} must be a flat sequence of real numbers: {exc}") from None
    if raw.dtype.kind not in "fiu" and raw.dtype != object:
        raise InvalidData(f"{what} must hold real numbers, got an array of {raw.dtype}")
    try:
        # Values beyond float32's range become inf here and are refused by _check_values.
        with np.errstate(all="ignore"):
            return np.ascontiguousarray(raw, dtype=np.float32)
    except (TypeError, ValueError, OverflowError) as exc:  # an int too large for a float, ...
        raise InvalidData(f"{what} must be a flat sequence of real numbers: {exc}") from None


def _check_values(arr: F32, metric: Metric, what: str) -> None:
    if not np.isfinite(arr).all():
        raise InvalidData(f"{what} contains NaN or infinity (or a value beyond float32 range)")
    if metric == "cosine":
        zero = ~arr.any(axis=-1)
        if zero.any():
            raise InvalidData(f"{what} is all zeros; its cosine distance to anything is undefined")


def as_vector(embedding: object, dimensions: int, metric: Metric, *, what: str) -> F32:
    """Return an embedding as a contiguous float32 vector of the index's dimensions.

    Raises:
        DimensionMismatch: it does not have `dimensions` values.
        InvalidData: it is not a flat sequence of finite numbers, or is all zeros under cosine.
    """
    arr = _float32_array(embedding, what)
    if arr.ndim != 1:
        raise InvalidData(f"{what} must be a flat sequence of floats, got shape {arr.shape}")
    if arr.shape[0] != dimensions:
        raise DimensionMismatch(dimensions, int(arr.shape[0]))
    _check_values(arr, metric, what)
    return arr


def as_matrix(embeddings: object, dimensions: int, metric: Metric, *, what: str) -> F32:
    """Return several embeddings as a contiguous (n, dimensions) float32 matrix.

    Raises:
        DimensionMismatch: a row does not have `dimensions` values.
        InvalidData: the rows are ragged, not numbers, not finite, or all zeros under cosine.
    """
    if not isinstance(embeddings, np.ndarray) and isinstance(embeddings, Sequence):
        # Name the first row of the wrong length before numpy refuses the ragged list.
        for row in embeddings:
            if isinstance(row, Sequence | np.ndarray) and len(row) != dimensions:
                raise DimensionMismatch(dimensions, len(row))
    arr = _float32_array(embeddings, what)
    if arr.ndim != 2:
        raise InvalidData(f"{what} must be a list of flat vectors, got shape {arr.shape}")
    if arr.shape[1] != dimensions:
        raise DimensionMismatch(dimensions, int(arr.shape[1]))
    _check_values(arr, metric, what)
    return arr


def exact_distances(vectors: F32, query: F32, metric: Metric) -> F64:
    """Return the distances of float32 rows to a float32 query, computed in float64.

    The formulas are sqlite-vec's (cosine: 1 - a.b / (|a| |b|); l2: Euclidean; l1: Manhattan);
    sqlite-vec evaluates them in float32, so its values differ from these by about 1e-7. Each row
    is reduced on its own (no BLAS), so a row's distance does not depend on which other rows are
    computed with it: both search paths get bit-identical values.
    """
    a = vectors.astype(np.float64)
    q = query.astype(np.float64)
    if metric == "cosine":
        dots = (a * q).sum(axis=1)
        norms = np.sqrt((a * a).sum(axis=1)) * math.sqrt(float((q * q).sum()))
        with np.errstate(invalid="ignore", divide="ignore"):
            result: F64 = 1.0 - dots / norms
        return result
    diff = a - q
    if metric == "l2":
        l2: F64 = np.sqrt((diff * diff).sum(axis=1))
        return l2
    l1: F64 = np.abs(diff).sum(axis=1)
    return l1


def cache_margin(
    metric: Metric, dimensions: int, query_norm: float, kth_score: float, max_norm: float
) -> float:
    """Return how far below the k-th float32 score of the cache a true neighbour's can fall.

    That is twice the rounding error bound of the cache's scores (see `cache`).
    cosine: score = (a.q) / |a|, off by at most (d + 4) u |q|. l2: score = 2 a.q - |a|^2, off by
    at most (d + 4) u (|a| + |q|)^2. l1: score = -sum|a - q|, off by (d + 2) u of itself.
    """
    slack = (dimensions + 8) * U
    if metric == "cosine":
        return 2.0 * slack * query_norm
    if metric == "l2":
        return 4.0 * slack * (max_norm + query_norm) ** 2
    return 2.0 * slack * abs(kth_score) + 1e-30


def sqlite_vec_threshold(metric: Metric, dimensions: int, kth_distance: float) -> float:
    """Return the float32 distance beyond which sqlite-vec's rows cannot be among the k nearest.

    sqlite-vec sums in float32: cosine distances are off by at most about 2 (d + 4) u (absolute);
    l2 and l1 distances by (d + 4) u of themselves (their terms are all non-negative).
    """
    slack = (dimensions + 8) * U
    if metric == "cosine":
        return kth_distance + 2.0 * (3.0 * slack)
    return kth_distance * (1.0 + slack) ** 2 + 1e-30
