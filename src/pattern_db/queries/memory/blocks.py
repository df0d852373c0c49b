"""Memory blocks: create, look up, list, update, deactivate and delete.

Soft delete: a deactivated block is hidden from every read unless the call asks for it, and its
label can be reused (the unique index covers active blocks only).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import apsw

from pattern_db import _validate
from pattern_db.codec import json_text
from pattern_db.compression import DEFAULT_COMPRESSION_THRESHOLD, compress_snapshot
from pattern_db.connection import Executor
from pattern_db.errors import NotFound, translate_errors
from pattern_db.models.memory import MemoryBlock, MemoryBlockType, MemoryPermission
from pattern_db.queries._bulk import check_agents, encode_batch, insert_many
from pattern_db.queries._rows import write_one
from pattern_db.queries.memory._common import (
    BLOCK,
    BLOCK_ENTITY,
    SELECT_BLOCK,
    decode_block,
    decode_blocks,
    encode_block,
)
from pattern_db.timeutil import now_ts

__all__ = [
    "create_block",
    "create_blocks",
    "deactivate_block",
    "delete_block",
    "get_block",
    "get_block_by_label",
    "list_all_blocks",
    "list_blocks",
    "list_blocks_by_label_prefix",
    "list_blocks_by_type",
    "update_block_config",
    "update_block_content",
    "update_block_label",
    "update_block_metadata",
    "update_block_permission",
    "update_block_pinned",
    "update_block_preview",
    "update_block_type",
    "upsert_block",
]

_KEEP = ("id", "created_at", "last_seq")
_INSERT_BLOCK = BLOCK.insert_sql("memory_blocks")
_INSERT_BLOCKS = f"INSERT INTO memory_blocks ({BLOCK.column_list})"
_BLOCK_WIDTH = len(BLOCK.columns)
# last_seq only ever grows: an upsert carrying an older value must not make seqs repeat.
_UPSERT_BLOCK = f"""{_INSERT_BLOCK}
ON CONFLICT(id) DO UPDATE SET {BLOCK.excluded_assignments(exclude=_KEEP)},
    last_seq = max(last_seq, excluded.last_seq)"""

_GET_BLOCK = f"{SELECT_BLOCK} WHERE id = ?"
_GET_ACTIVE_BLOCK = f"{SELECT_BLOCK} WHERE id = ? AND is_active = 1"
_GET_BY_LABEL = f"{SELECT_BLOCK} WHERE agent_id = ? AND label = ? AND is_active = 1"
# With inactive blocks included, the active one wins, then the most recently updated.
_GET_BY_LABEL_ANY = f"""{SELECT_BLOCK} WHERE agent_id = ? AND label = ?
ORDER BY is_active DESC, updated_at DESC, rowid DESC LIMIT 1"""
_LIST_BLOCKS = f"{SELECT_BLOCK} WHERE agent_id = ? AND is_active = 1 ORDER BY label"
_LIST_BY_TYPE = f"""{SELECT_BLOCK}
WHERE agent_id = ? AND block_type = ? AND is_active = 1 ORDER BY label"""
_LIST_ALL = f"{SELECT_BLOCK} WHERE is_active = 1 ORDER BY agent_id, label"
# substr instead of LIKE: the prefix is literal (`_` and `%` are ordinary) and case-sensitive.
_LIST_BY_PREFIX = f"""{SELECT_BLOCK}
WHERE is_active = 1 AND substr(label, 1, length(?1)) = ?1 ORDER BY label, agent_id"""

_UPDATE_CONTENT = """
UPDATE memory_blocks SET loro_snapshot = ?, content_preview = ?, updated_at = ? WHERE id = ?
"""
_UPDATE_CONTENT_FRONTIER = """
UPDATE memory_blocks SET loro_snapshot = ?, content_preview = ?, frontier = ?, updated_at = ?
WHERE id = ?
"""
_COLUMN_UPDATES = {
    column: f"UPDATE memory_blocks SET {column} = ?, updated_at = ? WHERE id = ?"
    for column in (
        "content_preview",
        "permission",
        "pinned",
        "label",
        "block_type",
        "metadata",
        "is_active",
    )
}
# One statement, so the merge of the given fields is atomic without a read-modify-write.
_UPDATE_CONFIG = f"""
UPDATE memory_blocks SET
    permission = coalesce(?, permission),
    block_type = coalesce(?, block_type),
    description = coalesce(?, description),
    pinned = coalesce(?, pinned),
    char_limit = coalesce(?, char_limit),
    updated_at = ?
