"""Folders, their files, the passages files are cut into, and folder attachments to agents."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import apsw

from pattern_db import _validate
from pattern_db.codec import codec_for, json_text, ts_text
from pattern_db.connection import Executor, scalar
from pattern_db.errors import InvalidData, NotFound, translate_errors
from pattern_db.models.folder import (
    FilePassage,
    Folder,
    FolderAccess,
    FolderAttachment,
    FolderFile,
)
from pattern_db.queries._bulk import encode_batch, insert_many
from pattern_db.queries._rows import fetch_all, fetch_one, write_one
from pattern_db.timeutil import now_ts

__all__ = [
    "attach_folder_to_agent",
    "create_folder",
    "create_passage",
    "create_passages",
    "delete_file",
    "delete_file_passages",
    "delete_folder",
    "detach_folder_from_agent",
    "get_agent_folders",
    "get_file",
    "get_file_by_name",
    "get_file_passages",
    "get_folder",
    "get_folder_agents",
    "get_folder_by_name",
    "list_files_in_folder",
    "list_folders",
    "mark_file_indexed",
    "replace_file_passages",
    "update_folder",
    "upsert_file",
]

_FOLDER = codec_for(Folder)
_FILE = codec_for(FolderFile)
_PASSAGE = codec_for(FilePassage)
_ATTACHMENT = codec_for(FolderAttachment)

_SELECT_FOLDER = f"SELECT {_FOLDER.column_list} FROM folders"
_INSERT_FOLDER = _FOLDER.insert_sql("folders")
_UPDATE_FOLDER = (
    f"UPDATE folders SET {_FOLDER.assignments(exclude=('id', 'created_at'))} WHERE id = :id"
)

_SELECT_FILE = f"SELECT {_FILE.column_list} FROM folder_files"
# The conflict target is the natural key (folder_id, name): re-uploading a file under the same
# name updates it in place. id and indexed_at are deliberately left alone (see upsert_file).
_UPSERT_FILE = f"""{_FILE.insert_sql("folder_files")}
ON CONFLICT(folder_id, name) DO UPDATE SET
    {_FILE.excluded_assignments(exclude=("id", "folder_id", "name", "indexed_at"))}
RETURNING id"""
_MARK_FILE_INDEXED = "UPDATE folder_files SET indexed_at = ? WHERE id = ?"
_FILE_EXISTS = "SELECT EXISTS (SELECT 1 FROM folder_files WHERE id = ?)"

_SELECT_PASSAGE = f"SELECT {_PASSAGE.column_list} FROM file_passages"
_INSERT_PASSAGE = _PASSAGE.insert_sql("file_passages")
_INSERT_PASSAGES = f"INSERT INTO file_passages ({_PASSAGE.column_list})"
_PASSAGE_WIDTH = len(_PASSAGE.columns)
_FILE_FOLDERS = (
    "SELECT id, folder_id FROM folder_files WHERE id IN (SELECT value FROM json_each(?))"
)
_GET_FILE_PASSAGES = f"{_SELECT_PASSAGE} WHERE file_id = ? ORDER BY chunk_index, id"
_DELETE_FILE_PASSAGES = "DELETE FROM file_passages WHERE file_id = ?"

_SELECT_ATTACHMENT = f"SELECT {_ATTACHMENT.column_list} FROM folder_attachments"
# On re-attaching, only the access level changes: attached_at records the first attachment.
_ATTACH = f"""{_ATTACHMENT.insert_sql("folder_attachments")}
ON CONFLICT(folder_id, agent_id) DO UPDATE SET access = excluded.access"""


# -- folders -----------------------------------------------------------------------------------


def create_folder(db: Executor, folder: Folder) -> None:
    """Insert a new folder, every column taken from the record.

    Raises:
        AlreadyExists: a folder with this id or name exists.
    """
    with db.writer() as conn, translate_errors("folder", folder.id, record=folder):
        conn.execute(_INSERT_FOLDER, _FOLDER.encode(folder))


def get_folder(db: Executor, folder_id: str) -> Folder | None:
    """Return the folder with this id, or None."""
    return fetch_one(db, _FOLDER, f"{_SELECT_FOLDER} WHERE id = ?", (folder_id,))


def get_folder_by_name(db: Executor, name: str) -> Folder | None:
    """Return the folder with this (unique) name, or None."""
    return fetch_one(db, _FOLDER, f"{_SELECT_FOLDER} WHERE name = ?", (name,))


def list_folders(db: Executor) -> list[Folder]:
    """Return every folder ordered by name."""
    return fetch_all(db, _FOLDER, f"{_SELECT_FOLDER} ORDER BY name")


def update_folder(db: Executor, folder: Folder) -> None:
    """Write every column of an existing folder except id and created_at.

    Raises:
        NotFound: no folder has this id.
        AlreadyExists: another folder already has the new name.
    """
    write_one(db, _UPDATE_FOLDER, _FOLDER.encode_named(folder), "folder", folder.id, record=folder)


def delete_folder(db: Executor, folder_id: str) -> bool:
    """Delete a folder; return whether it existed.

    Its files, their passages (and their FTS entries) and its agent attachments go with it
    (ON DELETE CASCADE).
    """
    with db.writer() as conn, translate_errors("folder", folder_id):
        conn.execute("DELETE FROM folders WHERE id = ?", (folder_id,))
        return conn.changes() > 0


# -- files -------------------------------------------------------------------------------------


def upsert_file(db: Executor, file: FolderFile) -> str:
    """Insert a file, or update the file of the same folder and name; return the stored id.

    On a clash of (folder_id, name) the existing row keeps its id and indexed_at, and takes
    content_type, size_bytes, content and uploaded_at from the record. The id returned is the
    one actually stored, which differs from `file.id` in that case: use it for passages. A file
    is stale (needs re-indexing) when its indexed_at is None or older than its uploaded_at.

    Raises:
        AlreadyExists: no file has this folder and name, but `file.id` is taken by another.
        ConstraintViolation: the folder does not exist.
    """
    with db.writer() as conn, translate_errors("file", file.id, record=file):
        rows = conn.execute(_UPSERT_FILE, _FILE.encode(file)).fetchall()
    return str(rows[0][0])


def get_file(db: Executor, file_id: str) -> FolderFile | None:
    """Return the file with this id, or None."""
    return fetch_one(db, _FILE, f"{_SELECT_FILE} WHERE id = ?", (file_id,))


def get_file_by_name(db: Executor, folder_id: str, name: str) -> FolderFile | None:
    """Return the file named `name` in a folder, or None."""
    return fetch_one(
        db, _FILE, f"{_SELECT_FILE} WHERE folder_id = ? AND name = ?", (folder_id, name)
    )


def list_files_in_folder(db: Executor, folder_id: str) -> list[FolderFile]:
    """Return a folder's files ordered by name."""
    with db.reader() as conn:
        rows = conn.execute(f"{_SELECT_FILE} WHERE folder_id = ? ORDER BY name", (folder_id,))
        return _FILE.decode_all(rows.fetchall())


