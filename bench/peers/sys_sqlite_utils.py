"""sqlite-utils + sqlite-vec by hand: a table with FTS5 (sqlite-utils triggers) and a vec0 table.

`items(n INTEGER PRIMARY KEY, id, agent, text)` with `enable_fts(["text"], create_triggers=True)`;
`vec_items` is a vec0 table (cosine, `agent` a partition key) keyed by `n`. WAL and
synchronous=NORMAL, as sqlite-utils' docs suggest for WAL (the pragmas pattern-db uses).
Bulk: `insert_all` plus one `executemany` into vec0 in one `db.atomic()`. k-NN: vec0's
`MATCH ... AND k = ?` (brute force inside sqlite-vec, `AND agent = ?` within an agent) joined
to `items` for the ids. Keyword: `table.search(term, where="agent = :agent")` (bm25).
The stdlib sqlite3 here cannot load extensions: sqlite-utils picks pysqlite3 when installed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.peers.base import Adapter, package_version, require_pysqlite3
from bench.peers.workload import DIMENSIONS, Items

FILE = "items.db"
_KNN = (
    "SELECT i.id FROM (SELECT rowid, distance FROM vec_items WHERE embedding MATCH ? AND k = ?{}) v"
    " JOIN items i ON i.n = v.rowid ORDER BY v.distance"
)
_KNN_ALL = _KNN.format("")
_KNN_AGENT = _KNN.format(" AND agent = ?")
_INSERT_VEC = "INSERT INTO vec_items (rowid, embedding, agent) VALUES (?, ?, ?)"


def _number(item_id: str) -> int:
    return int(item_id.removeprefix("item_"))


class SqliteUtils(Adapter):
    name = "sqlite_utils"
    label = "sqlite-utils"
    order = 10
    notes = __doc__ or ""

    def __init__(self) -> None:
        self.db: Any = None

    def import_libraries(self) -> None:
        global sqlite_utils, sqlite_vec
        require_pysqlite3()  # sqlite-utils uses pysqlite3 when it is installed
        import sqlite_utils
        import sqlite_vec

    def versions(self) -> dict[str, str]:
        return {
            "sqlite-utils": package_version("sqlite-utils"),
            "sqlite-vec": package_version("sqlite-vec"),
            "pysqlite3-binary": package_version("pysqlite3-binary"),
            "sqlite": sqlite_utils.Database(memory=True)
            .execute("select sqlite_version()")
            .fetchone()[0],
        }

    def _connect(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.db = sqlite_utils.Database(path / FILE)
        self.db.conn.enable_load_extension(True)
        sqlite_vec.load(self.db.conn)
        self.db.conn.enable_load_extension(False)
        self.db.enable_wal()
        self.db.execute("PRAGMA synchronous = NORMAL")

    def create(self, path: Path) -> None:
        self._connect(path)
        items = self.db["items"]
        items.create({"n": int, "id": str, "agent": str, "text": str}, pk="n")
        items.create_index(["id"], unique=True)
        items.enable_fts(["text"], create_triggers=True)
        self.db.execute(
            f"CREATE VIRTUAL TABLE vec_items USING vec0(embedding float[{DIMENSIONS}] "
            "distance_metric=cosine, agent text partition key)"
        )

    def bulk_load(self, items: Items) -> None:
        numbers = [_number(i) for i in items.ids]
        rows = (
            {"n": n, "id": i, "agent": a, "text": t}
            for n, i, a, t in zip(numbers, items.ids, items.agents, items.texts, strict=True)
        )
        with self.db.atomic():
            self.db["items"].insert_all(rows, batch_size=1000)
            self.db.conn.executemany(
                _INSERT_VEC,
                (
                    (n, v.tobytes(), a)
                    for n, v, a in zip(numbers, items.vectors, items.agents, strict=True)
                ),
            )

    def open(self, path: Path) -> None:
        self._connect(path)

    def knn(self, query: np.ndarray[Any, Any], k: int, agent: str | None) -> list[str]:
        blob = np.asarray(query, dtype=np.float32).tobytes()
        if agent is None:
            rows = self.db.execute(_KNN_ALL, (blob, k)).fetchall()
        else:
            rows = self.db.execute(_KNN_AGENT, (blob, k, agent)).fetchall()
        return [r[0] for r in rows]

    def keyword(self, term: str, k: int, agent: str) -> list[str]:
        found = self.db["items"].search(
            term, columns=["id"], limit=k, where="agent = :agent", where_args={"agent": agent}
        )
        return [r["id"] for r in found]

    def _insert(self, item_id: str, agent: str, text: str, vector: np.ndarray[Any, Any]) -> None:
        n = _number(item_id)
        self.db["items"].insert({"n": n, "id": item_id, "agent": agent, "text": text})
        self.db.conn.execute(_INSERT_VEC, (n, vector.tobytes(), agent))

    def insert_one(self, item_id: str, agent: str, text: str, vector: np.ndarray[Any, Any]) -> None:
        with self.db.atomic():
            self._insert(item_id, agent, text, vector)

    def insert_in_transaction(
        self, items: Items, query: np.ndarray[Any, Any], k: int
    ) -> float | None:
        with self.db.atomic():
            for row in zip(items.ids, items.agents, items.texts, items.vectors, strict=True):
                self._insert(*row)
            started = time.perf_counter()
            self.knn(query, k, None)
            inside = time.perf_counter() - started
        return round(inside * 1e3, 4)

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None


ADAPTER = SqliteUtils()
