"""A cross-process FIFO in front of `BEGIN IMMEDIATE`: writers get the write lock in arrival order.

SQLite's busy handler sleeps with a growing backoff while the lock may already be free, so under
contention the lock goes to whoever retries at the right moment: throughput falls and a writer can
starve for seconds. Here each writer takes a ticket and goes once every earlier ticket is gone,
polling with short sleeps (about 0.1 ms when next in line).

The queue is a sidecar file `<db>-wlock` and open-file-description (OFD) byte-range locks, which
the kernel drops when their holder dies: a process killed with kill -9 while queued or holding
cannot wedge the others. Byte 0 (a lock held for microseconds) guards taking a ticket; the file's
bytes 8-16 hold the last ticket issued and 16-24 the last one granted (waiters size their sleeps
from it); ticket t holds a write lock on byte `_SLOTS + t` until its transaction ends.

SQLite's lock still gives mutual exclusion; the queue only orders who asks for it, so any failure
here (no OFD locks outside Linux, a sidecar that cannot be opened, an I/O error) means writing
without the queue, never a lost or doubled write. `PATTERN_DB_WRITE_QUEUE=off` turns it off.
"""

from __future__ import annotations

import os
import struct
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
    _WRLCK, _UNLCK = fcntl.F_WRLCK, fcntl.F_UNLCK
    _HAVE_OFD_LOCKS = True
except (ImportError, AttributeError):  # not Linux: SQLite's busy handler alone
    _GETLK = _SETLK = _SETLKW = _WRLCK = _UNLCK = 0
    _HAVE_OFD_LOCKS = False

_FLOCK = struct.Struct("hhqqi4x")  # Linux struct flock: type, whence, start, len, pid (0 for OFD)
_U64 = struct.Struct("<Q")
_MUTEX = 0
_ISSUED = 8
_GRANTED = 16
_SLOTS = 1 << 32

# Next in line polls this often; further back, half the expected wait, at most _MAX_PAUSE.
_HEAD_PAUSE = 0.00005
_MAX_PAUSE = 0.005
_FIRST_HOLD_GUESS = 0.001
# A writer may take the turn again this many times in a row, within this long, while nobody has
# been granted it since (see WriteQueue._rejoin).
_BURST_TURNS = 8
_BURST_SECONDS = 0.005

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


class WriteQueue:
    """One handle's place in its database's write queue (used under the handle's writer lock)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._ticket = 0
        self._granted_at = 0.0
        self._burst_left = 0
        self._burst_ends = 0.0
        self._hold = _FIRST_HOLD_GUESS
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
        try:
            if self._burst_left > 0 and self._rejoin():
                self._burst_left -= 1
                return True
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
        self._granted_at = time.monotonic()
        self._burst_left = _BURST_TURNS - 1
        self._burst_ends = self._granted_at + _BURST_SECONDS
        return True

    def _rejoin(self) -> bool:
        """Take the turn again if nobody was granted it since this writer's (a short burst).

        Each switch to another process costs a cold page cache there (about half a
        transaction), so a writer in a tight loop keeps the turn for a few transactions.
        """
        if time.monotonic() >= self._burst_ends:
            return False
        fd = self._fd
        with _held(fd, _MUTEX):
            if self._read(_GRANTED) != self._ticket:
                return False
            _lock(fd, _SETLK, _WRLCK, _SLOTS + self._ticket)
        self._granted_at = time.monotonic()
        return True

    def _take_ticket(self) -> int:
        fd = self._fd
        with _held(fd, _MUTEX):
            ticket = self._read(_ISSUED) + 1
            os.pwrite(fd, _U64.pack(ticket), _ISSUED)
            # Taken under the mutex, so a later ticket always sees this slot held.
            _lock(fd, _SETLK, _WRLCK, _SLOTS + ticket)
        return ticket

    def _wait(self, ticket: int, deadline: float) -> None:
        while not self._granted(ticket):
            now = time.monotonic()
            ahead = max(1, ticket - self._read(_GRANTED))
            if now >= deadline:
                raise DatabaseBusy(
                    "the database stayed locked by other writers for longer than the busy "
                    f"timeout (waiting in the write queue with {ahead} ahead)"
                )
            pause = _HEAD_PAUSE if ahead <= 1 else min(_MAX_PAUSE, (ahead - 1) * self._hold / 2)
            time.sleep(min(max(pause, _HEAD_PAUSE), deadline - now))

    def _granted(self, ticket: int) -> bool:
        """Take the turn if every earlier ticket is gone (checked and marked under the mutex)."""
        fd = self._fd
        with _held(fd, _MUTEX):
            if _lock(fd, _GETLK, _WRLCK, _SLOTS, ticket) != _UNLCK:
                return False
            os.pwrite(fd, _U64.pack(ticket), _GRANTED)
        return True

    def _read(self, offset: int) -> int:
        raw = os.pread(self._fd, _U64.size, offset)
        return _U64.unpack(raw)[0] if len(raw) == _U64.size else 0

    def _release(self) -> None:
        held = time.monotonic() - self._granted_at
        self._hold += (held - self._hold) / 8
        self._unlock_slot(self._ticket)

    def _unlock_slot(self, ticket: int) -> None:
        if self._fd >= 0:
            with suppress(OSError):
                _lock(self._fd, _SETLK, _UNLCK, _SLOTS + ticket)


@contextmanager
def _held(fd: int, offset: int) -> Iterator[None]:
    """Hold a byte's lock for a few system calls (the kernel drops it if the process dies)."""
    _lock(fd, _SETLKW, _WRLCK, offset)
    try:
        yield
    finally:
        _lock(fd, _SETLK, _UNLCK, offset)


def _forget_in_child() -> None:
    # A forked child shares the parent's open file descriptions: its copies must not keep the
    # parent's locks alive after the parent dies, and the child must not queue as the parent.
    for queue in list(_open_queues):
        queue.close()


os.register_at_fork(after_in_child=_forget_in_child)
