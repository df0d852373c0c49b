"""The vector cache's storage and scan: one float32 matrix with its rows grouped by owner.

Layout. Rows [0, n_main) are sorted by (owner, content type, rowid), an owner being an agent, a
folder (file passages) or nobody (constellation-wide), so every owner and every (owner, type)
pair is one contiguous slice: an unscoped query is one BLAS matrix-vector product over the whole
matrix, and an agent's scope is a few products over the slices of its owners (its own rows, the
constellation's, its folders') plus a gather of the blocks shared with it. Rows added later go
to a tail [n_main, n) in arrival order and are scanned with a mask; deleted rows are flagged
dead and masked. When the tail or the dead rows pass an eighth of the matrix, it is rebuilt
sorted (one pass over the floats). Many small products instead of one big one cost up to 60%
more when other processes compete for the cores (measured), which is why this is not a matrix
per owner. A filter's slices that touch are scanned as one range (every row a message: one
product, not one per agent); a filter covering a third of the rows between its first and last
slice is one masked range; the products over small slices run in numpy's single-threaded loop
(`bench/bench_vector_filters.py`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from pattern_db.models.content import ContentType
from pattern_db.search.vector.core import (
    CONTENT_TYPES,
    F32,
    I64,
    Candidate,
    Metric,
    Owner,
    Scope,
    cache_margin,
    chunk_key,
    exact_distances,
)

__all__ = ["ROW_OVERHEAD_BYTES", "TYPE_CODES", "VectorStore"]

TYPE_CODES = {t.value: code for code, t in enumerate(CONTENT_TYPES)}
# Python-side cost of a row beyond its floats: content id, list slots, rowid map entry.
ROW_OVERHEAD_BYTES = 200
# A selection of more separate slices than this, or covering a third of the rows between its
# first and last, is scanned as one range with a mask.
_MAX_SLICES = 64
# Products over fewer rows than this use numpy's own single-threaded loop instead of BLAS: a
# threaded BLAS call waits for its threads, which on a busy machine costs more than the product
# (10 products of 2,500 x 384: 75 ms through 2-thread BLAS, 18 ms so, 30 ms as one product).
_BLAS_MIN_ROWS = 32_768
# The sorted matrix is rebuilt when its tail or its dead rows exceed an eighth of it, and this.
_REBUILD_MIN_ROWS = 1024
_L1_BLOCK_ROWS = 4096
_NEG_INF = np.float32(-np.inf)

_BLOCK = TYPE_CODES[ContentType.MEMORY_BLOCK.value]


class VectorStore:
    """Cached rows: vectors, per-row score auxiliary, rowid, owner and type codes, liveness."""

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
        self.agent_codes: dict[Owner, int] = {}
        self.ranges: dict[tuple[int, int], tuple[int, int]] = {}
        self.agent_ranges: dict[int, tuple[int, int]] = {}
        self.dead: list[int] = []
        self._dead_sorted: I64 | None = None
        # rowid -> position, built on the first delete (loads are common, deletes rare).
        self._where: dict[int, int] | None = None
        # memory block id -> positions, built on the first scope with shared blocks.
        self._blocks: dict[str, list[int]] | None = None
        self._scores: F32 = np.zeros(0, np.float32)

    @property
    def nbytes(self) -> int:
        """The memory the cached arrays and per-row lists take."""
        arrays = (self.mat, self.aux, self.rowids, self.agents, self.types, self.alive)
        return sum(a.nbytes for a in arrays) + self.n * ROW_OVERHEAD_BYTES

    def _agent_code(self, owner: Owner) -> int:
        return self.agent_codes.setdefault(owner, len(self.agent_codes))

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

        `rows` are (id, content_type, content_id, chunk_index, agent_id, folder_id); the positions
        are for `fill`.
        """
        n = len(rows)
        agents = np.fromiter((self._agent_code(Owner(r[4], r[5])) for r in rows), np.int32, n)
        types = np.fromiter((TYPE_CODES[r[1]] for r in rows), np.int8, n)
        ids = np.fromiter((r[0] for r in rows), np.int64, n)
        chunks = [chunk_key(r[3]) for r in rows]
        return self.lay_out_columns(ids, types, agents, [r[2] for r in rows], chunks)

    def lay_out_columns(
        self,
        ids: I64,
        types: npt.NDArray[np.int8],
        agents: npt.NDArray[np.int32],
        content_ids: Sequence[str],
        chunks: Sequence[int],
    ) -> I64:
        """`lay_out` for rows given as columns: owner codes (of `agent_codes`) and chunk keys."""
        n = len(ids)
        order = np.lexsort((ids, types, agents))
        places = np.empty(n, np.int64)
        places[order] = np.arange(n)
        self._reserve(n)
        self.rowids[:n], self.agents[:n], self.types[:n] = ids[order], agents[order], types[order]
        self.alive[:n] = True
        picked = order.tolist()
        self.content_ids = [content_ids[i] for i in picked]
        self.chunks = [chunks[i] for i in picked]
        self.n = self.n_main = self.live = n
        self._blocks = None
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
        owners: Sequence[Owner],
        *,
        rebuild: bool = True,
    ) -> None:
        """Add rows at the tail (scanned with a mask until the next rebuild).

        `rebuild=False` leaves a due rebuild to the next write (`maybe_rebuild`).
        """
        m = len(rowids)
        start, end = self.n, self.n + m
        self._reserve(end)
        self.mat[start:end] = vectors
        aux, norm, bad = _auxiliary(self.metric, vectors)
        self.aux[start:end] = aux
        self.max_norm = max(self.max_norm, norm)
        self.rowids[start:end] = rowids
        self.agents[start:end] = [self._agent_code(o) for o in owners]
        self.types[start:end] = [TYPE_CODES[t] for t in content_types]
        self.alive[start:end] = True
        self.content_ids.extend(content_ids)
        self.chunks.extend(chunk_key(c) for c in chunks)
        if self._where is not None:
            self._where.update(zip(rowids, range(start, end), strict=True))
        if self._blocks is not None:
            for pos, (ctype, cid) in enumerate(zip(content_types, content_ids, strict=True), start):
                if ctype == ContentType.MEMORY_BLOCK:
                    self._blocks.setdefault(cid, []).append(pos)
        self.n = end
        self.live += m
        for rowid in np.asarray(rowids)[bad].tolist():
            self.remove(rowid)
        if rebuild:
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

    def maybe_rebuild(self) -> None:
        """Rebuild the sorted matrix if its tail or dead rows have grown past their share."""
        self._maybe_rebuild()

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
        self.dead, self._dead_sorted, self._where, self._blocks = [], None, None, None
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

    def _slices(self, ctype: int | None, codes: list[int] | None) -> list[tuple[int, int, bool]]:
        """Return (start, end, needs a mask) row ranges holding every row the filters allow.

        `codes` are the owner codes in scope (None: every owner).
        """
        main: list[tuple[int, int, bool]] = []
        if codes is not None:
            for code in codes:
                found = (
                    self.agent_ranges.get(code) if ctype is None else self.ranges.get((code, ctype))
                )
                if found is not None:
                    main.append((*found, False))
        elif ctype is not None:
            main = [(s, e, False) for (_, t), (s, e) in self.ranges.items() if t == ctype]
        else:
            main = [(0, self.n_main, False)]
        main = _coalesce(main)
        if len(main) > 1:
            first, last = main[0][0], main[-1][1]
            if len(main) > _MAX_SLICES or 3 * sum(e - s for s, e, _ in main) >= last - first:
                main = [(first, last, True)]
        tail = [(self.n_main, self.n, ctype is not None or codes is not None)]
        return [s for s in main + tail if s[1] > s[0]]

    def _shared_positions(self, scope: Scope, ctype: int | None, codes: list[int]) -> I64:
        """Return the live positions of blocks shared into `scope` not already in its slices."""
        if not scope.shared_blocks or ctype not in (None, _BLOCK):
            return np.zeros(0, np.int64)
        if self._blocks is None:
            self._blocks = {}
            for pos in np.flatnonzero(self.types[: self.n] == _BLOCK).tolist():
                self._blocks.setdefault(self.content_ids[pos], []).append(pos)
        found = [p for block in scope.shared_blocks for p in self._blocks.get(block, ())]
        positions = np.asarray(sorted(set(found)), np.int64)
        if not len(positions):
            return positions
        keep = self.alive[positions] & ~np.isin(self.agents[positions], codes)
        picked: I64 = positions[keep]
        return picked

    def search(self, query: F32, k: int, ctype: int | None, scope: Scope | None) -> list[Candidate]:
        """Return the candidates for the k nearest live rows the filters allow (None: all)."""
        codes: list[int] | None = None
        extra = np.zeros(0, np.int64)
        if scope is not None:
            codes = sorted({self.agent_codes[o] for o in scope.owners() if o in self.agent_codes})
            extra = self._shared_positions(scope, ctype, codes)
        slices = self._slices(ctype, codes)
        total = sum(e - s for s, e, _ in slices) + len(extra)
        if total == 0:
            return []
        if len(self._scores) < total:
            self._scores = np.empty(total + total // 8, np.float32)
        scores = self._scores[:total]
        offsets = np.empty(len(slices) + 1, np.int64)
        masked = False
        offset = 0
        dead = self._dead_positions()
        for i, (start, end, mask) in enumerate(slices):
            offsets[i] = offset
            out = scores[offset : offset + end - start]
            self._score(self.mat[start:end], self.aux[start:end], query, out)
            if mask and ctype is not None:
                out[self.types[start:end] != ctype] = _NEG_INF
            if mask and codes is not None:
                out[~np.isin(self.agents[start:end], codes)] = _NEG_INF
            if len(dead):
                inside = dead[np.searchsorted(dead, start) : np.searchsorted(dead, end)]
                out[inside - start] = _NEG_INF
            masked = masked or mask or bool(len(dead))
            offset += end - start
        offsets[len(slices)] = offset
        if len(extra):
            self._score(self.mat[extra], self.aux[extra], query, scores[offset:])
        valid = int(np.count_nonzero(scores != _NEG_INF)) if masked else total
        kk = min(k, valid)
        if kk == 0:
            return []
        kth = float(np.partition(scores, total - kk)[total - kk])
        query_norm = math.sqrt(float(np.dot(query.astype(np.float64), query)))
        margin = cache_margin(self.metric, self.dimensions, query_norm, kth, self.max_norm)
        picked = np.flatnonzero(scores >= kth - margin)
        in_slices = picked[picked < offset]
        owner = np.searchsorted(offsets[: len(slices)], in_slices, side="right") - 1
        starts = np.asarray([s for s, _, _ in slices], np.int64)
        positions = (starts[owner] + in_slices - offsets[owner]).tolist()
        positions += extra[picked[picked >= offset] - offset].tolist()
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

    def _score(self, rows: F32, aux: F32, query: F32, out: F32) -> None:
        """Write float32 scores (larger is nearer) of `rows` (with their auxiliaries) into `out`."""
        if self.metric == "cosine":
            _dot(rows, query, out)
            out *= aux
        elif self.metric == "l2":
            _dot(rows, query, out)
            out *= 2.0
            out -= aux
        else:
            for lo in range(0, len(rows), _L1_BLOCK_ROWS):
                block = rows[lo : lo + _L1_BLOCK_ROWS]
                np.negative(np.abs(block - query).sum(axis=1), out=out[lo : lo + len(block)])


def _dot(rows: F32, query: F32, out: F32) -> None:
    if len(rows) < _BLAS_MIN_ROWS:
        np.einsum("ij,j->i", rows, query, out=out)
    else:
        np.matmul(rows, query, out=out)


def _coalesce(slices: list[tuple[int, int, bool]]) -> list[tuple[int, int, bool]]:
    """Return unmasked row ranges sorted, with ranges that touch joined into one."""
    joined: list[tuple[int, int, bool]] = []
    for start, end, mask in sorted(slices):
        if joined and joined[-1][1] == start and not mask and not joined[-1][2]:
            joined[-1] = (joined[-1][0], end, False)
        else:
            joined.append((start, end, mask))
    return joined


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
