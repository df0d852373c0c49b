"""What searchable content is: the four kinds of rows the FTS and vector indexes cover."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["CONTENT_TYPES", "ContentType"]


class ContentType(StrEnum):
    """What an index entry points at; the values are the stored strings."""

    MESSAGE = "message"
    MEMORY_BLOCK = "memory_block"
    ARCHIVAL_ENTRY = "archival_entry"
    FILE_PASSAGE = "file_passage"


CONTENT_TYPES: tuple[ContentType, ...] = tuple(ContentType)
