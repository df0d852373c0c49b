"""A cross-process FIFO in front of `BEGIN IMMEDIATE`: writers get the write lock in arrival order.

SQLite's busy handler sleeps with a growing backoff while the lock may already be free, so under
contention the lock goes to whoever retries at the right moment: throughput falls and a writer can
starve for seconds. Here each writer takes a ticket and goes once every earlier ticket is gone.

The queue is a sidecar file `<db>-wlock` and open-file-description (OFD) byte-range locks, which
the kernel drops when their holder dies: a process killed with kill -9 while queued or holding
cannot wedge the others. Byte 0 (a lock held for microseconds) guards the queue's state: the
file's bytes 8-16 hold the last ticket issued, 16-24 the last one granted, 24-32 the end of the
holder's grace (below). Ticket t holds a write lock on byte `_SLOTS + t` until its transaction
ends; a waiter sleeps in the kernel on a read lock of the bytes before it, on a pool thread so
that the wait can time out, and wakes when the last earlier ticket lets go.

A writer in a tight loop keeps the turn for a short burst: switching writer process costs the new
writer about 0.3 ms of CPU (SQLite drops its page cache when another connection wrote), as much as
a small transaction itself. While its burst lasts, the next in line leaves it a grace of a few
times its usual gap between transactions (none for a sparse writer) to take the turn back; a burst
cut short is made up at the writer's next turn, so writers in a loop get equal shares.

SQLite's lock still gives mutual exclusion; the queue only orders who asks for it, so a failure
here (no OFD locks outside Linux, a sidecar that cannot be opened, an I/O error) means writing
without the queue, never a lost or doubled write. `PATTERN_DB_WRITE_QUEUE=off` turns it off.
"""

from __future__ import annotations

import os
import queue
import struct
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from pattern_db.errors import DatabaseBusy

__all__ = ["ENV_SWITCH", "WriteQueue", "enabled", "open_queue", "sidecar_path"]

ENV_SWITCH = "PATTERN_DB_WRITE_QUEUE"

try:
    import fcntl

    _GETLK: int = fcntl.F_OFD_GETLK
    _SETLK: int = fcntl.F_OFD_SETLK
    _SETLKW: int = fcntl.F_OFD_SETLKW
    _RDLCK, _WRLCK, _UNLCK = fcntl.F_RDLCK, fcntl.F_WRLCK, fcntl.F_UNLCK
    _HAVE_OFD_LOCKS = True
except (ImportError, AttributeError):  # not Linux: SQLite's busy handler alone
    _GETLK = _SETLK = _SETLKW = _RDLCK = _WRLCK = _UNLCK = 0
    _HAVE_OFD_LOCKS = False

_FLOCK = struct.Struct("hhqqi4x")  # Linux struct flock: type, whence, start, len, pid (0 for OFD)
_U64 = struct.Struct("<Q")
_MUTEX = 0
_ISSUED = 8
_GRANTED = 16
_GRACE_UNTIL = 24
_SLOTS = 1 << 32

# A burst: this many transactions (plus what an earlier burst cut short left owing), within this
# long; the grace is three times the writer's usual gap between transactions, within these bounds.
_BURST_TURNS = 8
_BURST_SECONDS = 0.02
_MAX_GRACE_S = 0.001
_MIN_GRACE_S = 0.0001

_open_queues: weakref.WeakSet[WriteQueue] = weakref.WeakSet()


def sidecar_path(db_path: Path) -> Path:
    """Return the queue's file for a database file."""
    return db_path.with_name(db_path.name + "-wlock")


def enabled() -> bool:
    """Return False when the environment switch turns the queue off (for comparisons)."""
    return os.environ.get(ENV_SWITCH, "on").strip().lower() not in {"0", "off", "false", "no"}


