"""PatternStore: a LangGraph `BaseStore` over a constellation's archival memory.

Design note.

* Storage. No table of its own: an item is an archival entry of the store's agent
  (`agent_id`, `_constellation_` by default) whose id is a digest of (agent, namespace, key), so
  a put is one upsert (which keeps `created_at`) and a get one primary-key read. `content` is the
  text of the item's indexed fields (the whole value as JSON by default), so FTS5 and the
  vectors search what LangGraph would embed, and an agent reading its archival memory sees the
  items; `metadata.langgraph` holds namespace, key, value, updated_at, expires_at and ttl.
  Filters run in SQL (`json_extract` with bound paths and values, `_sql`).
* Batches. One `batch` call is one write transaction when it holds a put (a bulk load of N items
  costs one commit), and plain reads otherwise. Ops run in order, so a get after a put in the
  same batch sees the put. Vectors are embedded for the whole batch in one call to the embedder
  before the transaction starts, and written in bulk.
* Search. Without a query: the matching items, newest update first. With a query: ranked by
  `pattern_db.search` over the agent's archival entries (hybrid RRF of keywords and vectors by
  default, vectors only with `query_mode="vector"`, keywords only when the store has no index),
  then checked against namespace and filter in SQL, asking for more candidates until the page is
  full; as in LangGraph, a query ranks and never excludes, so matching items the retrievers did
  not return follow the ranked ones with `score=None`. Candidates stop at sqlite-vec's k limit
  (4096): past it, a very selective filter can leave matching items unranked, never missing.
* TTL. `expires_at` = last write or refreshing read + ttl minutes; reads refresh it (one small
  write after the reads) unless told not to; `sweep_ttl()` or the sweeper thread deletes
  expired items; `ttl={"omit_expired": True}` hides them before the sweep.
* Async. `abatch` embeds with the embedder's async methods, then runs the same sync code on the
  database's worker thread (`pattern_db.aio`'s, shared with every async call on the handle), so
  the store's calls and the application's own `pattern_db.aio` calls never run at once.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import msgspec
from langchain_core.embeddings import Embeddings
from langgraph.store.base import (
    BaseStore,
    GetOp,
    IndexConfig,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
    ensure_embeddings,
    validate_op_namespace,
)

from pattern_db import search, vector
from pattern_db.aio._handles import run_on
from pattern_db.codec import json_text
from pattern_db.connection import ConstellationDb, Executor
from pattern_db.errors import InvalidData
from pattern_db.integrations.langgraph import _sql
from pattern_db.integrations.langgraph._items import (
    Fields,
    Stored,
    StoredRow,
    entry_for,
    entry_id,
    expiry,
    index_texts,
    literal_head,
    namespace_matches,
    row_item,
    tokenize_fields,
)
from pattern_db.models.memory import CONSTELLATION_OWNER, ArchivalEntry
from pattern_db.queries import memory
from pattern_db.timeutil import format_ts, now

__all__ = ["PatternStore", "QueryMode"]

QueryMode = Literal["hybrid", "vector"]
T = TypeVar("T")
_ARCHIVAL = vector.ContentType.ARCHIVAL_ENTRY
_MIN_CANDIDATES = 20


class _EmbedderAdapter(Embeddings):
    """LangChain's Embeddings interface over a pattern-db `Embedder` (`embed(texts) -> array`)."""

    def __init__(self, embedder: Any) -> None:
        self._embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Return one vector per text."""
        return [list(map(float, row)) for row in self._embedder.embed(texts)]

    def embed_query(self, text: str) -> list[float]:
        """Return the vector of one query."""
        return self.embed_documents([text])[0]


def _is_pattern_embedder(embed: Any) -> bool:
    return all(hasattr(embed, a) for a in ("dimensions", "model_name", "embed")) and not callable(
        embed
    )


class _Writes:
    """Writes of a batch not yet sent: runs of puts go in one executemany, vectors in bulk.

    Flushed before every read op and at the end, so ops still take effect in order.
    """

    def __init__(self) -> None:
        self.actions: list[ArchivalEntry | str] = []  # an entry to upsert, or an id to delete
        self.ids: list[str] = []
        self.chunks: list[int] = []
        self.vectors: list[list[float]] = []

    def flush(self, ex: Executor, agent_id: str, has_vectors: bool) -> None:
        if not self.actions:
            return
        existing: list[str] = []
        if has_vectors:
            touched = list(dict.fromkeys(a if isinstance(a, str) else a.id for a in self.actions))
            # Only entries that existed before this flush can have vectors to replace.
            with ex.reader() as conn:
                existing = [str(r[0]) for r in conn.execute(_sql.EXISTING, (json_text(touched),))]
        run: list[ArchivalEntry] = []
        for action in self.actions:
            if isinstance(action, str):
                memory.upsert_archival_entries(ex, run)
                run = []
                memory.delete_archival_entry(ex, action)
            else:
                run.append(action)
        memory.upsert_archival_entries(ex, run)
        for eid in existing:
            vector.delete_embeddings(ex, _ARCHIVAL, eid)
        if self.ids:
            vector.insert_embeddings(
                ex, _ARCHIVAL, self.ids, self.vectors, chunk_indexes=self.chunks, agent_ids=agent_id
            )
        self.__init__()  # type: ignore[misc]


class PatternStore(BaseStore):
    """A LangGraph store whose items are archival memory of one agent of a constellation.

    Example: `store = PatternStore(db, index={"dims": 384, "embed": embedder})`, then
    `store.put(("users", "u1"), "prefs", {"food": "pizza"})` and
    `store.search(("users",), query="what food?")`; or `graph.compile(store=store)`.

    Args:
        db: an open constellation (the store never closes it; `from_conn_string` does).
        index: LangGraph's `IndexConfig` (`dims`, `embed`, `fields`); `embed` may be a LangChain
            `Embeddings`, a sync or async function of a list of texts, a provider string, or a
            pattern-db `Embedder`. Without it search by `query` is keyword search.
        ttl: LangGraph's `TTLConfig` (`default_ttl`, `refresh_on_read`, `omit_expired`,
            `sweep_interval_minutes`: when set, a sweeper thread starts; `close()` stops it).
        agent_id: the agent whose archival memory holds the items; stores with different agents
            see different items.
        query_mode: `"hybrid"` (keywords and vectors fused, the default) or `"vector"`.

    Raises:
        InvalidData: the index config lacks `dims` or `embed`, or `dims` differs from the
            constellation's vector index.
        ExtensionError: an index is configured and sqlite-vec is not loaded.
    """

    supports_ttl = True

    def __init__(
        self,
        db: ConstellationDb,
        *,
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
        agent_id: str = CONSTELLATION_OWNER,
        query_mode: QueryMode = "hybrid",
    ) -> None:
        if query_mode not in ("hybrid", "vector"):
            raise InvalidData(f"query_mode must be 'hybrid' or 'vector', got {query_mode!r}")
        self._db = db
        self.agent_id = agent_id
        self.query_mode: QueryMode = query_mode
        self.ttl_config = ttl
        self.index_config = index
        self.embeddings: Embeddings | None = None
        self._fields: Fields = tokenize_fields(["$"])
        self._sweeper: threading.Thread | None = None
        self._stop_sweep = threading.Event()
        self._has_vectors = False
        if index is not None:
            self._configure_index(index)
        elif db.capabilities()["sqlite_vec"] is not None:
            # Items written by an indexed store keep vectors: delete them with the items.
            self._has_vectors = vector.get_index_config(db) is not None
        if ttl and ttl.get("sweep_interval_minutes"):
            self.start_ttl_sweeper()

    def _configure_index(self, index: IndexConfig) -> None:
        if "dims" not in index or "embed" not in index:
            raise InvalidData('an index config needs "dims" and "embed"')
        embed = index["embed"]
        model: str | None = None
        if _is_pattern_embedder(embed):
            model = str(getattr(embed, "model_name"))  # noqa: B009 (duck-typed Embedder)
            self.embeddings = _EmbedderAdapter(embed)
        else:
            self.embeddings = ensure_embeddings(embed)
        self._fields = tokenize_fields(index.get("fields") or ["$"])
        vector.ensure_embeddings_table(self._db, int(index["dims"]), model=model)
        self._has_vectors = True

    @classmethod
    @contextmanager
    def from_conn_string(
        cls,
        conn_string: str | Path,
        *,
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
        agent_id: str = CONSTELLATION_OWNER,
        query_mode: QueryMode = "hybrid",
    ) -> Iterator[PatternStore]:
        """Open a constellation file as a store (created if missing; `":memory:"`: a throwaway).

        Example: `with PatternStore.from_conn_string("agents.db") as store: ...`; the database
        is closed on exit.

        Raises:
            DbError: the file cannot be opened or migrated, or the index config is invalid.
        """
        path = str(conn_string)
        db = ConstellationDb.open_in_memory() if path == ":memory:" else ConstellationDb.open(path)
        try:
            store = cls(db, index=index, ttl=ttl, agent_id=agent_id, query_mode=query_mode)
            try:
                yield store
            finally:
                store.close()
        finally:
            db.close()

    @property
    def db(self) -> ConstellationDb:
        """The constellation this store reads and writes."""
        return self._db

    def close(self) -> None:
        """Stop the TTL sweeper (the database, and its async worker thread, stay open)."""
        self.stop_ttl_sweeper()

    # -- batches -------------------------------------------------------------------------------

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run the operations in order (one write transaction if any is a put); return results.

        Raises:
            InvalidNamespaceError: a namespace label is empty, not a string or holds a period,
                or a put has an empty namespace.
            InvalidData: a bad filter, a negative limit or offset, a value that is not JSON.
        """
        ops = self._checked(ops)
        to_embed, owners = self._texts_to_embed(ops)
        queries = self._queries(ops)
        assert_embeddings = self.embeddings
        doc_vectors: list[list[float]] = []
        query_vectors: dict[str, list[float]] = {}
        if assert_embeddings is not None:
            if to_embed:
                doc_vectors = assert_embeddings.embed_documents(to_embed)
            query_vectors = {q: assert_embeddings.embed_query(q) for q in queries}
        return self._execute(ops, _split(doc_vectors, owners), query_vectors)

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Run the operations like `batch`, embedding asynchronously and writing on a worker thread.

        Raises:
            InvalidNamespaceError: as `batch`.
            InvalidData: as `batch`.
        """
        ops = self._checked(ops)
        to_embed, owners = self._texts_to_embed(ops)
        queries = sorted(self._queries(ops))
        doc_vectors: list[list[float]] = []
        query_vectors: dict[str, list[float]] = {}
        if self.embeddings is not None:
            if to_embed:
                doc_vectors = await self.embeddings.aembed_documents(to_embed)
            found = await asyncio.gather(*(self.embeddings.aembed_query(q) for q in queries))
            query_vectors = dict(zip(queries, found, strict=True))
        return await self._run_sync(self._execute, ops, _split(doc_vectors, owners), query_vectors)

    async def _run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """Run sync store code off the event loop, on the database's worker thread."""
        return await run_on(self._db, lambda _db: fn(*args))

    def _checked(self, ops: Iterable[Op]) -> list[Op]:
        checked = list(ops)
        for op in checked:
            validate_op_namespace(op)
            if isinstance(op, PutOp) and not op.namespace:
                raise InvalidNamespaceError("Namespace cannot be empty.")
            if isinstance(op, SearchOp | ListNamespacesOp) and (op.limit < 0 or op.offset < 0):
                raise InvalidData(f"limit and offset must be >= 0, got {op.limit}, {op.offset}")
        return checked

    def _op_fields(self, op: PutOp) -> Fields:
        if isinstance(op.index, list):
            return tokenize_fields(op.index)
        return self._fields

    def _texts_to_embed(self, ops: list[Op]) -> tuple[list[str], dict[int, int]]:
        """Return the texts to embed and, per put index, how many of them are its own."""
        if self.embeddings is None:
            return [], {}
        last: dict[tuple[tuple[str, ...], str], int] = {}
        for i, op in enumerate(ops):
            if isinstance(op, PutOp):
                last[(op.namespace, str(op.key))] = i
        texts: list[str] = []
        owners: dict[int, int] = {}
        for i in sorted(last.values()):
            op = ops[i]
            assert isinstance(op, PutOp)
            if op.value is None or op.index is False:
                continue
            mine = index_texts(op.value, self._op_fields(op))
            texts.extend(mine)
            owners[i] = len(mine)
        return texts, owners

    def _queries(self, ops: list[Op]) -> set[str]:
        if self.embeddings is None:
            return set()
        return {op.query for op in ops if isinstance(op, SearchOp) and op.query}

    def _execute(
        self,
        ops: list[Op],
        doc_vectors: dict[int, list[list[float]]],
        query_vectors: dict[str, list[float]],
    ) -> list[Result]:
        results: list[Result] = [None] * len(ops)
        refresh: dict[str, float] = {}
        if any(isinstance(op, PutOp) for op in ops):
            with self._db.transaction() as tx:
                self._run_ops(tx, ops, results, refresh, doc_vectors, query_vectors)
                self._refresh(tx, refresh)
        else:
            self._run_ops(self._db, ops, results, refresh, doc_vectors, query_vectors)
            if refresh:
                with self._db.transaction() as tx:
                    self._refresh(tx, refresh)
        return results

    def _run_ops(
        self,
        ex: Executor,
        ops: list[Op],
        results: list[Result],
        refresh: dict[str, float],
        doc_vectors: dict[int, list[list[float]]],
        query_vectors: dict[str, list[float]],
    ) -> None:
        pending = _Writes()
        at = now()
        for i, op in enumerate(ops):
            if isinstance(op, PutOp):
                self._put(op, doc_vectors.get(i), pending, refresh, at)
                continue
            pending.flush(ex, self.agent_id, self._has_vectors)
            if isinstance(op, GetOp):
                results[i] = self._get(ex, op, refresh, at)
            elif isinstance(op, SearchOp):
                results[i] = self._search(ex, op, refresh, query_vectors, at)
            elif isinstance(op, ListNamespacesOp):
                results[i] = self._list_namespaces(ex, op, at)
            else:
                raise InvalidData(f"unknown store operation: {type(op).__name__}")
        pending.flush(ex, self.agent_id, self._has_vectors)

    # -- operations ----------------------------------------------------------------------------

    def _put(
        self,
        op: PutOp,
        vectors: list[list[float]] | None,
        pending: _Writes,
        refresh: dict[str, float],
        at: datetime,
    ) -> None:
        key = str(op.key)
        eid = entry_id(self.agent_id, op.namespace, key)
        refresh.pop(eid, None)
        if op.value is None:
            pending.actions.append(eid)
            return
        try:
            msgspec.json.encode(op.value)
        except (TypeError, msgspec.EncodeError) as exc:
            raise InvalidData(f"store values must be JSON-serializable: {exc}") from exc
        texts = index_texts(op.value, self._op_fields(op))
        pending.actions.append(entry_for(eid, self.agent_id, op, texts, at))
        for chunk, vec in enumerate(vectors or ()):
            pending.ids.append(eid)
            pending.chunks.append(chunk)
            pending.vectors.append(vec)

    def _visible(self, stored: Stored, at: datetime) -> bool:
        omit = bool(self.ttl_config and self.ttl_config.get("omit_expired"))
        return not (omit and stored.expires_at is not None and stored.expires_at <= format_ts(at))

    def _now_filter(self, at: datetime) -> str | None:
        omit = bool(self.ttl_config and self.ttl_config.get("omit_expired"))
        return format_ts(at) if omit else None

    def _get(self, ex: Executor, op: GetOp, refresh: dict[str, float], at: datetime) -> Item | None:
        eid = entry_id(self.agent_id, op.namespace, str(op.key))
        with ex.reader() as conn:
            row: StoredRow | None = conn.execute(_sql.GET, (eid,)).fetchone()
        if row is None:
            return None
        stored = row_item(row)
        if stored.item.namespace != op.namespace or not self._visible(stored, at):
            return None
        if op.refresh_ttl and stored.ttl is not None:
            refresh[eid] = stored.ttl
        return stored.item

    def _search(
        self,
        ex: Executor,
        op: SearchOp,
        refresh: dict[str, float],
        query_vectors: dict[str, list[float]],
        at: datetime,
    ) -> list[SearchItem]:
        if op.limit == 0:
            return []
        cutoff = self._now_filter(at)
        ranked: list[Stored] = []
        if op.query:
            ranked = self._ranked(ex, op, query_vectors.get(op.query), cutoff)
        page = ranked[op.offset : op.offset + op.limit]
        if len(page) < op.limit:
            exclude = json_text([s.entry_id for s in ranked]) if ranked else None
            sql, params = _sql.search_sql(
                self.agent_id,
                op.namespace_prefix,
                op.filter,
                op.limit - len(page),
                max(0, op.offset - len(ranked)),
                now=cutoff,
                exclude_ids=exclude,
            )
            with ex.reader() as conn:
                rows = cast(list[StoredRow], conn.execute(sql, params).fetchall())
            page.extend(row_item(r, search=True) for r in rows)
        if op.refresh_ttl:
            refresh.update((s.entry_id, s.ttl) for s in page if s.ttl is not None)
        return cast(list[SearchItem], [s.item for s in page])

    def _ranked(
        self, ex: Executor, op: SearchOp, query_vector: list[float] | None, cutoff: str | None
    ) -> list[Stored]:
        """Return the items matching the op, best first, as ranked by pattern_db.search."""
        assert op.query is not None
        want = op.offset + op.limit
        n = min(max(2 * want, _MIN_CANDIDATES), vector.MAX_K)
        while True:
            builder = (
                search.search(ex)
                .filter(search.ContentFilter.archival(self.agent_id))
                .candidates(n)
                .limit(n)
            )
            if query_vector is None:
                builder = builder.text(op.query).mode(search.SearchMode.FTS_ONLY)
            elif self.query_mode == "hybrid" and op.query.strip():
                builder = builder.text(op.query).embedding(query_vector)
                builder = builder.mode(search.SearchMode.HYBRID)
            else:
                builder = builder.embedding(query_vector).mode(search.SearchMode.VECTOR_ONLY)
            found = builder.execute()
            scores: dict[str, float] = {}
            for r in found:
                scores.setdefault(r.id, r.score)
            sql, params = _sql.select_ids_sql(
                self.agent_id, op.namespace_prefix, op.filter, json_text(list(scores)), now=cutoff
            )
            with ex.reader() as conn:
                rows: dict[str, StoredRow] = {r[0]: r for r in conn.execute(sql, params)}
            ranked = [
                row_item(rows[eid], score, search=True)
                for eid, score in scores.items()
                if eid in rows
            ]
            if len(ranked) >= want or len(found) < n or n >= vector.MAX_K:
                return ranked
            # Ask for as many more as the share of candidates that matched suggests.
            grow = want * len(found) * 3 // (2 * len(ranked)) if ranked else 8 * n
            n = min(max(grow, 2 * n), vector.MAX_K)

    def _list_namespaces(
        self, ex: Executor, op: ListNamespacesOp, at: datetime
    ) -> list[tuple[str, ...]]:
        conditions = op.match_conditions or ()
        literal: tuple[str, ...] = ()
        for c in conditions:
            if c.match_type == "prefix":
                literal = tuple(literal_head(c.path))
                break
        sql, params = _sql.list_namespaces_sql(self.agent_id, literal, now=self._now_filter(at))
        with ex.reader() as conn:
            found = {tuple(str(r[0]).split(".")) for r in conn.execute(sql, params)}
        kept = [ns for ns in found if all(namespace_matches(c, ns) for c in conditions)]
        if op.max_depth is not None:
            kept = list({ns[: op.max_depth] for ns in kept})
        return sorted(kept)[op.offset : op.offset + op.limit]

    def _refresh(self, ex: Executor, refresh: dict[str, float]) -> None:
        if not refresh:
            return
        at = now()
        with ex.writer() as conn:
            conn.executemany(_sql.REFRESH, ((expiry(t, at), eid) for eid, t in refresh.items()))

    # -- TTL -----------------------------------------------------------------------------------

    def sweep_ttl(self) -> int:
        """Delete this store's expired items (and their vectors); return how many went."""
        with self._db.transaction() as tx:
            with tx.writer() as conn:
                ids = [
                    str(r[0]) for r in conn.execute(_sql.SWEEP, (self.agent_id, format_ts(now())))
                ]
            if self._has_vectors:
                for eid in ids:
                    vector.delete_embeddings(tx, _ARCHIVAL, eid)
        return len(ids)

    def start_ttl_sweeper(self, sweep_interval_minutes: float | None = None) -> None:
        """Sweep expired items every `sweep_interval_minutes` (default: the TTL config's, or 5).

        The sweeper is a daemon thread stopped by `stop_ttl_sweeper()` or `close()`.
        """
        if self._sweeper is not None:
            return
        configured = (self.ttl_config or {}).get("sweep_interval_minutes")
        interval = 60.0 * float(sweep_interval_minutes or configured or 5)
        self._stop_sweep.clear()

        def loop() -> None:
            while not self._stop_sweep.wait(interval):
                if self._db.closed:
                    return
                self.sweep_ttl()

        self._sweeper = threading.Thread(target=loop, name="pattern-store-ttl", daemon=True)
        self._sweeper.start()

    def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        """Stop the sweeper thread; return whether it has stopped (True if none ran)."""
        sweeper = self._sweeper
        if sweeper is None:
            return True
        self._stop_sweep.set()
        sweeper.join(timeout)
        if sweeper.is_alive():
            return False
        self._sweeper = None
        return True


def _split(vectors: Sequence[list[float]], owners: dict[int, int]) -> dict[int, list[list[float]]]:
    """Return each put's own vectors, from the flat list embedded for the whole batch."""
    if len(vectors) != sum(owners.values()):
        raise InvalidData(
            f"the embedder returned {len(vectors)} vectors for {sum(owners.values())} texts"
        )
    out: dict[int, list[list[float]]] = {}
    start = 0
    for i in sorted(owners):
        out[i] = [list(v) for v in vectors[start : start + owners[i]]]
        start += owners[i]
    return out
