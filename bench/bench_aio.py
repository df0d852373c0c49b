"""pattern_db.aio against sync calls: the cost of one awaited call, and 100 concurrent tasks.

A small query (`get_agent`, one primary-key read) measures the per-call overhead of handing a
call to the handle's worker thread and back; 100 tasks of reads, and of writes, measure what
a busy event loop gets through one handle. `asyncio.to_thread` (the default executor, no
per-handle ordering) is shown for comparison.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench._util import report
from pattern_db import ConstellationDb, aio
from pattern_db.aio import AsyncConstellationDb
from pattern_db.aio._handles import worker_of
from pattern_db.models import Agent, Message
from pattern_db.queries import agent, message

TASKS = 100


def _per_call_us(fn: Callable[[], object], calls: int, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        runs.append((time.perf_counter() - started) / calls)
    return statistics.median(runs) * 1e6


def _async_per_call_us(fn: Callable[[], Awaitable[object]], calls: int, repeat: int) -> float:
    async def loop() -> float:
        runs = []
        for _ in range(repeat):
            started = time.perf_counter()
            for _ in range(calls):
                await fn()
            runs.append((time.perf_counter() - started) / calls)
        return statistics.median(runs) * 1e6

    return asyncio.run(loop())


def _concurrent_per_s(
    make: Callable[[int], Awaitable[object]], per_task: int, repeat: int
) -> float:
    async def burst() -> float:
        rates = []
        for _ in range(repeat):
            started = time.perf_counter()

            async def task(i: int) -> None:
                for j in range(per_task):
                    await make(i * per_task + j)

            await asyncio.gather(*(task(i) for i in range(TASKS)))
            rates.append(TASKS * per_task / (time.perf_counter() - started))
        return statistics.median(rates)

    return asyncio.run(burst())


def _noop() -> None:
    return None


def _row(case: str, us_per_call: float, sync_us: float) -> dict[str, object]:
    return {
        "case": case,
        "us_per_call": round(us_per_call, 1),
        "calls_per_s": round(1e6 / us_per_call),
        "overhead_us_vs_sync": round(us_per_call - sync_us, 1),
    }


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    calls, repeat, per_task = (300, 3, 3) if quick else (2000, 5, 10)
    folder = Path(tempfile.mkdtemp(prefix="pattern-db-bench-aio-"))
    rows = []
    try:
        db = ConstellationDb.open(folder / "c.db")
        agent.create_agent(db, Agent(id="a1", name="a1", model_provider="p", model_name="m"))
        adb = AsyncConstellationDb(db)

        sync_us = _per_call_us(lambda: agent.get_agent(db, "a1"), calls, repeat)
        aio_us = _async_per_call_us(lambda: aio.queries.agent.get_agent(adb, "a1"), calls, repeat)
        thread_us = _async_per_call_us(
            lambda: asyncio.to_thread(agent.get_agent, db, "a1"), calls, repeat
        )
        worker = worker_of(db)
        noop_us = _async_per_call_us(lambda: worker.call(_noop), calls, repeat)
        noop_many = _concurrent_per_s(lambda i: worker.call(_noop), per_task, repeat)
        rows += [
            _row("no-op on the worker (the hand-off alone), one at a time", noop_us, 0.0),
            _row(f"no-op on the worker, {TASKS} concurrent tasks", 1e6 / noop_many, 0.0),
            _row("get_agent, sync, one call at a time", sync_us, sync_us),
            _row("get_agent, aio, one call at a time", aio_us, sync_us),
            _row("get_agent, asyncio.to_thread, one at a time", thread_us, sync_us),
        ]

        def write(i: int) -> Message:
            return Message(agent_id="a1", content_json={"Text": f"message {i}"})

        reads = _concurrent_per_s(
            lambda i: aio.queries.agent.get_agent(adb, "a1"), per_task, repeat
        )
        writes = _concurrent_per_s(
            lambda i: aio.queries.message.create_message(adb, write(i)), per_task, repeat
        )
        sync_writes = 1e6 / _per_call_us(
            lambda: message.create_message(db, write(0)), TASKS, repeat
        )
        rows += [
            _row(f"{TASKS} concurrent tasks x get_agent, aio", 1e6 / reads, sync_us),
            _row(
                f"{TASKS} concurrent tasks x create_message, aio", 1e6 / writes, 1e6 / sync_writes
            ),
            _row("create_message, sync, one call at a time", 1e6 / sync_writes, 1e6 / sync_writes),
        ]
        db.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report(
        "aio",
        rows,
        notes=(
            f"file database (WAL); {calls} sequential calls x {repeat} runs, {TASKS} tasks x "
            f"{per_task} calls x {repeat} runs; medians. Measured on a loaded 2-core machine "
            f"(load average {os.getloadavg()[0]:.1f} at the end): thread hand-offs cost most there."
        ),
    )


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