def mark_file_indexed(db: Executor, file_id: str) -> None:
    """Set a file's indexed_at to now.

    Raises:
        NotFound: no file has this id.
    """
    write_one(db, _MARK_FILE_INDEXED, (now_ts(), file_id), "file", file_id)


def delete_file(db: Executor, file_id: str) -> bool:
    """Delete a file; return whether it existed. Its passages go with it (ON DELETE CASCADE)."""
    with db.writer() as conn, translate_errors("file", file_id):
        conn.execute("DELETE FROM folder_files WHERE id = ?", (file_id,))
        return conn.changes() > 0


# -- passages ----------------------------------------------------------------------------------


def create_passage(db: Executor, passage: FilePassage) -> None:
    """Insert a passage, every column included.

    Raises:
        AlreadyExists: a passage with this id exists.
        ConstraintViolation: the file does not exist, or chunk_index is negative.
    """
    with db.writer() as conn, translate_errors("file passage", passage.id, record=passage):
        conn.execute(_INSERT_PASSAGE, _PASSAGE.encode(passage))


def create_passages(db: Executor, passages: Iterable[FilePassage]) -> None:
    """Insert many passages in one transaction with multi-row statements (all or nothing).

    With vectors: `pattern_db.ingest.create_passages`.

    Raises:
        AlreadyExists: a passage id exists already (or repeats in `passages`); the error names it.
        ConstraintViolation: a passage's file does not exist, or a chunk_index is negative.
        InvalidData: a field is invalid (a naive datetime).
    """
    records = passages if isinstance(passages, list | tuple) else list(passages)
    if not records:
        return
    rows = encode_passages(records)
    with db.writer() as conn:
        insert_passage_rows(conn, records, rows)


def encode_passages(passages: Sequence[FilePassage]) -> list[tuple[Any, ...]]:
    """Return every passage's bound parameters, checking ids for repeats (no I/O).

    Raises:
        AlreadyExists: an id repeats in `passages`.
        InvalidData: a field is invalid (the note names the record).
    """
    return encode_batch(passages, _PASSAGE.encode, "file passage", [p.id for p in passages])


