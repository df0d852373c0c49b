"""Identifiers: time-ordered ids for rows and snowflake positions for messages.

A position is a 64-bit snowflake, 48 bits of milliseconds since the Twitter epoch
(1288834974657, the layout legacy Pattern data uses) and a 16-bit sequence, stored as a 20-digit
zero-padded decimal string so that text order equals numeric order. The generator never goes
backwards: when the clock steps back it keeps counting from the last millisecond it issued, and
when a millisecond's 65,536 sequence numbers run out it borrows the next millisecond.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from pattern_db.errors import InvalidData

__all__ = [
    "POSITION_WIDTH",
    "TWITTER_EPOCH_MS",
    "PositionGenerator",
    "new_id",
    "next_position",
    "normalize_position",
    "position_from_parts",
    "position_parts",
]

TWITTER_EPOCH_MS = 1288834974657
POSITION_WIDTH = 20
_SEQUENCE_BITS = 16
_SEQUENCE_MASK = (1 << _SEQUENCE_BITS) - 1
_MAX_POSITION = (1 << 64) - 1


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class PositionGenerator:
    """Thread-safe, strictly increasing snowflake positions.

    Example: `PositionGenerator(clock=lambda: 1_700_000_000_000).next()` -> a 20-digit string.
    """

    def __init__(self, clock: Callable[[], int] = _wall_clock_ms) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._last_ms = -1
        self._sequence = 0

    def next_int(self) -> int:
        """Return the next position as an integer."""
        with self._lock:
            now_ms = self._clock() - TWITTER_EPOCH_MS
            if now_ms > self._last_ms:
                self._last_ms = now_ms
                self._sequence = 0
            else:
                # Same millisecond, or the clock stepped back: keep counting from where we were.
                self._sequence += 1
                if self._sequence > _SEQUENCE_MASK:
                    self._last_ms += 1
                    self._sequence = 0
            return (self._last_ms << _SEQUENCE_BITS) | self._sequence

    def next(self) -> str:
        """Return the next position as 20-digit text."""
        return f"{self.next_int():020d}"


_GENERATOR = PositionGenerator()


def _reset_after_fork() -> None:
    # A forked child inherits the parent's state; a fresh lock avoids a deadlock if the fork
    # happened while another thread held it. Monotonicity is kept by the copied counters.
    _GENERATOR._lock = threading.Lock()


os.register_at_fork(after_in_child=_reset_after_fork)


def next_position() -> str:
    """Return the next message position of this process (20-digit text).

    Example: `next_position()` -> "00452418029874331648".
    """
    return _GENERATOR.next()


def position_from_parts(unix_ms: int, sequence: int = 0) -> str:
    """Return the position text for a unix time in milliseconds and a sequence number."""
    return f"{((unix_ms - TWITTER_EPOCH_MS) << _SEQUENCE_BITS) | sequence:020d}"


def position_parts(position: str | int) -> tuple[int, int]:
    """Return (unix milliseconds, sequence) of a position."""
    value = int(position)
    return (value >> _SEQUENCE_BITS) + TWITTER_EPOCH_MS, value & _SEQUENCE_MASK


def normalize_position(position: str | int) -> str:
    """Return a position re-padded to 20 digits (imports carry unpadded snowflakes).

    Raises:
        InvalidData: not a non-negative integer that fits in 64 bits.
    """
    text = str(position).strip()
    if not text.isdigit() or not text.isascii():
        raise InvalidData(f"not a message position: {position!r} (expected decimal digits)")
    value = int(text)
    if value > _MAX_POSITION:
        raise InvalidData(f"message position {position!r} does not fit in 64 bits")
    return f"{value:020d}"


def new_id(prefix: str | None = None) -> str:
    """Return a new time-ordered unique id (UUIDv7 layout), optionally prefixed.

    Time order keeps B-tree inserts local. Example: `new_id("msg")` -> "msg_019ad2f4-...".
    """
    unix_ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    # 48-bit ms, version 7, 12 random bits, variant 0b10, 62 random bits.
    value = (
        (unix_ms & 0xFFFF_FFFF_FFFF) << 80
        | 0x7 << 76
        | (rand >> 68) << 64
        | 0b10 << 62
        | (rand & ((1 << 62) - 1))
    )
    text = f"{value:032x}"
    uuid_text = f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    return f"{prefix}_{uuid_text}" if prefix else uuid_text
