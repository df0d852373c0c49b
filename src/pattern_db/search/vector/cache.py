"""The per-process copy of a constellation's vectors that `vector.knn_search` scans with BLAS.

Design note. The `embeddings` table stays the store of record; this is a cache of it, owned by
one ConstellationDb handle (its `handle_state`, freed by `close()`) and guarded by one lock.

* Layout (`store`): one float32 matrix grouped by (owner, content type), new rows in a masked
  tail until the next rebuild, with a per-row float32 auxiliary (1/|a| for cosine, |a|^2 for l2).
  An unscoped query is one BLAS matrix-vector product; an agent's scope multiplies only the
  slices of its owners, so it reads a tenth of the memory when there are ten agents, and a
  filter matching 5% of the rows still yields k rows: filtering happens before ranking.
* Scores are float32 (`a.q/|a|`, `2a.q - |a|^2`, or `-sum|a - q|`, larger is nearer). The k-th
  best is found with np.partition, every row within the float32 error bound of it becomes a
  candidate, and candidates are ranked on exact float64 distances (see `core`), so results are
  exact and identical to the SQL path.
* Freshness: `embedding_meta.generation` is bumped in the same transaction as every change. Each
  query reads it (one indexed row); when it differs, the cache reads only what changed, inside
  one read transaction: rows with an id above the highest id seen (ids only grow: AUTOINCREMENT,
  writers are serialised, and a changed row is re-inserted under a new id) and, only if the row
  count then disagrees, the ids that are gone. Writes made through this handle outside an
  explicit transaction are applied to the cache right after they commit, when the cache was
  exactly one generation behind. Writes inside `db.transaction()` are recorded in an overlay
  (`overlay`): queries inside the transaction scan the committed matrix plus the overlay, the
  commit folds it into the cache (SQLite's commit hook marks it, the next query applies it once
  it checked the write is there), a rollback drops it. When the overlay cannot be trusted,
  queries inside the transaction use SQL and the next query after it reads the change.
* Loading: on a cold cache the first query is answered by SQL and the second one loads the
  cache, since a handle that queries twice is likely to query again; small indexes (<= 1M
  floats) load at once; `warm_vector_cache` loads on demand. The load (`load`) streams the row
  metadata in batches, lays the matrix out, then streams the vectors into it, then unmaps the
  file pages the reads mapped: the process keeps the vectors once (about 1.2x their raw bytes
  at 100k x 384, content ids included), not the vectors plus the table's pages. Over the memory
  budget (1 GiB by default, about 600k vectors of 384 floats) the cache stays cold and every
  query uses SQL.
* Threads: one lock per cache. Queries through one handle scan one at a time (each BLAS product
  already uses every core); a write applies its change under the same lock after its commit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import apsw
import msgspec
import numpy as np

from pattern_db.connection import scalar
from pattern_db.search.vector.core import (
    F32,
    AddedRows,
    ContentType,
    IndexMeta,
    Owner,
    Scope,
    VectorSearchResult,
    read_meta,
    top_k,
)
from pattern_db.search.vector.load import read_columns, read_vectors
from pattern_db.search.vector.overlay import TxOverlay, Write
from pattern_db.search.vector.store import ROW_OVERHEAD_BYTES, TYPE_CODES, VectorStore

if TYPE_CHECKING:
    from pattern_db.connection import ConstellationDb

__all__ = [
    "DEFAULT_CACHE_MAX_BYTES",
    "AddedRows",
    "VectorCache",
    "VectorCacheInfo",
    "cache_for",
    "existing_cache",
]


DEFAULT_CACHE_MAX_BYTES = 1 << 30
# Indexes up to this many floats (4 MB) are loaded by their first query.
_EAGER_LOAD_FLOATS = 1_000_000
# A cold cache loads on this query; the ones before it are answered by sqlite-vec.
_LOAD_ON_QUERY = 2
# A delta larger than this share of the cache is read by reloading everything.
_RELOAD_FRACTION = 4

_SELECT_NEW = """
SELECT id, content_type, content_id, chunk_index, agent_id, folder_id, embedding FROM embeddings
WHERE id > ? ORDER BY id
"""
_COUNT_ROWS = "SELECT count(*) FROM embeddings"
_MAX_ID = "SELECT coalesce(max(id), 0) FROM embeddings"
_LIVE_IDS = "SELECT id FROM embeddings WHERE id <= ?"


class VectorCacheInfo(msgspec.Struct, kw_only=True):
    """What the in-memory vector cache of a handle holds (see `vector.vector_cache_info`)."""

    enabled: bool
    loaded: bool
    vectors: int
    bytes: int
    max_bytes: int
    generation: int | None


class VectorCache:
    """The cached vectors of one ConstellationDb handle; every method takes the lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.enabled = True
        self.max_bytes = DEFAULT_CACHE_MAX_BYTES
        self._hooked: int | None = None  # id() of the writer connection carrying our hooks
        self._drop()

    def _drop(self) -> None:
        self.key: tuple[int, str, str] | None = None
        self.store: VectorStore | None = None
        self.generation = -1
        self.max_rowid = 0
        self.cold_queries = 0
        self.overlay: TxOverlay | None = None

    # -- configuration and introspection -------------------------------------------------------

    def configure(self, *, enabled: bool, max_bytes: int) -> None:
        """Turn the cache on or off and set its memory budget; dropping it when off or over."""
        with self.lock:
            self.enabled = enabled
            self.max_bytes = max_bytes
            if not enabled or self._nbytes() > max_bytes:
                self._drop()

    def info(self) -> VectorCacheInfo:
        """Return what the cache holds."""
        with self.lock:
            return VectorCacheInfo(
                enabled=self.enabled,
                loaded=self.store is not None,
                vectors=0 if self.store is None else self.store.live,
                bytes=self._nbytes(),
                max_bytes=self.max_bytes,
                generation=None if self.store is None else self.generation,
            )

    def _nbytes(self) -> int:
        return 0 if self.store is None else self.store.nbytes

    def _fits(self, rows: int, dimensions: int) -> bool:
        return rows * (dimensions * 4 + 20 + ROW_OVERHEAD_BYTES) <= self.max_bytes

    # -- queries -------------------------------------------------------------------------------

    def search(
        self,
        conn: apsw.Connection,
        meta: IndexMeta,
        query: F32,
        k: int,
        content_type: ContentType | None,
        scope: Scope | None,
    ) -> list[VectorSearchResult] | None:
        """Return the k nearest rows, or None when the cache declines (cold, off, too large).

        `conn` is a reading connection outside any transaction; `meta` was just read from it.
        """
        with self.lock:
            if not self.enabled or not self._current(conn, meta, force=False):
                return None
            assert self.store is not None
            ctype = None if content_type is None else TYPE_CODES[content_type.value]
            return top_k(self.store.search(query, k, ctype, scope), k)

    def warm(self, conn: apsw.Connection, meta: IndexMeta) -> int:
        """Bring the cache up to date now, whatever the load policy; return its row count."""
        with self.lock:
            if not self.enabled or not self._current(conn, meta, force=True):
                return 0
            assert self.store is not None
            return self.store.live

    def _current(self, conn: apsw.Connection, meta: IndexMeta, *, force: bool) -> bool:
        key = (meta.dimensions, meta.metric, meta.created_at)
        if self.key == key and self.generation == meta.generation:
            return True
        if self.key is None and not force and not self._should_load(conn, meta):
            self.cold_queries += 1
            return False
        loaded = self.store
        current = self._in_read_transaction(conn, self._refresh)
        if self.store is not None and self.store is not loaded:
            _unmap(conn)
        return current

    def _should_load(self, conn: apsw.Connection, meta: IndexMeta) -> bool:
        # The highest id bounds the row count and costs one b-tree descent where count(*)
        # reads a whole index (a tenth of a cold start at 100k rows); count only when it must.
        rows = int(scalar(conn, _MAX_ID))
        if not self._fits(rows, meta.dimensions):
            rows = int(scalar(conn, _COUNT_ROWS))
            if not self._fits(rows, meta.dimensions):
                return False
        if rows * meta.dimensions <= _EAGER_LOAD_FLOATS:
            return True
        return self.cold_queries + 1 >= _LOAD_ON_QUERY

    @staticmethod
    def _in_read_transaction(
        conn: apsw.Connection, work: Callable[[apsw.Connection], bool]
    ) -> bool:
        # One read transaction, so the rows, the vectors and the counts are one snapshot.
        conn.execute("BEGIN")
        try:
            return work(conn)
        finally:
            conn.execute("COMMIT")

    def _refresh(self, conn: apsw.Connection) -> bool:
        meta = read_meta(conn)
        if meta is None:
            self._drop()
            return False
        key = (meta.dimensions, meta.metric, meta.created_at)
        self._fold(conn, meta.generation)
        if self.key == key and self.generation == meta.generation:
            return True
        # A generation that went back means the file was replaced (a restored backup): ids seen
        # before may mean other rows now, so only a full load is safe.
        if self.key != key or meta.generation < self.generation or not self._sync(conn, meta):
            return self._load(conn, meta)
        return True

    # -- loading and syncing -------------------------------------------------------------------

    def _load(self, conn: apsw.Connection, meta: IndexMeta) -> bool:
        cold_queries = self.cold_queries
        self._drop()
        if not self._fits(int(scalar(conn, _COUNT_ROWS)), meta.dimensions):
            self.cold_queries = cold_queries
            return False
        columns = read_columns(conn)
        ids = columns.ids
        store = VectorStore(meta.dimensions, meta.metric)
        store.agent_codes = columns.owner_codes
        places = store.lay_out_columns(
            ids, columns.types, columns.owners, columns.content_ids, columns.chunks
        )
        del columns
        present = read_vectors(conn, meta.dimensions, places, store.mat)
        store.finish(ids[~present].tolist())
        self.store = store
        self.key = (meta.dimensions, meta.metric, meta.created_at)
        self.generation = meta.generation
        self.max_rowid = int(ids[-1]) if len(ids) else 0
        return True

    def _sync(self, conn: apsw.Connection, meta: IndexMeta) -> bool:
        """Apply what other writers changed since this cache's generation; False to reload."""
        store = self.store
        assert store is not None
        new: list[Any] = conn.execute(_SELECT_NEW, (self.max_rowid,)).fetchall()
        if len(new) > max(1024, store.live // _RELOAD_FRACTION):
            return False
        if not self._fits(store.live + len(new), meta.dimensions):
            return False
        found = [row for row in new if len(row[6]) == meta.dimensions * 4]
        if int(scalar(conn, _COUNT_ROWS)) != store.live + len(found):
            live: list[Any] = conn.execute(_LIVE_IDS, (self.max_rowid,)).fetchall()
            still = np.fromiter((r[0] for r in live), np.int64, len(live))
            for rowid in np.setdiff1d(store.live_rowids(), still).tolist():
                store.remove(rowid)
        if found:
            vectors = np.frombuffer(b"".join(r[6] for r in found), np.float32)
            store.append(
                [r[0] for r in found],
                vectors.reshape(len(found), -1),
                [r[1] for r in found],
                [r[2] for r in found],
                [r[3] for r in found],
                [Owner(r[4], r[5]) for r in found],
            )
        if new:
            self.max_rowid = max(self.max_rowid, int(new[-1][0]))
        self.generation = meta.generation
        return True

    # -- writes made through this handle -------------------------------------------------------

    def apply(
        self,
        meta: IndexMeta,
        generation: int,
        removed: Sequence[int],
        added: AddedRows | None,
    ) -> None:
        """Apply a committed write of this process (it moved the index to `generation`).

        Ignored unless the cache was exactly at the generation before it; the next query then
        reads the change from the database instead.
        """
        with self.lock:
            # A committed overlay not folded yet cannot be checked here: the next query reads
            # its writes from the database instead.
            self.overlay = None
            key = (meta.dimensions, meta.metric, meta.created_at)
            if self.store is None or self.key != key or self.generation != generation - 1:
                return
            self.store.maybe_rebuild()  # one a fold left due
            self._apply(Write(generation, removed, added))
            if self._nbytes() > self.max_bytes:
                self._drop()

    def after_write(
        self,
        conn: apsw.Connection,
        meta: IndexMeta,
        generation: int,
        removed: Sequence[int],
        added: AddedRows | None,
    ) -> None:
        """Tell the cache about a write just made on `conn`: applied, or recorded in a tx."""
        if conn.in_transaction:
            self.record(conn, meta, generation, removed, added)
        else:
            self.apply(meta, generation, removed, added)

    def _apply(self, write: Write) -> None:
        store = self.store
        assert store is not None
        for rowid in write.removed:
            store.remove(rowid)
        added = write.added
        if added is not None:
            types = [added.content_type.value] * len(added.rowids)
            store.append(
                added.rowids, added.vectors, types, added.content_ids, added.chunks, added.owners
            )
            self.max_rowid = max(self.max_rowid, max(added.rowids))
        self.generation = write.generation

    # -- writes inside a transaction -----------------------------------------------------------

    def record(
        self,
        conn: apsw.Connection,
        meta: IndexMeta,
        generation: int,
        removed: Sequence[int],
        added: AddedRows | None,
    ) -> None:
        """Record a write made inside an open transaction on `conn` (it moved to `generation`)."""
        with self.lock:
            key = (meta.dimensions, meta.metric, meta.created_at)
            if self.store is None or self.key != key:
                self.overlay = None
                return
            self._hook(conn)
            self.store.maybe_rebuild()  # one a fold left due
            overlay = self.overlay
            if overlay is not None and overlay.committed:
                self._fold(conn, generation - 1)  # the previous transaction's
                overlay = self.overlay
            if overlay is None:
                overlay = self.overlay = TxOverlay(meta.dimensions, meta.metric, self.generation)
            overlay.record(conn, Write(generation, removed, added))

    def search_in_transaction(
        self,
        conn: apsw.Connection,
        meta: IndexMeta,
        query: F32,
        k: int,
        content_type: ContentType | None,
        scope: Scope | None,
    ) -> list[VectorSearchResult] | None:
        """Return the k nearest as the open transaction on `conn` sees them, or None (use SQL)."""
        with self.lock:
            key = (meta.dimensions, meta.metric, meta.created_at)
            if not self.enabled or self.store is None or self.key != key:
                return None
            overlay = self.overlay
            if overlay is not None and overlay.committed:
                self._fold(conn, meta.generation)
                overlay = self.overlay
            ctype = None if content_type is None else TYPE_CODES[content_type.value]
            if overlay is None:
                if self.generation != meta.generation:
                    return None
                return top_k(self.store.search(query, k, ctype, scope), k)
            if not overlay.holds(conn, self.generation, meta.generation):
                return None
            found = overlay.search(self.store, query, k, ctype, scope)
            return None if found is None else top_k(found, k)

    def _fold(self, conn: apsw.Connection, generation: int) -> None:
        """Apply a committed overlay if `conn`'s snapshot at `generation` holds it; drop it."""
        overlay = self.overlay
        if overlay is None or not overlay.committed:
            return
        self.overlay = None
        if self.store is None or not overlay.holds(conn, self.generation, generation):
            return
        # One append of the net change: a matrix copy per write would cost more than the query.
        removed, rowids, vectors, types, content_ids, chunks, owners = overlay.net()
        store = self.store
        for rowid in removed:
            store.remove(rowid)
        if rowids:
            # A rebuild this makes due is left to the next write, which is when autocommit
            # writes pay for theirs: the query that folds stays as cheap as any other.
            store.append(rowids, vectors, types, content_ids, chunks, owners, rebuild=False)
            self.max_rowid = max(self.max_rowid, max(rowids))
        self.generation = overlay.generation
        if self._nbytes() > self.max_bytes:
            self._drop()

    def _hook(self, conn: apsw.Connection) -> None:
        if self._hooked == id(conn):
            return
        conn.set_commit_hook(self._on_commit, id=_HOOK_ID)
        conn.set_rollback_hook(self._on_rollback, id=_HOOK_ID)
        self._hooked = id(conn)

    def _on_commit(self) -> bool:
        # SQLite calls this inside COMMIT (no SQL allowed, no lock taken): only mark.
        overlay = self.overlay
        if overlay is not None:
            overlay.committed = True
        return False  # let the commit go ahead

    def _on_rollback(self) -> None:
        self.overlay = None


def _unmap(conn: apsw.Connection) -> None:
    """Give back the file pages a full load mapped in (they stay in the OS's file cache).

    A load reads every page of the table through SQLite's memory map, which then counts them in
    the process's resident memory as long as they stay mapped: as much again as the vectors.
    Setting mmap_size to 0 unmaps the file; setting it back maps it again, untouched.
    """
    size = int(scalar(conn, "PRAGMA mmap_size") or 0)  # no row for an in-memory database
    if size > 0:
        conn.execute("PRAGMA mmap_size = 0").fetchall()
        conn.execute(f"PRAGMA mmap_size = {size}").fetchall()


_STATE_KEY = "pattern_db.vector.cache"
_HOOK_ID = "pattern_db.vector.cache.overlay"


def cache_for(db: ConstellationDb) -> VectorCache:
    """Return the vector cache of a handle, creating it (empty) on first use."""
    return db.handle_state(_STATE_KEY, VectorCache)


def existing_cache(db: ConstellationDb) -> VectorCache | None:
    """Return the vector cache of a handle if it has one."""
    cache: VectorCache | None = db.existing_state(_STATE_KEY)
    return cache
