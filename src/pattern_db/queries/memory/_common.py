"""Pieces shared by the memory query modules: codecs, snapshot (de)compression, read snapshots."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import apsw

from pattern_db import _validate
from pattern_db.codec import codec_for
from pattern_db.compression import compress_snapshot, decompress_snapshot, is_compressed
from pattern_db.models.memory import (
    MemoryBlock,
    MemoryBlockCheckpoint,
    MemoryBlockUpdate,
    UpdateSource,
)

BLOCK = codec_for(MemoryBlock)
CHECKPOINT = codec_for(MemoryBlockCheckpoint)
UPDATE = codec_for(MemoryBlockUpdate)

SELECT_BLOCK = f"SELECT {BLOCK.column_list} FROM memory_blocks"
_BLOCK_SNAPSHOT = BLOCK.columns.index("loro_snapshot")
_CHECKPOINT_SNAPSHOT = CHECKPOINT.columns.index("snapshot")

BLOCK_ENTITY = "memory block"


def decode_block(row: Sequence[Any]) -> MemoryBlock:
    """Return the block of a row, its snapshot as the caller stored it."""
    block = BLOCK.decode(row)
    if is_compressed(block.loro_snapshot):
        block.loro_snapshot = decompress_snapshot(block.loro_snapshot)
    return block


def decode_blocks(rows: Sequence[Sequence[Any]]) -> list[MemoryBlock]:
    """Decode many block rows."""
    return [decode_block(row) for row in rows]


def encode_block(block: MemoryBlock, threshold: int) -> list[Any]:
    """Return a block's bound parameters (every column), the snapshot compressed if worth it."""
    params = list(BLOCK.encode(block))
    params[_BLOCK_SNAPSHOT] = compress_snapshot(block.loro_snapshot, threshold)
    return params


def decode_checkpoint(row: Sequence[Any]) -> MemoryBlockCheckpoint:
    """Return the checkpoint of a row, its snapshot as the caller stored it."""
    checkpoint = CHECKPOINT.decode(row)
    if is_compressed(checkpoint.snapshot):
        checkpoint.snapshot = decompress_snapshot(checkpoint.snapshot)
    return checkpoint


def encode_checkpoint(checkpoint: MemoryBlockCheckpoint, threshold: int) -> list[Any]:
    """Return a checkpoint's bound parameters, the snapshot compressed if worth it."""
    params = list(CHECKPOINT.encode(checkpoint))
    params[_CHECKPOINT_SNAPSHOT] = compress_snapshot(checkpoint.snapshot, threshold)
    return params


def update_source(source: UpdateSource | str | None) -> UpdateSource | None:
    """Return the UpdateSource of a caller's value.

    Raises:
        InvalidData: `source` is not one of agent, sync, migration, manual.
    """
    return None if source is None else _validate.enum_value(UpdateSource, source, "update source")


def returning_int(conn: apsw.Connection, sql: str, params: Sequence[Any]) -> int | None:
    """Run a write with `RETURNING <integer>` to completion; return the first value or None."""
    # fetchall, not fetchone: the statement must finish before the transaction commits.
    rows: list[Any] = conn.execute(sql, params).fetchall()
    return None if not rows else int(rows[0][0])


@contextmanager
def read_snapshot(conn: apsw.Connection) -> Iterator[apsw.Connection]:
    """Run several SELECTs against one consistent view of the database.

    Outside a transaction each statement would see the latest commit, so a consolidation
    committed between two of them could make them disagree; a savepoint (a deferred read
    transaction in WAL mode) pins one snapshot. Inside a transaction nothing can interleave.
    """
    if conn.in_transaction:
        yield conn
        return
    with conn:
        yield conn
