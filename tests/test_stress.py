"""Stress: writer processes with readers and backups, kill -9 at random points, a WAL held open.

Every writer is a real process (tests/stress_child.py `mixed`) that prints an acknowledgement
after each commit returns; whatever was acknowledged must be in the file afterwards, whatever
else happened. Kept out of the default run (`make test-slow`); about two minutes on two cores.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pattern_db import ConstellationDb
from pattern_db.ids import position_from_parts
from pattern_db.maintenance import integrity_check
from pattern_db.memory_docs import MemoryDocs
from pattern_db.models import Agent, BatchType, Message, MessageRole
from pattern_db.queries import message as mq
from pattern_db.queries.agent import create_agent
from pattern_db.queries.memory import archival

pytestmark = pytest.mark.slow

CHILD = Path(__file__).with_name("stress_child.py")
WRITERS = 6
WRITES_EACH = 500
WAL_LIMIT = 67_108_864  # journal_size_limit of every connection (connection._PRAGMAS)


def _agent(agent_id: str) -> Agent:
    return Agent(id=agent_id, name=agent_id, model_provider="anthropic", model_name="claude")


def _prepare(path: Path, agents: list[str]) -> None:
    with ConstellationDb.open(path) as db:
        docs = MemoryDocs(db)
        for name in agents:
            create_agent(db, _agent(name))
            docs.create_block(name, "notes", "notes:", char_limit=10_000_000)


class _Writer:
    """A `mixed` writer process and the acknowledgements it printed (read on a thread)."""

    def __init__(self, path: Path, agent: str, seed: str, count: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(CHILD), "mixed", str(path), agent, seed, str(count)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.acks: list[str] = []
        self._thread = threading.Thread(target=self._collect, daemon=True)
        self._thread.start()

    def _collect(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            if raw.endswith(b"\n"):  # a line cut by kill -9 was never acknowledged
                self.acks.append(raw.decode().strip())

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.finish(killed=True)

    def finish(self, *, killed: bool = False) -> None:
        self.proc.wait(timeout=300)
        self._thread.join(timeout=60)
        assert self.proc.stdout is not None
        assert self.proc.stderr is not None
        self.proc.stdout.close()
        err = self.proc.stderr.read().decode()
        self.proc.stderr.close()
        if killed:
            assert self.proc.returncode == -signal.SIGKILL, err[-3000:]
        else:
            assert self.proc.returncode == 0, err[-3000:]


def _missing(path: Path, acks: list[str]) -> list[str]:
    """Return the acknowledged writes the file does not hold."""
    missing = []
    with ConstellationDb.open(path) as db:
        docs = MemoryDocs(db)
        texts: dict[str, str] = {}
        for ack in acks:
            kind, _, rest = ack.partition(" ")
            if kind == "m":
                found = mq.get_message(db, rest) is not None
            elif kind == "a":
                found = archival.get_archival_entry(db, rest) is not None
            else:
                agent, _, token = rest.partition(" ")
                if agent not in texts:
                    texts[agent] = docs.read_text(docs.resolve(agent, "notes"))
                found = token in texts[agent]
            if not found:
                missing.append(ack)
    return missing


def _integrity(path: Path) -> list[str]:
    with ConstellationDb.open(path) as db, db.reader() as conn:
        return integrity_check(conn)


# -- mixed load ------------------------------------------------------------------------------


def test_writers_readers_and_backups_together_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "stress.db"
    agents = [f"s{i}" for i in range(WRITERS)]
    _prepare(path, agents)
    stop = tmp_path / "stop"
    readers = [
        subprocess.Popen(
            [sys.executable, str(CHILD), "reader", str(path), str(stop), ",".join(agents)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    writers = [_Writer(path, name, "load", WRITES_EACH) for name in agents]
    backups: list[Path] = []
    with ConstellationDb.open(path) as db:
        while any(w.proc.poll() is None for w in writers):
            backups.append(db.backup(tmp_path / f"backup{len(backups)}.db"))
    for writer in writers:
        writer.finish()
    stop.touch()
    for reader in readers:
        out, err = reader.communicate(timeout=300)
        assert reader.returncode == 0, err[-3000:]
        assert int(out) > 0

    acks = [ack for w in writers for ack in w.acks]
    assert len(acks) == WRITERS * WRITES_EACH
    assert _missing(path, acks) == []
    print(f"{len(acks)} acknowledged writes, 0 lost, {len(backups)} backups")
    with ConstellationDb.open(path) as db:
        assert db.verify() == []
    assert backups
    for backup in backups[:: max(1, len(backups) // 3)]:
        with ConstellationDb.open(backup, migrate=False) as copy:
            assert copy.verify() == []


# -- crashes ---------------------------------------------------------------------------------


def test_writers_killed_with_sigkill_lose_no_acknowledged_write(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    agents = ["k0", "k1", "k2"]
    _prepare(path, agents)
    rnd = random.Random(14)
    acknowledged: list[str] = []
    cycles = 12
    for cycle in range(cycles):
        writers = [_Writer(path, name, f"c{cycle}", 0) for name in agents]
        _wait_for_first_acks(writers)
        # Kill each at its own random moment (mid-transaction, mid-consolidation, queued...).
        for writer in rnd.sample(writers, len(writers)):
            time.sleep(rnd.uniform(0.0, 0.6))
            writer.kill()
        acknowledged.extend(ack for w in writers for ack in w.acks)
        assert _integrity(path) == [], f"cycle {cycle}"
        assert _missing(path, acknowledged) == [], f"cycle {cycle}"
    with ConstellationDb.open(path) as db:
        assert db.verify() == []
    assert len(acknowledged) > cycles * len(agents)
    print(f"{cycles} kill -9 cycles, {len(acknowledged)} acknowledged writes, 0 lost")


def _wait_for_first_acks(writers: list[_Writer]) -> None:
    ends = time.monotonic() + 120
    while not all(w.acks for w in writers):
        assert time.monotonic() < ends, "a writer never wrote"
        for writer in writers:
            if writer.proc.poll() is not None:
                writer.finish()  # fails with the writer's error
        time.sleep(0.02)


# -- the WAL ---------------------------------------------------------------------------------


def _big_messages(agent: str, start: int, count: int) -> Iterator[Message]:
    # Large content, short preview: fills the WAL without a full-text index to feed.
    blob = random.Random(start).randbytes(48_000).hex()
    for i in range(start, start + count):
        yield Message(
            id=f"msg_big_{i}",
            agent_id=agent,
            position=position_from_parts(1_767_225_600_000 + i, 0),
            batch_id=f"batch_big_{i}",
            sequence_in_batch=0,
            role=MessageRole.TOOL,
            content_json={"type": "tool_result", "data": blob, "n": i},
            content_preview=f"result {i}",
            batch_type=BatchType.USER_REQUEST,
        )


def _wal_size(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0


def _write_until_wal_exceeds(db: ConstellationDb, start: int, size: int) -> int:
    """Write big messages (50 a transaction) until the WAL file is over `size`; return the next
    message number."""
    path = db.path
    assert path is not None
    n = start
    while _wal_size(path) <= size:
        assert n - start < 20_000, "the WAL never grew: nothing held it"
        mq.create_messages(db, list(_big_messages("w0", n, 50)))
        n += 50
    return n


def _write(db: ConstellationDb, start: int, messages: int) -> int:
    """Write `messages` big messages (50 a transaction); return the next message number."""
    for n in range(start, start + messages, 50):
        mq.create_messages(db, list(_big_messages("w0", n, 50)))
    return start + messages


def test_the_wal_is_bounded_again_once_a_long_reader_leaves(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    with ConstellationDb.open(path) as db:
        create_agent(db, _agent("w0"))
    reader = subprocess.Popen(
        [sys.executable, str(CHILD), "pin", str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout is not None
    assert reader.stdout.readline().strip() == "pinned"
    with ConstellationDb.open(path) as db:
        # The reader's snapshot keeps every frame since it began: the WAL passes the limit.
        pinned = n = _write_until_wal_exceeds(db, 0, WAL_LIMIT + 8 * 1024 * 1024)
        held = _wal_size(path)
        _, err = reader.communicate("go\n", timeout=120)
        assert reader.returncode == 0, err[-3000:]
        # Next commits checkpoint everything, restart the WAL and cut it to the limit.
        n = _write(db, n, 100)
        assert _wal_size(path) <= WAL_LIMIT < held
        print(f"WAL {held} bytes under a long reader, {_wal_size(path)} once it left")
        # As much again with no reader: autocheckpoints keep it within the limit.
        while n < 2 * pinned + 100:
            n = _write(db, n, 100)
            assert _wal_size(path) <= WAL_LIMIT
        assert mq.count_messages(db, "w0") == n
        db.checkpoint()
        assert _wal_size(path) == 0
