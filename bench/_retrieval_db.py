"""Bench databases for retrieval.py: corpora loaded through the public API, a cached embedder,
and the retrievers each query runs (keyword variants, vector, the public hybrid search).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench._retrieval_corpus import Pair
from bench._retrieval_eval import Ranked
from pattern_db import ConstellationDb, fts, vector
from pattern_db.embed import LocalEmbedder, index_pending
from pattern_db.models import (
    Agent,
    ArchivalEntry,
    FilePassage,
    Folder,
    FolderFile,
    FolderPathType,
    MemoryBlock,
    Message,
)
from pattern_db.queries.agent import create_agent
from pattern_db.queries.folder import create_folder, create_passages, upsert_file
from pattern_db.queries.memory import create_archival_entry, create_block
from pattern_db.queries.message import create_messages
from pattern_db.search import ContentFilter, FusionMethod, SearchMode, search
from pattern_db.search.coverage import keyword_coverage
from pattern_db.search.fts_query import natural_terms
from pattern_db.search.tables import TABLES_BY_TYPE
from pattern_db.vector import ContentType

AGENT = "bench"
DEPTH = 20  # per-retriever candidates, as `search` fetches for limit 10

# Realistic block roles (label, description) in the style of Letta agent files.
BLOCK_ROLES = [
    ("persona", "The persona block: stores details about my current persona and how I respond."),
    ("human", "The human block: stores key details about the person I am conversing with."),
    ("scratchpad", ""),
    ("preferences", "Things the user prefers, learned over time."),
]


class CachedEmbedder:
    """LocalEmbedder with a vector cache on disk (keyed by text), for quick reruns."""

    def __init__(self, inner: LocalEmbedder, path: Path) -> None:
        self.inner = inner
        self.path = path
        self.vectors: dict[str, np.ndarray[Any, Any]] = {}
        self.computed = 0
        if path.is_file():
            data = np.load(path)
            self.vectors = dict(zip(data["keys"].tolist(), data["matrix"], strict=True))

    dimensions = property(lambda self: self.inner.dimensions)
    model_name = property(lambda self: self.inner.model_name)
    chunking = property(lambda self: self.inner.chunking)

    def chunk_text(self, text: str) -> list[str]:
        return self.inner.chunk_text(text)

    def embed(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
        todo = {k: t for k, t in zip(keys, texts, strict=True) if k not in self.vectors}
        if todo:
            fresh = self.inner.embed(list(todo.values()))
            self.vectors.update(zip(todo, fresh, strict=True))
            self.computed += len(todo)
        if not keys:
            return np.empty((0, self.inner.dimensions), dtype=np.float32)
        return np.vstack([self.vectors[k] for k in keys])

    def save(self) -> None:
        keys = np.array(list(self.vectors))
        matrix = np.vstack(list(self.vectors.values())) if self.vectors else np.empty((0, 384))
        np.savez(self.path, keys=keys, matrix=matrix)


# -- loading -----------------------------------------------------------------------------------


def archival_db(path: Path, pairs: Sequence[Pair], embedder: CachedEmbedder) -> ConstellationDb:
    """A fresh database with each document as an archival entry, indexed, plus a porter table."""
    path.unlink(missing_ok=True)
    db = ConstellationDb.open(path)
    with db.transaction() as tx:
        for p in pairs:
            create_archival_entry(tx, ArchivalEntry(id=p.doc_id, agent_id=AGENT, content=p.doc))
    index_pending(db, embedder, batch_size=256)
    _bench_fts(db, "bench_plain", "unicode61 remove_diacritics 2", pairs)
    return db


MIXED_TYPES = tuple(ContentType)


def table_of(pair: Pair) -> ContentType:
    """Spread documents over the four content types by a hash of their key."""
    types = MIXED_TYPES
    return types[int(hashlib.sha1(pair.key.encode()).hexdigest(), 16) % len(types)]


def mixed_db(path: Path, pairs: Sequence[Pair], embedder: CachedEmbedder) -> ConstellationDb:
    """A fresh database with the documents spread over messages, blocks, archival and passages.

    Blocks get neutral labels ("note-<n>") and one of BLOCK_ROLES' descriptions; a global FTS
    table over every document (`bench_global`) gives the ranking of one shared bm25.
    """
    path.unlink(missing_ok=True)
    db = ConstellationDb.open(path)
    create_agent(
        db, Agent(id=AGENT, name=AGENT, model_provider="x", model_name="x", system_prompt="x")
    )
    folder = Folder(id="fold", name="docs", path_type=FolderPathType.VIRTUAL, embedding_model="x")
    with db.transaction() as tx:
        create_folder(tx, folder)
        upsert_file(tx, FolderFile(id="file", folder_id="fold", name="docs.txt"))
        messages, passages = [], []
        for i, p in enumerate(pairs):
            kind = table_of(p)
            if kind is ContentType.MESSAGE:
                messages.append(
                    Message(
                        id=p.doc_id,
                        agent_id=AGENT,
                        content_json={"text": p.doc},
                        content_preview=p.doc,
                    )
                )
            elif kind is ContentType.MEMORY_BLOCK:
                _, description = BLOCK_ROLES[i % len(BLOCK_ROLES)]
                create_block(
                    tx,
                    MemoryBlock(
                        id=p.doc_id,
                        agent_id=AGENT,
                        label=f"note-{i}",
                        description=description,
                        content_preview=p.doc,
                    ),
                )
            elif kind is ContentType.ARCHIVAL_ENTRY:
                create_archival_entry(tx, ArchivalEntry(id=p.doc_id, agent_id=AGENT, content=p.doc))
            else:
                passages.append(
                    FilePassage(id=p.doc_id, file_id="file", content=p.doc, chunk_index=i)
                )
        create_messages(tx, messages)
        create_passages(tx, passages)
    index_pending(db, embedder, batch_size=256)
    _bench_fts(db, "bench_global", "porter unicode61 remove_diacritics 2", pairs)
    return db


_BENCH_TABLES = {"bench_plain", "bench_global"}


def _bench_fts(db: ConstellationDb, table: str, tokenizer: str, pairs: Sequence[Pair]) -> None:
    """Create one of the bench's own FTS tables (`table` from a fixed set) over the documents."""
    if table not in _BENCH_TABLES or "'" in tokenizer:
        raise ValueError(f"not a bench FTS table: {table!r} ({tokenizer!r})")
    with db.writer() as conn:
        conn.execute(
            f"CREATE VIRTUAL TABLE {table} USING fts5(doc_id UNINDEXED, content, "
            f"tokenize = '{tokenizer}')"
        )
        conn.executemany(
            f"INSERT INTO {table} (doc_id, content) VALUES (?, ?)",
            ((p.doc_id, p.doc) for p in pairs),
        )