def open_queue(db_path: Path) -> WriteQueue | None:
    """Return the write queue of a database file, or None where there can be none."""
    if not _HAVE_OFD_LOCKS or not enabled():
        return None
    path = sidecar_path(db_path)
    try:
        # Like SQLite's -wal and -shm: the database file's permission bits, whatever the umask.
        mode = db_path.stat().st_mode & 0o666
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            return None
    except OSError:
        return None
    else:
        with suppress(OSError):
            os.fchmod(fd, mode)
    return WriteQueue(fd)


def _lock(fd: int, command: int, kind: int, start: int, length: int = 1) -> int:
    """Apply or test one byte-range lock; return the type of a conflicting lock (tests)."""
    answer = fcntl.fcntl(fd, command, _FLOCK.pack(kind, os.SEEK_SET, start, length, 0))
    kind_found: int = _FLOCK.unpack(answer)[0]
    return kind_found


@contextmanager
def _held(fd: int, offset: int) -> Iterator[None]:
    """Hold a byte's lock for a few system calls (the kernel drops it if the process dies)."""
    _lock(fd, _SETLKW, _WRLCK, offset)
    try:
        yield
    finally:
        _lock(fd, _SETLK, _UNLCK, offset)


def _read(fd: int, offset: int) -> int:
    raw = os.pread(fd, _U64.size, offset)
    return _U64.unpack(raw)[0] if len(raw) == _U64.size else 0


class _Sleepers:
    """Daemon threads that sleep in the kernel for the writers of this process.

    A blocking lock cannot time out, so the writer waits for a thread that takes it; a wait
    abandoned at the busy timeout keeps its thread until the tickets before it leave. Daemon
    threads, so a process can always exit.
    """

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._idle = 0
        self._lock = threading.Lock()

    def wait_until_clear(self, fd: int, ticket: int, timeout_s: float) -> bool:
        """Return True once no ticket before `ticket` holds its slot, False at the timeout."""
        job = _Job(os.dup(fd), ticket)
        with self._lock:
            if self._idle:
                self._idle -= 1
            else:
                threading.Thread(
                    target=self._work, name="pattern-db-write-queue", daemon=True
                ).start()
        self._jobs.put(job)
        if not job.done.wait(timeout_s):
            return False
        if job.error is not None:
            raise job.error
        return True

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                _lock(job.fd, _SETLKW, _RDLCK, _SLOTS, job.ticket)
                _lock(job.fd, _SETLK, _UNLCK, _SLOTS, job.ticket)
            except OSError as exc:
                job.error = exc
            finally:
                os.close(job.fd)
            with self._lock:
                self._idle += 1
            job.done.set()


class _Job:
    __slots__ = ("done", "error", "fd", "ticket")

    def __init__(self, fd: int, ticket: int) -> None:
        self.fd = fd
        self.ticket = ticket
        self.done = threading.Event()
        self.error: OSError | None = None


_sleepers = _Sleepers()


