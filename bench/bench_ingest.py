"""Bulk ingest: the peers' workload loaded by pattern-db's bulk functions, LangGraph and raw apsw.

Workload: `bench.peers.workload` (n items over 10 agents, 15-40 words of text, 384-d float32
unit vectors), loaded in chunks of 10,000 by `bench.peers.run.phase_load` (the peers' own load
loop, one call per chunk, timed from the items in memory to the store closed), each system in a
fresh process (pattern-db and a pysqlite3 that loads sqlite-vec cannot share one), systems in
rotated order each round, medians of the rounds:

* `pattern_db`: `ingest.create_archival_entries(db, entries, embeddings=chunk)`, the records
  built inside the timing; one transaction per chunk (text, FTS through the triggers, vectors).
* `pattern_db_messages`: the peers' adapter (`bench/peers/sys_pattern_db.py`), items as
  messages through `ingest.create_messages(..., embeddings=...)`.
* `langgraph`: the peers' LangGraph SqliteStore adapter (one `batch()` of PutOps per chunk;
  needs the `bench` extra's langgraph-checkpoint-sqlite, else skipped).
* `raw_apsw`: apsw `executemany` of the same rows (tuples built inside the timing) into the same
  schema (archival_entries with its FTS5 and vector triggers, the `embeddings` table), same
  pragmas, one transaction per chunk: the floor the goal is set against.
* `raw_apsw_values`: the same with multi-row `VALUES` lists of 1,000 rows, as the bulk
  functions do (faster than executemany: FTS5 flushes once per statement, not once per row).

Run: `python -m bench.bench_ingest [--n 100000] [--rounds 3]` (`--quick`: 10,000 items, 1 round).
Goals: pattern-db >= 1.2x LangGraph's items/s and >= 0.8x raw apsw's (executemany).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench._util import report
from bench.peers import workload as wl
from bench.peers.base import Adapter, load_adapter
from bench.peers.workload import AGENTS, DIMENSIONS, Items

ROOT = Path(__file__).resolve().parents[1]
SYSTEMS = ("pattern_db", "pattern_db_messages", "langgraph", "raw_apsw", "raw_apsw_values")
PEER_ADAPTERS = {"pattern_db_messages": "pattern_db", "langgraph": "langgraph"}
FILE = "constellation.db"
_ARCHIVAL_COLUMNS = "id, agent_id, content, metadata, chunk_index, parent_entry_id, created_at"
_EMBEDDING_COLUMNS = (
    "id, content_type, content_id, chunk_index, content_hash, agent_id, folder_id, embedding"
)
_VALUES_ROWS = 1000


def _fresh_store(path: Path) -> Any:
    """Create a constellation with the workload's agents and vector index; return the handle."""
    from pattern_db import ConstellationDb, vector
    from pattern_db.models import Agent
    from pattern_db.queries.agent import create_agent

    path.mkdir(parents=True, exist_ok=True)
    db = ConstellationDb.open(path / FILE)
    vector.ensure_embeddings_table(db, DIMENSIONS, model="bench-clustered")
    with db.transaction() as tx:
        for agent in AGENTS:
            create_agent(tx, Agent(id=agent, name=agent, model_provider="x", model_name="x"))
    return db


class OursArchival(Adapter):
    """pattern-db: items as archival entries through `ingest.create_archival_entries`."""

    name = "pattern_db"

    def __init__(self) -> None:
        self.db: Any = None

    def create(self, path: Path) -> None:
        self.db = _fresh_store(path)

    def bulk_load(self, items: Items) -> None:
        from pattern_db import ingest
        from pattern_db.models import ArchivalEntry

        entries = [
            ArchivalEntry(id=i, agent_id=a, content=t)
            for i, a, t in zip(items.ids, items.agents, items.texts, strict=True)
        ]
        ingest.create_archival_entries(self.db, entries, embeddings=items.vectors)

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None


class RawApsw(Adapter):
    """apsw straight into pattern-db's schema: executemany (or VALUES lists), one tx per chunk."""

    name = "raw_apsw"

    def __init__(self, *, values: bool) -> None:
        self.values = values
        self.conn: Any = None
        self.next_id = 1

    def create(self, path: Path) -> None:
        import apsw

        from pattern_db.connection import _PRAGMAS

        _fresh_store(path).close()
        self.conn = apsw.Connection(str(path / FILE))
        self.conn.setbusytimeout(30_000)
        for name, value in _PRAGMAS:
            self.conn.execute(f"PRAGMA {name} = {value}").fetchall()

    def bulk_load(self, items: Items) -> None:
        from pattern_db.timeutil import now_ts

        stamp = now_ts()
        texts = [
            (i, a, t, None, 0, None, stamp)
            for i, a, t in zip(items.ids, items.agents, items.texts, strict=True)
        ]
        blob = items.vectors.reshape(-1).view(np.uint8).data  # as the library binds them
        size = DIMENSIONS * 4
        first = self.next_id
        vectors = [
            (first + k, "archival_entry", i, None, None, a, None, blob[k * size : (k + 1) * size])
            for k, (i, a) in enumerate(zip(items.ids, items.agents, strict=True))
        ]
        self.next_id += len(vectors)
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        self._insert(f"INSERT INTO archival_entries ({_ARCHIVAL_COLUMNS})", 7, texts)
        self._insert(f"INSERT INTO embeddings ({_EMBEDDING_COLUMNS})", 8, vectors)
        conn.execute("UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1")
        conn.execute("COMMIT")

    def _insert(self, insert: str, width: int, rows: list[tuple[Any, ...]]) -> None:
        one = "(" + ", ".join("?" * width) + ")"
        if not self.values:
            self.conn.executemany(f"{insert} VALUES {one}", rows)
            return
        for start in range(0, len(rows), _VALUES_ROWS):
            part = rows[start : start + _VALUES_ROWS]
            sql = f"{insert} VALUES {', '.join([one] * len(part))}"
            self.conn.execute(sql, [v for row in part for v in row])

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _adapter(system: str) -> Adapter:
    if system in PEER_ADAPTERS:
        return load_adapter(PEER_ADAPTERS[system])
    if system == "pattern_db":
        return OursArchival()
    return RawApsw(values=system == "raw_apsw_values")