# -- retrievers --------------------------------------------------------------------------------


def fts_list(db: ConstellationDb, query: str | None, *, mode: str = "fts5") -> Ranked:
    """The archival keyword list through the public FTS API (empty for no expression)."""
    if not query:
        return []
    return [(m.id, m.rank) for m in fts.search_archival(db, query, limit=DEPTH, mode=mode)]


def own_fts_list(db: ConstellationDb, table: str, query: str | None) -> Ranked:
    """A keyword list from a bench FTS table (bench_plain: unstemmed; bench_global)."""
    if not query or table not in _BENCH_TABLES:
        return []
    sql = (
        f"SELECT doc_id, bm25({table}) FROM {table} WHERE {table} MATCH ? "
        "ORDER BY rank, doc_id LIMIT ?"
    )
    with db.reader() as conn:
        return [(d, float(s)) for d, s in conn.execute(sql, (query, DEPTH))]


def confidence(db: ConstellationDb, query: str, top: Ranked) -> float | None:
    """The keyword confidence hybrid search gives this query's best archival keyword hit."""
    if not top:
        return None
    with db.reader() as conn:
        table = TABLES_BY_TYPE[ContentType.ARCHIVAL_ENTRY]
        return keyword_coverage(conn, table, natural_terms(query), top[0][0])


def vector_list(db: ConstellationDb, query: np.ndarray[Any, Any]) -> Ranked:
    """The nearest items (each by its nearest chunk), DEPTH of them."""
    found: dict[str, float] = {}
    for r in vector.knn_search(db, query, DEPTH * 4):
        found.setdefault(r.content_id, r.distance)
        if len(found) == DEPTH:
            break
    return list(found.items())


def api_ids(
    db: ConstellationDb,
    text: str | None,
    query: np.ndarray[Any, Any],
    *,
    fusion: FusionMethod | None = None,
    fts_mode: str = "auto",
    content_filter: ContentFilter | None = None,
) -> list[str]:
    """Top-10 ids of the public hybrid search (vector-only when `text` is None)."""
    builder = search(db).embedding(query).limit(10)
    builder = builder.filter(content_filter or ContentFilter.archival())
    if text is None:
        builder = builder.mode(SearchMode.VECTOR_ONLY)
    else:
        builder = builder.text(text).fts_mode(fts_mode).mode(SearchMode.HYBRID)
    if fusion is not None:
        builder = builder.fusion(fusion)
    return [r.id for r in builder.execute()]


def per_table_lists(db: ConstellationDb, query: str | None) -> list[Ranked]:
    """The keyword list of each table of the mixed set, in MIXED_TYPES order."""
    if not query:
        return [[], [], [], []]
    calls = (
        lambda: fts.search_messages(db, query, None, DEPTH, mode="fts5"),
        lambda: fts.search_memory_blocks(db, query, None, DEPTH, mode="fts5"),
        lambda: fts.search_archival(db, query, None, DEPTH, mode="fts5"),
        lambda: fts.search_file_passages(db, query, None, DEPTH, mode="fts5"),
    )
    return [[(m.id, m.rank) for m in call()] for call in calls]


def search_all_list(db: ConstellationDb, query: str | None) -> Ranked:
    """The public merged keyword list (`fts.search_all`: bm25 scaled to each table's size)."""
    if not query:
        return []
    return [(m.id, -m.score) for m in fts.search_all(db, query, limit=DEPTH, mode="fts5")]
