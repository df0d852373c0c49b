"""The cross-process write queue: exclusion, arrival order, dead holders and waiters, nesting.

Each other writer is a real process (tests/stress_child.py). Speed and fairness figures are in
bench/bench_writers.py; here only what must hold.
"""

from __future__ import annotations

import os
import signal
import stat
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pattern_db import ConstellationDb
from pattern_db._write_queue import ENV_SWITCH, open_queue, sidecar_path
from pattern_db.errors import AlreadyExists, DatabaseBusy
from pattern_db.models import Agent
from pattern_db.queries.agent import create_agent, get_agent

CHILD = Path(__file__).with_name("stress_child.py")
COUNTER_TABLE = "CREATE TABLE IF NOT EXISTS test_counter (id INTEGER PRIMARY KEY, n INTEGER)"
# Long enough that a wedged queue shows as DatabaseBusy, not as a slow test.
BOUNDED_MS = 20_000


def _agent(agent_id: str) -> Agent:
    return Agent(id=agent_id, name=agent_id, model_provider="anthropic", model_name="claude")


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(child: subprocess.Popen[str]) -> str:
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, f"child exited {child.returncode}:\n{err[-3000:]}"
    return out


def _line(child: subprocess.Popen[str]) -> str:
    assert child.stdout is not None
    line = child.stdout.readline().strip()
    if not line:
        child.wait(timeout=30)
        assert child.stderr is not None
        raise AssertionError(f"child said nothing:\n{child.stderr.read()[-3000:]}")
    return line


def _tickets_issued(db_path: Path) -> int:
    raw = sidecar_path(db_path).read_bytes()[8:16]
    return struct.unpack("<Q", raw)[0] if len(raw) == 8 else 0


def _wait_for_tickets(db_path: Path, count: int) -> None:
    """Wait until `count` tickets were taken (a child is queued), at most a minute."""
    ends = time.monotonic() + 60
    while _tickets_issued(db_path) < count:
        assert time.monotonic() < ends, "a child never joined the queue"
        time.sleep(0.01)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "constellation.db"
    with ConstellationDb.open(path) as db:
        create_agent(db, _agent("a1"))
    return path


def _kill(child: subprocess.Popen[str]) -> None:
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)


# -- exclusion and order ---------------------------------------------------------------------


def test_queue_turns_exclude_each_other_across_processes(db_path: Path, tmp_path: Path) -> None:
    # A read-modify-write of a plain file, guarded by nothing but the queue.
    counter = tmp_path / "counter"
    counter.write_text("0")
    children = [_spawn("file-increment", str(db_path), str(counter), "150") for _ in range(4)]
    for child in children:
        _finish(child)
    assert counter.read_text() == "600"


def test_counter_increments_from_many_processes_lose_nothing(db_path: Path) -> None:
    with ConstellationDb.open(db_path) as db, db.writer() as conn:
        conn.execute(COUNTER_TABLE)
        conn.execute("INSERT INTO test_counter VALUES (1, 0)")
    children = [_spawn("db-increment", str(db_path), "100") for _ in range(4)]
    for child in children:
        _finish(child)
    with ConstellationDb.open(db_path) as db, db.reader() as conn:
        assert conn.execute("SELECT n FROM test_counter").fetchall() == [(400,)]


@pytest.mark.parametrize("order", [("b", "c"), ("c", "b")])
def test_turns_are_granted_in_arrival_order(
    db_path: Path, tmp_path: Path, order: tuple[str, str]
) -> None:
    out = tmp_path / "order"
    holder = _spawn("hold", str(db_path))
    assert _line(holder) == "holding"
    issued = _tickets_issued(db_path)
    waiters = []
    for n, name in enumerate(order, start=1):
        waiters.append(_spawn("turn-append", str(db_path), name, str(out)))
        _wait_for_tickets(db_path, issued + n)
    assert holder.stdin is not None
    holder.stdin.write("go\n")
    holder.stdin.flush()
    _finish(holder)
    for waiter in waiters:
        _finish(waiter)
    assert out.read_text().split() == list(order)


# -- processes that die ----------------------------------------------------------------------


def test_a_holder_killed_with_sigkill_does_not_block_the_others(db_path: Path) -> None:
    holder = _spawn("hold", str(db_path))
    assert _line(holder) == "holding"
    _kill(holder)
    with ConstellationDb.open(db_path, busy_timeout_ms=BOUNDED_MS) as db:
        create_agent(db, _agent("after"))
        assert get_agent(db, "after") is not None


def test_a_waiter_killed_in_the_queue_does_not_block_those_behind(
    db_path: Path, tmp_path: Path
) -> None:
    holder = _spawn("hold", str(db_path))
    assert _line(holder) == "holding"
    issued = _tickets_issued(db_path)
    doomed = _spawn("turn-append", str(db_path), "doomed", str(tmp_path / "order"))
    _wait_for_tickets(db_path, issued + 1)
    behind = _spawn("turn-append", str(db_path), "behind", str(tmp_path / "order"))
    _wait_for_tickets(db_path, issued + 2)
    _kill(doomed)
    assert holder.stdin is not None
    holder.stdin.write("go\n")
    holder.stdin.flush()
    _finish(holder)
    _finish(behind)
    assert (tmp_path / "order").read_text().split() == ["behind"]


