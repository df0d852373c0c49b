"""Chroma (chromadb PersistentClient), HNSW with cosine space, its default parameters.

One collection, `embedding_function=None` and every vector passed in (nothing is embedded or
downloaded), `anonymized_telemetry=False`. Metadata `{"agent": ...}`, document = text.
Bulk: `add()` in batches of `get_max_batch_size()`. k-NN: `query(query_embeddings=...)`,
approximate (HNSW, ef_search 100, M 16); within an agent: `where={"agent": ...}`. Keyword:
`get(where={"agent": ...}, where_document={"$contains": term}, limit=k)`: a substring filter,
unranked. Single insert: one `add()` per item. No transactions: the 1,000 items are one add.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bench.peers.base import Adapter, package_version
from bench.peers.workload import Items

COLLECTION = "items"


class Chroma(Adapter):
    name = "chroma"
    label = "Chroma"
    order = 30
    notes = __doc__ or ""

    def __init__(self) -> None:
        self.client: Any = None
        self.collection: Any = None

    def import_libraries(self) -> None:
        global chromadb, Settings
        import chromadb
        from chromadb.config import Settings

    def versions(self) -> dict[str, str]:
        return {"chromadb": package_version("chromadb")}

    def _client(self, path: Path) -> None:
        settings = Settings(anonymized_telemetry=False, allow_reset=False)
        self.client = chromadb.PersistentClient(path=str(path), settings=settings)

    def create(self, path: Path) -> None:
        self._client(path)
        self.collection = self.client.create_collection(
            COLLECTION, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        )

    def open(self, path: Path) -> None:
        self._client(path)
        self.collection = self.client.get_collection(COLLECTION, embedding_function=None)

    def bulk_load(self, items: Items) -> None:
        step = self.client.get_max_batch_size()
        for start in range(0, len(items), step):
            part = items.slice(start, start + step)
            self.collection.add(
                ids=part.ids,
                embeddings=part.vectors,
                documents=part.texts,
                metadatas=[{"agent": a} for a in part.agents],
            )

    def knn(self, query: np.ndarray[Any, Any], k: int, agent: str | None) -> list[str]:
        where = None if agent is None else {"agent": agent}
        found = self.collection.query(
            query_embeddings=[query], n_results=k, where=where, include=["distances"]
        )
        return list(found["ids"][0])

    def keyword(self, term: str, k: int, agent: str) -> list[str]:
        found = self.collection.get(
            where={"agent": agent}, where_document={"$contains": term}, limit=k, include=[]
        )
        return list(found["ids"])

    def insert_one(self, item_id: str, agent: str, text: str, vector: np.ndarray[Any, Any]) -> None:
        self.collection.add(
            ids=[item_id], embeddings=[vector], documents=[text], metadatas=[{"agent": agent}]
        )

    def close(self) -> None:
        if self.client is not None:
            # PersistentClient has no close(); dropping the references lets it go.
            self.collection = None
            self.client = None


ADAPTER = Chroma()
