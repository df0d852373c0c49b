"""zstd snapshot compression: when it applies, exact round trips, and how it looks in the table."""

from __future__ import annotations

import random

import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from pattern_db import ConstellationDb
from pattern_db.compression import (
    ZSTD_MAGIC,
    compress_snapshot,
    decompress_snapshot,
    is_compressed,
)
from pattern_db.connection import scalar
from pattern_db.errors import InvalidData
from pattern_db.models import MemoryBlock, MemoryBlockCheckpoint
from pattern_db.queries import memory as q


def _text(size: int, seed: int = 7) -> bytes:
    """Deterministic English-like text of `size` bytes (compresses well, as Loro text does)."""
    words = ["memory", "block", "agent", "partner", "task", "remember", "the", "a", "and", "of"]
    rng = random.Random(seed)
    out = bytearray()
    while len(out) < size:
        out += rng.choice(words).encode() + b" "
    return bytes(out[:size])


def test_small_data_is_stored_as_given() -> None:
    data = b"loro snapshot"
    assert compress_snapshot(data, 10_240) == data
    assert compress_snapshot(b"", 10_240) == b""
    assert decompress_snapshot(b"") == b""
    assert decompress_snapshot(data) == data


def test_data_at_the_threshold_is_not_compressed() -> None:
    data = b"a" * 100
    assert compress_snapshot(data, 100) == data
    assert is_compressed(compress_snapshot(data + b"a", 100))


def test_large_text_shrinks_and_round_trips() -> None:
    data = _text(100_000)
    stored = compress_snapshot(data, 10_240)
    assert stored.startswith(ZSTD_MAGIC)
    assert len(stored) < len(data) // 3
    assert decompress_snapshot(stored) == data


def test_incompressible_data_is_stored_as_given() -> None:
    data = random.Random(1).randbytes(50_000)
    assert compress_snapshot(data, 10_240) == data
    assert decompress_snapshot(data) == data


def test_raw_data_beginning_with_the_magic_is_always_compressed() -> None:
    data = ZSTD_MAGIC + b"not a frame"
    stored = compress_snapshot(data, 10_240)
    assert stored != data
    assert is_compressed(stored)
    assert decompress_snapshot(stored) == data
    # Even when compression makes it larger, the frame is what is stored.
    noise = ZSTD_MAGIC + random.Random(2).randbytes(20_000)
    assert decompress_snapshot(compress_snapshot(noise, 10_240)) == noise


def test_negative_threshold_means_always_try() -> None:
    data = b"ab" * 50
    assert is_compressed(compress_snapshot(data, -1))
    assert decompress_snapshot(compress_snapshot(data, -1)) == data


def test_frames_without_content_size_are_read() -> None:
    data = _text(30_000)
    frame = zstandard.ZstdCompressor(write_content_size=False).compress(data)
    assert decompress_snapshot(frame) == data


@pytest.mark.parametrize(
    "damaged",
    [
        ZSTD_MAGIC,
        ZSTD_MAGIC + b"garbage",
        compress_snapshot(_text(30_000), 0)[:-10],
    ],
)
def test_damaged_frames_raise_invalid_data(damaged: bytes) -> None:
    with pytest.raises(InvalidData, match="zstd"):
        decompress_snapshot(damaged)


@given(data=st.binary(max_size=3000), threshold=st.integers(-1, 4000), magic=st.booleans())
def test_any_bytes_round_trip(data: bytes, threshold: int, magic: bool) -> None:
    if magic:
        data = ZSTD_MAGIC + data
    stored = compress_snapshot(data, threshold)
    assert decompress_snapshot(stored) == data
    assert is_compressed(stored) or stored == data


def _stored_block_snapshot(db: ConstellationDb, block_id: str) -> bytes:
    with db.reader() as conn:
        return bytes(
            scalar(conn, "SELECT loro_snapshot FROM memory_blocks WHERE id = ?", (block_id,))
        )


def _stored_checkpoint_snapshot(db: ConstellationDb, checkpoint_id: int) -> bytes:
    with db.reader() as conn:
        sql = "SELECT snapshot FROM memory_block_checkpoints WHERE id = ?"
        return bytes(scalar(conn, sql, (checkpoint_id,)))


