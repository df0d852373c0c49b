"""Canonical timestamps and the tolerant legacy parser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pattern_db import errors
from pattern_db.timeutil import format_ts, parse_ts

T = datetime(2025, 12, 26, 10, 11, 12, 123456, tzinfo=UTC)


def test_canonical_format_is_fixed_width_utc() -> None:
    assert format_ts(T) == "2025-12-26T10:11:12.123456Z"
    assert format_ts(T.replace(microsecond=0)) == "2025-12-26T10:11:12.000000Z"
    plus_two = T.astimezone(timezone(timedelta(hours=2)))
    assert format_ts(plus_two) == "2025-12-26T10:11:12.123456Z"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(errors.InvalidData, match="timezone-aware"):
        format_ts(datetime(2025, 1, 1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # canonical
        ("2025-12-26T10:11:12.123456Z", T),
        # sqlx RFC 3339 with +00:00 and 0, 3, 6 or 9 fraction digits
        ("2025-12-26T10:11:12+00:00", T.replace(microsecond=0)),
        ("2025-12-26T10:11:12.123+00:00", T.replace(microsecond=123000)),
        ("2025-12-26T10:11:12.123456+00:00", T),
        ("2025-12-26T10:11:12.123456789+00:00", T),
        # SQLite datetime('now'): space separator, no fraction, no zone (UTC by convention)
        ("2025-12-26 10:11:12", T.replace(microsecond=0)),
        ("2025-12-26 10:11:12.123", T.replace(microsecond=123000)),
        # other offsets and spellings sqlx accepts
        ("2025-12-26T12:11:12.123456+02:00", T),
        ("2025-12-26T05:11:12.123456-0500", T),
        ("2025-12-26T10:11:12Z", T.replace(microsecond=0)),
        ("2025-12-26T10:11", T.replace(second=0, microsecond=0)),
        ("2025-12-26", datetime(2025, 12, 26, tzinfo=UTC)),
        # integer unix seconds (as an int or as text) and a REAL Julian day
        (1766743872, T.replace(microsecond=0)),
        ("1766743872", T.replace(microsecond=0)),
        (2461035.924444444, datetime(2025, 12, 26, 10, 11, 12, tzinfo=UTC)),
    ],
)
def test_parser_reads_every_legacy_format(text: str | int | float, expected: datetime) -> None:
    parsed = parse_ts(text)
    assert parsed.tzinfo is not None
    assert abs(parsed - expected) < timedelta(milliseconds=1)
    if not isinstance(text, float):
        assert parsed == expected


@pytest.mark.parametrize("bad", ["", "yesterday", "2025-13-45T00:00:00Z", "2025-12-26T25:00", True])
def test_parser_refuses_garbage(bad: object) -> None:
    with pytest.raises(errors.InvalidData):
        parse_ts(bad)  # type: ignore[arg-type]


@given(st.datetimes(timezones=st.just(UTC)))
def test_format_then_parse_round_trips(value: datetime) -> None:
    text = format_ts(value)
    assert len(text) == 27
    assert parse_ts(text) == value


@given(st.datetimes(timezones=st.just(UTC)), st.datetimes(timezones=st.just(UTC)))
def test_text_order_is_time_order(a: datetime, b: datetime) -> None:
    assert (format_ts(a) < format_ts(b)) == (a < b)
