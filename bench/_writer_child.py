"""One writer process of bench_writers: open, say "ready", wait for "go", write, print JSON.

Usage: `python -m bench._writer_child KIND DB_PATH NAME AMOUNT`; the parent's "go" line holds
the wall-clock time (time.time()) at which every child starts. KIND is
- `messages`: AMOUNT calls of `create_message` (one transaction each), as fast as it can;
- `edits`: `MemoryDocs.append` to the block labelled NAME for AMOUNT seconds, as fast as it can;
- `occasional`: one `create_message` every 20 ms for AMOUNT seconds.
Prints {"started": t, "finished": t, "startup_cpu": s, "calls": n, "worst": s, "latencies": [...]}
(wall-clock times; the CPU seconds spent before "ready"; latencies only when occasional). The
write queue follows PATTERN_DB_WRITE_QUEUE, set by the parent.
"""

from __future__ import annotations

import json
import sys
import time

from pattern_db import ConstellationDb
from pattern_db.ids import position_from_parts
from pattern_db.memory_docs import MemoryDocs
from pattern_db.models import BatchType, Message, MessageRole
from pattern_db.queries import message as mq

OCCASIONAL_PAUSE_S = 0.02
_TEXT = "the quick brown fox jumps over the lazy dog while the agent keeps notes " * 2


def message(agent: str, i: int) -> Message:
    text = f"{agent} call {i}: {_TEXT}"
    return Message(
        id=f"msg_{agent}_{i:07d}",
        agent_id=agent,
        position=position_from_parts(1_767_225_600_000 + i, 0),
        batch_id=f"batch_{agent}_{i:07d}",
        sequence_in_batch=0,
        role=MessageRole.USER,
        content_json={"type": "text", "text": text},
        content_preview=text,
        batch_type=BatchType.USER_REQUEST,
        source="bench",
    )


def run(kind: str, path: str, name: str, amount: float) -> dict[str, object]:
    latencies: list[float] = []
    with ConstellationDb.open(path) as db:
        docs = MemoryDocs(db)
        block_id = docs.resolve(name, "notes") if kind == "edits" else ""
        startup = time.process_time()
        print("ready", flush=True)
        start_at = float(sys.stdin.readline())
        time.sleep(max(0.0, start_at - time.time()))
        wall_started = time.time()
        started = time.perf_counter()
        calls = 0
        while True:
            if kind == "messages" and calls >= amount:
                break
            if kind != "messages" and time.perf_counter() - started >= amount:
                break
            before = time.perf_counter()
            if kind == "edits":
                docs.append(block_id, f" edit {calls}")
            else:
                mq.create_message(db, message(name, calls))
            latencies.append(time.perf_counter() - before)
            calls += 1
            if kind == "occasional":
                time.sleep(OCCASIONAL_PAUSE_S)
        finished = wall_started + time.perf_counter() - started
    result: dict[str, object] = {
        "started": wall_started,
        "startup_cpu": startup,
        "finished": finished,
        "calls": calls,
        "worst": max(latencies, default=0.0),
    }
    if kind == "occasional":
        result["latencies"] = latencies
    return result


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]))), flush=True)
