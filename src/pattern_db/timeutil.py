"""Canonical UTC timestamps: one fixed-width text form in the database, aware datetimes in Python.

Stored form: `2026-11-29T18:20:00.123456Z` (27 characters, always six fraction digits), so text
order equals time order. The parser also reads what legacy data holds: RFC 3339 with `+00:00` or
another offset and 0-9 fraction digits, SQLite's `YYYY-MM-DD HH:MM:SS` (UTC by convention), integer
unix seconds and REAL Julian days.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from pattern_db.errors import InvalidData

__all__ = ["format_ts", "now", "now_ts", "parse_ts", "to_utc"]

# Julian day number of the unix epoch (1970-01-01T00:00:00Z).
_UNIX_EPOCH_JULIAN_DAY = 2440587.5

_LEGACY = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})(?:[T ](?P<time>\d{2}:\d{2}(?::\d{2})?)"
    r"(?:\.(?P<frac>\d{1,9}))?)?\s*(?P<zone>Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$"
)


def now() -> datetime:
    """Return the current time as an aware UTC datetime with microsecond precision."""
    return datetime.now(UTC)


def to_utc(value: datetime) -> datetime:
    """Return `value` converted to UTC.

    Raises:
        InvalidData: `value` is naive; pattern-db never guesses a time zone.
    """
    offset = value.utcoffset()
    if offset is None:
        raise InvalidData(
            f"naive datetime {value.isoformat()}: pass a timezone-aware value "
            "(e.g. datetime.now(UTC) or dt.replace(tzinfo=UTC))"
        )
    if offset:
        return value.astimezone(UTC)
    return value


def format_ts(value: datetime) -> str:
    """Return the canonical stored text of an aware datetime.

    Example: `format_ts(datetime(2026, 11, 29, 18, 20, tzinfo=UTC))`
    -> "2026-11-29T18:20:00.000000Z".
    """
    value = to_utc(value)
    return (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:"
        f"{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}Z"
    )


def now_ts() -> str:
    """Return the canonical text of the current time."""
    return format_ts(now())


def parse_ts(value: str | int | float | datetime) -> datetime:
    """Return an aware UTC datetime from the canonical text or any legacy representation.

    Raises:
        InvalidData: `value` is not a timestamp in any known format.
    """
    if isinstance(value, datetime):
        return to_utc(value)
    if isinstance(value, str):
        if len(value) == 27 and value[-1] == "Z" and value[10] == "T":
            # Canonical form: fromisoformat reads it directly and is an order of magnitude
            # faster than the regex below, which matters when decoding thousands of rows.
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                pass
        return _parse_legacy_text(value)
    if isinstance(value, bool):
        raise InvalidData(f"not a timestamp: {value!r}")
    if isinstance(value, int):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, float):
        # sqlx decodes a REAL column as a Julian day number; keep that reading.
        seconds = (value - _UNIX_EPOCH_JULIAN_DAY) * 86400.0
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    raise InvalidData(f"not a timestamp: {value!r}")


def _parse_legacy_text(text: str) -> datetime:
    stripped = text.strip()
    match = _LEGACY.match(stripped)
    if match is None:
        if stripped.lstrip("-").isdigit():
            return datetime.fromtimestamp(int(stripped), UTC)
        raise InvalidData(f"not a timestamp: {text!r} (expected e.g. 2026-11-29T18:20:00.000000Z)")
    time_part = match["time"] or "00:00:00"
    if len(time_part) == 5:
        time_part += ":00"
    fraction = (match["frac"] or "").ljust(6, "0")[:6]
    zone = match["zone"]
    if zone is None or zone in ("Z", "z", "UTC"):
        zone = "+00:00"
    elif len(zone) == 3:
        zone += ":00"
    elif ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    try:
        parsed = datetime.fromisoformat(f"{match['date']}T{time_part}.{fraction}{zone}")
    except ValueError as exc:
        raise InvalidData(f"not a valid timestamp: {text!r} ({exc})") from exc
    return parsed.astimezone(UTC)
