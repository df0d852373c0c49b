"""Child process for test_coexistence: pattern-db and another SQLite library both use sqlite-vec.

Usage: `python coexistence_child.py ORDER OTHER DB_PATH` with ORDER `ours-first` or
`other-first` and OTHER `pysqlite3` or `sqlite3`. Prints one JSON object of what every KNN query
returned; a crash shows as a negative exit code in the parent.
"""

from __future__ import annotations

import importlib
import json
import struct
import sys
import threading
from typing import Any

import apsw
import sqlite_vec

from pattern_db import ConstellationDb, _vec_loader, vector

OUR_QUERY = [3.2, 0.0, 0.0]
OTHER_QUERY = struct.pack("3f", 0.0, 4.4, 0.0)
# sqlite-vec's own distance function through a pattern-db connection (no query code between).
OUR_RAW_KNN = (
    "SELECT content_id FROM embeddings ORDER BY vec_distance_l2(embedding, ?), content_id LIMIT 3"
)
OUR_VEC0 = "SELECT rowid FROM t WHERE e MATCH ? AND k = 3 ORDER BY distance"
OTHER_KNN = "SELECT rowid FROM v WHERE e MATCH ? AND k = 2 ORDER BY distance"


def open_ours(path: str) -> ConstellationDb:
    db = ConstellationDb.open(path)
    if vector.get_index_config(db) is None:
        vector.ensure_embeddings_table(db, 3, metric="l2")
        for i in range(1, 7):
            vector.insert_embedding(db, "message", f"m{i}", [float(i), 0.0, 0.0])
    return db


def ours_knn(db: ConstellationDb) -> list[str]:
    """KNN through pattern-db's SQL path (inside a transaction), its distance function on a reader,
    and a vec0 table on an apsw connection that loaded sqlite-vec the way pattern-db does."""
    with db.transaction() as tx:
        found = [r.content_id for r in vector.knn_search(tx, OUR_QUERY, 3)]
    with db.reader() as conn:
        raw = [row[0] for row in conn.execute(OUR_RAW_KNN, (struct.pack("3f", *OUR_QUERY),))]
    assert raw == found, (raw, found)
    mem = apsw.Connection(":memory:")
    try:
        _vec_loader.load_into(mem, str(sqlite_vec.loadable_path()))
        mem.execute("CREATE VIRTUAL TABLE t USING vec0(e float[3])")
        for i in range(1, 7):
            mem.execute("INSERT INTO t(rowid, e) VALUES (?, ?)", (i, struct.pack("3f", i, 0, 0)))
        vec0 = [row[0] for row in mem.execute(OUR_VEC0, (struct.pack("3f", *OUR_QUERY),))]
    finally:
        mem.close()
    assert vec0 == [3, 4, 2], vec0
    return found


def connect_other(module: Any) -> Any:
    conn = module.connect(":memory:")
    conn.enable_load_extension(True)
    sqlite_vec.load(conn)
    conn.enable_load_extension(False)
    conn.execute("CREATE VIRTUAL TABLE v USING vec0(e float[3])")
    for i in range(1, 7):
        conn.execute("INSERT INTO v(rowid, e) VALUES (?, ?)", (i, struct.pack("3f", 0, i, 0)))
    return conn


def other_knn(conn: Any) -> list[int]:
    return [row[0] for row in conn.execute(OTHER_KNN, (OTHER_QUERY,))]


def threads(db: ConstellationDb, module: Any, out: dict[str, Any]) -> None:
    """Four threads, each with its own reader and its own other-library connections."""
    results: list[list[Any]] = []
    lock = threading.Lock()

    def work() -> None:
        mine: list[Any] = []
        for _ in range(5):
            other = connect_other(module)
            mine.append(ours_knn(db))
            mine.append(other_knn(other))
            other.close()
        with lock:
            results.append(mine)

    workers = [threading.Thread(target=work) for _ in range(4)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    out["threads"] = sorted({json.dumps(r) for rs in results for r in rs})
    out["thread_count"] = len(results)


def main(order: str, other_name: str, path: str) -> None:
    module = importlib.import_module("pysqlite3.dbapi2" if other_name == "pysqlite3" else "sqlite3")
    out: dict[str, Any] = {}
    if order == "ours-first":
        db = open_ours(path)
        out["ours_alone"] = ours_knn(db)
        other = connect_other(module)
    else:
        other = connect_other(module)
        out["other_alone"] = other_knn(other)
        db = open_ours(path)
    # Both have loaded sqlite-vec now: interleave queries, new connections on both sides.
    rounds = []
    for _ in range(3):
        second = connect_other(module)
        with ConstellationDb.open(path) as again:
            rounds.append([ours_knn(db), other_knn(other), ours_knn(again), other_knn(second)])
        second.close()
        rounds.append([vector.init_sqlite_vec(), other_knn(other), ours_knn(db)])
    out["rounds"] = rounds
    threads(db, module, out)
    loaded, reason = _vec_loader.private_library(sqlite_vec.loadable_path())
    with open("/proc/self/maps") as maps:
        objects = {line.split(None, 5)[-1].strip() for line in maps if "vec" in line}
    out["private"] = {
        "loaded": loaded.startswith("/proc/self/fd/"),
        "fallback": reason,
        "memfd_mapped": "/memfd:pattern-db-sqlite-vec (deleted)" in objects,
        "wheel_mapped": sqlite_vec.loadable_path() + ".so" in objects,
    }
    other.close()
    db.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main(*sys.argv[1:4])
