"""The vector cache's storage and scan: one float32 matrix, and bulk reads of vec0's own tables.

Layout. Rows [0, n_main) are sorted by (agent, content type, rowid), so every agent and every
(agent, type) pair is one contiguous slice: an unscoped query is one BLAS matrix-vector product
over the whole matrix, an agent-scoped or agent-and-type query one product over its slice (a
tenth of the memory with ten agents). Rows added later go to a tail [n_main, n) in arrival order
and are scanned with a mask; deleted rows are flagged dead and masked. When the tail or the dead
rows pass an eighth of the matrix, it is rebuilt sorted (one pass over the floats). Many small
products instead of one big one cost up to 60% more when other processes compete for the cores
(measured), which is why this is not a matrix per agent.

vec0 (sqlite-vec 0.1) keeps vectors in chunks: `embeddings_chunks` has each chunk's slot count, a
validity bitmap and the slots' rowids (int64), and `embeddings_vector_chunks00` the slots'
float32 vectors under the chunk's id. Reading those blobs is about 20 times faster than vec0's
own `SELECT rowid, embedding` scan. Every chunk's shape is checked first; any surprise raises
UnknownLayout and the caller reads through the plain SELECT instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import apsw
import numpy as np
import numpy.typing as npt

from pattern_db.search.vector.core import (
    CONTENT_TYPES,
    F32,
    I64,
    Candidate,
    Metric,
    cache_margin,
    chunk_key,
    exact_distances,
)

__all__ = ["TYPE_CODES", "UnknownLayout", "VectorStore", "select_vectors", "vec0_chunks"]

TYPE_CODES = {t.value: code for code, t in enumerate(CONTENT_TYPES)}
# Python-side cost of a row beyond its floats: content id, list slots, rowid map entry.
ROW_OVERHEAD_BYTES = 200
# A type-only query over more (agent, type) slices than this scans everything with a mask.
_MAX_SLICES = 16
# The sorted matrix is rebuilt when its tail or its dead rows exceed an eighth of it, and this.
_REBUILD_MIN_ROWS = 1024
_L1_BLOCK_ROWS = 4096
_NEG_INF = np.float32(-np.inf)

_ALL_VECTORS = "SELECT rowid, embedding FROM embeddings"
_VEC0_INFO = "SELECT key, value FROM embeddings_info"
_VEC0_CHUNKS = """
SELECT c.size, c.validity, c.rowids, v.vectors
FROM embeddings_chunks c JOIN embeddings_vector_chunks00 v ON v.rowid = c.chunk_id
"""


class VectorStore:
    """Cached rows: vectors, per-row score auxiliary, rowid, agent and type codes, liveness."""

    def __init__(self, dimensions: int, metric: Metric) -> None:
        self.dimensions = dimensions
        self.metric: Metric = metric
        self.mat: F32 = np.zeros((0, dimensions), np.float32)
        self.aux: F32 = np.zeros(0, np.float32)  # 1/|a| (cosine) or |a|^2 (l2)
        self.rowids: I64 = np.zeros(0, np.int64)
        self.agents = np.zeros(0, np.int32)
        self.types = np.zeros(0, np.int8)
        self.alive = np.zeros(0, np.bool_)
        self.content_ids: list[str] = []
        self.chunks: list[int] = []
        self.n = 0  # rows in use, dead ones included
        self.n_main = 0  # rows [0, n_main) are sorted
        self.live = 0
        self.max_norm = 0.0
        self.agent_codes: dict[str | None, int] = {}
        self.ranges: dict[tuple[int, int], tuple[int, int]] = {}
        self.agent_ranges: dict[int, tuple[int, int]] = {}
        self.dead: list[int] = []
        self._dead_sorted: I64 | None = None
        # rowid -> position, built on the first delete (loads are common, deletes rare).
        self._where: dict[int, int] | None = None
        self._scores: F32 = np.zeros(0, np.float32)

    @property
    def nbytes(self) -> int:
        """The memory the cached arrays and per-row lists take."""
        arrays = (self.mat, self.aux, self.rowids, self.agents, self.types, self.alive)
        return sum(a.nbytes for a in arrays) + self.n * ROW_OVERHEAD_BYTES

    def _agent_code(self, agent_id: str | None) -> int:
        return self.agent_codes.setdefault(agent_id, len(self.agent_codes))

    def _reserve(self, size: int) -> None:
        capacity = len(self.rowids)
        if size <= capacity:
            return
        capacity = max(size, capacity + capacity // 4 + 1024)
        n = self.n
        for name in ("mat", "aux", "rowids", "agents", "types", "alive"):
            old = getattr(self, name)
            new = np.zeros((capacity, *old.shape[1:]), old.dtype)
            new[:n] = old[:n]
            setattr(self, name, new)

    # -- filling ---------------------------------------------------------------------------------

    def lay_out(self, rows: Sequence[Any]) -> I64:
        """Lay out rows sorted by agent, type and id (zero vectors); return each row's position.

        `rows` are (id, content_type, content_id, chunk_index, agent_id); the positions are for
        `fill`.
        """
        n = len(rows)
        agents = np.fromiter((self._agent_code(r[4]) for r in rows), np.int32, n)
        types = np.fromiter((TYPE_CODES[r[1]] for r in rows), np.int8, n)
        ids = np.fromiter((r[0] for r in rows), np.int64, n)
        order = np.lexsort((ids, types, agents))
        places = np.empty(n, np.int64)
        places[order] = np.arange(n)
        self._reserve(n)
        self.rowids[:n], self.agents[:n], self.types[:n] = ids[order], agents[order], types[order]
        self.alive[:n] = True
        picked = order.tolist()
        self.content_ids = [rows[i][2] for i in picked]
        self.chunks = [chunk_key(rows[i][3]) for i in picked]
        self.n = self.n_main = self.live = n
        return places

    def fill(self, places: I64, vectors: F32) -> None:
        """Write vectors at positions given by `lay_out`."""
        self.mat[places] = vectors

    def finish(self, missing: Sequence[int]) -> None:
        """Complete a load: score auxiliaries, slices, and drop rows that had no vector."""
        self.aux[: self.n], self.max_norm, bad = _auxiliary(self.metric, self.mat[: self.n])
        self._index_slices()
        for rowid in [*missing, *self.rowids[: self.n][bad].tolist()]:
            self.remove(rowid)

    def append(
        self,
        rowids: Sequence[int],
        vectors: F32,
        content_types: Sequence[str],
        content_ids: Sequence[str],
        chunks: Sequence[int | None],
        agent_ids: Sequence[str | None],
    ) -> None:
        """Add rows at the tail (scanned with a mask until the next rebuild)."""
        m = len(rowids)
        start, end = self.n, self.n + m
        self._reserve(end)
        self.mat[start:end] = vectors
        aux, norm, bad = _auxiliary(self.metric, vectors)
        self.aux[start:end] = aux
        self.max_norm = max(self.max_norm, norm)
        self.rowids[start:end] = rowids
        self.agents[start:end] = [self._agent_code(a) for a in agent_ids]
        self.types[start:end] = [TYPE_CODES[t] for t in content_types]
        self.alive[start:end] = True
        self.content_ids.extend(content_ids)
        self.chunks.extend(chunk_key(c) for c in chunks)
        if self._where is not None:
            self._where.update(zip(rowids, range(start, end), strict=True))
        self.n = end
        self.live += m
        for rowid in np.asarray(rowids)[bad].tolist():
            self.remove(rowid)
        self._maybe_rebuild()

    def remove(self, rowid: int) -> bool:
        """Flag a row dead; return whether it was cached."""
        if self._where is None:
            live = np.flatnonzero(self.alive[: self.n])
            self._where = dict(zip(self.rowids[live].tolist(), live.tolist(), strict=True))
        pos = self._where.pop(rowid, None)
        if pos is None:
            return False
        self.alive[pos] = False
        self.dead.append(pos)
        self._dead_sorted = None
        self.live -= 1
        self._maybe_rebuild()
        return True

    def live_rowids(self) -> I64:
        """Return the rowids of every cached live row."""
        live: I64 = self.rowids[: self.n][self.alive[: self.n]]
        return live

    def _maybe_rebuild(self) -> None:
        tail, dead = self.n - self.n_main, len(self.dead)
        limit = _REBUILD_MIN_ROWS
        if tail > max(limit, self.n_main // 8) or dead > max(limit, self.n // 8):
            self._rebuild()

    def _rebuild(self) -> None:
        live = np.flatnonzero(self.alive[: self.n])
        order = live[np.lexsort((self.rowids[live], self.types[live], self.agents[live]))]
        m = len(order)
        capacity = m + m // 8 + 1024
        for name in ("mat", "aux", "rowids", "agents", "types", "alive"):
            old = getattr(self, name)
            new = np.zeros((capacity, *old.shape[1:]), old.dtype)
            new[:m] = old[order]
            setattr(self, name, new)
        picked = order.tolist()
        self.content_ids = [self.content_ids[i] for i in picked]
        self.chunks = [self.chunks[i] for i in picked]
        self.n = self.n_main = self.live = m
        self.dead, self._dead_sorted, self._where = [], None, None
        self._index_slices()

    def _index_slices(self) -> None:
        n = self.n_main
        self.ranges, self.agent_ranges = {}, {}
        if n == 0:
            return
        keys = self.agents[:n].astype(np.int64) * 256 + self.types[:n]
        starts = np.concatenate(([0], np.flatnonzero(np.diff(keys)) + 1)).tolist()
        ends = [*starts[1:], n]
        for start, end in zip(starts, ends, strict=True):
            agent, ctype = int(self.agents[start]), int(self.types[start])
            self.ranges[(agent, ctype)] = (start, end)
            first = self.agent_ranges.get(agent, (start, end))[0]
            self.agent_ranges[agent] = (first, end)

    # -- search ----------------------------------------------------------------------------------

    def _slices(self, ctype: int | None, agent: int | None) -> list[tuple[int, int, bool]]:
        """Return (start, end, needs a mask) row ranges holding every row the filters allow."""
        main: list[tuple[int, int, bool]]
        if agent is not None:
            found = (
                self.agent_ranges.get(agent) if ctype is None else self.ranges.get((agent, ctype))
            )
            main = [] if found is None else [(*found, False)]
        elif ctype is not None:
            main = [(s, e, False) for (_, t), (s, e) in self.ranges.items() if t == ctype]
            if len(main) > _MAX_SLICES:
                main = [(0, self.n_main, True)]
        else:
            main = [(0, self.n_main, False)]
        tail = [(self.n_main, self.n, ctype is not None or agent is not None)]
        return [s for s in main + tail if s[1] > s[0]]

    def search(
        self, query: F32, k: int, ctype: int | None, agent_id: str | None
    ) -> list[Candidate]:
        """Return the candidates for the k nearest live rows the filters allow (None: all)."""
        agent = None
        if agent_id is not None:
            agent = self.agent_codes.get(agent_id)
            if agent is None:
                return []  # no row was ever stored for this agent
        slices = self._slices(ctype, agent)
        total = sum(e - s for s, e, _ in slices)
        if total == 0:
            return []
        if len(self._scores) < total:
            self._scores = np.empty(total + total // 8, np.float32)
        scores = self._scores[:total]
        offsets = np.empty(len(slices), np.int64)
        starts = np.empty(len(slices), np.int64)
        masked = False
        offset = 0
        dead = self._dead_positions()
        for i, (start, end, mask) in enumerate(slices):
            offsets[i], starts[i] = offset, start
            out = scores[offset : offset + end - start]
            self._score(start, end, query, out)
            if mask and ctype is not None:
                out[self.types[start:end] != ctype] = _NEG_INF
            if mask and agent is not None:
                out[self.agents[start:end] != agent] = _NEG_INF
            if len(dead):
                inside = dead[np.searchsorted(dead, start) : np.searchsorted(dead, end)]
                out[inside - start] = _NEG_INF
            masked = masked or mask or bool(len(dead))
            offset += end - start
        valid = int(np.count_nonzero(scores != _NEG_INF)) if masked else total
        kk = min(k, valid)
        if kk == 0:
            return []
        kth = float(np.partition(scores, total - kk)[total - kk])
        query_norm = math.sqrt(float(np.dot(query.astype(np.float64), query)))
        margin = cache_margin(self.metric, self.dimensions, query_norm, kth, self.max_norm)
        picked = np.flatnonzero(scores >= kth - margin)
        owner = np.searchsorted(offsets, picked, side="right") - 1
        positions = (starts[owner] + picked - offsets[owner]).tolist()
        distances = exact_distances(self.mat[positions], query, self.metric).tolist()
        return [
            Candidate(
                distance,
                self.content_ids[pos],
                self.chunks[pos],
                int(self.rowids[pos]),
                CONTENT_TYPES[self.types[pos]],
            )
            for pos, distance in zip(positions, distances, strict=True)
        ]

    def _dead_positions(self) -> I64:
        if self._dead_sorted is None:
            self._dead_sorted = np.sort(np.asarray(self.dead, np.int64))
        return self._dead_sorted

    def _score(self, start: int, end: int, query: F32, out: F32) -> None:
        """Write float32 scores (larger is nearer) of rows [start, end) into `out`."""
        rows = self.mat[start:end]
        if self.metric == "cosine":
            np.matmul(rows, query, out=out)
            out *= self.aux[start:end]
        elif self.metric == "l2":
            np.matmul(rows, query, out=out)
            out *= 2.0
            out -= self.aux[start:end]
        else:
            for lo in range(0, end - start, _L1_BLOCK_ROWS):
                block = rows[lo : lo + _L1_BLOCK_ROWS]
                np.negative(np.abs(block - query).sum(axis=1), out=out[lo : lo + len(block)])


def _auxiliary(metric: Metric, vectors: F32) -> tuple[F32, float, npt.NDArray[np.bool_]]:
    """Return the per-row score auxiliary (1/|a| or |a|^2), the largest norm, unrankable rows.

    Unrankable: NaN/inf, or no direction under cosine (only other software writes such rows).
    """
    squares = np.einsum("ij,ij->i", vectors, vectors, dtype=np.float64)
    bad = ~np.isfinite(squares)
    if metric == "cosine":
        bad |= squares == 0
    good = squares[~bad]
    largest = math.sqrt(float(good.max())) if len(good) else 0.0
    if metric == "cosine":
        with np.errstate(divide="ignore", invalid="ignore"):
            inverse = np.where(bad, 0.0, 1.0 / np.sqrt(squares))
        return inverse.astype(np.float32), largest, bad
    if metric == "l2":
        return np.where(bad, 0.0, squares).astype(np.float32), largest, bad
    return np.zeros(len(vectors), np.float32), largest, bad


class UnknownLayout(Exception):
    """vec0's chunk tables are not laid out as in sqlite-vec 0.1."""


