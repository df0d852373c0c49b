"""Shared pieces of the record types: the Struct base, ranked enums and default factories."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import msgspec

from pattern_db.ids import new_id

__all__ = [
    "JsonValue",
    "RankedEnum",
    "Record",
    "check_not_negative",
    "id_factory",
    "utc_now",
]

# Free-form JSON (a dict, list or scalar); stored as the JSON text that msgspec writes.
JsonValue = Any


class Record(msgspec.Struct, kw_only=True, omit_defaults=False):
    """Base of every row type: keyword-only msgspec Struct, equality by value."""


class RankedEnum(StrEnum):
    """A str enum whose members are ordered by declaration (low < medium < high ...)."""

    @property
    def rank(self) -> int:
        """Position in declaration order (0 for the lowest)."""
        return list(type(self)).index(self)


def utc_now() -> datetime:
    """Return now as an aware UTC datetime (default factory of timestamp fields)."""
    return datetime.now(UTC)


def id_factory(prefix: str) -> Any:
    """Return a msgspec default factory producing new ids with `prefix`."""
    return msgspec.field(default_factory=lambda: new_id(prefix))


def check_not_negative(record: object, *names: str, most: float | None = None) -> None:
    """Raise InvalidData when a named numeric field of `record` is negative (or above `most`).

    Called from `__post_init__` of the configuration Structs whose Rust types are unsigned, so
    a record built in Python is refused as one decoded from JSON is (msgspec checks the same
    bounds with `Meta` on decode).
    """
    from pattern_db.errors import InvalidData

    for name in names:
        value = getattr(record, name)
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if value < 0 or (most is not None and value > most):
            bound = ">= 0" if most is None else f"between 0 and {most:g}"
            raise InvalidData(f"{type(record).__name__}.{name} must be {bound}, got {value!r}")
