"""pattern-db: items as agent-owned messages (text in content_preview, FTS5) with message vectors.

Bulk: `ingest.create_messages(db, chunk, embeddings=vectors)`: messages, FTS and vectors of a
chunk in one transaction.
k-NN: `vector.knn_search` (exact; the per-handle cache answers once loaded, the first query of a
handle is a SQL scan); within an agent: `agent_id=` (the agent's scope, filtered inside the
search). Keyword: `fts.search_messages(db, term, agent_id)` (bm25, snippets). Single insert:
message + vector in one `db.transaction()`. Inside a transaction, `knn_search(tx, ...)` uses SQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bench.peers.base import Adapter, package_version
from bench.peers.workload import AGENTS, DIMENSIONS, Items

FILE = "constellation.db"


class PatternDb(Adapter):
    name = "pattern_db"
    label = "pattern-db"
    order = 0
    notes = __doc__ or ""

    def __init__(self) -> None:
        self.db: Any = None

    def import_libraries(self) -> None:
        global ConstellationDb, Message, Agent, MessageRole, fts, ingest, vector, create_agent, mq
        from pattern_db import fts, ingest, vector
        from pattern_db.connection import ConstellationDb
        from pattern_db.models import Agent, Message, MessageRole
        from pattern_db.queries import message as mq
        from pattern_db.queries.agent import create_agent

    def versions(self) -> dict[str, str]:
        import apsw

        return {
            "pattern-db": package_version("pattern-db"),
            "apsw": package_version("apsw"),
            "sqlite": apsw.sqlite_lib_version(),
            "sqlite-vec": package_version("sqlite-vec"),
        }

    def create(self, path: Path) -> None:
        self.db = ConstellationDb.open(path / FILE)
        vector.ensure_embeddings_table(self.db, DIMENSIONS, model="bench-clustered")
        with self.db.transaction() as tx:
            for agent in AGENTS:
                create_agent(tx, Agent(id=agent, name=agent, model_provider="x", model_name="x"))

    def _message(self, item_id: str, agent: str, text: str) -> Any:
        return Message(
            id=item_id,
            agent_id=agent,
            role=MessageRole.USER,
            content_json={"text": text},
            content_preview=text,
        )

    def bulk_load(self, items: Items) -> None:
        messages = [
            self._message(*row) for row in zip(items.ids, items.agents, items.texts, strict=True)
        ]
        ingest.create_messages(self.db, messages, embeddings=items.vectors)

    def open(self, path: Path) -> None:
        self.db = ConstellationDb.open(path / FILE)

    def knn(self, query: np.ndarray[Any, Any], k: int, agent: str | None) -> list[str]:
        found = vector.knn_search(self.db, query, k, vector.ContentType.MESSAGE, agent_id=agent)
        return [r.content_id for r in found]

    def keyword(self, term: str, k: int, agent: str) -> list[str]:
        return [m.id for m in fts.search_messages(self.db, term, agent, k)]

    def insert_one(
        self, item_id: str, agent: str, text: str, vector_: np.ndarray[Any, Any]
    ) -> None:
        with self.db.transaction() as tx:
            mq.create_message(tx, self._message(item_id, agent, text))
            vector.insert_embedding(tx, vector.ContentType.MESSAGE, item_id, vector_)

    def insert_in_transaction(
        self, items: Items, query: np.ndarray[Any, Any], k: int
    ) -> float | None:
        import time

        with self.db.transaction() as tx:
            for row in zip(items.ids, items.agents, items.texts, items.vectors, strict=True):
                mq.create_message(tx, self._message(*row[:3]))
                vector.insert_embedding(tx, vector.ContentType.MESSAGE, row[0], row[3])
            started = time.perf_counter()
            vector.knn_search(tx, query, k, vector.ContentType.MESSAGE)
            inside = time.perf_counter() - started
        return round(inside * 1e3, 4)

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None


ADAPTER = PatternDb()
