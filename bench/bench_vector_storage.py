"""Disk size and single-insert rate of vectors, pattern-db's table against sqlite-vec's vec0.

Run: .venv/bin/python -m bench.bench_vector_storage [--quick]

10k vectors of 384 float32 each, inserted one call at a time (the seed's `insert_embedding`), in
three owner mixes: no agent, one agent, 1,000 agents with ten vectors each; then a churn round
(every vector of the one-agent mix replaced twice, as re-embedding edited memory does). Rows:
pattern-db (`vector.insert_embedding`, a plain table) and the layout pattern-db 0.1 used (a vec0
table with the agent as partition key, one raw apsw insert per vector, the same rows). Sizes are
the file after a WAL checkpoint minus the empty file, against the raw float32 bytes. The vec0
runs stop once their file passes `--cap-mib` (its growth is then extrapolated per vector), since
a vec0 chunk per NULL or sparse key would otherwise need gigabytes of disk.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import apsw
import numpy as np

from bench._util import report
from pattern_db import ConstellationDb, vector
from pattern_db._vec_loader import wheel_library

DIMENSIONS = 384
MIXES = {
    "no agent": lambda i: None,
    "one agent": lambda i: "agent_0",
    "1000 agents": lambda i: f"agent_{i % 1000}",
}


def _size(path: Path) -> int:
    return path.stat().st_size


def _ours(path: Path, matrix: np.ndarray[Any, Any], mix: str, churn: bool) -> dict[str, Any]:
    owner = MIXES[mix]
    n = len(matrix)
    with ConstellationDb.open(path) as db:
        vector.ensure_embeddings_table(db, DIMENSIONS, model="random")
        db.checkpoint()
        empty = _size(path)
        started = time.perf_counter()
        for i in range(n):
            vector.insert_embedding(db, "message", f"m{i}", matrix[i], agent_id=owner(i))
        seconds = time.perf_counter() - started
        churn_seconds = 0.0
        if churn:
            started = time.perf_counter()
            for _ in range(2):
                for i in range(n):
                    vector.update_embedding(db, "message", f"m{i}", matrix[(i + 1) % n])
            churn_seconds = time.perf_counter() - started
        db.checkpoint()
        grown = _size(path) - empty
    return {
        "inserts_per_s": n / seconds,
        "bytes": grown,
        "churn_updates_per_s": _rate(n, churn_seconds),
    }


def _vec0(
    path: Path, matrix: np.ndarray[Any, Any], mix: str, churn: bool, cap: int
) -> dict[str, Any]:
    owner = MIXES[mix]
    n = len(matrix)
    conn = apsw.Connection(str(path))
    try:
        for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "cache_size = -64000"):
            conn.execute(f"PRAGMA {pragma}").fetchall()
        conn.enable_load_extension(True)
        conn.load_extension(wheel_library())
        conn.execute(
            f"CREATE VIRTUAL TABLE embeddings USING vec0(embedding float[{DIMENSIONS}] "
            "distance_metric=cosine, agent_id text partition key, content_type text)"
        )
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        empty = _size(path)
        insert = (
            "INSERT INTO embeddings (rowid, embedding, agent_id, content_type) VALUES (?,?,?,?)"
        )
        started = time.perf_counter()
        done = 0
        for i in range(n):
            conn.execute(insert, (i + 1, matrix[i].tobytes(), owner(i), "message"))
            done += 1
            if done % 50 == 0 and _size(path) + _size(Path(f"{path}-wal")) > cap:
                break  # past what 10k vectors can explain: extrapolate
        seconds = time.perf_counter() - started
        churn_seconds = 0.0
        if churn and done == n:
            started = time.perf_counter()
            rowid = n
            for _ in range(2):
                for i in range(n):
                    rowid += 1
                    with conn:
                        conn.execute("DELETE FROM embeddings WHERE rowid = ?", (rowid - n,))
                        conn.execute(insert, (rowid, matrix[i].tobytes(), owner(i), "message"))
            churn_seconds = time.perf_counter() - started
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        grown = _size(path) - empty
    finally:
        conn.close()
    return {
        "inserts_per_s": done / seconds,
        "bytes": grown * n // done,
        "extrapolated_from": done if done < n else None,
        "churn_updates_per_s": _rate(n, churn_seconds),
    }


def _rate(n: int, seconds: float) -> float | None:
    return 2 * n / seconds if seconds else None


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench_vector_storage")
    parser.add_argument("--quick", action="store_true", help="2,000 vectors instead of 10,000")
    parser.add_argument("--cap-mib", type=int, default=400, help="stop a vec0 run past this")
    args = parser.parse_args(argv)
    n = 2_000 if args.quick else 10_000
    matrix = np.random.default_rng(7).standard_normal((n, DIMENSIONS), dtype=np.float32)
    raw = n * DIMENSIONS * 4
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for mix in MIXES:
            churn = mix == "one agent"
            for layout in ("pattern-db table", "vec0 partition key"):
                path = Path(tmp) / f"{layout}-{mix}.db".replace(" ", "_")
                if layout == "pattern-db table":
                    got = _ours(path, matrix, mix, churn)
                else:
                    got = _vec0(path, matrix, mix, churn, args.cap_mib << 20)
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
                rows.append(
                    {
                        "mix": mix,
                        "layout": layout,
                        "MiB": got["bytes"] / 2**20,
                        "x_raw": got["bytes"] / raw,
                        "inserts_per_s": got["inserts_per_s"],
                        "churn_updates_per_s": got["churn_updates_per_s"],
                        "extrapolated_from": got.get("extrapolated_from"),
                    }
                )
                print(rows[-1], flush=True)
    report(
        "vector_storage",
        rows,
        notes=(
            f"{n} x {DIMENSIONS} float32 ({raw / 2**20:.1f} MiB raw), one insert call per vector "
            "(autocommit); sizes: file growth after a WAL checkpoint; churn: every vector of the "
            "one-agent mix replaced twice, sizes measured after it"
        ),
    )


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