def child(system: str, data: Path, store: Path) -> dict[str, Any]:
    """Load the workload into a new store with one system (in this process); return its figures."""
    from bench.peers.run import phase_load

    adapter = _adapter(system)
    try:
        adapter.import_libraries()
    except ImportError as exc:
        return {"system": system, "skipped": str(exc)}
    args = argparse.Namespace(data=data, store=store, max_bytes=0, max_seconds=0)
    # CPU seconds as well as wall time: on a shared machine the wall time of one run moves
    # with the load from elsewhere far more than the CPU time it took.
    spent = [0.0]
    load = adapter.bulk_load

    def timed_load(items: Items) -> None:
        started = time.process_time()
        load(items)
        spent[0] += time.process_time() - started

    adapter.bulk_load = timed_load  # type: ignore[method-assign]
    result = phase_load(adapter, args)
    return {"system": system, **result, "cpu_items_per_s": round(result["items"] / spent[0], 1)}


def _run_child(system: str, data: Path, store: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.bench_ingest", "--child", system, str(data), str(store)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("INGEST_RESULT "):
            result: dict[str, Any] = json.loads(line.removeprefix("INGEST_RESULT "))
            return result
    return {"system": system, "error": (done.stderr or done.stdout)[-2000:]}


def main(argv: list[str] | None = None) -> None:
    """Run every system's load, round after round, and report items/s and ratios."""
    parser = argparse.ArgumentParser(prog="bench.bench_ingest")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="10,000 items, one round")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--scratch", type=Path, default=None)
    parser.add_argument("--child", nargs=3, metavar=("SYSTEM", "DATA", "STORE"))
    args = parser.parse_args(argv)
    if args.child:
        system, data, store = args.child
        print("INGEST_RESULT " + json.dumps(child(system, Path(data), Path(store))), flush=True)
        return
    n, rounds = (10_000, 1) if args.quick else (args.n, args.rounds)
    systems = [s for s in args.systems.split(",") if s]
    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="bench-ingest-"))
    data = scratch / f"w{n}"
    wl.generate(data, n)
    runs: dict[str, list[dict[str, Any]]] = {s: [] for s in systems}
    try:
        for r in range(rounds):
            order = systems[r % len(systems) :] + systems[: r % len(systems)]
            for system in order:
                store = scratch / f"store-{system}"
                shutil.rmtree(store, ignore_errors=True)
                result = _run_child(system, data, store)
                shutil.rmtree(store, ignore_errors=True)
                runs[system].append(result)
                print(f"round {r + 1} {system}: {result.get('items_per_s', result)}", flush=True)
    finally:
        if args.scratch is None:
            shutil.rmtree(scratch, ignore_errors=True)
    report("ingest", _rows(runs, n), notes=_notes(runs, n))


def _median_rate(results: list[dict[str, Any]], key: str = "items_per_s") -> float | None:
    rates = [r[key] for r in results if key in r]
    return statistics.median(rates) if rates else None


def _rows(runs: dict[str, list[dict[str, Any]]], n: int) -> list[dict[str, Any]]:
    ours = _median_rate(runs.get("pattern_db", []))
    ours_cpu = _median_rate(runs.get("pattern_db", []), "cpu_items_per_s")
    rows = []
    for system, results in runs.items():
        rate = _median_rate(results)
        cpu = _median_rate(results, "cpu_items_per_s")
        problem = next(
            (r.get("skipped") or r.get("error") for r in results if not r.get("items_per_s")), None
        )
        rows.append(
            {
                "system": system,
                "items": n,
                "items_per_s": None if rate is None else round(rate, 1),
                "rounds": [r.get("items_per_s") for r in results],
                "ours_vs_this": None if rate is None or ours is None else round(ours / rate, 3),
                "cpu_items_per_s": None if cpu is None else round(cpu, 1),
                "ours_vs_this_cpu": None
                if cpu is None or ours_cpu is None
                else round(ours_cpu / cpu, 3),
                "store_bytes": statistics.median(
                    [r["store_bytes"] for r in results if "store_bytes" in r] or [0]
                ),
                "problem": problem,
            }
        )
    return rows


def _notes(runs: dict[str, list[dict[str, Any]]], n: int) -> str:
    ours = _median_rate(runs.get("pattern_db", []))
    lines = [
        f"{n:,} items x {DIMENSIONS}-d, 10 agents, chunks of 10,000, medians of rounds. "
        "items_per_s is wall time (it moves with the load of other processes on a shared "
        "machine); cpu_items_per_s counts the CPU seconds of the load calls alone."
    ]
    for peer, goal in (("langgraph", 1.2), ("raw_apsw", 0.8), ("raw_apsw_values", None)):
        rate = _median_rate(runs.get(peer, []))
        if ours is not None and rate is not None:
            ratio = ours / rate
            verdict = (
                ""
                if goal is None
                else f" (goal >= {goal}x: {'met' if ratio >= goal else 'NOT met'})"
            )
            lines.append(f"pattern_db / {peer} = {ratio:.2f}x items/s{verdict}")
    return "\n".join(lines)


if __name__ == "__main__":
    main(sys.argv[1:])
