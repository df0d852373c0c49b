"""Archival entries (hard delete, chunks cascade with their parent) and shared blocks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import apsw

from pattern_db import _validate
from pattern_db.codec import codec_for, ts_text
from pattern_db.connection import Executor, scalar
from pattern_db.errors import translate_errors
from pattern_db.models.memory import (
    ArchivalEntry,
    MemoryBlock,
    MemoryPermission,
    SharedBlockAttachment,
)
from pattern_db.queries._bulk import check_agents, encode_batch, insert_many
from pattern_db.queries._rows import fetch_all, fetch_one
from pattern_db.queries.memory._common import BLOCK, decode_block
from pattern_db.timeutil import now_ts

__all__ = [
    "check_block_access",
    "count_archival_entries",
    "create_archival_entries",
    "create_archival_entry",
    "create_shared_block_attachment",
    "delete_archival_entry",
    "delete_shared_block_attachment",
    "get_archival_entry",
    "get_shared_block_attachment",
    "get_shared_blocks",
    "list_agent_shared_blocks",
    "list_all_shared_block_attachments",
    "list_archival_chunks",
    "list_archival_entries",
    "list_block_shared_agents",
    "upsert_archival_entries",
    "upsert_archival_entry",
]

_ENTRY = codec_for(ArchivalEntry)
_ATTACHMENT = codec_for(SharedBlockAttachment)

_SELECT_ENTRY = f"SELECT {_ENTRY.column_list} FROM archival_entries"
_INSERT_ENTRY = _ENTRY.insert_sql("archival_entries")
_INSERT_ENTRIES = f"INSERT INTO archival_entries ({_ENTRY.column_list})"
_ENTRY_WIDTH = len(_ENTRY.columns)
_UPSERT_ENTRY = f"""{_INSERT_ENTRY}
ON CONFLICT(id) DO UPDATE SET {_ENTRY.excluded_assignments(exclude=("id", "created_at"))}"""
# rowid breaks created_at ties, so pages never overlap or skip a row.
_LIST_ENTRIES = f"""{_SELECT_ENTRY} WHERE agent_id = ?
ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?"""
_LIST_CHUNKS = f"{_SELECT_ENTRY} WHERE parent_entry_id = ? ORDER BY chunk_index, rowid"
_COUNT_ENTRIES = "SELECT count(*) FROM archival_entries WHERE agent_id = ?"

_SELECT_ATTACHMENT = f"SELECT {_ATTACHMENT.column_list} FROM shared_block_agents"
# An upsert: attaching again changes the permission and refreshes attached_at.
_ATTACH = f"""{_ATTACHMENT.insert_sql("shared_block_agents")}
ON CONFLICT(block_id, agent_id) DO UPDATE SET
    permission = excluded.permission, attached_at = excluded.attached_at"""
_DETACH = "DELETE FROM shared_block_agents WHERE block_id = ? AND agent_id = ?"
_GET_ATTACHMENT = f"{_SELECT_ATTACHMENT} WHERE block_id = ? AND agent_id = ?"
_BLOCK_ATTACHMENTS = f"{_SELECT_ATTACHMENT} WHERE block_id = ? ORDER BY attached_at, agent_id"
_AGENT_ATTACHMENTS = f"{_SELECT_ATTACHMENT} WHERE agent_id = ? ORDER BY attached_at, block_id"
_ALL_ATTACHMENTS = f"{_SELECT_ATTACHMENT} ORDER BY block_id, agent_id"

_OWNER_ACCESS = """
SELECT id, permission FROM memory_blocks WHERE agent_id = ? AND label = ? AND is_active = 1
"""
_SHARER_ACCESS = """
SELECT b.id, s.permission FROM shared_block_agents s JOIN memory_blocks b ON b.id = s.block_id
WHERE s.agent_id = ? AND b.agent_id = ? AND b.label = ? AND b.is_active = 1
"""
_SHARED_BLOCKS = f"""
SELECT {BLOCK.select_list("b")}, s.permission, a.name
FROM shared_block_agents s
JOIN memory_blocks b ON b.id = s.block_id
LEFT JOIN agents a ON a.id = b.agent_id
WHERE s.agent_id = ? AND b.is_active = 1
ORDER BY b.label, b.agent_id
"""
_BLOCK_WIDTH = len(BLOCK.columns)


# -- archival entries --------------------------------------------------------------------------


def get_archival_entry(db: Executor, entry_id: str) -> ArchivalEntry | None:
    """Return the archival entry with this id, or None."""
    return fetch_one(db, _ENTRY, f"{_SELECT_ENTRY} WHERE id = ?", (entry_id,))


def list_archival_entries(
    db: Executor, agent_id: str, limit: int = 100, offset: int = 0
) -> list[ArchivalEntry]:
    """Return one page of the agent's archival entries, newest first."""
    with db.reader() as conn:
        rows = conn.execute(
            _LIST_ENTRIES, (agent_id, _validate.limit(limit), _validate.count(offset, "offset"))
        ).fetchall()
    return _ENTRY.decode_all(rows)


