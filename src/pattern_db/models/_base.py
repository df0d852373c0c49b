"""Shared pieces of the record types: the Struct base, ranked enums and default factories."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import msgspec

from pattern_db.ids import new_id

__all__ = ["JsonValue", "RankedEnum", "Record", "id_factory", "utc_now"]

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