def test_block_snapshots_are_compressed_in_the_table_and_returned_exactly(
    db: ConstellationDb,
) -> None:
    big = _text(100_000)
    q.create_block(db, MemoryBlock(id="b1", agent_id="a1", label="big", loro_snapshot=big))
    stored = _stored_block_snapshot(db, "b1")
    assert stored.startswith(ZSTD_MAGIC)
    assert len(stored) < 30_000
    block = q.get_block(db, "b1")
    assert block is not None
    assert block.loro_snapshot == big
    assert q.list_blocks(db, "a1")[0].loro_snapshot == big
    assert q.list_all_blocks(db)[0].loro_snapshot == big
    assert q.list_blocks_by_label_prefix(db, "bi")[0].loro_snapshot == big

    # Over the threshold the caller chose, compression kicks in; under it, it does not.
    q.update_block_content(db, "b1", b"x" * 500, "p", compression_threshold=100)
    assert _stored_block_snapshot(db, "b1").startswith(ZSTD_MAGIC)
    q.update_block_content(db, "b1", b"x" * 500, "p")
    assert _stored_block_snapshot(db, "b1") == b"x" * 500
    block = q.get_block(db, "b1")
    assert block is not None
    assert block.loro_snapshot == b"x" * 500


def test_caller_bytes_beginning_with_the_magic_round_trip_through_every_path(
    db: ConstellationDb,
) -> None:
    tricky = ZSTD_MAGIC + b"\x00\x01 raw bytes, not a frame"
    q.create_block(db, MemoryBlock(id="b1", agent_id="a1", label="l", loro_snapshot=tricky))
    block = q.get_block(db, "b1")
    assert block is not None
    assert block.loro_snapshot == tricky
    q.update_block_content(db, "b1", tricky + b"!", None)
    block = q.get_block(db, "b1")
    assert block is not None
    assert block.loro_snapshot == tricky + b"!"
    q.upsert_block(db, MemoryBlock(id="b1", agent_id="a1", label="l", loro_snapshot=tricky))
    block = q.get_block(db, "b1")
    assert block is not None
    assert block.loro_snapshot == tricky

    checkpoint_id = q.create_checkpoint(db, MemoryBlockCheckpoint(block_id="b1", snapshot=tricky))
    assert _stored_checkpoint_snapshot(db, checkpoint_id) != tricky
    latest = q.get_latest_checkpoint(db, "b1")
    assert latest is not None
    assert latest.snapshot == tricky

    seq = q.store_update(db, "b1", tricky)
    q.consolidate_checkpoint(db, "b1", tricky + b"2", None, seq)
    checkpoint, updates = q.get_checkpoint_and_updates(db, "b1")
    assert checkpoint is not None
    assert checkpoint.snapshot == tricky + b"2"
    assert updates == []
    block = q.get_block(db, "b1")
    assert block is not None
    assert block.loro_snapshot == tricky + b"2"


def test_update_blobs_are_stored_as_given(db: ConstellationDb) -> None:
    q.create_block(db, MemoryBlock(id="b1", agent_id="a1", label="l"))
    blob = _text(100_000)
    q.store_update(db, "b1", blob)
    with db.reader() as conn:
        stored = scalar(conn, "SELECT update_blob FROM memory_block_updates WHERE block_id = 'b1'")
    assert stored == blob
    assert q.get_updates_since(db, "b1", 0)[0].update_blob == blob


def test_consolidated_checkpoint_snapshot_is_compressed(db: ConstellationDb) -> None:
    q.create_block(db, MemoryBlock(id="b1", agent_id="a1", label="l"))
    q.store_update(db, "b1", b"u")
    big = _text(100_000, seed=3)
    checkpoint_id = q.consolidate_checkpoint(db, "b1", big, b"f", 1)
    assert len(_stored_checkpoint_snapshot(db, checkpoint_id)) < 30_000
    assert len(_stored_block_snapshot(db, "b1")) < 30_000
    listed = q.list_checkpoints(db, "b1")
    assert [c.snapshot for c in listed] == [big]
    checkpoint, _ = q.get_checkpoint_and_updates_until(db, "b1", 1)
    assert checkpoint is not None
    assert checkpoint.snapshot == big
