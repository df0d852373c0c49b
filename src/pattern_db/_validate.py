"""The one place where caller input becomes `InvalidData`: enums, counts, text, times and JSON.

Every query function, the record codec and the search layer check their arguments with these
helpers, so the same mistake gets the same answer everywhere: an unknown enum value, a negative
limit, an empty name, a naive time (as a datetime or as text), NaN in JSON, a set where JSON has
none. Messages name the argument and say what is accepted. Nothing here does I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

import msgspec

from pattern_db.errors import InvalidData
from pattern_db.timeutil import format_ts, parse_ts

__all__ = [
    "count",
    "enum_value",
    "json_text",
    "limit",
    "non_empty",
    "non_negative",
    "record_rules",
    "text",
    "timestamp",
]

E = TypeVar("E", bound=Enum)

_json_encode = msgspec.json.encode


def enum_value(enum_type: type[E], value: E | str, what: str | None = None) -> E:
    """Return the member of `enum_type` for a member or its stored string.

    Raises:
        InvalidData: `value` names no member; the message lists the accepted values.
    """
    if isinstance(value, enum_type):
        return value
    try:
        return enum_type(value)
    except (ValueError, TypeError):
        allowed = ", ".join(str(m.value) for m in enum_type)
        name = what or _words(enum_type.__name__)
        raise InvalidData(f"unknown {name} {value!r}; expected one of: {allowed}") from None


def count(value: int, what: str) -> int:
    """Return `value` when it is an int >= 0 (not a bool).

    Raises:
        InvalidData: anything else (SQLite would read a negative LIMIT as "no limit").
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidData(f"{what} must be an integer >= 0, got {value!r}")
    return value


def limit(value: int, what: str = "limit") -> int:
    """Return a row limit (an int >= 0).

    Raises:
        InvalidData: a negative number, a float, a bool or anything else.
    """
    return count(value, what)


