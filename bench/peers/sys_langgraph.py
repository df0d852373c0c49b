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

from bench.peers.base import package_version, require_pysqlite3
from bench.peers.lookup import BaseStoreAdapter
from bench.peers.workload import DIMENSIONS

FILE = "store.db"


class LangGraph(BaseStoreAdapter):
    name = "langgraph"
    label = "LangGraph"
    order = 20
    notes = __doc__ or ""

    def __init__(self) -> None:
        super().__init__()
        self.conn: Any = None

    def import_libraries(self) -> None:
        global dbapi2, SqliteStore
        dbapi2 = require_pysqlite3()
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

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
            self.store = None


ADAPTER = LangGraph()
