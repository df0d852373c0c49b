"""Memory-block deltas and checkpoints: seqs, consolidation (and its race), reads, undo/redo."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from pattern_db import ConstellationDb
from pattern_db.connection import scalar
from pattern_db.errors import AlreadyExists, ConstraintViolation, InvalidData, NotFound
from pattern_db.models import (
    BlockVersionInfo,
    MemoryBlock,
    MemoryBlockCheckpoint,
    MemoryBlockUpdate,
    UpdateSource,
    UpdateStats,
)
from pattern_db.queries import memory as q

T0 = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


def _block(db: ConstellationDb, block_id: str = "b1", **fields: Any) -> MemoryBlock:
    block = MemoryBlock(
        id=block_id,
        agent_id=str(fields.pop("agent_id", "a1")),
        label=str(fields.pop("label", block_id)),
        created_at=T0,
        updated_at=T0,
        **fields,
    )
    q.create_block(db, block)
    return block


def _seqs(updates: list[MemoryBlockUpdate]) -> list[int]:
    return [u.seq for u in updates]


def _count(db: ConstellationDb, table: str) -> int:
    with db.reader() as conn:
        return int(scalar(conn, f"SELECT count(*) FROM {table}"))


def _block_row(db: ConstellationDb, block_id: str = "b1") -> MemoryBlock:
    block = q.get_block(db, block_id, include_inactive=True)
    assert block is not None
    return block


# -- store_update ------------------------------------------------------------------------------


def test_store_update_assigns_seqs_from_one(db: ConstellationDb) -> None:
    _block(db)
    assert [q.store_update(db, "b1", f"u{i}".encode()) for i in range(1, 4)] == [1, 2, 3]
    block = _block_row(db)
    assert block.last_seq == 3
    assert block.updated_at > T0
    updates = q.get_updates_since(db, "b1", 0)
    assert [(u.seq, u.update_blob, u.byte_size, u.is_active) for u in updates] == [
        (1, b"u1", 2, True),
        (2, b"u2", 2, True),
        (3, b"u3", 2, True),
    ]
    assert all(u.block_id == "b1" and u.source is None and u.frontier is None for u in updates)


def test_store_update_records_source_and_frontier(db: ConstellationDb) -> None:
    _block(db)
    q.store_update(db, "b1", b"a", UpdateSource.SYNC, frontier=b"\x01\x02")
    q.store_update(db, "b1", b"b", "manual")
    first, second = q.get_updates_since(db, "b1", 0)
    assert (first.source, first.frontier) == (UpdateSource.SYNC, b"\x01\x02")
    assert (second.source, second.frontier) == (UpdateSource.MANUAL, None)
    assert first.created_at <= second.created_at


def test_store_update_seqs_are_per_block(db: ConstellationDb) -> None:
    _block(db, "b1")
    _block(db, "b2")
    assert q.store_update(db, "b1", b"x") == 1
    assert q.store_update(db, "b2", b"x") == 1
    assert q.store_update(db, "b1", b"x") == 2


def test_store_update_on_a_missing_block_raises_and_writes_nothing(db: ConstellationDb) -> None:
    with pytest.raises(NotFound, match="memory block not found: nope"):
        q.store_update(db, "nope", b"x")
    assert _count(db, "memory_block_updates") == 0
    assert _count(db, "memory_blocks") == 0


def test_store_update_with_an_unknown_source_raises_and_writes_nothing(
    db: ConstellationDb,
) -> None:
    _block(db)
    with pytest.raises(InvalidData, match="agent, sync, migration, manual"):
        q.store_update(db, "b1", b"x", "robot")
    assert _count(db, "memory_block_updates") == 0
    assert _block_row(db).last_seq == 0


def test_store_update_stores_an_empty_blob(db: ConstellationDb) -> None:
    _block(db)
    q.store_update(db, "b1", b"")
    (update,) = q.get_updates_since(db, "b1", 0)
    assert (update.update_blob, update.byte_size) == (b"", 0)


def test_store_update_inside_a_transaction_rolls_back_with_it(db: ConstellationDb) -> None:
    _block(db)

    def store_then_fail() -> None:
        with db.transaction() as tx:
            assert q.store_update(tx, "b1", b"x") == 1
            assert _seqs(q.get_updates_since(tx, "b1", 0)) == [1]
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        store_then_fail()
    assert q.get_updates_since(db, "b1", 0) == []
    assert q.store_update(db, "b1", b"x") == 1


def test_seqs_never_repeat_after_consolidation(db: ConstellationDb) -> None:
    _block(db)
    for _ in range(3):
        q.store_update(db, "b1", b"x")
    q.consolidate_checkpoint(db, "b1", b"snap", None, 3)
    assert q.get_pending_update_stats(db, "b1").count == 0
    # MAX(seq)+1 would restart at 1 here; last_seq + 1 does not.
    assert q.store_update(db, "b1", b"y") == 4
    assert _block_row(db).last_seq == 4


# -- create_update (imports) -------------------------------------------------------------------


def test_create_update_inserts_the_record_and_raises_last_seq(db: ConstellationDb) -> None:
    _block(db)
    update = MemoryBlockUpdate(
        block_id="b1",
        seq=7,
        update_blob=b"abc",
        byte_size=3,
        source=UpdateSource.MIGRATION,
        frontier=b"f",
        is_active=False,
        created_at=T0,
    )
    row_id = q.create_update(db, update)
    stored = q.list_updates(db, "b1", include_inactive=True)
    assert stored == [msgspec.structs.replace(update, id=row_id)]
    assert _block_row(db).last_seq == 7
    assert q.store_update(db, "b1", b"next") == 8
    # A lower seq fills a gap and leaves last_seq alone.
    q.create_update(db, MemoryBlockUpdate(block_id="b1", seq=2, update_blob=b"", byte_size=0))
    assert _block_row(db).last_seq == 8


def test_create_update_errors(db: ConstellationDb) -> None:
    _block(db)
    with pytest.raises(NotFound):
        q.create_update(db, MemoryBlockUpdate(block_id="nope", seq=1, update_blob=b"", byte_size=0))
    with pytest.raises(InvalidData, match="byte_size"):
        q.create_update(db, MemoryBlockUpdate(block_id="b1", seq=1, update_blob=b"ab", byte_size=1))
    q.create_update(db, MemoryBlockUpdate(block_id="b1", seq=1, update_blob=b"", byte_size=0))
    with pytest.raises(AlreadyExists):
        q.create_update(db, MemoryBlockUpdate(block_id="b1", seq=1, update_blob=b"", byte_size=0))
    assert _count(db, "memory_block_updates") == 1


# -- reads -------------------------------------------------------------------------------------


def test_get_checkpoint_and_updates_without_a_checkpoint(db: ConstellationDb) -> None:
    _block(db)
    assert q.get_checkpoint_and_updates(db, "b1") == (None, [])
    for _ in range(3):
        q.store_update(db, "b1", b"x")
    checkpoint, updates = q.get_checkpoint_and_updates(db, "b1")
    assert checkpoint is None
    assert _seqs(updates) == [1, 2, 3]
    q.deactivate_latest_update(db, "b1")
    assert _seqs(q.get_checkpoint_and_updates(db, "b1")[1]) == [1, 2]


def test_updates_after_a_checkpoint_are_chosen_by_seq_not_time(db: ConstellationDb) -> None:
    _block(db)
    for _ in range(4):
        q.store_update(db, "b1", b"x")
    # A checkpoint whose clock ran ahead: the reference (created_at > checkpoint.created_at)
    # would return no updates at all here.
    future = datetime(2099, 1, 1, tzinfo=UTC)
    q.create_checkpoint(
        db, MemoryBlockCheckpoint(block_id="b1", snapshot=b"s", created_at=future, up_to_seq=2)
    )
    checkpoint, updates = q.get_checkpoint_and_updates(db, "b1")
    assert checkpoint is not None
    assert checkpoint.up_to_seq == 2
    assert _seqs(updates) == [3, 4]


def test_consolidation_race_keeps_updates_stored_during_the_merge(db: ConstellationDb) -> None:
    _block(db)
    for i in range(1, 6):
        q.store_update(db, "b1", f"u{i}".encode())
    # The consolidator loads the block...
    checkpoint, loaded = q.get_checkpoint_and_updates(db, "b1")
    assert checkpoint is None
    up_to = loaded[-1].seq
    # ...another writer stores two deltas while it merges...
    assert q.store_update(db, "b1", b"u6") == 6
    assert q.store_update(db, "b1", b"u7") == 7
    # ...and the consolidation covers only what it loaded.
    checkpoint_id = q.consolidate_checkpoint(db, "b1", b"merged-1-5", b"fr5", up_to)
    checkpoint, updates = q.get_checkpoint_and_updates(db, "b1")
    assert checkpoint is not None
    assert (checkpoint.id, checkpoint.up_to_seq, checkpoint.updates_consolidated) == (
        checkpoint_id,
        5,
        5,
    )
    assert (checkpoint.snapshot, checkpoint.frontier) == (b"merged-1-5", b"fr5")
    assert [(u.seq, u.update_blob) for u in updates] == [(6, b"u6"), (7, b"u7")]
    assert q.store_update(db, "b1", b"u8") == 8
    assert _seqs(q.get_updates_since(db, "b1", checkpoint.up_to_seq)) == [6, 7, 8]


def test_get_checkpoint_and_updates_reads_one_snapshot(tmp_path: Path) -> None:
    """A consolidation committed between the two SELECTs must not make them disagree."""
    path = tmp_path / "c.db"
    with ConstellationDb.open(path) as db, ConstellationDb.open(path) as other:
        _block(db)
        for _ in range(4):
            q.store_update(db, "b1", b"x")
        fired: list[bool] = []

        def consolidate_in_between(_cursor: Any, sql: str, _bindings: Any) -> bool:
            if "memory_block_updates" in sql and not fired:
                fired.append(True)
                q.consolidate_checkpoint(other, "b1", b"snap", None, 4)
            return True

        with db.reader() as conn:
            conn.exec_trace = consolidate_in_between
        try:
            checkpoint, updates = q.get_checkpoint_and_updates(db, "b1")
        finally:
            with db.reader() as conn:
                conn.exec_trace = None
        assert fired == [True]
        # The read saw the state before the consolidation: no checkpoint, all four deltas.
        assert checkpoint is None
        assert _seqs(updates) == [1, 2, 3, 4]
        checkpoint, updates = q.get_checkpoint_and_updates(db, "b1")
        assert checkpoint is not None
        assert checkpoint.up_to_seq == 4
        assert updates == []


def test_concurrent_store_and_consolidate_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    total = 150
    with ConstellationDb.open(path) as db, ConstellationDb.open(path) as other:
        _block(db)
        errors: list[BaseException] = []

        def write() -> None:
            try:
                for i in range(total):
                    q.store_update(other, "b1", i.to_bytes(4, "big"))
                    time.sleep(0.0005)  # let the consolidator interleave
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        writer = threading.Thread(target=write)
        writer.start()
        merged: list[int] = []  # payloads covered by checkpoints, in order
        covered = 0
        while writer.is_alive() or covered < total:
            checkpoint, updates = q.get_checkpoint_and_updates(db, "b1")
            assert (checkpoint.up_to_seq if checkpoint else 0) == covered
            assert _seqs(updates) == list(range(covered + 1, covered + 1 + len(updates)))
            if updates:
                merged += [int.from_bytes(u.update_blob, "big") for u in updates]
                covered = updates[-1].seq
                q.consolidate_checkpoint(db, "b1", b"s", None, covered)
        writer.join()
        assert errors == []
        assert merged == list(range(total))
        checkpoints = q.list_checkpoints(db, "b1")
        assert sum(c.updates_consolidated for c in checkpoints) == total
        assert q.store_update(db, "b1", b"x") == total + 1


def test_get_checkpoint_and_updates_until(db: ConstellationDb) -> None:
    _block(db)
    for _ in range(6):
        q.store_update(db, "b1", b"x")
    assert _seqs(q.get_checkpoint_and_updates_until(db, "b1", 4)[1]) == [1, 2, 3, 4]
    q.consolidate_checkpoint(db, "b1", b"s", None, 2)
    checkpoint, updates = q.get_checkpoint_and_updates_until(db, "b1", 4)
    assert checkpoint is not None
    assert checkpoint.up_to_seq == 2
    assert _seqs(updates) == [3, 4]
    assert _seqs(q.get_checkpoint_and_updates_until(db, "b1", 100)[1]) == [3, 4, 5, 6]
    # Below the checkpoint: those deltas were consolidated away.
    checkpoint, updates = q.get_checkpoint_and_updates_until(db, "b1", 1)
    assert checkpoint is not None
    assert updates == []
    q.deactivate_latest_update(db, "b1")
    assert _seqs(q.get_checkpoint_and_updates_until(db, "b1", 6)[1]) == [3, 4, 5]
    assert q.get_checkpoint_and_updates_until(db, "missing", 5) == (None, [])


def test_get_updates_since_and_has_updates_since_count_active_only(db: ConstellationDb) -> None:
    _block(db)
    assert q.get_updates_since(db, "b1", 0) == []
    assert q.has_updates_since(db, "b1", 0) is False
    for _ in range(3):
        q.store_update(db, "b1", b"x")
    assert _seqs(q.get_updates_since(db, "b1", 1)) == [2, 3]
    assert q.has_updates_since(db, "b1", 2) is True
    assert q.has_updates_since(db, "b1", 3) is False
    q.deactivate_latest_update(db, "b1")
    assert q.has_updates_since(db, "b1", 2) is False
    assert _seqs(q.get_updates_since(db, "b1", 0)) == [1, 2]


def test_list_updates(db: ConstellationDb) -> None:
    _block(db)
    for _ in range(3):
        q.store_update(db, "b1", b"x")
    q.deactivate_latest_update(db, "b1")
    assert _seqs(q.list_updates(db, "b1")) == [1, 2]
    listed = q.list_updates(db, "b1", include_inactive=True)
    assert [(u.seq, u.is_active) for u in listed] == [(1, True), (2, True), (3, False)]


def test_get_latest_update(db: ConstellationDb) -> None:
    _block(db)
    assert q.get_latest_update(db, "b1") is None
    q.store_update(db, "b1", b"one")
    q.store_update(db, "b1", b"two")
    latest = q.get_latest_update(db, "b1")
    assert latest is not None
    assert (latest.seq, latest.update_blob) == (2, b"two")
    q.deactivate_latest_update(db, "b1")
    latest = q.get_latest_update(db, "b1")
    assert latest is not None
    assert latest.seq == 1


def test_get_pending_update_stats(db: ConstellationDb) -> None:
    _block(db)
    assert q.get_pending_update_stats(db, "b1") == UpdateStats(
        count=0, total_bytes=0, max_seq=0, oldest_at=None
    )
    q.store_update(db, "b1", b"abc")
    q.store_update(db, "b1", b"de")
    q.store_update(db, "b1", b"f")
    first = q.get_updates_since(db, "b1", 0)[0]
    q.deactivate_latest_update(db, "b1")
    # Undone deltas are still in the table, so they count (consolidation would delete them).
    assert q.get_pending_update_stats(db, "b1") == UpdateStats(
        count=3, total_bytes=6, max_seq=3, oldest_at=first.created_at
    )
    q.consolidate_checkpoint(db, "b1", b"s", None, 2)
    stats = q.get_pending_update_stats(db, "b1")
    assert (stats.count, stats.total_bytes, stats.max_seq) == (1, 1, 3)
    assert q.get_pending_update_stats(db, "b1") != UpdateStats()
    with pytest.raises(NotFound, match="memory block not found: missing"):
        q.get_pending_update_stats(db, "missing")


# -- checkpoints -------------------------------------------------------------------------------


def test_create_checkpoint_and_list_newest_first(db: ConstellationDb) -> None:
    _block(db)
    assert q.get_latest_checkpoint(db, "b1") is None
    assert q.list_checkpoints(db, "b1") == []
    late = datetime(2030, 1, 1, tzinfo=UTC)
    first = MemoryBlockCheckpoint(
        block_id="b1", snapshot=b"s1", created_at=late, up_to_seq=1, updates_consolidated=1
    )
    second = MemoryBlockCheckpoint(block_id="b1", snapshot=b"s5", created_at=T0, up_to_seq=5)
    third = MemoryBlockCheckpoint(block_id="b1", snapshot=b"s5b", created_at=T0, up_to_seq=5)
    ids = [q.create_checkpoint(db, c) for c in (first, second, third)]
    assert ids[0] < ids[1] < ids[2]
    listed = q.list_checkpoints(db, "b1")
    # Ordered by what they cover, then by id; never by created_at.
    assert [c.snapshot for c in listed] == [b"s5b", b"s5", b"s1"]
    assert listed[-1] == msgspec.structs.replace(first, id=ids[0])
    latest = q.get_latest_checkpoint(db, "b1")
    assert latest is not None
    assert latest.id == ids[2]


def test_create_checkpoint_for_a_missing_block_is_refused(db: ConstellationDb) -> None:
    with pytest.raises(ConstraintViolation):
        q.create_checkpoint(db, MemoryBlockCheckpoint(block_id="nope", snapshot=b""))
    assert _count(db, "memory_block_checkpoints") == 0


def test_create_checkpoint_with_a_taken_id(db: ConstellationDb) -> None:
    _block(db)
    q.create_checkpoint(db, MemoryBlockCheckpoint(id=9, block_id="b1", snapshot=b""))
    with pytest.raises(AlreadyExists):
        q.create_checkpoint(db, MemoryBlockCheckpoint(id=9, block_id="b1", snapshot=b""))


def test_consolidate_checkpoint_writes_block_state(db: ConstellationDb) -> None:
    _block(db, content_preview="text", frontier=b"old")
    for _ in range(4):
        q.store_update(db, "b1", b"xy")
    q.deactivate_latest_update(db, "b1")
    q.deactivate_latest_update(db, "b1")
    checkpoint_id = q.consolidate_checkpoint(db, "b1", b"snap", b"fr", 3)
    block = _block_row(db)
    assert (block.loro_snapshot, block.frontier) == (b"snap", b"fr")
    assert (block.last_seq, block.content_preview) == (4, "text")
    checkpoint = q.get_latest_checkpoint(db, "b1")
    assert checkpoint is not None
    # Inactive deltas at or below up_to_seq are deleted and counted too.
    assert (checkpoint.id, checkpoint.updates_consolidated, checkpoint.up_to_seq) == (
        checkpoint_id,
        3,
        3,
    )
    assert [(u.seq, u.is_active) for u in q.list_updates(db, "b1", include_inactive=True)] == [
        (4, False)
    ]
    # Consolidating nothing new still records a checkpoint.
    q.consolidate_checkpoint(db, "b1", b"snap2", None, 3)
    latest = q.get_latest_checkpoint(db, "b1")
    assert latest is not None
    assert latest.updates_consolidated == 0
    assert _block_row(db).frontier is None


def test_consolidate_checkpoint_errors_write_nothing(db: ConstellationDb) -> None:
    _block(db)
    q.store_update(db, "b1", b"x")
    with pytest.raises(NotFound):
        q.consolidate_checkpoint(db, "nope", b"s", None, 0)
    with pytest.raises(InvalidData, match=r"outside 0\.\.1"):
        q.consolidate_checkpoint(db, "b1", b"s", None, 2)
    with pytest.raises(InvalidData):
        q.consolidate_checkpoint(db, "b1", b"s", None, -1)
    assert _count(db, "memory_block_checkpoints") == 0
    assert _seqs(q.get_updates_since(db, "b1", 0)) == [1]
    assert _block_row(db).loro_snapshot == b""


def test_stale_consolidation_never_regresses_the_block(db: ConstellationDb) -> None:
    _block(db)
    for _ in range(5):
        q.store_update(db, "b1", b"x")
    q.consolidate_checkpoint(db, "b1", b"covers-5", b"f5", 5)
    # A second handle that loaded only up to seq 3 consolidates afterwards.
    q.consolidate_checkpoint(db, "b1", b"covers-3", b"f3", 3)
    block = _block_row(db)
    assert (block.loro_snapshot, block.frontier) == (b"covers-5", b"f5")
    checkpoint, updates = q.get_checkpoint_and_updates(db, "b1")
    assert checkpoint is not None
    assert checkpoint.snapshot == b"covers-5"
    assert updates == []
    assert [c.up_to_seq for c in q.list_checkpoints(db, "b1")] == [5, 3]


# -- block sequence state ----------------------------------------------------------------------


def test_update_block_frontier(db: ConstellationDb) -> None:
    _block(db)
    q.update_block_frontier(db, "b1", b"\x00front")
    block = _block_row(db)
    assert block.frontier == b"\x00front"
    assert block.updated_at > T0
    q.update_block_frontier(db, "b1", None)
    assert _block_row(db).frontier is None
    with pytest.raises(NotFound):
        q.update_block_frontier(db, "nope", b"x")


def test_get_block_version_info(db: ConstellationDb) -> None:
    assert q.get_block_version_info(db, "b1") is None
    _block(db)
    assert q.get_block_version_info(db, "b1") == BlockVersionInfo(
        block_id="b1", last_seq=0, max_active_seq=0, updated_at=T0
    )
    q.store_update(db, "b1", b"x")
    q.store_update(db, "b1", b"y")
    stored = q.get_block_version_info(db, "b1")
    assert stored is not None
    assert (stored.last_seq, stored.max_active_seq) == (2, 2)
    assert stored.updated_at == _block_row(db).updated_at
    q.deactivate_latest_update(db, "b1")
    undone = q.get_block_version_info(db, "b1")
    assert undone is not None
    assert (undone.last_seq, undone.max_active_seq) == (2, 1)
    assert undone.updated_at > stored.updated_at
    q.reactivate_next_update(db, "b1")
    redone = q.get_block_version_info(db, "b1")
    assert redone is not None
    assert (redone.last_seq, redone.max_active_seq) == (2, 2)
    q.deactivate_block(db, "b1")
    assert q.get_block_version_info(db, "b1") is not None


def test_reset_block_last_seq(db: ConstellationDb) -> None:
    _block(db)
    q.reset_block_last_seq(db, "b1", 10)
    assert _block_row(db).last_seq == 10
    assert q.store_update(db, "b1", b"x") == 11
    with pytest.raises(InvalidData, match="below seq 11"):
        q.reset_block_last_seq(db, "b1", 5)
    q.consolidate_checkpoint(db, "b1", b"s", None, 11)
    with pytest.raises(InvalidData, match="below seq 11"):
        q.reset_block_last_seq(db, "b1", 10)
    q.reset_block_last_seq(db, "b1", 11)
    assert q.store_update(db, "b1", b"x") == 12
    with pytest.raises(NotFound):
        q.reset_block_last_seq(db, "nope", 1)


# -- undo and redo -----------------------------------------------------------------------------


def _state(db: ConstellationDb) -> tuple[list[tuple[int, bool]], int, int]:
    updates = q.list_updates(db, "b1", include_inactive=True)
    return (
        [(u.seq, u.is_active) for u in updates],
        q.count_undo_steps(db, "b1"),
        q.count_redo_steps(db, "b1"),
    )


def test_undo_and_redo_flags_and_counts(db: ConstellationDb) -> None:
    _block(db)
    assert q.deactivate_latest_update(db, "b1") is None
    assert q.reactivate_next_update(db, "b1") is None
    assert _state(db) == ([], 0, 0)
    for _ in range(3):
        q.store_update(db, "b1", b"x")
    assert _state(db) == ([(1, True), (2, True), (3, True)], 3, 0)
    assert q.deactivate_latest_update(db, "b1") == 3
    assert q.deactivate_latest_update(db, "b1") == 2
    assert _state(db) == ([(1, True), (2, False), (3, False)], 1, 2)
    assert q.reactivate_next_update(db, "b1") == 2
    assert _state(db) == ([(1, True), (2, True), (3, False)], 2, 1)
    assert q.reactivate_next_update(db, "b1") == 3
    assert q.reactivate_next_update(db, "b1") is None
    assert q.deactivate_latest_update(db, "b1") == 3
    assert q.deactivate_latest_update(db, "b1") == 2
    assert q.deactivate_latest_update(db, "b1") == 1
    assert q.deactivate_latest_update(db, "b1") is None
    assert _state(db) == ([(1, False), (2, False), (3, False)], 0, 3)
    assert q.reactivate_next_update(db, "b1") == 1
    assert _state(db) == ([(1, True), (2, False), (3, False)], 1, 2)


def test_undo_and_redo_bump_updated_at(db: ConstellationDb) -> None:
    _block(db)
    q.store_update(db, "b1", b"x")
    before = _block_row(db).updated_at
    q.deactivate_latest_update(db, "b1")
    undone = _block_row(db).updated_at
    assert undone > before
    q.reactivate_next_update(db, "b1")
    assert _block_row(db).updated_at > undone


def test_a_new_update_clears_the_redo_stack(db: ConstellationDb) -> None:
    _block(db)
    for _ in range(3):
        q.store_update(db, "b1", b"x")
    q.deactivate_latest_update(db, "b1")
    q.deactivate_latest_update(db, "b1")
    assert q.count_redo_steps(db, "b1") == 2
    assert q.store_update(db, "b1", b"new") == 4
    assert _state(db) == ([(1, True), (4, True)], 2, 0)
    # Undoing the new edit must not resurrect the abandoned 2 and 3 (the reference did).
    assert q.deactivate_latest_update(db, "b1") == 4
    assert q.count_redo_steps(db, "b1") == 1
    assert q.reactivate_next_update(db, "b1") == 4


def test_redo_survives_a_consolidation_below_it(db: ConstellationDb) -> None:
    _block(db)
    for _ in range(4):
        q.store_update(db, "b1", b"x")
    q.deactivate_latest_update(db, "b1")
    q.consolidate_checkpoint(db, "b1", b"s", None, 2)
    assert _state(db) == ([(3, True), (4, False)], 1, 1)
    assert q.reactivate_next_update(db, "b1") == 4
    assert _seqs(q.get_checkpoint_and_updates(db, "b1")[1]) == [3, 4]


def test_undo_redo_of_another_block_is_independent(db: ConstellationDb) -> None:
    _block(db, "b1")
    _block(db, "b2")
    q.store_update(db, "b1", b"x")
    q.store_update(db, "b2", b"x")
    q.deactivate_latest_update(db, "b1")
    assert q.count_undo_steps(db, "b2") == 1
    assert q.count_redo_steps(db, "b2") == 0
    assert q.reactivate_next_update(db, "b2") is None


def test_a_checkpoint_older_than_the_latest_is_refused_not_hidden(db: ConstellationDb) -> None:
    _block(db)
    for _ in range(3):
        q.store_update(db, "b1", b"d")
    q.consolidate_checkpoint(db, "b1", b"consolidated", None, 3)
    # up_to_seq defaults to 0: such a checkpoint would never be returned by a load.
    with pytest.raises(InvalidData, match="would never be read"):
        q.create_checkpoint(db, MemoryBlockCheckpoint(block_id="b1", snapshot=b"stale"))
    assert [c.snapshot for c in q.list_checkpoints(db, "b1")] == [b"consolidated"]
    q.create_checkpoint(db, MemoryBlockCheckpoint(block_id="b1", snapshot=b"new", up_to_seq=3))
    checkpoint, updates = q.get_checkpoint_and_updates(db, "b1")
    assert checkpoint is not None
    assert (checkpoint.snapshot, updates) == (b"new", [])
