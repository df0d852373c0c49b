"""Keep the vector index current: embed every item whose vectors are missing or stale.

Design note.
* **What is embedded.** Messages (`content_preview`), memory blocks (`content_preview`),
  archival entries and file passages (`content`), archived, deleted and inactive rows included:
  search hides them by its visibility rules, and a flag that shows them must find their vectors.
  Items with no text have no vectors.
* **Stale.** Each vector carries the item's content hash: sha256 of the model id, the chunking
  parameters and the exact text. An item is current when all its vectors carry the hash of its
  text now, so an edit, a model change or a chunking change each make it stale.
* **Chunks.** Text longer than the model's input is cut into overlapping chunks
  (`chunk_index` 0, 1, ...) by the embedder's own `chunk_text` (tokens, for `LocalEmbedder`) or
  by word windows; search keeps each item's nearest chunk.
* **Batches.** Items are embedded `batch_size` at a time outside any transaction, then one
  transaction per batch deletes their old vectors and inserts the new ones; an interrupted run
  keeps every finished batch and a rerun does only what is left. Vectors of items whose text
  became empty, or of content that is not stored, are deleted.
* **Models.** The index records its model. Another model is refused until the caller asks for a
  re-embed (`reembed=True`), which drops every vector and embeds everything again.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import msgspec
import numpy as np

from pattern_db import vector
from pattern_db.codec import json_text
from pattern_db.connection import Executor
from pattern_db.embed._protocol import ChunkingEmbedder, Embedder, WordChunker
from pattern_db.errors import InvalidData
from pattern_db.vector import ContentType

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "MAX_CHUNKS",
    "IndexReport",
    "PendingCounts",
    "PendingReport",
    "TypeReport",
    "content_hash",
    "index_pending",
    "pending_counts",
]

DEFAULT_BATCH_SIZE = 64
# At most this many chunks per item (about 55,000 words with LocalEmbedder): a pasted log of
# megabytes is searchable by its beginning instead of flooding the index with vectors.
MAX_CHUNKS = 256

Progress = Callable[[int, int], object]

# Text per content type: what FTS indexes as the item's body.
_ALL_TEXT: dict[ContentType, str] = {
    ContentType.MESSAGE: "SELECT id, content_preview FROM messages ORDER BY rowid",
    ContentType.MEMORY_BLOCK: "SELECT id, content_preview FROM memory_blocks ORDER BY rowid",
    ContentType.ARCHIVAL_ENTRY: "SELECT id, content FROM archival_entries ORDER BY rowid",
    ContentType.FILE_PASSAGE: "SELECT id, content FROM file_passages ORDER BY rowid",
}
_SOME_TEXT: dict[ContentType, str] = {
    ContentType.MESSAGE: (
        "SELECT id, content_preview FROM messages WHERE id IN (SELECT value FROM json_each(?))"
    ),
    ContentType.MEMORY_BLOCK: (
        "SELECT id, content_preview FROM memory_blocks WHERE id IN (SELECT value FROM json_each(?))"
    ),
    ContentType.ARCHIVAL_ENTRY: (
        "SELECT id, content FROM archival_entries WHERE id IN (SELECT value FROM json_each(?))"
    ),
    ContentType.FILE_PASSAGE: (
        "SELECT id, content FROM file_passages WHERE id IN (SELECT value FROM json_each(?))"
    ),
}


class TypeReport(msgspec.Struct, kw_only=True):
    """What `index_pending` did for one content type."""

    embedded: int = 0
    current: int = 0
    chunks: int = 0
    empty: int = 0
    removed: int = 0
    capped: int = 0
    seconds: float = 0.0


class IndexReport(msgspec.Struct, kw_only=True):
    """The outcome of `index_pending`: counts per content type and totals.

    `embedded` items became current with `chunks` vectors; `current` were already; `empty` have
    no text; `removed` items (gone or emptied) lost their vectors; `capped` items had more than
    MAX_CHUNKS chunks and are embedded by their first MAX_CHUNKS.
    """

    model: str
    dimensions: int
    reembedded: bool
    by_type: dict[str, TypeReport]
    embedded: int = 0
    chunks: int = 0
    current: int = 0
    removed: int = 0
    seconds: float = 0.0

    @property
    def items_per_second(self) -> float:
        """Embedded items per second of the whole run (0.0 when nothing was embedded)."""
        return self.embedded / self.seconds if self.embedded and self.seconds > 0 else 0.0


class PendingCounts(msgspec.Struct, kw_only=True):
    """Items of one content type: with text, current, waiting to be embedded, and stray vectors."""

    total: int = 0
    current: int = 0
    pending: int = 0
    empty: int = 0
    orphaned: int = 0


class PendingReport(msgspec.Struct, kw_only=True):
    """What `index_pending` would do now (`pending_counts`); `model_matches` False means reembed."""

    model: str
    index_model: str | None
    model_matches: bool
    by_type: dict[str, PendingCounts]
    pending: int = 0


def _chunking(embedder: Embedder) -> tuple[str, Callable[[str], list[str]]]:
    if isinstance(embedder, ChunkingEmbedder):
        return f"{embedder.chunking};max{MAX_CHUNKS}", embedder.chunk_text
    words = WordChunker()
    return f"{words.chunking};max{MAX_CHUNKS}", words.split


def _hasher(embedder: Embedder) -> Any:
    chunking, _ = _chunking(embedder)
    return hashlib.sha256(f"{embedder.model_name}\n{chunking}\n".encode())


def content_hash(embedder: Embedder, text: str) -> str:
    """Return the hash stored with `text`'s vectors: sha256 of model id, chunking and the text.

    Example: `content_hash(LocalEmbedder(), "hello")` is what `vector.content_hashes` holds for an
    item whose text is "hello" once it is indexed.
    """
    digest = _hasher(embedder)
    digest.update(text.encode())
    return str(digest.hexdigest())


def _types(content_types: Iterable[ContentType | str] | None) -> list[ContentType]:
    if content_types is None:
        return list(ContentType)
    try:
        return [ContentType(t) for t in content_types]
    except ValueError as exc:
        names = ", ".join(t.value for t in ContentType)
        raise InvalidData(f"unknown content type ({exc}); use one of {names}") from exc


def _check_embedder(embedder: object) -> Embedder:
    if not isinstance(embedder, Embedder):
        raise InvalidData(
            "embedder must have dimensions, model_name and embed(texts) "
            f"(pattern_db.embed.Embedder); got {type(embedder).__name__}"
        )
    dims = embedder.dimensions
    if isinstance(dims, bool) or not isinstance(dims, int) or dims < 1:
        raise InvalidData(f"embedder.dimensions must be an int >= 1, got {dims!r}")
    if not isinstance(embedder.model_name, str) or not embedder.model_name.strip():
        raise InvalidData("embedder.model_name must be a non-empty string")
    return embedder


class _Plan(msgspec.Struct):
    """One content type's scan: what to embed, what is current, what to delete."""

    pending: list[str]
    current: int
    empty: int
    delete: list[str]
    # Pending items that have (stale) vectors to replace.
    replace: set[str] = msgspec.field(default_factory=set)


