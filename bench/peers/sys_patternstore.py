"""pattern-db's LangGraph store (`pattern_db.integrations.langgraph.PatternStore`), as LangGraph's.

The same calls as the LangGraph column: `put((agent,), id, {"text": ..., "agent": ...})` with
index `{"dims": 384, "embed": fn, "fields": ["text"]}` (`fn` returns the workload's vectors),
`query_mode="vector"` for k-NN, a second store on the same database without an index for
keyword search (FTS5, bm25). Bulk: one `batch()` of PutOps per chunk (one transaction, vectors
in bulk). Items are archival entries of the constellation owner; a namespace is checked in SQL
after ranking (the store asks for more candidates until the page is full).
Skipped when `pattern_db.integrations.langgraph` is not importable (the `langgraph` extra).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.peers.base import package_version
from bench.peers.lookup import BaseStoreAdapter
from bench.peers.workload import DIMENSIONS

FILE = "constellation.db"


class PatternStoreAdapter(BaseStoreAdapter):
    name = "patternstore"
    label = "PatternStore"
    order = 5
    notes = __doc__ or ""

    def __init__(self) -> None:
        super().__init__()
        self.db: Any = None
        self.keywords: Any = None

    def import_libraries(self) -> None:
        global ConstellationDb, PatternStore
        try:
            from pattern_db.integrations.langgraph import PatternStore
        except ImportError as exc:
            raise ImportError(
                "pattern_db.integrations.langgraph is not importable "
                f"({exc}); it needs the `langgraph` extra (`pip install -e '.[langgraph]'`)"
            ) from exc
        from pattern_db.connection import ConstellationDb

    def versions(self) -> dict[str, str]:
        return {
            "pattern-db": package_version("pattern-db"),
            "langgraph-checkpoint": package_version("langgraph-checkpoint"),
        }

    def open(self, path: Path) -> None:
        self.db = ConstellationDb.open(path / FILE)
        index = {"dims": DIMENSIONS, "embed": self.embed, "fields": ["text"]}
        self.store = PatternStore(self.db, index=index, query_mode="vector")  # type: ignore[arg-type]
        self.keywords = PatternStore(self.db)

    def create(self, path: Path) -> None:
        self.open(path)

    def keyword(self, term: str, k: int, agent: str) -> list[str]:
        return [item.key for item in self.keywords.search((agent,), query=term, limit=k)]

    def close(self) -> None:
        for store in (self.store, self.keywords):
            if store is not None:
                store.close()
        self.store = self.keywords = None
        if self.db is not None:
            self.db.close()
            self.db = None


ADAPTER = PatternStoreAdapter()