def vec0_chunks(conn: apsw.Connection, dimensions: int, ids: I64) -> Iterator[tuple[I64, F32]]:
    """Yield (positions in the sorted `ids`, their vectors) read from vec0's chunk tables.

    Raises:
        UnknownLayout: the tables are missing or shaped otherwise (possibly after some yields).
    """
    try:
        pairs: list[Any] = conn.execute(_VEC0_INFO).fetchall()
        info = dict(pairs)
        if (info.get("CREATE_VERSION_MAJOR"), info.get("CREATE_VERSION_MINOR")) != (0, 1):
            raise UnknownLayout
        row_bytes = dimensions * 4
        for size, validity, rowids, blob in conn.execute(_VEC0_CHUNKS):
            if (
                len(rowids) != size * 8
                or len(validity) != (size + 7) // 8
                or len(blob) != size * row_bytes
            ):
                raise UnknownLayout
            valid = np.unpackbits(np.frombuffer(validity, np.uint8), bitorder="little")[:size]
            slots = np.flatnonzero(valid)
            chunk_rowids = np.frombuffer(rowids, np.int64)[slots]
            found = np.minimum(np.searchsorted(ids, chunk_rowids), len(ids) - 1)
            # A vector without its embedding_rows row is invisible on both paths: skip it.
            known = ids[found] == chunk_rowids
            if known.any():
                chunk = np.frombuffer(blob, np.float32).reshape(size, dimensions)
                yield found[known], chunk[slots[known]]
    except apsw.SQLError as exc:
        raise UnknownLayout from exc


def select_vectors(conn: apsw.Connection, dimensions: int, ids: I64) -> Iterator[tuple[I64, F32]]:
    """Yield (positions in the sorted `ids`, their vectors) through vec0's own full scan."""
    found: list[int] = []
    blobs: list[bytes] = []
    for rowid, blob in conn.execute(_ALL_VECTORS):
        pos = int(np.searchsorted(ids, rowid))
        if pos < len(ids) and ids[pos] == rowid:
            found.append(pos)
            blobs.append(blob)
        if len(found) == 4096:
            yield _block(found, blobs, dimensions)
            found, blobs = [], []
    if found:
        yield _block(found, blobs, dimensions)


def _block(found: list[int], blobs: list[bytes], dimensions: int) -> tuple[I64, F32]:
    vectors = np.frombuffer(b"".join(blobs), np.float32).reshape(len(found), dimensions)
    return np.asarray(found, np.int64), vectors