def list_archival_chunks(db: Executor, parent_entry_id: str) -> list[ArchivalEntry]:
    """Return the chunks of an archival entry ordered by chunk_index."""
    return fetch_all(db, _ENTRY, _LIST_CHUNKS, (parent_entry_id,))


def count_archival_entries(db: Executor, agent_id: str) -> int:
    """Return the number of the agent's archival entries (chunks included)."""
    with db.reader() as conn:
        return int(scalar(conn, _COUNT_ENTRIES, (agent_id,)))


def create_archival_entry(db: Executor, entry: ArchivalEntry) -> None:
    """Insert a new archival entry, every column taken from the record.

    Raises:
        AlreadyExists: an entry with this id exists.
        ConstraintViolation: `parent_entry_id` names no entry.
    """
    with db.writer() as conn, translate_errors("archival entry", entry.id, record=entry):
        conn.execute(_INSERT_ENTRY, _ENTRY.encode(entry))


def create_archival_entries(db: Executor, entries: Iterable[ArchivalEntry]) -> None:
    """Insert many new entries in one transaction with multi-row statements (all or nothing).

    Every record is encoded and its agent checked before anything is written; the FTS index
    follows through its trigger. With vectors: `pattern_db.ingest.create_archival_entries`.

    Raises:
        AlreadyExists: an id exists already or repeats in `entries` (the error names it).
        ConstraintViolation: an agent does not exist (nor is `_constellation_`), or a
            `parent_entry_id` names no entry.
        InvalidData: a field is invalid (a naive datetime, JSON that cannot be stored).
    """
    records = entries if isinstance(entries, list | tuple) else list(entries)
    if not records:
        return
    rows = encode_archival_entries(records)
    with db.writer() as conn:
        insert_archival_rows(conn, records, rows)


def encode_archival_entries(entries: Sequence[ArchivalEntry]) -> list[tuple[Any, ...]]:
    """Return every entry's bound parameters, checking ids for repeats (no I/O).

    Raises:
        AlreadyExists: an id repeats in `entries`.
        InvalidData: a field is invalid (the note names the record).
    """
    return encode_batch(entries, _ENTRY.encode, "archival entry", [e.id for e in entries])


