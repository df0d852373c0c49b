"""LangGraph's SqliteStore (langgraph-checkpoint-sqlite) with its vector `index` config.

Items are `put((agent,), id, {"text": ..., "agent": ...})`, index `{"dims": 384, "embed": fn,
"text_fields": ["text"]}` (SqliteStore reads `text_fields` and ignores IndexConfig's `fields`),
`fn` returning the workload's vector of each text (`lookup`). Its own defaults otherwise
(rollback journal, synchronous FULL). Bulk: one `batch()` of PutOps per chunk
(one transaction). k-NN: `search((), query=...)` / `search((agent,), query=...)`: a full scan of
`vec_distance_cosine` over the `store_vectors` rows, exact. No keyword search. The stdlib
sqlite3 here cannot load extensions: the store gets a pysqlite3 connection (as LangGraph users
do), opened like `from_conn_string` (autocommit, check_same_thread=False).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bench.peers.base import Adapter, package_version
from bench.peers.lookup import LookupEmbed
from bench.peers.workload import DIMENSIONS, Items

FILE = "store.db"


class LangGraph(Adapter):
    name = "langgraph"
    label = "LangGraph"
    order = 20
    notes = __doc__ or ""

    def __init__(self) -> None:
        self.store: Any = None
        self.conn: Any = None
        self.embed = LookupEmbed()

    def import_libraries(self) -> None:
        global dbapi2, SqliteStore, PutOp
        try:
            from pysqlite3 import dbapi2
        except ImportError as exc:
            raise ImportError(
                "pysqlite3-binary is missing (stdlib sqlite3 cannot load sqlite-vec here): "
                "install the bench extra"
            ) from exc
        from langgraph.store.base import PutOp
        from langgraph.store.sqlite import SqliteStore

    def versions(self) -> dict[str, str]:
        return {
            "langgraph-checkpoint-sqlite": package_version("langgraph-checkpoint-sqlite"),
            "langgraph-checkpoint": package_version("langgraph-checkpoint"),
            "sqlite-vec": package_version("sqlite-vec"),
            "sqlite": dbapi2.sqlite_version,
        }

    def open(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.conn = dbapi2.connect(str(path / FILE), check_same_thread=False, isolation_level=None)
        # SqliteStore reads `text_fields`, not IndexConfig's `fields` (which it ignores).
        index = {
            "dims": DIMENSIONS,
            "embed": self.embed,
            "fields": ["text"],
            "text_fields": ["text"],
        }
        self.store = SqliteStore(self.conn, index=index)  # type: ignore[arg-type]
        self.store.setup()

    def create(self, path: Path) -> None:
        self.open(path)

    def bulk_load(self, items: Items) -> None:
        self.embed.expect(items)
        self.store.batch(
            [
                PutOp(namespace=(a,), key=i, value={"text": t, "agent": a})
                for i, a, t in zip(items.ids, items.agents, items.texts, strict=True)
            ]
        )

    def knn(self, query: np.ndarray[Any, Any], k: int, agent: str | None) -> list[str]:
        prefix = () if agent is None else (agent,)
        found = self.store.search(prefix, query=self.embed.token(query), limit=k)
        return [item.key for item in found]

    def insert_one(self, item_id: str, agent: str, text: str, vector: np.ndarray[Any, Any]) -> None:
        self.embed.expect_one(text, vector)
        self.store.put((agent,), item_id, {"text": text, "agent": agent})

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
            self.store = None


ADAPTER = LangGraph()
