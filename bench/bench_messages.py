"""Message insert and read: the library against raw apsw doing the same work in the same run.

Insert: N messages of a few agents (content_json a small object holding the text, a 20-60 word
content_preview, batches of two, FTS triggers on) through `create_messages`, in calls of
`--batch` messages each (one transaction per call), against raw apsw `executemany` of the same
rows, pre-encoded to tuples outside the timing, into the same schema in a fresh file, with the
same connection pragmas and the same transaction size. Each round fills two fresh files with the
two sides taking turns call by call (so load from elsewhere hits both alike); the round with the
median ratio is reported, and every round's ratio is listed.

Read: the newest 50 live messages of one agent through `get_messages` against raw apsw running
the exact SQL get_messages runs and `fetchall()`-ing the tuples, both on the same file; median
per call over many samples. The decoding is also timed alone (codec `decode_all` on the tuples).

Run: `.venv/bin/python -m bench.bench_messages` (or `--quick` for a small smoke run).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import apsw

from bench._util import median_seconds, report
from pattern_db import ConstellationDb
from pattern_db.codec import codec_for
from pattern_db.connection import _PRAGMAS
from pattern_db.ids import position_from_parts
from pattern_db.models import Agent, BatchType, Message, MessageRole
from pattern_db.queries import message as mq
from pattern_db.queries.agent import create_agent

AGENTS = ("agent_a", "agent_b", "agent_c")
_MESSAGE = codec_for(Message)


def make_messages(count: int, *, seed: int = 7) -> list[Message]:
    """Return `count` realistic messages spread over AGENTS, in position order."""
    rnd = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocabulary = [
        "".join(rnd.choice(letters) for _ in range(rnd.randint(2, 9))) for _ in range(5000)
    ]
    start_ms = int(datetime(2026, 1, 5, tzinfo=UTC).timestamp() * 1000)
    messages = []
    for i in range(count):
        agent = AGENTS[(i // 2) % len(AGENTS)]
        text = " ".join(rnd.choice(vocabulary) for _ in range(rnd.randint(20, 60)))
        created = datetime(2026, 1, 5, tzinfo=UTC) + timedelta(milliseconds=37 * i)
        messages.append(
            Message(
                id=f"msg_{i:08d}",
                agent_id=agent,
                position=position_from_parts(start_ms + 37 * i, i % 7),
                batch_id=f"batch_{i // 2:08d}",
                sequence_in_batch=i % 2,
                role=MessageRole.USER if i % 2 == 0 else MessageRole.ASSISTANT,
                content_json={"type": "text", "text": text},
                content_preview=text,
                batch_type=BatchType.USER_REQUEST,
                source="cli",
                source_metadata={"channel": "terminal"} if i % 2 == 0 else None,
                created_at=created,
            )
        )
    return messages


def fresh_db(path: Path) -> ConstellationDb:
    db = ConstellationDb.open(path)
    for agent in AGENTS:
        create_agent(
            db,
            Agent(
                id=agent,
                name=agent,
                model_provider="anthropic",
                model_name="claude",
                system_prompt="You help.",
            ),
        )
    return db


def raw_connection(path: Path) -> apsw.Connection:
    """Open a plain apsw connection with the library's own pragmas (fair comparison)."""
    conn = apsw.Connection(str(path))
    conn.setbusytimeout(30_000)
    for name, value in _PRAGMAS:
        conn.execute(f"PRAGMA {name} = {value}").fetchall()
    return conn


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def insert_both(
    folder: Path, name: str, messages: list[Message], rows: list[tuple[Any, ...]], batch: int
) -> tuple[float, float]:
    """Insert the same messages into two fresh files, the library and raw apsw taking turns.

    The two sides alternate call by call (and which goes first alternates too), so a burst of
    load from elsewhere on the machine hits both alike. Returns (library s, raw s).
    """
    lib_path, raw_path = folder / f"lib_{name}.db", folder / f"raw_{name}.db"
    fresh_db(raw_path).close()
    sql = _MESSAGE.insert_sql("messages")
    lib_total = raw_total = 0.0
    with fresh_db(lib_path) as db:
        conn = raw_connection(raw_path)
        try:
            for i, (part, part_rows) in enumerate(
                zip(chunks(messages, batch), chunks(rows, batch), strict=True)
            ):
                for side in ("lib", "raw") if i % 2 == 0 else ("raw", "lib"):
                    started = time.perf_counter()
                    if side == "lib":
                        mq.create_messages(db, part)
                        lib_total += time.perf_counter() - started
                    else:
                        conn.execute("BEGIN IMMEDIATE")
                        conn.executemany(sql, part_rows)
                        conn.execute("COMMIT")
                        raw_total += time.perf_counter() - started
        finally:
            conn.close()
    return lib_total, raw_total


