"""Snowflake positions and ids."""

from __future__ import annotations

import uuid
from itertools import pairwise

import pytest

from pattern_db import errors
from pattern_db.ids import (
    PositionGenerator,
    new_id,
    next_position,
    normalize_position,
    position_from_parts,
    position_parts,
)


def test_ten_thousand_positions_strictly_increase_as_text_and_as_integers() -> None:
    positions = [next_position() for _ in range(10_000)]
    assert all(len(p) == 20 and p.isdigit() for p in positions)
    assert all(a < b for a, b in pairwise(positions))
    as_ints = [int(p) for p in positions]
    assert all(a < b for a, b in pairwise(as_ints))


def test_positions_keep_increasing_when_the_clock_steps_back() -> None:
    clock = [1_700_000_000_000]
    generator = PositionGenerator(clock=lambda: clock[0])
    before = [generator.next() for _ in range(1_000)]
    clock[0] -= 60_000  # NTP steps the clock back a minute
    after = [generator.next() for _ in range(10_000)]
    clock[0] += 120_000
    later = [generator.next() for _ in range(10)]
    sequence = before + after + later
    assert all(a < b for a, b in pairwise(sequence))
    assert all(int(a) < int(b) for a, b in pairwise(sequence))


def test_a_full_millisecond_borrows_the_next() -> None:
    generator = PositionGenerator(clock=lambda: 1_700_000_000_000)
    values = [generator.next_int() for _ in range(70_000)]
    assert len(set(values)) == 70_000
    assert position_parts(values[-1])[0] == 1_700_000_000_001


def test_position_layout() -> None:
    position = position_from_parts(1_700_000_000_000, 7)
    # (1_700_000_000_000 - 1_288_834_974_657) << 16 | 7
    assert position == "00026946111100878855"
    assert position_parts(position) == (1_700_000_000_000, 7)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("123", "00000000000000000123"), (123, "00000000000000000123"), ("0" * 20, "0" * 20)],
)
def test_imported_positions_are_repadded(raw: str | int, expected: str) -> None:
    assert normalize_position(raw) == expected


# The last case is two fullwidth digits: str.isdigit() accepts them, a position must not.
@pytest.mark.parametrize("bad", ["", "-1", "12a", "1" * 21, str(2**64), "\uff11\uff12"])
def test_bad_positions_are_refused(bad: str) -> None:
    with pytest.raises(errors.InvalidData):
        normalize_position(bad)


def test_new_id_is_a_time_ordered_uuid7() -> None:
    ids = [new_id() for _ in range(100)]
    assert all(uuid.UUID(i).version == 7 for i in ids)
    assert len(set(ids)) == 100
    assert new_id("msg").startswith("msg_")
