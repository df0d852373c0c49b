"""Value conversions every importer shares: snowflakes, timestamps, free-form JSON, Loro text."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from pattern_db.errors import ImportFailed, InvalidData
from pattern_db.ids import normalize_position
from pattern_db.timeutil import now, parse_ts

__all__ = [
    "MAX_DEPTH",
    "document_text",
    "json_safe",
    "position_text",
    "text_document",
    "timestamp",
    "timestamp_or",
    "unique_name",
]

# Deepest nesting accepted in free-form values (message content, metadata, configs).
MAX_DEPTH = 200

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CROCKFORD_VALUE = {c: i for i, c in enumerate(_CROCKFORD)} | {
    "O": 0,
    "I": 1,
    "L": 1,
}


def position_text(value: str | int) -> str:
    """Return a snowflake (decimal, or 13-character Crockford base32) as 20-digit text.

    Raises:
        InvalidData: not a snowflake.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return normalize_position(value)
    text = str(value).strip()
    if text.isdigit():
        return normalize_position(text)
    if len(text) == 13:
        number = 0
        for char in text.upper():
            digit = _CROCKFORD_VALUE.get(char)
            if digit is None:
                break
            number = number * 32 + digit
        else:
            if number < 1 << 64:
                return normalize_position(number)
    raise InvalidData(f"not a snowflake position: {value!r}")


def timestamp(value: Any, where: str) -> datetime:
    """Return an aware datetime from any timestamp representation, naming `where` on failure.

    Raises:
        ImportFailed: not a timestamp.
    """
    try:
        return parse_ts(value)
    except (InvalidData, ValueError, OverflowError, OSError) as exc:
        raise ImportFailed(f"{where}: not a timestamp: {value!r}") from exc


def timestamp_or(value: Any, where: str, default: datetime | None = None) -> datetime:
    """Return `timestamp(value)`, or `default` (now when None) for a missing value.

    Raises:
        ImportFailed: present but not a timestamp.
    """
    if value is None or value == "":
        return default if default is not None else now()
    return timestamp(value, where)


def json_safe(value: Any, where: str, depth: int = 0) -> Any:
    """Return a decoded CBOR/JSON value as plain JSON (bytes become DAG-JSON `{"/": {"bytes"}}`).

    Raises:
        ImportFailed: nested deeper than MAX_DEPTH, or a non-finite float.
    """
    if depth > MAX_DEPTH:
        raise ImportFailed(f"{where}: nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ImportFailed(f"{where}: {value} is not a JSON number")
        return value
    if isinstance(value, dict):
        return {str(k): json_safe(v, where, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v, where, depth + 1) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        encoded = base64.b64encode(bytes(value)).decode().rstrip("=")
        return {"/": {"bytes": encoded}}
    raise ImportFailed(f"{where}: unsupported value of type {type(value).__name__}")


def text_document(text: str) -> tuple[bytes, bytes]:
    """Return (snapshot, frontier) of a new Loro document holding `text` in "content".

    Raises:
        ImportFailed: the text cannot be stored (not valid Unicode).
    """
    from loro import ExportMode, LoroDoc

    doc = LoroDoc()  # type: ignore[no-untyped-call]
    if text:
        try:
            doc.get_text("content").insert(0, text)
        except UnicodeError as exc:
            raise ImportFailed(f"memory text is not valid Unicode ({exc})") from exc
        doc.commit()
    return doc.export(ExportMode.Snapshot()), doc.oplog_frontiers.encode()


def document_text(snapshot: bytes, where: str) -> str:
    """Return the "content" text of a Loro snapshot.

    Raises:
        ImportFailed: the bytes are not a Loro document.
    """
    from loro import LoroDoc

    doc = LoroDoc()  # type: ignore[no-untyped-call]
    if snapshot:
        try:
            doc.import_(snapshot)
        except BaseException as exc:
            # loro reports bad input as a bare BaseException; let everything else through.
            if type(exc) is not BaseException:
                raise
            raise ImportFailed(f"{where}: not a Loro document ({exc})") from exc
    return doc.get_text("content").to_string()


def unique_name(name: str, taken: set[str]) -> str:
    """Return `name`, or `name-2`, `name-3`, ... whichever is not in `taken` (and take it)."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}-{n}"
    taken.add(candidate)
    return candidate