def test_a_forked_child_does_not_keep_a_dead_holders_turn(db_path: Path) -> None:
    # The child inherits the parent's open files; the queue's copy is closed in it at fork.
    holder = _spawn("fork-hold", str(db_path))
    grandchild = int(_line(holder))
    try:
        _kill(holder)
        with ConstellationDb.open(db_path, busy_timeout_ms=BOUNDED_MS) as db:
            create_agent(db, _agent("after"))
    finally:
        os.kill(grandchild, signal.SIGKILL)


def test_a_turn_held_past_the_busy_timeout_raises_database_busy(db_path: Path) -> None:
    holder = _spawn("hold", str(db_path))
    assert _line(holder) == "holding"
    try:
        with ConstellationDb.open(db_path, busy_timeout_ms=200) as db:
            with pytest.raises(DatabaseBusy):
                create_agent(db, _agent("late"))
            assert get_agent(db, "late") is None
    finally:
        _kill(holder)


# -- one process -----------------------------------------------------------------------------


def test_nested_transactions_and_savepoints_take_one_turn(db_path: Path) -> None:
    with ConstellationDb.open(db_path, busy_timeout_ms=BOUNDED_MS) as db:
        with db.transaction() as tx:
            create_agent(tx, _agent("outer"))
            with pytest.raises(AlreadyExists):
                create_agent(tx, _agent("outer"))  # its savepoint rolls back, the tx goes on
            with db.writer() as conn:  # nested writer: a savepoint, no second turn
                conn.execute("UPDATE agents SET name = 'renamed' WHERE id = 'outer'")
            create_agent(tx, _agent("inner"))
        renamed = get_agent(db, "outer")
        assert renamed is not None
        assert renamed.name == "renamed"
        assert get_agent(db, "inner") is not None
        # The turn was passed on: another process writes now.
        with db.writer() as conn:
            conn.execute(COUNTER_TABLE)
            conn.execute("INSERT INTO test_counter VALUES (1, 0)")
    _finish(_spawn("db-increment", str(db_path), "3"))
    with ConstellationDb.open(db_path) as db, db.reader() as conn:
        assert conn.execute("SELECT n FROM test_counter").fetchall() == [(3,)]


def test_a_failed_transaction_passes_the_turn_on(db_path: Path) -> None:
    with ConstellationDb.open(db_path, busy_timeout_ms=BOUNDED_MS) as db:

        def abort() -> None:
            with db.transaction() as tx:
                create_agent(tx, _agent("doomed"))
                raise RuntimeError("abort")

        with pytest.raises(RuntimeError):
            abort()
        assert get_agent(db, "doomed") is None
        with db.writer() as conn:
            conn.execute(COUNTER_TABLE)
            conn.execute("INSERT INTO test_counter VALUES (1, 0)")
    _finish(_spawn("db-increment", str(db_path), "2"))


def test_two_handles_in_one_process_take_turns(db_path: Path) -> None:
    with (
        ConstellationDb.open(db_path, busy_timeout_ms=BOUNDED_MS) as first,
        ConstellationDb.open(db_path, busy_timeout_ms=BOUNDED_MS) as second,
    ):
        for i in range(20):
            create_agent(first if i % 2 else second, _agent(f"h{i}"))
        assert all(get_agent(first, f"h{i}") is not None for i in range(20))


def test_the_sidecar_has_the_database_files_permissions(tmp_path: Path) -> None:
    path = tmp_path / "private.db"
    with ConstellationDb.open(path) as db:
        path.chmod(0o600)
        create_agent(db, _agent("a1"))
    sidecar = sidecar_path(path)
    assert sidecar.name == "private.db-wlock"
    assert stat.S_IMODE(sidecar.stat().st_mode) == 0o600


def test_the_switch_turns_the_queue_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_SWITCH, "off")
    path = tmp_path / "plain.db"
    with ConstellationDb.open(path) as db:
        create_agent(db, _agent("a1"))
        assert get_agent(db, "a1") is not None
    assert not sidecar_path(path).exists()
    assert open_queue(path) is None


def test_an_in_memory_database_writes_without_a_queue(tmp_path: Path) -> None:
    before = set(Path.cwd().iterdir())
    with ConstellationDb.open_in_memory() as db:
        with db.transaction() as tx:
            create_agent(tx, _agent("m1"))
            with db.writer() as conn:
                conn.execute("UPDATE agents SET name = 'memory' WHERE id = 'm1'")
        agent = get_agent(db, "m1")
        assert agent is not None
        assert agent.name == "memory"
    assert not [p for p in set(Path.cwd().iterdir()) - before if p.name.endswith("-wlock")]