def _scan(db: Executor, content_type: ContentType, embedder: Embedder, stale_all: bool) -> _Plan:
    """Compare every item's hash with its vectors' hash (all stale if `stale_all`)."""
    stored = {} if stale_all else vector.content_hashes(db, content_type)
    prefix = _hasher(embedder)
    plan = _Plan([], 0, 0, [])
    seen: set[str] = set()
    with db.reader() as conn:
        for content_id, text in conn.execute(_ALL_TEXT[content_type]):
            seen.add(content_id)
            if not text or not text.strip():
                plan.empty += 1
                if content_id in stored:
                    plan.delete.append(content_id)
                continue
            digest = prefix.copy()
            digest.update(text.encode())
            if content_id not in stored:
                plan.pending.append(content_id)
            elif stored[content_id] == digest.hexdigest():
                plan.current += 1
            else:
                plan.pending.append(content_id)
                plan.replace.add(content_id)
    plan.delete.extend(content_id for content_id in stored if content_id not in seen)
    return plan


def pending_counts(
    db: Executor,
    embedder: Embedder,
    *,
    content_types: Iterable[ContentType | str] | None = None,
) -> PendingReport:
    """Return, per content type, how many items `index_pending(db, embedder)` would embed now.

    Reads only (for `verify` and status displays). When the index was made by another model,
    every item with text counts as pending and `model_matches` is False.
    Example: `pending_counts(db, LocalEmbedder()).pending == 0` once the index is current.

    Raises:
        InvalidData: `embedder` is not an Embedder, or an unknown content type.
        ExtensionError: sqlite-vec is not loaded.
    """
    embedder = _check_embedder(embedder)
    types = _types(content_types)
    meta = vector.get_index_config(db)
    index_model = None if meta is None else meta.model
    matches = meta is None or (
        meta.dimensions == embedder.dimensions
        and (meta.model is None or meta.model == embedder.model_name)
    )
    by_type: dict[str, PendingCounts] = {}
    for content_type in types:
        plan = _scan(db, content_type, embedder, stale_all=not matches)
        by_type[content_type.value] = PendingCounts(
            total=len(plan.pending) + plan.current,
            current=plan.current,
            pending=len(plan.pending),
            empty=plan.empty,
            orphaned=len(plan.delete),
        )
    return PendingReport(
        model=embedder.model_name,
        index_model=index_model,
        model_matches=matches,
        by_type=by_type,
        pending=sum(c.pending for c in by_type.values()),
    )


def _prepare_index(db: Executor, embedder: Embedder, reembed: bool) -> None:
    """Create the index for this model, reset it on `reembed`, refuse another model otherwise."""
    if reembed:
        vector.ensure_embeddings_table(
            db, embedder.dimensions, model=embedder.model_name, reset=True
        )
        return
    meta = vector.get_index_config(db)
    if meta is not None and (
        meta.dimensions != embedder.dimensions
        or (meta.model is not None and meta.model != embedder.model_name)
    ):
        raise InvalidData(
            f"this constellation's vectors were made by model {meta.model!r} "
            f"({meta.dimensions} dimensions), not {embedder.model_name!r} "
            f"({embedder.dimensions}); re-embed everything with index_pending(..., reembed=True) "
            "or `pattern-db index --reembed DB`"
        )
    vector.ensure_embeddings_table(db, embedder.dimensions, model=embedder.model_name)


