"""Exact k-NN: our knn_search (warm cache) against raw sqlite-vec and numpy on the same vectors.

Run (numpy baselines need the OpenBLAS overrides of this machine removed):
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python -m bench.bench_vector [--quick]

100k x 384 random unit float32 vectors, 10 agents, 4 content types, k = 10. Rows:
(a) `vector.knn_search` with a warm cache, (b) raw sqlite-vec KNN on a vec0 table of the same
rows through apsw, (c) numpy brute force: `M @ q` plus argpartition on the full matrix (`c`),
and for the agent-scoped rows also on a contiguous copy of that agent's rows (`c_sub`, the
strict limit).
Also: recall of (a) against (c), agreement of (a) with (b), the first queries of a fresh handle
(cold cache), an explicit cache load, and the bulk insert rate beside raw apsw inserts.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import apsw
import numpy as np

from bench._util import report
from pattern_db import ConstellationDb, vector
from pattern_db._vec_loader import wheel_library

K = 10
DIMENSIONS = 384
AGENTS = [f"agent_{i}" for i in range(10)]
TYPES = list(vector.ContentType)

_RAW_KNN = "SELECT rowid, distance FROM embeddings WHERE embedding MATCH ? AND k = ?"
_RAW_KNN_AGENT = _RAW_KNN + " AND agent_id = ?"


def blas_info() -> dict[str, Any]:
    """Return the BLAS kernel in use: threadpoolctl's report if installed, else OpenBLAS's own."""
    try:
        import threadpoolctl  # type: ignore[import-not-found]
    except ImportError:
        pass
    else:
        info = threadpoolctl.threadpool_info()
        return {"source": "threadpoolctl", "libraries": info}
    for line in Path("/proc/self/maps").read_text().splitlines():
        path = line.split()[-1]
        if "openblas" in Path(path).name and ".so" in path:
            lib = ctypes.CDLL(path)
            for name in ("scipy_openblas_get_corename64_", "openblas_get_corename"):
                fn = getattr(lib, name, None)
                if fn is not None:
                    fn.restype = ctypes.c_char_p
                    return {"source": f"threadpoolctl absent; {name}", "corename": fn().decode()}
    return {"source": "threadpoolctl absent; no OpenBLAS found"}


def per_query_median(fn: Callable[[int], object], queries: int, *, warmup: int = 3) -> float:
    """Return the median seconds of fn(i) over i in range(queries), after a few warmup calls."""
    for i in range(warmup):
        fn(i % queries)
    times = []
    for i in range(queries):
        started = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def numpy_top(matrix: np.ndarray[Any, Any], q: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Return the row numbers of the k largest dot products (unit vectors: smallest cosine)."""
    scores = matrix @ q
    top = np.argpartition(-scores, K - 1)[:K]
    ordered: np.ndarray[Any, Any] = top[np.argsort(-scores[top])]
    return ordered


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench_vector")
    parser.add_argument("--quick", action="store_true", help="10k vectors, fewer queries")
    parser.add_argument("--rows", type=int, default=None)
    args = parser.parse_args(argv)
    n = args.rows or (10_000 if args.quick else 100_000)
    queries = 10 if args.quick else 50
    blas = blas_info()
    print(f"BLAS: {blas}")
    overrides = {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_")}
    if overrides:
        print(f"warning: OpenBLAS overrides set ({overrides}); numpy runs slower than it can")

    rng = np.random.default_rng(42)
    matrix = rng.standard_normal((n, DIMENSIONS), dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    agent_of = rng.integers(0, len(AGENTS), n)
    type_of = rng.integers(0, len(TYPES), n)
    qs = rng.standard_normal((queries, DIMENSIONS), dtype=np.float32)
    qs /= np.linalg.norm(qs, axis=1, keepdims=True)
    content_ids = [f"c{i:07d}" for i in range(n)]

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        rows: list[dict[str, Any]] = []
        with ConstellationDb.open(path) as db:
            vector.ensure_embeddings_table(db, DIMENSIONS, model="random-unit")
            started = time.perf_counter()
            # One call per content type (a quarter of the rows each), as an indexer would.
            for t, ctype in enumerate(TYPES):
                part = np.flatnonzero(type_of == t)
                vector.insert_embeddings(
                    db,
                    ctype,
                    [content_ids[i] for i in part],
                    matrix[part],
                    agent_ids=[AGENTS[a] for a in agent_of[part]],
                )
            ours_insert = n / (time.perf_counter() - started)
        raw_insert = _raw_insert_rate(Path(tmp) / "raw.db", matrix, agent_of, type_of)
        rows.append(
            {"measure": "bulk insert rows/s", "a_ours": ours_insert, "b_sqlite_vec": raw_insert}
        )

        with ConstellationDb.open(path) as db:
            cold = []
            for i in range(3):
                started = time.perf_counter()
                vector.knn_search(db, qs[i], K)
                cold.append(time.perf_counter() - started)
        with ConstellationDb.open(path) as db:
            started = time.perf_counter()
            loaded = vector.warm_vector_cache(db)
            load_seconds = time.perf_counter() - started
            assert loaded == n, (loaded, n)
            rows += _query_rows(db, Path(tmp) / "raw.db", matrix, agent_of, qs, content_ids)
        rows.append({"measure": "cold 1st query ms (SQL scan)", "a_ours": cold[0] * 1e3})
        rows.append({"measure": "cold 2nd query ms (loads cache)", "a_ours": cold[1] * 1e3})
        rows.append({"measure": "cold 3rd query ms (warm)", "a_ours": cold[2] * 1e3})
        rows.append({"measure": "warm_vector_cache ms", "a_ours": load_seconds * 1e3})
    columns = list(dict.fromkeys(key for row in rows for key in row))
    report(
        "vector",
        [{key: row.get(key) for key in columns} for row in rows],
        notes=(
            f"{n} x {DIMENSIONS} float32, {len(AGENTS)} agents, {len(TYPES)} types, k={K}, "
            f"{queries} queries; BLAS {blas}; file database (OS page cache warm)"
        ),
    )


def _query_rows(
    db: ConstellationDb,
    raw_path: Path,
    matrix: np.ndarray[Any, Any],
    agent_of: np.ndarray[Any, Any],
    qs: np.ndarray[Any, Any],
    content_ids: list[str],
) -> list[dict[str, Any]]:
    queries = len(qs)
    index_of = {cid: i for i, cid in enumerate(content_ids)}
    sub = {a: np.ascontiguousarray(matrix[agent_of == a]) for a in range(len(AGENTS))}
    sub_rows = {a: np.flatnonzero(agent_of == a) for a in range(len(AGENTS))}
    # Raw sqlite-vec: the vec0 table `_raw_insert_rate` filled with the same rows (rowid i + 1).
    raw = apsw.Connection(str(raw_path), flags=apsw.SQLITE_OPEN_READONLY)
    raw.enable_load_extension(True)
    raw.load_extension(wheel_library())
    content_of_rowid = {i + 1: cid for i, cid in enumerate(content_ids)}
    out = []
    try:
        for scoped in (False, True):

            def agent(i: int) -> int:
                return i % len(AGENTS)

            def ours(i: int, scoped: bool = scoped) -> list[vector.VectorSearchResult]:
                return vector.knn_search(
                    db, qs[i], K, agent_id=AGENTS[agent(i)] if scoped else None
                )

            def sqlite_vec(i: int, scoped: bool = scoped) -> list[Any]:
                if scoped:
                    args = (qs[i].tobytes(), K, AGENTS[agent(i)])
                    return raw.execute(_RAW_KNN_AGENT, args).fetchall()
                return raw.execute(_RAW_KNN, (qs[i].tobytes(), K)).fetchall()

            def numpy_full(i: int, scoped: bool = scoped) -> np.ndarray[Any, Any]:
                if not scoped:
                    return numpy_top(matrix, qs[i])
                scores = matrix @ qs[i]
                scores[agent_of != agent(i)] = -np.inf
                top = np.argpartition(-scores, K - 1)[:K]
                ordered: np.ndarray[Any, Any] = top[np.argsort(-scores[top])]
                return ordered

            def numpy_sub(i: int) -> np.ndarray[Any, Any]:
                return sub_rows[agent(i)][numpy_top(sub[agent(i)], qs[i])]

            a = per_query_median(ours, queries)
            b = per_query_median(sqlite_vec, min(queries, 20))
            c = per_query_median(numpy_full, queries)
            c_sub = per_query_median(numpy_sub, queries) if scoped else c
            recall, same_as_b = [], 0
            for i in range(queries):
                got = [index_of[r.content_id] for r in ours(i)]
                want = numpy_full(i).tolist()
                recall.append(len(set(got) & set(want)) / K)
                from_b = [content_of_rowid[r[0]] for r in sqlite_vec(i)]
                same_as_b += int(from_b == [r.content_id for r in ours(i)])
            out.append(
                {
                    "measure": f"k={K} query ms, {'one agent' if scoped else 'unscoped'}",
                    "a_ours": a * 1e3,
                    "b_sqlite_vec": b * 1e3,
                    "c_numpy": c * 1e3,
                    "c_sub": c_sub * 1e3,
                    "a_over_c": a / c,
                    "a_over_c_sub": a / c_sub,
                    "b_over_a": b / a,
                    "recall_a_vs_c": statistics.mean(recall),
                    "a_equals_b": same_as_b / queries,
                }
            )
    finally:
        raw.close()
    return out


def _raw_insert_rate(
    path: Path,
    matrix: np.ndarray[Any, Any],
    agent_of: np.ndarray[Any, Any],
    type_of: np.ndarray[Any, Any],
) -> float:
    """Insert the same rows into an identical vec0 table with raw apsw; return rows/s."""
    conn = apsw.Connection(str(path))
    try:
        # The pragmas ConstellationDb sets, so both sides get the same page cache.
        for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "cache_size = -64000"):
            conn.execute(f"PRAGMA {pragma}").fetchall()
        conn.enable_load_extension(True)
        conn.load_extension(wheel_library())
        conn.execute(
            f"CREATE VIRTUAL TABLE embeddings USING vec0(embedding float[{DIMENSIONS}] "
            "distance_metric=cosine, agent_id text partition key, content_type text)"
        )
        started = time.perf_counter()
        with conn:
            conn.executemany(
                "INSERT INTO embeddings (rowid, embedding, agent_id, content_type) "
                "VALUES (?, ?, ?, ?)",
                (
                    (i + 1, matrix[i].tobytes(), AGENTS[agent_of[i]], TYPES[type_of[i]].value)
                    for i in range(len(matrix))
                ),
            )
        return len(matrix) / (time.perf_counter() - started)
    finally:
        conn.close()


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