WHERE id = ?
RETURNING {BLOCK.column_list}
"""
_DELETE_BLOCK = "DELETE FROM memory_blocks WHERE id = ?"


# -- reads -------------------------------------------------------------------------------------


def get_block(db: Executor, block_id: str, *, include_inactive: bool = False) -> MemoryBlock | None:
    """Return the block with this id, or None (also None when deactivated, unless asked)."""
    with db.reader() as conn:
        row = conn.execute(_GET_BLOCK if include_inactive else _GET_ACTIVE_BLOCK, (block_id,))
        found = row.fetchone()
    return None if found is None else decode_block(found)


def get_block_by_label(
    db: Executor, agent_id: str, label: str, *, include_inactive: bool = False
) -> MemoryBlock | None:
    """Return the agent's active block with this label, or None.

    With `include_inactive`, a deactivated block is returned when no active one has the
    label (the most recently updated of them).
    """
    sql = _GET_BY_LABEL_ANY if include_inactive else _GET_BY_LABEL
    with db.reader() as conn:
        row = conn.execute(sql, (agent_id, label)).fetchone()
    return None if row is None else decode_block(row)


def list_blocks(db: Executor, agent_id: str) -> list[MemoryBlock]:
    """Return the agent's active blocks ordered by label."""
    with db.reader() as conn:
        return decode_blocks(conn.execute(_LIST_BLOCKS, (agent_id,)).fetchall())


def list_blocks_by_type(
    db: Executor, agent_id: str, block_type: MemoryBlockType | str
) -> list[MemoryBlock]:
    """Return the agent's active blocks of one type ordered by label."""
    with db.reader() as conn:
        block_type = _validate.enum_value(MemoryBlockType, block_type, "block type")
        return decode_blocks(conn.execute(_LIST_BY_TYPE, (agent_id, block_type)).fetchall())


def list_all_blocks(db: Executor) -> list[MemoryBlock]:
    """Return every active block ordered by agent_id, then label (for exports)."""
    with db.reader() as conn:
        return decode_blocks(conn.execute(_LIST_ALL).fetchall())


def list_blocks_by_label_prefix(db: Executor, prefix: str) -> list[MemoryBlock]:
    """Return the active blocks of every agent whose label starts with `prefix`, by label.

    The prefix is literal and case-sensitive: `_` and `%` are ordinary characters.
    """
    with db.reader() as conn:
        return decode_blocks(conn.execute(_LIST_BY_PREFIX, (prefix,)).fetchall())


# -- writes ------------------------------------------------------------------------------------


def create_block(
    db: Executor,
    block: MemoryBlock,
    *,
    compression_threshold: int = DEFAULT_COMPRESSION_THRESHOLD,
) -> None:
    """Insert a new block, every column taken from the record.

    The snapshot is stored zstd-compressed when over `compression_threshold` bytes; reads
    return it as given.

    Raises:
        AlreadyExists: a block with this id exists, or the agent has an active block with
            this label.
    """
    params = encode_block(block, compression_threshold)
    with db.writer() as conn, translate_errors(BLOCK_ENTITY, block.id, record=block):
        conn.execute(_INSERT_BLOCK, params)


def create_blocks(
    db: Executor,
    blocks: Iterable[MemoryBlock],
    *,
    compression_threshold: int = DEFAULT_COMPRESSION_THRESHOLD,
) -> None:
    """Insert many new blocks in one transaction with multi-row statements (all or nothing).

    Snapshots are compressed as `create_block` does; every record is encoded and its agent
    checked before anything is written. With vectors: `pattern_db.ingest.create_blocks`.

    Raises:
        AlreadyExists: an id exists already or repeats in `blocks`, or an agent has an active
            block with a label given (the error names the row).
        ConstraintViolation: an agent does not exist (nor is `_constellation_`).
        InvalidData: a field is invalid (a naive datetime, an unknown block type).
    """
    records = blocks if isinstance(blocks, list | tuple) else list(blocks)
    if not records:
        return
    rows = encode_blocks(records, compression_threshold)
    with db.writer() as conn:
        insert_block_rows(conn, records, rows)


def encode_blocks(blocks: Sequence[MemoryBlock], threshold: int) -> list[list[Any]]:
    """Return every block's bound parameters, checking ids for repeats (no I/O).

    Raises:
        AlreadyExists: an id repeats in `blocks`.
        InvalidData: a field is invalid (the note names the record).
    """
    return encode_batch(
        blocks, lambda b: encode_block(b, threshold), BLOCK_ENTITY, [b.id for b in blocks]
    )


def insert_block_rows(
    conn: apsw.Connection, blocks: Sequence[MemoryBlock], rows: Sequence[Sequence[Any]]
) -> None:
    """Write encoded blocks inside the caller's write transaction (agents checked first)."""
    check_agents(conn, [b.agent_id for b in blocks], BLOCK_ENTITY)
    insert_many(
        conn,
        _INSERT_BLOCKS,
        _BLOCK_WIDTH,
        rows,
        entity=BLOCK_ENTITY,
        name_of=lambda i: blocks[i].id,
        record_of=lambda i: blocks[i],
    )


def upsert_block(
    db: Executor,
    block: MemoryBlock,
    *,
    compression_threshold: int = DEFAULT_COMPRESSION_THRESHOLD,
) -> None:
    """Insert the block, or update every column but id and created_at if the id exists.

    An existing `last_seq` is never lowered (it becomes the larger of the two), so seqs never
    repeat.

    Raises:
        AlreadyExists: another active block of the agent has this label.
    """
    params = encode_block(block, compression_threshold)
    with db.writer() as conn, translate_errors(BLOCK_ENTITY, block.id, record=block):
        conn.execute(_UPSERT_BLOCK, params)