def insert_passage_rows(
    conn: apsw.Connection, passages: Sequence[FilePassage], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Write encoded passages inside the caller's write transaction."""
    insert_many(
        conn,
        _INSERT_PASSAGES,
        _PASSAGE_WIDTH,
        rows,
        entity="file passage",
        name_of=lambda i: passages[i].id,
        record_of=lambda i: passages[i],
    )


def file_folders(conn: apsw.Connection, file_ids: Iterable[str]) -> dict[str, str]:
    """Return the folder of each existing file among `file_ids`."""
    wanted = sorted(set(file_ids))
    rows: list[Any] = conn.execute(_FILE_FOLDERS, (json_text(wanted),)).fetchall()
    return {row[0]: row[1] for row in rows}


def get_file_passages(db: Executor, file_id: str) -> list[FilePassage]:
    """Return a file's passages in document order (chunk_index, then id to break ties)."""
    return fetch_all(db, _PASSAGE, _GET_FILE_PASSAGES, (file_id,))


def delete_file_passages(db: Executor, file_id: str) -> int:
    """Delete every passage of a file; return how many were deleted."""
    with db.writer() as conn, translate_errors("file", file_id):
        conn.execute(_DELETE_FILE_PASSAGES, (file_id,))
        return conn.changes()


def replace_file_passages(db: Executor, file_id: str, passages: Iterable[FilePassage]) -> int:
    """Replace a file's passages atomically (for re-indexing); return how many were removed.

    Readers see either the old passages or the new ones, never a file with none. The removed
    passages' embeddings are deleted with them (a trigger); the new passages have none until
    they are embedded.

    Raises:
        NotFound: no file has this id.
        InvalidData: a passage belongs to another file.
        AlreadyExists: a new passage id exists already in another file (or repeats).
        ConstraintViolation: a chunk_index is negative.
    """
    new = list(passages)
    for passage in new:
        if passage.file_id != file_id:
            raise InvalidData(
                f"passage {passage.id} belongs to file {passage.file_id}, not {file_id}; "
                "set file_id on every passage to the file being re-indexed"
            )
    with db.writer() as conn:
        with translate_errors("file", file_id):
            if not scalar(conn, _FILE_EXISTS, (file_id,)):
                raise NotFound("file", file_id)
            conn.execute(_DELETE_FILE_PASSAGES, (file_id,))
            removed = conn.changes()
        _insert_passages(conn, new)
    return removed


def _insert_passages(conn: apsw.Connection, passages: Iterable[FilePassage]) -> None:
    records = passages if isinstance(passages, list | tuple) else list(passages)
    if records:
        insert_passage_rows(conn, records, encode_passages(records))


# -- attachments -------------------------------------------------------------------------------


def attach_folder_to_agent(
    db: Executor,
    folder_id: str,
    agent_id: str,
    access: FolderAccess | str = FolderAccess.READ,
    *,
    attached_at: datetime | None = None,
) -> None:
    """Give an agent access to a folder, or change the access of an existing attachment.

    A new attachment's attached_at is `attached_at` (now by default, bound from Python); on
    re-attaching only the access changes and the original attached_at is kept, as in the
    reference.

    Raises:
        ConstraintViolation: the folder or the agent does not exist.
        InvalidData: `access` is not one of "read", "read_write".
    """
    access = _validate.enum_value(FolderAccess, access, "folder access")
    stamp = now_ts() if attached_at is None else ts_text(attached_at, "attached_at")
    key = f"{folder_id}/{agent_id}"
    with db.writer() as conn, translate_errors("folder attachment", key):
        conn.execute(_ATTACH, (folder_id, agent_id, str(access), stamp))


def detach_folder_from_agent(db: Executor, folder_id: str, agent_id: str) -> bool:
    """Remove an agent's access to a folder; return whether it was attached."""
    with db.writer() as conn, translate_errors("folder attachment", f"{folder_id}/{agent_id}"):
        conn.execute(
            "DELETE FROM folder_attachments WHERE folder_id = ? AND agent_id = ?",
            (folder_id, agent_id),
        )
        return conn.changes() > 0


def get_agent_folders(db: Executor, agent_id: str) -> list[FolderAttachment]:
    """Return the folders attached to an agent, oldest attachment first (then by folder id)."""
    with db.reader() as conn:
        rows = conn.execute(
            f"{_SELECT_ATTACHMENT} WHERE agent_id = ? ORDER BY attached_at, folder_id",
            (agent_id,),
        )
        return _ATTACHMENT.decode_all(rows.fetchall())


def get_folder_agents(db: Executor, folder_id: str) -> list[FolderAttachment]:
    """Return the agents a folder is attached to, oldest attachment first (then by agent id)."""
    with db.reader() as conn:
        rows = conn.execute(
            f"{_SELECT_ATTACHMENT} WHERE folder_id = ? ORDER BY attached_at, agent_id",
            (folder_id,),
        )
        return _ATTACHMENT.decode_all(rows.fetchall())
