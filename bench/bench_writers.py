"""Writer processes on one file: throughput, worst call, fairness, and an occasional writer.

Throughput: 1, 8 and 16 processes each make the same number of `create_message` calls (one
transaction each) on one file, all released at once; writes/s is every call over the time until
the last process finished, `x_one` that against one process alone, `spread` the slowest process's
time over the fastest's, `worst_ms` the longest single call. Occasional writer: one process edits
a memory block in a tight loop (`MemoryDocs.append`) while another writes a message every 20 ms;
its longest wait and how many writes got through. Every case runs with the write queue
(`pattern_db._write_queue`) and without it (`PATTERN_DB_WRITE_QUEUE=off`: SQLite's busy handler
alone, the behaviour before the queue).

Targets (issue 14): at 8 and 16 writers x_one >= 0.8, worst call < 2 s, spread <= 1.5; the
occasional writer never waits > 0.5 s.

Run: `.venv/bin/python -m bench.bench_writers` (about 40 s; `--full` for 4x the calls).
"""

from __future__ import annotations

import itertools
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._util import RESULTS, environment
from pattern_db import ConstellationDb
from pattern_db._write_queue import ENV_SWITCH
from pattern_db.memory_docs import MemoryDocs
from pattern_db.models import Agent
from pattern_db.queries.agent import create_agent

ROOT = Path(__file__).resolve().parents[1]
WRITERS = (1, 8, 16)
# Calls per process: enough for each case to run a second or more on a quiet machine.
CALLS = {1: 800, 8: 150, 16: 100}
OCCASIONAL_SECONDS = 4.0
START_DELAY_S = 0.3
_RUNS = itertools.count()


def _agent(agent_id: str) -> Agent:
    return Agent(id=agent_id, name=agent_id, model_provider="anthropic", model_name="claude")


def _prepare(folder: Path, name: str, writers: int) -> Path:
    """Create a fresh file with an agent per writer and the editor's block; return its path."""
    path = folder / f"{next(_RUNS)}-{name}.db"
    with ConstellationDb.open(path) as db:
        for i in range(writers):
            create_agent(db, _agent(f"w{i}"))
        create_agent(db, _agent("editor"))
        MemoryDocs(db).create_block("editor", "notes", "start", char_limit=10_000_000)
    return path


def _spawn(kind: str, path: Path, name: str, amount: float, queue: bool) -> subprocess.Popen[str]:
    env = dict(os.environ, **{ENV_SWITCH: "on" if queue else "off"})
    return subprocess.Popen(
        [sys.executable, "-m", "bench._writer_child", kind, str(path), name, str(amount)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _run_together(children: list[subprocess.Popen[str]]) -> tuple[list[dict[str, Any]], float]:
    """Start every child at one wall-clock moment (after all have opened).

    Returns their results, each with `took` (seconds from that moment to its end), and the
    moment.
    """
    for child in children:
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("a writer process failed to start")
    start_at = time.time() + START_DELAY_S
    for child in children:
        assert child.stdin is not None
        child.stdin.write(f"{start_at!r}\n")
        child.stdin.flush()
    results = []
    for child in children:
        out, _ = child.communicate(timeout=600)
        if child.returncode != 0:
            raise RuntimeError(f"a writer process exited {child.returncode}")
        result = json.loads(out.strip().splitlines()[-1])
        result["took"] = result["finished"] - start_at
        results.append(result)
    return results, start_at


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def throughput(folder: Path, writers: int, calls: int, queue: bool) -> dict[str, Any]:
    path = _prepare(folder, f"w{writers}-{'queue' if queue else 'busy'}", writers)
    before = _children_cpu()
    children = [_spawn("messages", path, f"w{i}", calls, queue) for i in range(writers)]
    results, _ = _run_together(children)
    cpu = _children_cpu() - before - sum(r["startup_cpu"] for r in results)
    times = [r["took"] for r in results]
    wall = max(times)
    return {
        "writers": writers,
        "queue": "on" if queue else "off",
        "calls": writers * calls,
        "writes_per_s": writers * calls / wall,
        "worst_ms": max(r["worst"] for r in results) * 1000,
        "spread": max(times) / min(times),
        "cpu_ms_per_write": cpu / (writers * calls) * 1000,
    }


def occasional(folder: Path, queue: bool) -> dict[str, Any]:
    path = _prepare(folder, f"occasional-{'queue' if queue else 'busy'}", 1)
    editor = _spawn("edits", path, "editor", OCCASIONAL_SECONDS, queue)
    writer = _spawn("occasional", path, "w0", OCCASIONAL_SECONDS, queue)
    (edits, writes), _ = _run_together([editor, writer])
    waits = sorted(writes["latencies"])
    return {
        "queue": "on" if queue else "off",
        "editor_edits_per_s": edits["calls"] / edits["took"],
        "occasional_writes": writes["calls"],
        "occasional_median_ms": waits[len(waits) // 2] * 1000,
        "occasional_max_wait_ms": waits[-1] * 1000,
    }


def _print(rows: list[dict[str, Any]]) -> None:
    keys = list(rows[0])
    cells = [[f"{r[k]:.4g}" if isinstance(r[k], float) else str(r[k]) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    print("  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True)))
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def main(argv: list[str]) -> None:
    scale = 4 if "--full" in argv else 1
    rows: list[dict[str, Any]] = []
    alone: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
    with tempfile.TemporaryDirectory(prefix="pattern-db-bench-writers-") as tmp:
        folder = Path(tmp)
        for writers in WRITERS[1:]:
            for queue in (False, True):
                # One writer alone just before, so load from elsewhere hits both alike.
                one = throughput(folder, 1, CALLS[1] * scale, queue)
                many = throughput(folder, writers, CALLS[writers] * scale, queue)
                many["x_one"] = many["writes_per_s"] / one["writes_per_s"]
                alone[queue].append(one)
                rows.append(many)
        occasional_rows = [occasional(folder, queue) for queue in (False, True)]
    for queue in (True, False):
        ones = sorted(alone[queue], key=lambda r: float(r["writes_per_s"]))
        rows.insert(0, {**ones[len(ones) // 2], "x_one": 1.0})
    rows.sort(key=lambda r: (r["queue"], r["writers"]))
    _print(rows)
    _print(occasional_rows)
    notes = (
        f"calls per process { {w: c * scale for w, c in CALLS.items()} }; occasional "
        f"writer: one message every 20 ms for {OCCASIONAL_SECONDS:g} s beside a tight loop of "
        "MemoryDocs.append; queue off = PATTERN_DB_WRITE_QUEUE=off (SQLite's busy handler)"
    )
    print(notes)
    RESULTS.mkdir(exist_ok=True)
    payload = {
        "benchmark": "writers",
        "environment": environment(),
        "rows": rows,
        "occasional": occasional_rows,
        "notes": notes,
    }
    (RESULTS / "writers.json").write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