def update_block_content(
    db: Executor,
    block_id: str,
    snapshot: bytes,
    preview: str | None,
    *,
    frontier: bytes | None = None,
    compression_threshold: int = DEFAULT_COMPRESSION_THRESHOLD,
) -> None:
    """Set the block's snapshot and content preview (and frontier when given), updated_at now.

    The snapshot is stored zstd-compressed when over `compression_threshold` bytes. A `frontier`
    of None leaves the stored frontier as it is (clear it with `update_block_frontier`).

    Raises:
        NotFound: no block has this id.
    """
    stored = compress_snapshot(snapshot, compression_threshold)
    ts = now_ts()
    sql: str = _UPDATE_CONTENT
    params: tuple[Any, ...] = (stored, preview, ts, block_id)
    if frontier is not None:
        sql, params = _UPDATE_CONTENT_FRONTIER, (stored, preview, frontier, ts, block_id)
    write_one(db, sql, params, BLOCK_ENTITY, block_id)


def update_block_preview(db: Executor, block_id: str, preview: str | None) -> None:
    """Set only the block's content preview (the FTS text), leaving its snapshot alone.

    Raises:
        NotFound: no block has this id.
    """
    _update_column(db, block_id, "content_preview", preview)


def update_block_permission(
    db: Executor, block_id: str, permission: MemoryPermission | str
) -> None:
    """Set the block's own permission.

    Raises:
        NotFound: no block has this id.
        ConstraintViolation: `permission` is not a MemoryPermission value.
    """
    _update_column(
        db, block_id, "permission", _validate.enum_value(MemoryPermission, permission, "permission")
    )


def update_block_pinned(db: Executor, block_id: str, pinned: bool) -> None:
    """Set whether the block is pinned (always loaded while subscribed).

    Raises:
        NotFound: no block has this id.
    """
    _update_column(db, block_id, "pinned", 1 if pinned else 0)


def update_block_label(db: Executor, block_id: str, label: str) -> None:
    """Rename the block.

    Raises:
        NotFound: no block has this id.
        AlreadyExists: the agent has another active block with this label.
    """
    _update_column(db, block_id, "label", label)


def update_block_type(db: Executor, block_id: str, block_type: MemoryBlockType | str) -> None:
    """Set the block's type (archiving a block is working -> archival).

    Raises:
        NotFound: no block has this id.
        ConstraintViolation: `block_type` is not a MemoryBlockType value.
    """
    _update_column(
        db, block_id, "block_type", _validate.enum_value(MemoryBlockType, block_type, "block type")
    )


def update_block_metadata(db: Executor, block_id: str, metadata: Any | None) -> None:
    """Set the block's metadata (any JSON value; None stores NULL).

    Raises:
        NotFound: no block has this id.
    """
    _update_column(db, block_id, "metadata", None if metadata is None else json_text(metadata))


def update_block_config(
    db: Executor,
    block_id: str,
    *,
    permission: MemoryPermission | str | None = None,
    block_type: MemoryBlockType | str | None = None,
    description: str | None = None,
    pinned: bool | None = None,
    char_limit: int | None = None,
) -> MemoryBlock:
    """Set the given fields of the block (None leaves a field as it is); return the block.

    One UPDATE statement merges the fields, so it is atomic without a read-modify-write.

    Raises:
        NotFound: no block has this id.
        InvalidData: an unknown permission or block type.
        ConstraintViolation: a value breaks the schema (for example char_limit <= 0).
    """
    params = (
        None if permission is None else _validate.enum_value(MemoryPermission, permission),
        None if block_type is None else _validate.enum_value(MemoryBlockType, block_type),
        description,
        None if pinned is None else int(pinned),
        char_limit,
        now_ts(),
        block_id,
    )
    with db.writer() as conn, translate_errors(BLOCK_ENTITY, block_id):
        rows = conn.execute(_UPDATE_CONFIG, params).fetchall()
        if not rows:
            raise NotFound(BLOCK_ENTITY, block_id)
    return decode_block(rows[0])


def deactivate_block(db: Executor, block_id: str) -> None:
    """Soft-delete the block: hidden from reads unless asked for, its label free for reuse.

    Raises:
        NotFound: no block has this id.
    """
    _update_column(db, block_id, "is_active", 0)


def delete_block(db: Executor, block_id: str) -> bool:
    """Delete the block for good; return whether it existed.

    Cascades to its checkpoints, deltas and shared attachments; its embeddings are deleted with
    it (a trigger).
    """
    with db.writer() as conn, translate_errors(BLOCK_ENTITY, block_id):
        conn.execute(_DELETE_BLOCK, (block_id,))
        return conn.changes() > 0


def _update_column(db: Executor, block_id: str, column: str, value: Any) -> None:
    with db.writer() as conn, translate_errors(BLOCK_ENTITY, block_id):
        conn.execute(_COLUMN_UPDATES[column], (value, now_ts(), block_id))
        if conn.changes() == 0:
            raise NotFound(BLOCK_ENTITY, block_id)