def non_negative(value: float, what: str) -> float:
    """Return a finite number >= 0 as a float.

    Raises:
        InvalidData: not a number, negative, NaN or infinite.
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidData(f"{what} must be a number, got {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(number) or number < 0:
        raise InvalidData(f"{what} must be a finite number >= 0, got {value!r}")
    return number


def text(value: str, what: str) -> str:
    """Return `value` when it is a str SQLite can store (no lone surrogate halves).

    Raises:
        InvalidData: not a str, or a str that cannot be encoded as UTF-8.
    """
    if not isinstance(value, str):
        raise InvalidData(f"{what} must be text, got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidData(
            f"{what} {value!r} holds a lone surrogate ({exc.reason} at {exc.start}) and cannot "
            "be stored as UTF-8; decode the input with errors='replace' or fix its source"
        ) from None
    return value


def non_empty(value: str, what: str) -> str:
    """Return `value` when it is text with something other than white space.

    Raises:
        InvalidData: empty or blank text, or not text at all.
    """
    if not text(value, what).strip():
        raise InvalidData(f"{what} must not be empty")
    return value


def timestamp(value: datetime | str, what: str = "timestamp") -> str:
    """Return the canonical stored text of an aware datetime or of zoned timestamp text.

    Raises:
        InvalidData: a naive datetime, text without a zone (`Z` or `+hh:mm`), or not a time.
    """
    if isinstance(value, datetime):
        return format_ts(value)  # it converts to UTC (and refuses a naive value) itself
    if isinstance(value, str):
        if len(value) == 27 and value[-1] == "Z" and value[10] == "T":
            return format_ts(parse_ts(value))
        stripped = value.strip()
        zoned = stripped.endswith(("Z", "z", "UTC")) or (
            len(stripped) > 6 and stripped[-6] in "+-" and stripped[-3] == ":"
        )
        if not zoned:
            raise InvalidData(
                f"{what} {value!r} has no time zone; give it one (2026-11-29T18:20:00Z or "
                "+01:00), pattern-db never guesses"
            )
        return format_ts(parse_ts(stripped))
    raise InvalidData(f"{what} must be a datetime or timestamp text, got {type(value).__name__}")


def json_text(value: Any, what: str = "JSON value") -> str:
    """Return the JSON text of a value, refusing what JSON cannot hold exactly.

    `msgspec.Raw` passes through as written; Structs, dicts, lists, tuples, str, numbers, bools
    and None are encoded. NaN and infinity (JSON has no such numbers; they would become null)
    and sets (JSON has no sets; order would be lost) are refused.

    Raises:
        InvalidData: the value holds NaN, infinity, a set, or a type JSON cannot encode.
    """
    if not isinstance(value, msgspec.Raw):
        _check_json(value, what)
    try:
        return _json_encode(value).decode()
    except UnicodeEncodeError as exc:
        raise InvalidData(
            f"{what} holds text with a lone surrogate ({exc.reason}); it cannot be stored as "
            "UTF-8: decode the input with errors='replace'"
        ) from None
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidData(f"{what} cannot be stored as JSON: {exc}") from None


def _check_json(value: Any, what: str) -> None:
    kind = type(value)
    if kind in (str, int, bool) or value is None:
        return
    if kind is float:
        if not math.isfinite(value):
            raise InvalidData(f"{what} holds {value!r}, which JSON cannot represent")
        return
    if kind is dict:
        for item in value.values():
            _check_json(item, what)
        return
    if kind in (list, tuple):
        for item in value:
            _check_json(item, what)
        return
    if isinstance(value, set | frozenset):
        raise InvalidData(f"{what} holds a set; JSON has none: pass a sorted list")
    if isinstance(value, msgspec.Struct):
        for field in msgspec.structs.fields(value):
            _check_json(getattr(value, field.name), what)
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidData(f"{what} holds {value!r}, which JSON cannot represent")
    if isinstance(value, Mapping):
        for item in value.values():
            _check_json(item, what)


# Per record type: the fields that must hold non-blank text when a record is written.
_NON_EMPTY = {
    "Agent": ("name", "model_provider", "model_name"),
    "AgentGroup": ("name",),
    "MemoryBlock": ("label",),
    "Folder": ("name",),
    "FolderFile": ("name",),
    "DataSource": ("name",),
    "Task": ("title",),
    "Event": ("title",),
}


# Counters of the schema (CHECK >= 0, or > 0) that a record must respect before SQLite sees it.
_COUNTS = {
    "Task": ("estimated_minutes", "actual_minutes"),
    "Event": ("reminder_minutes",),
    "MemoryBlock": ("last_seq",),
    "MemoryBlockCheckpoint": ("updates_consolidated", "up_to_seq"),
    "MemoryBlockUpdate": ("byte_size",),
    "ArchivalEntry": ("chunk_index",),
    "FilePassage": ("chunk_index",),
    "FolderFile": ("size_bytes",),
    "ArchiveSummary": ("message_count", "depth"),
    "AgentSummary": ("messages_covered",),
    "MigrationAudit": ("issues_found", "issues_resolved"),
}
_POSITIVE = {"MemoryBlock": ("char_limit",), "MemoryBlockUpdate": ("seq",)}


def _count_or_none(value: int | None, what: str) -> int | None:
    return None if value is None else count(value, what)


def _positive(value: int, what: str) -> int:
    if count(value, what) == 0:
        raise InvalidData(f"{what} must be an integer > 0, got 0")
    return value


def record_rules(cls: type) -> dict[str, Callable[[Any, str], Any]]:
    """Return the field checks a record of `cls` passes before it is written (for the codec)."""
    name = cls.__name__
    rules: dict[str, Callable[[Any, str], Any]] = dict.fromkeys(_NON_EMPTY.get(name, ()), non_empty)
    rules.update(dict.fromkeys(_COUNTS.get(name, ()), _count_or_none))
    rules.update(dict.fromkeys(_POSITIVE.get(name, ()), _positive))
    return rules


def _words(name: str) -> str:
    # "AgentStatus" -> "agent status"
    out = "".join(f" {c.lower()}" if c.isupper() else c for c in name)
    return out.strip()
