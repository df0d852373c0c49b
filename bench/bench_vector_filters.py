"""Filtered scans of the vector cache: one product per selection or many small ones.

Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python -m bench.bench_vector_filters
    [--quick] [--src PATH]   (--src: import pattern_db from another checkout, for a before/after)

The cache's matrix (`VectorStore`, no database) holds 100k x 384 unit vectors laid out by owner
and content type, as a load lays them out. Layouts: `messages` (10 agents, every row a message,
the peers workload), `mixed` (10 agents x 4 types), `many` (40 agents x 4 types). Each query
asks for k=10 with a content-type filter alone, with an agent, and unfiltered; the floor is
numpy's one product over a contiguous matrix of as many rows as the filter selects. Each layout
runs in a child process per BLAS thread setting (OpenBLAS's default, one per core, and 1).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

N = 100_000
DIMENSIONS = 384
K = 10
LAYOUTS = {"messages": (10, 1), "mixed": (10, 4), "many": (40, 4)}


def _child(layout: str, n: int, queries: int) -> dict[str, Any]:
    import numpy as np

    from pattern_db.search.vector.core import CONTENT_TYPES, Scope
    from pattern_db.search.vector.store import TYPE_CODES, VectorStore

    agents, types = LAYOUTS[layout]
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((n, DIMENSIONS)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    rows = [
        (
            i + 1,
            CONTENT_TYPES[i % types].value,
            f"c{i}",
            None,
            f"agent_{(i // types) % agents}",
            None,
        )
        for i in range(n)
    ]
    store = VectorStore(DIMENSIONS, "cosine")
    store.fill(store.lay_out(rows), matrix)
    store.finish([])
    qs = rng.standard_normal((queries, DIMENSIONS)).astype(np.float32)
    message = TYPE_CODES[CONTENT_TYPES[0].value]
    scope = Scope.of_agent("agent_1", include_shared=False, folders=(), shared=())
    selected = n // types

    def median_ms(fn: Any) -> float:
        for i in range(3):
            fn(qs[i])
        times = []
        for q in qs:
            started = time.perf_counter()
            fn(q)
            times.append(time.perf_counter() - started)
        return round(statistics.median(times) * 1e3, 3)

    floor = np.ascontiguousarray(matrix[:selected])
    return {
        "layout": layout,
        "type_filter_ms": median_ms(lambda q: store.search(q, K, message, None)),
        "type_floor_ms": median_ms(lambda q: np.argpartition(floor @ q, -K)[-K:]),
        "agent_type_ms": median_ms(lambda q: store.search(q, K, message, scope)),
        "unfiltered_ms": median_ms(lambda q: store.search(q, K, None, None)),
        "unfiltered_floor_ms": median_ms(lambda q: np.argpartition(matrix @ q, -K)[-K:]),
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench.bench_vector_filters")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--src", default=None, help="the src folder to import pattern_db from")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--label", default="this checkout")
    parser.add_argument("--out", default=None, help="write the rows to this JSON file")
    args = parser.parse_args(argv)
    n, queries = (20_000, 15) if args.quick else (N, 40)
    if args.child:
        print("RESULT " + json.dumps(_child(args.child, n, queries)), flush=True)
        return
    src = args.src or str(Path(__file__).resolve().parents[1] / "src")
    rows = []
    for threads in ("default", "1"):
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENBLAS_")}
        env["PYTHONPATH"] = os.pathsep.join([src, str(Path(__file__).resolve().parents[1])])
        if threads != "default":
            env["OPENBLAS_NUM_THREADS"] = threads
        for layout in LAYOUTS:
            cmd = [sys.executable, "-m", "bench.bench_vector_filters", "--child", layout]
            if args.quick:
                cmd.append("--quick")
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
            row = {"code": args.label, "blas_threads": threads, **json.loads(line[7:])}
            print(row, flush=True)
            rows.append(row)
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