def index_pending(
    db: Executor,
    embedder: Embedder,
    *,
    progress: Progress | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    reembed: bool = False,
    content_types: Iterable[ContentType | str] | None = None,
) -> IndexReport:
    """Embed every message, block, archival entry and passage whose vectors are missing or stale.

    Commits after each batch of `batch_size` items, so an interrupted run loses at most one
    batch and a rerun embeds only what is left. `progress(done, total)` is called with item
    counts before the first batch and after each one. `reembed=True` drops every vector first
    (the one way to switch model) and embeds every content type. `content_types` limits the
    run (default: all four). Example: `index_pending(db, LocalEmbedder()).embedded`.

    Raises:
        InvalidData: the index holds another model's vectors (pass reembed=True), a bad
            batch_size or content type, content_types with reembed, or the embedder returned
            the wrong shape.
        ExtensionError: sqlite-vec is not loaded, or the embedder's model cannot run.
    """
    started = time.perf_counter()
    embedder = _check_embedder(embedder)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidData(f"batch_size must be an int >= 1, got {batch_size!r}")
    if reembed and content_types is not None:
        raise InvalidData("reembed re-creates the whole index: leave content_types out")
    types = _types(content_types)
    _prepare_index(db, embedder, reembed)
    plans = {t: _scan(db, t, embedder, stale_all=False) for t in types}
    total = sum(len(p.pending) for p in plans.values())
    reports = {t.value: TypeReport(current=p.current, empty=p.empty) for t, p in plans.items()}
    done = 0
    if progress is not None:
        progress(0, total)
    for content_type, plan in plans.items():
        type_started = time.perf_counter()
        report = reports[content_type.value]
        if plan.delete:
            with db.writer():
                for content_id in plan.delete:
                    vector.delete_embeddings(db, content_type, content_id)
            report.removed = len(plan.delete)
        for start in range(0, len(plan.pending), batch_size):
            ids = plan.pending[start : start + batch_size]
            _embed_batch(db, embedder, content_type, ids, plan.replace, report)
            done += len(ids)
            if progress is not None:
                progress(done, total)
        report.seconds = time.perf_counter() - type_started
    values = list(reports.values())
    return IndexReport(
        model=embedder.model_name,
        dimensions=embedder.dimensions,
        reembedded=reembed,
        by_type=reports,
        embedded=sum(r.embedded for r in values),
        chunks=sum(r.chunks for r in values),
        current=sum(r.current for r in values),
        removed=sum(r.removed for r in values),
        seconds=time.perf_counter() - started,
    )


def _embed_batch(
    db: Executor,
    embedder: Embedder,
    content_type: ContentType,
    ids: Sequence[str],
    had_vectors: set[str],
    report: TypeReport,
) -> None:
    """Embed one batch of items (reading their text now) and replace their vectors at once."""
    _, split = _chunking(embedder)
    prefix = _hasher(embedder)
    with db.reader() as conn:
        rows: list[Any] = conn.execute(_SOME_TEXT[content_type], (json_text(list(ids)),)).fetchall()
    texts: dict[str, str | None] = dict(rows)
    item_ids: list[str] = []
    chunk_ids: list[str] = []
    chunk_indexes: list[int | None] = []
    hashes: list[str | None] = []
    pieces: list[str] = []
    for content_id in ids:
        text = texts.get(content_id)
        if not text or not text.strip():
            # Deleted or emptied since the scan: the next run removes any old vectors.
            continue
        digest = prefix.copy()
        digest.update(text.encode())
        item_hash = digest.hexdigest()
        chunks = split(text)
        if len(chunks) > MAX_CHUNKS:
            chunks = chunks[:MAX_CHUNKS]
            report.capped += 1
        item_ids.append(content_id)
        for index, piece in enumerate(chunks):
            chunk_ids.append(content_id)
            chunk_indexes.append(index)
            hashes.append(item_hash)
            pieces.append(piece)
    if not pieces:
        return
    matrix = np.asarray(embedder.embed(pieces), dtype=np.float32)
    if matrix.shape != (len(pieces), embedder.dimensions):
        raise InvalidData(
            f"{embedder.model_name} returned an array of shape {matrix.shape} for "
            f"{len(pieces)} texts; expected ({len(pieces)}, {embedder.dimensions})"
        )
    # One transaction: the item's old vectors go and its new chunks arrive together.
    with db.writer():
        for content_id in item_ids:
            if content_id in had_vectors:
                vector.delete_embeddings(db, content_type, content_id)
        vector.insert_embeddings(
            db,
            content_type,
            chunk_ids,
            matrix,
            chunk_indexes=chunk_indexes,
            content_hashes=hashes,
            # The vector layer takes each vector's owner from its content row.
            agent_ids=None,
        )
    report.embedded += len(item_ids)
    report.chunks += len(pieces)