def insert_archival_rows(
    conn: apsw.Connection, entries: Sequence[ArchivalEntry], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Write encoded entries inside the caller's write transaction (agents checked first)."""
    check_agents(conn, [e.agent_id for e in entries], "archival entry")
    insert_many(
        conn,
        _INSERT_ENTRIES,
        _ENTRY_WIDTH,
        rows,
        entity="archival entry",
        name_of=lambda i: entries[i].id,
        record_of=lambda i: entries[i],
    )


def upsert_archival_entry(db: Executor, entry: ArchivalEntry) -> None:
    """Insert the entry, or update every column but id and created_at if the id exists.

    Raises:
        ConstraintViolation: `parent_entry_id` names no entry.
    """
    with db.writer() as conn, translate_errors("archival entry", entry.id, record=entry):
        conn.execute(_UPSERT_ENTRY, _ENTRY.encode(entry))


def upsert_archival_entries(db: Executor, entries: Sequence[ArchivalEntry]) -> None:
    """Upsert many entries in one statement batch (as `upsert_archival_entry` does one), atomically.

    Raises:
        ConstraintViolation: a `parent_entry_id` names no entry (nothing is written).
    """
    if not entries:
        return
    with db.writer() as conn, translate_errors("archival entry", entries[0].id):
        conn.executemany(_UPSERT_ENTRY, [_ENTRY.encode(e) for e in entries])


def delete_archival_entry(db: Executor, entry_id: str) -> bool:
    """Delete an archival entry and, by cascade, its chunks; return whether it existed.

    Its embeddings are deleted with it (a trigger).
    """
    with db.writer() as conn, translate_errors("archival entry", entry_id):
        conn.execute("DELETE FROM archival_entries WHERE id = ?", (entry_id,))
        return conn.changes() > 0


# -- shared blocks -----------------------------------------------------------------------------


def create_shared_block_attachment(
    db: Executor,
    block_id: str,
    agent_id: str,
    permission: MemoryPermission | str = MemoryPermission.READ_ONLY,
    *,
    attached_at: datetime | None = None,
) -> None:
    """Share a block with an agent at `permission`; sharing again updates it (an upsert).

    `attached_at` defaults to now and is refreshed on every call.

    Raises:
        ConstraintViolation: the block or the agent does not exist.
        InvalidData: `permission` is not a MemoryPermission value.
    """
    permission = _validate.enum_value(MemoryPermission, permission, "permission")
    when = now_ts() if attached_at is None else ts_text(attached_at, "attached_at")
    with db.writer() as conn, translate_errors("shared block", f"{block_id}/{agent_id}"):
        conn.execute(_ATTACH, (block_id, agent_id, permission, when))


def delete_shared_block_attachment(db: Executor, block_id: str, agent_id: str) -> bool:
    """Stop sharing a block with an agent; return whether it was shared."""
    with db.writer() as conn:
        conn.execute(_DETACH, (block_id, agent_id))
        return conn.changes() > 0


def get_shared_block_attachment(
    db: Executor, block_id: str, agent_id: str
) -> SharedBlockAttachment | None:
    """Return the attachment of a block to an agent, or None."""
    return fetch_one(db, _ATTACHMENT, _GET_ATTACHMENT, (block_id, agent_id))


def list_block_shared_agents(db: Executor, block_id: str) -> list[SharedBlockAttachment]:
    """Return the attachments of a block, oldest first."""
    return fetch_all(db, _ATTACHMENT, _BLOCK_ATTACHMENTS, (block_id,))


def list_agent_shared_blocks(db: Executor, agent_id: str) -> list[SharedBlockAttachment]:
    """Return the attachments of blocks shared with an agent, oldest first."""
    return fetch_all(db, _ATTACHMENT, _AGENT_ATTACHMENTS, (agent_id,))


def list_all_shared_block_attachments(db: Executor) -> list[SharedBlockAttachment]:
    """Return every attachment ordered by block, then agent (for exports)."""
    return fetch_all(db, _ATTACHMENT, _ALL_ATTACHMENTS)


def check_block_access(
    db: Executor, requester_id: str, owner_id: str, label: str
) -> tuple[str, MemoryPermission] | None:
    """Return (block id, effective permission) of the requester on owner's block, or None.

    The owner gets the block's own permission; another agent gets its attachment's permission
    (it wins even when looser than the block's own). Only active blocks count, on both paths.
    """
    with db.reader() as conn:
        if requester_id == owner_id:
            row: Any = conn.execute(_OWNER_ACCESS, (owner_id, label)).fetchone()
        else:
            row = conn.execute(_SHARER_ACCESS, (requester_id, owner_id, label)).fetchone()
    return None if row is None else (str(row[0]), MemoryPermission(row[1]))


def get_shared_blocks(
    db: Executor, agent_id: str
) -> list[tuple[MemoryBlock, MemoryPermission, str | None]]:
    """Return (block, attachment permission, owner's name) for active blocks shared with agent.

    Ordered by label. The owner's name is None when the owner is not an agent (such as
    `_constellation_`).
    """
    with db.reader() as conn:
        rows: list[Any] = conn.execute(_SHARED_BLOCKS, (agent_id,)).fetchall()
    return [
        (decode_block(row[:_BLOCK_WIDTH]), MemoryPermission(row[_BLOCK_WIDTH]), row[-1])
        for row in rows
    ]
