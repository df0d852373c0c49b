"""Child process for test_write_fairness and test_stress: one job on a shared database file.

Usage: `python stress_child.py JOB DB_PATH [ARGS...]`. Jobs that hold something print a line
("holding", "pinned") and wait for a line on stdin before letting go. `mixed` prints one
acknowledgement line per committed write ("m <message id>", "e <agent> <token>",
"a <archival id>"), flushed right after the commit returns, so a parent that kills it with
kill -9 knows exactly which writes were acknowledged.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

from pattern_db import ConstellationDb, fts
from pattern_db._write_queue import open_queue
from pattern_db.ids import position_from_parts
from pattern_db.memory_docs import MemoryDocs
from pattern_db.models import ArchivalEntry, BatchType, Message, MessageRole
from pattern_db.queries import message as mq
from pattern_db.queries.memory import archival

COUNTER_TABLE = "CREATE TABLE IF NOT EXISTS test_counter (id INTEGER PRIMARY KEY, n INTEGER)"
WORDS = ("harbour", "lantern", "meadow", "quartz", "saffron", "tundra", "violet", "willow")


def message(agent: str, key: str, text: str) -> Message:
    return Message(
        id=f"msg_{key}",
        agent_id=agent,
        position=position_from_parts(1_767_225_600_000 + random.randrange(1 << 30), 0),
        batch_id=f"batch_{key}",
        sequence_in_batch=0,
        role=MessageRole.USER,
        content_json={"type": "text", "text": text},
        content_preview=text,
        batch_type=BatchType.USER_REQUEST,
        source="stress",
    )


def hold(path: str) -> None:
    """Hold the write turn (and SQLite's write lock) until stdin says go."""
    with ConstellationDb.open(path) as db, db.writer():
        print("holding", flush=True)
        sys.stdin.readline()
    print("released", flush=True)


def fork_hold(path: str) -> None:
    """Hold the write turn, fork a child that lives on, print its pid, wait to be killed."""
    with ConstellationDb.open(path) as db, db.writer():
        pid = os.fork()
        if pid == 0:
            # Off the parent's pipes, so the test sees the parent's end; the files stay open.
            devnull = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            time.sleep(120)
            os._exit(0)
        print(pid, flush=True)
        time.sleep(120)


def turn_append(path: str, name: str, out: str) -> None:
    """Take one turn of the write queue alone (no SQLite) and append `name` to `out`."""
    queue = open_queue(Path(path))
    assert queue is not None
    with queue.turn(60), open(out, "a") as f:
        f.write(name + "\n")
    queue.close()


def file_increment(path: str, counter: str, times: str) -> None:
    """Increment a number in a plain file `times` times, each inside one queue turn."""
    queue = open_queue(Path(path))
    assert queue is not None
    for _ in range(int(times)):
        with queue.turn(60):
            value = int(Path(counter).read_text() or "0")
            time.sleep(0.0002)  # widen the read-modify-write window
            Path(counter).write_text(str(value + 1))
    queue.close()


def db_increment(path: str, times: str) -> None:
    """Increment a counter row `times` times, each a read-modify-write transaction."""
    with ConstellationDb.open(path) as db:
        for _ in range(int(times)):
            with db.transaction() as tx:
                with tx.reader() as conn:
                    value = conn.execute("SELECT n FROM test_counter WHERE id = 1").fetchone()[0]
                with tx.writer() as conn:
                    conn.execute("UPDATE test_counter SET n = ? WHERE id = 1", (value + 1,))


def mixed(path: str, agent: str, seed: str, count: str) -> None:
    """Mixed writes of one agent (messages, memory appends, archival), acknowledged on stdout.

    `count` 0 means until killed. The agent and its "notes" block exist already.
    """
    rnd = random.Random(seed)
    with ConstellationDb.open(path) as db:
        docs = MemoryDocs(db)
        block = docs.resolve(agent, "notes")
        i = 0
        while int(count) == 0 or i < int(count):
            key = f"{agent}_{seed}_{i}"
            words = " ".join(rnd.choice(WORDS) for _ in range(8))
            kind = rnd.random()
            if kind < 0.5:
                mq.create_message(db, message(agent, key, f"{key} {words}"))
                ack = f"m msg_{key}"
            elif kind < 0.8:
                docs.append(block, f" [{key}]")
                ack = f"e {agent} [{key}]"
            else:
                entry = ArchivalEntry(id=f"arch_{key}", agent_id=agent, content=f"{key} {words}")
                archival.create_archival_entry(db, entry)
                ack = f"a arch_{key}"
            print(ack, flush=True)
            i += 1


def reader(path: str, stop: str, agents: str) -> None:
    """Read messages, search and memory until the file `stop` exists; print the rounds made."""
    names = agents.split(",")
    reads = 0
    with ConstellationDb.open(path) as db:
        docs = MemoryDocs(db)
        blocks = [docs.resolve(name, "notes") for name in names]
        while not os.path.exists(stop):
            name = names[reads % len(names)]
            mq.get_messages(db, name, limit=20)
            fts.search_messages(db, random.choice(WORDS), agent_id=name, limit=5)
            fts.search_archival(db, random.choice(WORDS), agent_id=name, limit=5)
            docs.read_text(blocks[reads % len(blocks)])
            reads += 1
    print(reads, flush=True)


def pin(path: str) -> None:
    """Hold one read transaction open (a long reader) until stdin says go."""
    with ConstellationDb.open(path) as db, db.snapshot() as conn:
        conn.execute("BEGIN")
        conn.execute("SELECT count(*) FROM messages").fetchall()
        print("pinned", flush=True)
        sys.stdin.readline()
        conn.execute("COMMIT")


JOBS = {
    "hold": hold,
    "fork-hold": fork_hold,
    "turn-append": turn_append,
    "file-increment": file_increment,
    "db-increment": db_increment,
    "mixed": mixed,
    "reader": reader,
    "pin": pin,
}

if __name__ == "__main__":
    JOBS[sys.argv[1]](*sys.argv[2:])