class WriteQueue:
    """One handle's place in its database's write queue (used under the handle's writer lock)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._ticket = 0
        self._burst_left = 0
        self._owed = 0
        self._burst_ends = 0.0
        self._released_at = 0.0
        self._gap = _MAX_GRACE_S
        _open_queues.add(self)

    @contextmanager
    def turn(self, timeout_s: float) -> Iterator[None]:
        """Wait for this writer's turn, hold it for the block, then pass it on.

        Raises:
            DatabaseBusy: earlier writers held the queue for longer than `timeout_s`.
        """
        queued = self._acquire(timeout_s)
        try:
            yield
        finally:
            if queued:
                self._release()

    def close(self) -> None:
        """Leave the queue for good (closing the file drops any lock still held)."""
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)
        _open_queues.discard(self)

    def _acquire(self, timeout_s: float) -> bool:
        if self._fd < 0:
            return False
        gap = time.monotonic() - self._released_at
        self._gap += (min(gap, 2 * _MAX_GRACE_S) - self._gap) / 4
        try:
            if self._burst_left > 0 and self._rejoin():
                self._burst_left -= 1
                return True
            # A burst cut short (the writer came back too late) is made up at its next turn,
            # so that every writer in a tight loop gets about as many transactions per round.
            self._owed = min(self._owed + self._burst_left, 2 * _BURST_TURNS)
            self._burst_left = 0
            ticket = self._take_ticket()
        except OSError:
            return False
        try:
            self._wait(ticket, time.monotonic() + timeout_s)
        except OSError:
            self._unlock_slot(ticket)
            return False
        except BaseException:
            self._unlock_slot(ticket)
            raise
        self._ticket = ticket
        self._burst_left, self._owed = _BURST_TURNS - 1 + self._owed, 0
        self._burst_ends = time.monotonic() + _BURST_SECONDS
        return True

    def _rejoin(self) -> bool:
        """Take the turn back if nobody was granted it since this writer's (its burst)."""
        if time.monotonic() >= self._burst_ends:
            return False
        fd = self._fd
        with _held(fd, _MUTEX):
            if _read(fd, _GRANTED) != self._ticket:
                return False
            try:
                _lock(fd, _SETLK, _WRLCK, _SLOTS + self._ticket)
            except OSError:  # a waiter is just checking the slots: let it go first
                return False
        return True

    def _take_ticket(self) -> int:
        fd = self._fd
        with _held(fd, _MUTEX):
            ticket = _read(fd, _ISSUED) + 1
            os.pwrite(fd, _U64.pack(ticket), _ISSUED)
            # Taken under the mutex, so a later ticket always sees this slot held.
            _lock(fd, _SETLK, _WRLCK, _SLOTS + ticket)
        return ticket

    def _wait(self, ticket: int, deadline: float) -> None:
        while True:
            grace = self._try_grant(ticket)
            if grace == 0.0:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                ahead = ticket - _read(self._fd, _GRANTED)
                raise DatabaseBusy(
                    "the database stayed locked by other writers for longer than the busy "
                    f"timeout (still {ahead} ahead in its write queue)"
                )
            if grace > 0:
                time.sleep(min(grace, left))
            else:
                _sleepers.wait_until_clear(self._fd, ticket, left)

    def _try_grant(self, ticket: int) -> float:
        """Take the turn if it is free: 0.0; else the grace left (s), or -1.0 if still held."""
        fd = self._fd
        with _held(fd, _MUTEX):
            if _lock(fd, _GETLK, _WRLCK, _SLOTS, ticket) != _UNLCK:
                return -1.0
            grace_left = _read(fd, _GRACE_UNTIL) - time.monotonic_ns()
            if grace_left > 0:
                return grace_left / 1e9
            os.pwrite(fd, _U64.pack(ticket), _GRANTED)
        return 0.0

    def _release(self) -> None:
        now = self._released_at = time.monotonic()
        grace = 0
        if self._burst_left > 0 and now < self._burst_ends and self._gap < _MAX_GRACE_S:
            wait = min(_MAX_GRACE_S, max(_MIN_GRACE_S, 3 * self._gap))
            grace = time.monotonic_ns() + int(wait * 1e9)
        with suppress(OSError):
            os.pwrite(self._fd, _U64.pack(grace), _GRACE_UNTIL)
        self._unlock_slot(self._ticket)

    def _unlock_slot(self, ticket: int) -> None:
        if self._fd >= 0:
            with suppress(OSError):
                _lock(self._fd, _SETLK, _UNLCK, _SLOTS + ticket)


def _forget_in_child() -> None:
    # A forked child shares the parent's open file descriptions: its copies must not keep the
    # parent's locks alive after the parent dies, and the child must not queue as the parent.
    # Nor do the parent's sleeping threads exist in the child.
    global _sleepers
    _sleepers = _Sleepers()
    for each in list(_open_queues):
        each.close()


os.register_at_fork(after_in_child=_forget_in_child)
