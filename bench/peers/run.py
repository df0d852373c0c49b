"""One measurement of one system in a fresh process; prints one `PEERS_RESULT {json}` line.

Run by `python -m bench.peers` (the driver), or by hand:
    python -m bench.peers.run pattern_db load --data /tmp/peers/w10000 --store /tmp/peers/s/pdb

Phases:
* `load`: create the store, bulk load every item in chunks; items/s and bytes on disk. Stops
  early (reported) when the store grows past `--max-bytes`.
* `cold`: open the existing store and run one k=10 query, timed from before the open.
* `memory`: VmRSS after the imports, then after open + 3 k=10 queries (and VmHWM).
* `warm`: k=10 unscoped, k=10 within an agent and keyword queries (median ms, ids returned),
  then single inserts (p50/p99), then inserts in one transaction and the first query after it.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

# Nothing may reach a network: no model download, no telemetry.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import numpy as np  # noqa: E402

from bench.peers import workload as wl  # noqa: E402
from bench.peers.base import (  # noqa: E402
    Adapter,
    Unsupported,
    folder_bytes,
    load_adapter,
    proc_status,
)

CHUNK = 10_000
MEASURE_SECONDS = 8.0
MIN_SAMPLES = 5


def _ms(seconds: float) -> float:
    return round(seconds * 1e3, 4)


def timed_queries(fn: Callable[[int], list[str]], count: int) -> dict[str, Any]:
    """Run fn(i) for i < count (1 warmup), stopping after MEASURE_SECONDS; median ms and ids."""
    fn(0)
    times, ids = [], []
    spent = 0.0
    for i in range(count):
        started = time.perf_counter()
        found = fn(i)
        elapsed = time.perf_counter() - started
        times.append(elapsed)
        ids.append(found)
        spent += elapsed
        if spent > MEASURE_SECONDS and len(times) >= MIN_SAMPLES:
            break
    return {"ms": _ms(statistics.median(times)), "samples": len(times), "ids": ids}


def phase_load(adapter: Adapter, args: argparse.Namespace) -> dict[str, Any]:
    items = wl.load_items(args.data)
    # Reading the files is not the system's work; materialise the vectors before timing.
    items.vectors = np.ascontiguousarray(items.vectors)
    adapter.create(args.store)
    started = time.perf_counter()
    loaded, stopped = 0, None
    for start in range(0, len(items), CHUNK):
        adapter.bulk_load(items.slice(start, start + CHUNK))
        loaded = min(len(items), start + CHUNK)
        if args.max_bytes and folder_bytes(args.store) > args.max_bytes:
            stopped = f"store passed {args.max_bytes} bytes after {loaded} items"
            break
        if args.max_seconds and time.perf_counter() - started > args.max_seconds:
            stopped = f"load passed {args.max_seconds:.0f} s after {loaded} items"
            break
    adapter.close()
    seconds = time.perf_counter() - started
    return {
        "items": loaded,
        "seconds": round(seconds, 3),
        "items_per_s": round(loaded / seconds, 1),
        "store_bytes": folder_bytes(args.store),
        "stopped": stopped,
    }


def phase_cold(adapter: Adapter, args: argparse.Namespace, imported: float) -> dict[str, Any]:
    queries = wl.load_queries(args.data)
    started = time.perf_counter()
    adapter.open(args.store)
    ids = adapter.knn(queries.vectors[0], wl.K, None)
    seconds = time.perf_counter() - started
    adapter.close()
    return {"open_first_ms": _ms(seconds), "import_ms": _ms(imported), "ids": [ids]}


def phase_memory(adapter: Adapter, args: argparse.Namespace) -> dict[str, Any]:
    queries = wl.load_queries(args.data)
    before = proc_status()
    adapter.open(args.store)
    for i in range(3):
        adapter.knn(queries.vectors[i], wl.K, None)
    after = proc_status()
    adapter.close()
    return {
        "rss_after_imports": before["VmRSS"],
        "rss_after_queries": after["VmRSS"],
        "rss_delta": after["VmRSS"] - before["VmRSS"],
        "anon_delta": after["RssAnon"] - before["RssAnon"],
        "file_delta": after["RssFile"] - before["RssFile"],
        "hwm": after["VmHWM"],
    }


def phase_warm(adapter: Adapter, args: argparse.Namespace) -> dict[str, Any]:
    queries = wl.load_queries(args.data)
    q = queries.vectors
    count = len(q)
    adapter.open(args.store)
    out: dict[str, Any] = {}
    out["knn"] = timed_queries(lambda i: adapter.knn(q[i], wl.K, None), count)
    out["knn_agent"] = timed_queries(lambda i: adapter.knn(q[i], wl.K, queries.agents[i]), count)
    try:
        out["keyword"] = timed_queries(
            lambda i: adapter.keyword(queries.terms[i], wl.K, queries.agents[i]), count
        )
    except Unsupported:
        out["keyword"] = None
    extra = wl.load_items(args.data, extra=True)
    extra.vectors = np.ascontiguousarray(extra.vectors)
    try:
        out["insert"] = _singles(adapter, extra)
    except Unsupported:
        out["insert"] = None
    try:
        out["tx"] = _transaction(adapter, extra, q)
    except Unsupported:
        out["tx"] = None
    adapter.close()
    return out


def _singles(adapter: Adapter, extra: wl.Items) -> dict[str, Any]:
    singles = []
    for i in range(wl.SINGLE_INSERTS):
        started = time.perf_counter()
        adapter.insert_one(extra.ids[i], extra.agents[i], extra.texts[i], extra.vectors[i])
        singles.append(time.perf_counter() - started)
    singles_ms = np.array(singles) * 1e3
    return {
        "p50_ms": round(float(np.percentile(singles_ms, 50)), 4),
        "p99_ms": round(float(np.percentile(singles_ms, 99)), 4),
        "count": len(singles),
    }


def _transaction(adapter: Adapter, extra: wl.Items, q: wl.F32) -> dict[str, Any]:
    # One query (untimed) so the single inserts are absorbed before this measure.
    adapter.knn(q[1], wl.K, None)
    batch = extra.slice(wl.SINGLE_INSERTS, wl.SINGLE_INSERTS + wl.TX_INSERTS)
    started = time.perf_counter()
    inside = adapter.insert_in_transaction(batch, q[2], wl.K)
    tx_seconds = time.perf_counter() - started
    started = time.perf_counter()
    adapter.knn(q[3], wl.K, None)
    first = time.perf_counter() - started
    started = time.perf_counter()
    adapter.knn(q[4], wl.K, None)
    second = time.perf_counter() - started
    return {
        "insert_ms": _ms(tx_seconds),
        "inside_ms": inside,
        "first_after_ms": _ms(first),
        "second_after_ms": _ms(second),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench.peers.run")
    parser.add_argument("system")
    parser.add_argument("phase", choices=["load", "cold", "memory", "warm", "check"])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--store", type=Path, default=None)
    parser.add_argument("--max-bytes", type=int, default=0, help="stop loading past this size")
    parser.add_argument("--max-seconds", type=float, default=0, help="stop loading after this")
    args = parser.parse_args(argv)
    adapter = load_adapter(args.system)
    result: dict[str, Any] = {"system": args.system, "phase": args.phase}
    try:
        adapter.import_libraries()
    except ImportError as exc:
        result["skipped"] = str(exc)
        print("PEERS_RESULT " + json.dumps(result), flush=True)
        return 0
    imported = time.perf_counter() - STARTED
    try:
        if args.phase == "check":
            result["versions"] = adapter.versions()
        elif args.phase == "load":
            result.update(phase_load(adapter, args))
        elif args.phase == "cold":
            result.update(phase_cold(adapter, args, imported))
        elif args.phase == "memory":
            result.update(phase_memory(adapter, args))
        else:
            result.update(phase_warm(adapter, args))
    except Exception as exc:
        traceback.print_exc()
        result["error"] = f"{type(exc).__name__}: {exc}"
    print("PEERS_RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
