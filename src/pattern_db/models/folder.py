"""Folders of files, the passages files are cut into, and folder attachments to agents."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import msgspec

from pattern_db.models._base import Record, id_factory, utc_now

__all__ = [
    "FilePassage",
    "Folder",
    "FolderAccess",
    "FolderAttachment",
    "FolderFile",
    "FolderPathType",
]


class FolderPathType(StrEnum):
    """Where a folder's files live."""

    LOCAL = "local"
    VIRTUAL = "virtual"
    REMOTE = "remote"


class FolderAccess(StrEnum):
    """An agent's access to an attached folder."""

    READ = "read"
    READ_WRITE = "read_write"


class Folder(Record, kw_only=True):
    """A folder of files (row of `folders`)."""

    id: str = id_factory("folder")
    name: str
    description: str | None = None
    path_type: FolderPathType
    path_value: str | None = None
    embedding_model: str
    created_at: datetime = msgspec.field(default_factory=utc_now)


class FolderFile(Record, kw_only=True):
    """A file in a folder; `content` holds the bytes of files in virtual folders."""

    id: str = id_factory("file")
    folder_id: str
    name: str
    content_type: str | None = None
    size_bytes: int | None = None
    content: bytes | None = None
    uploaded_at: datetime = msgspec.field(default_factory=utc_now)
    indexed_at: datetime | None = None


class FilePassage(Record, kw_only=True):
    """A chunk of a file, searchable by FTS and by vector."""

    id: str = id_factory("psg")
    file_id: str
    content: str
    start_line: int | None = None
    end_line: int | None = None
    chunk_index: int = 0
    created_at: datetime = msgspec.field(default_factory=utc_now)


class FolderAttachment(Record, kw_only=True):
    """A folder attached to an agent with an access level."""

    folder_id: str
    agent_id: str
    access: FolderAccess = FolderAccess.READ
    attached_at: datetime = msgspec.field(default_factory=utc_now)