def per_call(fn: Any, inner: int, repeat: int) -> float:
    """Median seconds per call, timing `inner` calls per sample (steadier for ~50 us calls)."""

    def sample() -> None:
        for _ in range(inner):
            fn()

    return median_seconds(sample, repeat=repeat, warmup=3) / inner


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench_messages")
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000, help="messages per create_messages")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    count, rounds, repeat = args.count, args.rounds, 201
    if args.quick:
        count, rounds, repeat = 5_000, 1, 21

    messages = make_messages(count)
    rows = [mq._message_params(m) for m in messages]  # pre-encoded outside the raw timing
    ratios, lib_times, raw_times = [], [], []
    with tempfile.TemporaryDirectory(prefix="bench_messages_") as tmp:
        folder = Path(tmp)
        for r in range(rounds):
            lib_s, raw_s = insert_both(folder, str(r), messages, rows, args.batch)
            lib_times.append(lib_s)
            raw_times.append(raw_s)
            ratios.append(raw_s / lib_s)
        best = sorted(range(rounds), key=ratios.__getitem__)[rounds // 2]
        lib_insert, raw_insert = lib_times[best], raw_times[best]

        # Read from the file the library filled last.
        read_path = folder / f"lib_{rounds - 1}.db"
        with ConstellationDb.open(read_path) as db:
            raw = raw_connection(read_path)
            try:
                agent, sql, params = AGENTS[0], mq._GET_MESSAGES, (AGENTS[0], 50)
                fetched = raw.execute(sql, params).fetchall()
                assert mq.get_messages(db, agent, 50) == _MESSAGE.decode_all(fetched)
                assert len(fetched) == 50
                timings = {}
                for _ in range(2):  # interleave so drift hits both sides alike
                    for name, fn in (
                        ("raw", lambda: raw.execute(sql, params).fetchall()),
                        ("lib", lambda: mq.get_messages(db, agent, 50)),
                        ("decode", lambda: _MESSAGE.decode_all(fetched)),
                    ):
                        timings.setdefault(name, []).append(per_call(fn, 20, repeat))
                raw_read = min(timings["raw"])
                lib_read = min(timings["lib"])
                decode = min(timings["decode"])
            finally:
                raw.close()

    rows_out = [
        {
            "case": f"insert {count:,} (FTS on, {args.batch}/call)",
            "library_s": lib_insert,
            "raw_s": raw_insert,
            "library_rows_per_s": count / lib_insert,
            "raw_rows_per_s": count / raw_insert,
            "ratio_vs_raw": raw_insert / lib_insert,
            "goal": 0.8,
        },
        {
            "case": "read newest 50 of one agent",
            "library_s": lib_read,
            "raw_s": raw_read,
            "library_rows_per_s": 50 / lib_read,
            "raw_rows_per_s": 50 / raw_read,
            "ratio_vs_raw": raw_read / lib_read,
            "goal": 0.7,
        },
    ]
    notes = (
        f"insert rounds={rounds}, ratios {', '.join(f'{x:.3f}' for x in ratios)} "
        f"(median round shown); read = best of 2 interleaved medians of "
        f"{repeat} samples x 20 calls; decoding 50 rows alone: {decode * 1e6:.1f} us"
    )
    report("messages", rows_out, notes=notes)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
