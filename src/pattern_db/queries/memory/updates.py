"""Memory-block checkpoints and deltas: store, read since, consolidate, undo and redo.

Design (DESIGN 5, REFERENCE 3.3 and 11.3-11.5 fixed): every delta gets `seq = last_seq + 1` from
the block row in the same transaction as its insert, so seqs start at 1 and never repeat, even
after consolidation deletes rows. A checkpoint records the highest seq it covers (`up_to_seq`),
and reads select the deltas after it by seq, never by timestamp, inside one read snapshot, so an
update stored while a consolidation runs is always either in the checkpoint or returned after it.
Undo and redo flip `is_active`; the inactive deltas are always the newest ones (a redo stack).
"""

from __future__ import annotations

from typing import Any

from pattern_db.codec import codec_for
from pattern_db.compression import DEFAULT_COMPRESSION_THRESHOLD, compress_snapshot
from pattern_db.connection import Executor, scalar
from pattern_db.errors import InvalidData, NotFound, translate_errors
from pattern_db.models.memory import (
    BlockVersionInfo,
    MemoryBlockCheckpoint,
    MemoryBlockUpdate,
    UpdateSource,
    UpdateStats,
)
from pattern_db.queries._rows import fetch_one, write_one
from pattern_db.queries.memory._common import (
    BLOCK_ENTITY,
    CHECKPOINT,
    UPDATE,
    decode_checkpoint,
    encode_checkpoint,
    read_snapshot,
    returning_int,
    update_source,
)
from pattern_db.timeutil import now_ts

__all__ = [
    "consolidate_checkpoint",
    "count_redo_steps",
    "count_undo_steps",
    "create_checkpoint",
    "create_update",
    "deactivate_latest_update",
    "get_block_version_info",
    "get_checkpoint_and_updates",
    "get_checkpoint_and_updates_until",
    "get_latest_checkpoint",
    "get_latest_update",
    "get_pending_update_stats",
    "get_updates_since",
    "has_updates_since",
    "list_checkpoints",
    "list_updates",
    "reactivate_next_update",
    "reset_block_last_seq",
    "store_update",
    "update_block_frontier",
]

_STATS = codec_for(UpdateStats)
_VERSION = codec_for(BlockVersionInfo)

_SELECT_CHECKPOINT = f"SELECT {CHECKPOINT.column_list} FROM memory_block_checkpoints"
_UP_TO_SEQ = CHECKPOINT.columns.index("up_to_seq")
# "Latest" is the checkpoint covering the most deltas; id breaks ties (two consolidations of
# the same seq), never created_at, which two handles' clocks may disagree on.
_LATEST_CHECKPOINT = f"{_SELECT_CHECKPOINT} WHERE block_id = ? ORDER BY up_to_seq DESC, id DESC"
_LATEST_CHECKPOINT_1 = f"{_LATEST_CHECKPOINT} LIMIT 1"
_INSERT_CHECKPOINT = f"{CHECKPOINT.insert_sql('memory_block_checkpoints')} RETURNING id"

_SELECT_UPDATE = f"SELECT {UPDATE.column_list} FROM memory_block_updates"
_INSERT_UPDATE = f"{UPDATE.insert_sql('memory_block_updates')} RETURNING id"
_ACTIVE_AFTER = f"{_SELECT_UPDATE} WHERE block_id = ? AND is_active = 1 AND seq > ? ORDER BY seq"
_ACTIVE_BETWEEN = f"""{_SELECT_UPDATE}
WHERE block_id = ? AND is_active = 1 AND seq > ? AND seq <= ? ORDER BY seq"""
_ALL_UPDATES = f"{_SELECT_UPDATE} WHERE block_id = ? ORDER BY seq"
_ACTIVE_UPDATES = f"{_SELECT_UPDATE} WHERE block_id = ? AND is_active = 1 ORDER BY seq"
_LATEST_UPDATE = f"""{_SELECT_UPDATE}
WHERE block_id = ? AND is_active = 1 ORDER BY seq DESC LIMIT 1"""
_HAS_ACTIVE_AFTER = """
SELECT EXISTS (
    SELECT 1 FROM memory_block_updates WHERE block_id = ? AND is_active = 1 AND seq > ?
)
"""

_NEXT_SEQ = """
UPDATE memory_blocks SET last_seq = last_seq + 1, updated_at = ? WHERE id = ? RETURNING last_seq
"""
_RAISE_LAST_SEQ = """
UPDATE memory_blocks SET last_seq = max(last_seq, ?), updated_at = ? WHERE id = ?
"""
_DROP_REDO = "DELETE FROM memory_block_updates WHERE block_id = ? AND is_active = 0"
_TOUCH_BLOCK = "UPDATE memory_blocks SET updated_at = ? WHERE id = ?"
_BLOCK_LAST_SEQ = "SELECT last_seq FROM memory_blocks WHERE id = ?"
_DELETE_CONSOLIDATED = "DELETE FROM memory_block_updates WHERE block_id = ? AND seq <= ?"
_MAX_CHECKPOINT_SEQ = "SELECT max(up_to_seq) FROM memory_block_checkpoints WHERE block_id = ?"
_SET_BLOCK_SNAPSHOT = """
UPDATE memory_blocks SET loro_snapshot = ?, frontier = ?, updated_at = ? WHERE id = ?
"""
_SET_FRONTIER = "UPDATE memory_blocks SET frontier = ?, updated_at = ? WHERE id = ?"
_SET_LAST_SEQ = "UPDATE memory_blocks SET last_seq = ?, updated_at = ? WHERE id = ?"
_SEQ_FLOOR = """
SELECT max(
    coalesce((SELECT max(seq) FROM memory_block_updates WHERE block_id = ?1), 0),
    coalesce((SELECT max(up_to_seq) FROM memory_block_checkpoints WHERE block_id = ?1), 0)
)
"""
# No row at all for a block that does not exist (the LEFT JOIN gives zeros for one without deltas).
_PENDING_STATS = """
SELECT count(u.id) AS count, coalesce(sum(u.byte_size), 0) AS total_bytes,
       coalesce(max(u.seq), 0) AS max_seq, min(u.created_at) AS oldest_at
FROM memory_blocks AS b LEFT JOIN memory_block_updates AS u ON u.block_id = b.id
WHERE b.id = ? GROUP BY b.id
"""
_VERSION_INFO = """
SELECT b.id AS block_id, b.last_seq,
       coalesce((SELECT max(u.seq) FROM memory_block_updates u
                 WHERE u.block_id = b.id AND u.is_active = 1), 0) AS max_active_seq,
       b.updated_at
FROM memory_blocks b WHERE b.id = ?
"""
_MAX_ACTIVE = """
coalesce((SELECT max(seq) FROM memory_block_updates WHERE block_id = ?1 AND is_active = 1), 0)
"""
_UNDO = """
UPDATE memory_block_updates SET is_active = 0
WHERE id = (SELECT id FROM memory_block_updates
            WHERE block_id = ? AND is_active = 1 ORDER BY seq DESC LIMIT 1)
RETURNING seq
"""
_REDO = f"""
UPDATE memory_block_updates SET is_active = 1
WHERE id = (SELECT id FROM memory_block_updates
            WHERE block_id = ?1 AND is_active = 0 AND seq > {_MAX_ACTIVE}
            ORDER BY seq LIMIT 1)
RETURNING seq
"""
_COUNT_UNDO = "SELECT count(*) FROM memory_block_updates WHERE block_id = ? AND is_active = 1"
_COUNT_REDO = f"""
SELECT count(*) FROM memory_block_updates
WHERE block_id = ?1 AND is_active = 0 AND seq > {_MAX_ACTIVE}
"""


# -- deltas ------------------------------------------------------------------------------------


def store_update(
    db: Executor,
    block_id: str,
    update_blob: bytes,
    source: UpdateSource | str | None = None,
    *,
    frontier: bytes | None = None,
) -> int:
    """Store one delta of a block and return its seq (1 for the first; never reused).

    One transaction: the block's `last_seq` is incremented (and `updated_at` set) with
    UPDATE ... RETURNING, the delta inserted with that seq. The blob is stored as given.
    Deliberate addition to REFERENCE: a new delta discards the block's undone (inactive) deltas,
    as a new edit clears an editor's redo stack; the reference kept them, and a later undo made
    `reactivate_next_update` resurrect that abandoned branch.

    Raises:
        NotFound: no block has this id (nothing is written).
        InvalidData: `source` is not agent, sync, migration or manual.
    """
    kind = update_source(source)
    with db.writer() as conn, translate_errors(BLOCK_ENTITY, block_id):
        ts = now_ts()
        seq = returning_int(conn, _NEXT_SEQ, (ts, block_id))
        if seq is None:
            raise NotFound(BLOCK_ENTITY, block_id)
        conn.execute(_DROP_REDO, (block_id,))
        conn.execute(
            _INSERT_UPDATE,
            (None, block_id, seq, update_blob, len(update_blob), kind, frontier, 1, ts),
        ).fetchall()
    return seq


def create_update(db: Executor, update: MemoryBlockUpdate) -> int:
    """Insert a complete delta record as given (imports, restores); return its row id.

    Unlike `store_update` the seq, created_at and is_active come from the record. The block's
    `last_seq` is raised to the record's seq if lower (so later seqs never repeat) and its
    `updated_at` set to now, since its content changed.

    Raises:
        NotFound: no block has this id.
        AlreadyExists: the block already has a delta with this seq (or a row has this id).
        InvalidData: `byte_size` is not the length of `update_blob`.
    """
    if update.byte_size != len(update.update_blob):
        raise InvalidData(
            f"byte_size {update.byte_size} does not match the blob's {len(update.update_blob)} "
            "bytes; pass byte_size=len(update_blob)"
        )
    key = f"{update.block_id}#{update.seq}"
    with db.writer() as conn, translate_errors("memory block update", key):
        conn.execute(_RAISE_LAST_SEQ, (update.seq, now_ts(), update.block_id))
        if conn.changes() == 0:
            raise NotFound(BLOCK_ENTITY, update.block_id)
        row_id = returning_int(conn, _INSERT_UPDATE, UPDATE.encode(update))
    assert row_id is not None
    return row_id


def get_updates_since(db: Executor, block_id: str, after_seq: int) -> list[MemoryBlockUpdate]:
    """Return the block's active deltas with seq > after_seq, in seq order."""
    with db.reader() as conn:
        rows = conn.execute(_ACTIVE_AFTER, (block_id, after_seq)).fetchall()
    return UPDATE.decode_all(rows)


def has_updates_since(db: Executor, block_id: str, after_seq: int) -> bool:
    """Return True if the block has an active delta with seq > after_seq.

    Deliberate fix: only active deltas count, as in `get_updates_since` (the reference's
    version also counted undone ones, so it could say True while the read returned nothing).
    """
    with db.reader() as conn:
        return bool(scalar(conn, _HAS_ACTIVE_AFTER, (block_id, after_seq)))


def list_updates(
    db: Executor, block_id: str, *, include_inactive: bool = False
) -> list[MemoryBlockUpdate]:
    """Return the block's deltas still in the table (active ones unless asked), in seq order."""
    with db.reader() as conn:
        rows = conn.execute(_ALL_UPDATES if include_inactive else _ACTIVE_UPDATES, (block_id,))
        return UPDATE.decode_all(rows.fetchall())


def get_latest_update(db: Executor, block_id: str) -> MemoryBlockUpdate | None:
    """Return the block's active delta with the highest seq, or None."""
    with db.reader() as conn:
        row = conn.execute(_LATEST_UPDATE, (block_id,)).fetchone()
    return None if row is None else UPDATE.decode(row)


def get_pending_update_stats(db: Executor, block_id: str) -> UpdateStats:
    """Return count, total bytes, max seq (0 if none) and oldest time of the block's deltas.

    Counts every delta still in the table (active and undone): they are what consolidation
    would merge and delete. `oldest_at` (None when there are none) drives age-based policies.

    Raises:
        NotFound: no block has this id.
    """
    with db.reader() as conn:
        row = conn.execute(_PENDING_STATS, (block_id,)).fetchone()
    if row is None:
        raise NotFound(BLOCK_ENTITY, block_id)
    return _STATS.decode(row)


# -- checkpoints -------------------------------------------------------------------------------


def create_checkpoint(
    db: Executor,
    checkpoint: MemoryBlockCheckpoint,
    *,
    compression_threshold: int = DEFAULT_COMPRESSION_THRESHOLD,
) -> int:
    """Insert a checkpoint record (its id assigned unless given) and return its id.

    Only records the snapshot; deltas are deleted by `consolidate_checkpoint`. The snapshot is
    stored zstd-compressed when over `compression_threshold` bytes. Loads use the checkpoint with
    the highest `up_to_seq`, so one that covers less than the block's latest is refused (it could
    never be read).

    Raises:
        ConstraintViolation: no block has this id.
        AlreadyExists: a checkpoint with this id exists.
        InvalidData: `up_to_seq` is below the latest checkpoint's.
    """
    params = encode_checkpoint(checkpoint, compression_threshold)
    with (
        db.writer() as conn,
        translate_errors("memory block checkpoint", checkpoint.id, record=checkpoint),
    ):
        covered = scalar(conn, _MAX_CHECKPOINT_SEQ, (checkpoint.block_id,))
        if covered is not None and checkpoint.up_to_seq < covered:
            raise InvalidData(
                f"a checkpoint of block {checkpoint.block_id} with up_to_seq "
                f"{checkpoint.up_to_seq} would never be read: its latest checkpoint covers up to "
                f"seq {covered}; give the seq the snapshot includes (>= {covered}), or store it "
                "with consolidate_checkpoint"
            )
        checkpoint_id = returning_int(conn, _INSERT_CHECKPOINT, params)
    assert checkpoint_id is not None
    return checkpoint_id


def get_latest_checkpoint(db: Executor, block_id: str) -> MemoryBlockCheckpoint | None:
    """Return the block's checkpoint with the highest up_to_seq (then the highest id), or None.

    Deliberate fix: the reference ordered by created_at, which ties or goes backwards across
    clocks; up_to_seq says which checkpoint covers the most.
    """
    with db.reader() as conn:
        row = conn.execute(_LATEST_CHECKPOINT_1, (block_id,)).fetchone()
    return None if row is None else decode_checkpoint(row)


def list_checkpoints(db: Executor, block_id: str) -> list[MemoryBlockCheckpoint]:
    """Return the block's checkpoints, newest (highest up_to_seq, then id) first."""
    with db.reader() as conn:
        rows = conn.execute(_LATEST_CHECKPOINT, (block_id,)).fetchall()
    return [decode_checkpoint(row) for row in rows]


def get_checkpoint_and_updates(
    db: Executor, block_id: str
) -> tuple[MemoryBlockCheckpoint | None, list[MemoryBlockUpdate]]:
    """Return the latest checkpoint and the active deltas after it (by seq), from one snapshot.

    With no checkpoint, every active delta. Deliberate fix (REFERENCE 11.5): deltas are chosen
    by `seq > checkpoint.up_to_seq`, never by timestamp, and both reads share one read
    transaction, so a consolidation committing in between cannot drop deltas from the result.
    """
    with db.reader() as conn, read_snapshot(conn):
        checkpoint_row: Any = conn.execute(_LATEST_CHECKPOINT_1, (block_id,)).fetchone()
        after = 0 if checkpoint_row is None else int(checkpoint_row[_UP_TO_SEQ])
        rows = conn.execute(_ACTIVE_AFTER, (block_id, after)).fetchall()
    checkpoint = None if checkpoint_row is None else decode_checkpoint(checkpoint_row)
    return checkpoint, UPDATE.decode_all(rows)


def get_checkpoint_and_updates_until(
    db: Executor, block_id: str, max_seq: int
) -> tuple[MemoryBlockCheckpoint | None, list[MemoryBlockUpdate]]:
    """Return what `get_checkpoint_and_updates` does, limited to deltas with seq <= max_seq.

    The checkpoint is still the latest one. When `max_seq` is below its `up_to_seq` the deltas
    up to `max_seq` were consolidated away and the list is empty: the state at `max_seq` can
    then only be reached by checking out the snapshot's history (Loro keeps it).
    """
    with db.reader() as conn, read_snapshot(conn):
        checkpoint_row: Any = conn.execute(_LATEST_CHECKPOINT_1, (block_id,)).fetchone()
        after = 0 if checkpoint_row is None else int(checkpoint_row[_UP_TO_SEQ])
        rows = conn.execute(_ACTIVE_BETWEEN, (block_id, after, max_seq)).fetchall()
    checkpoint = None if checkpoint_row is None else decode_checkpoint(checkpoint_row)
    return checkpoint, UPDATE.decode_all(rows)


def consolidate_checkpoint(
    db: Executor,
    block_id: str,
    new_snapshot: bytes,
    new_frontier: bytes | None,
    up_to_seq: int,
    *,
    compression_threshold: int = DEFAULT_COMPRESSION_THRESHOLD,
) -> int:
    """Replace the block's deltas with seq <= up_to_seq by a checkpoint; return its id.

    One transaction: deletes those deltas (active and undone) and counts them, inserts a
    checkpoint recording `up_to_seq` and that count, and sets the block's `loro_snapshot` and
    `frontier`. Every delta with seq > up_to_seq stays (one stored during the merge is returned
    by the next read); `last_seq` and `content_preview` are left alone. The snapshot is stored
    zstd-compressed when over `compression_threshold` bytes.

    Deliberate addition: when another consolidation already covered more (a higher up_to_seq),
    the checkpoint is still recorded but the block's snapshot and frontier keep the newer one,
    so two handles consolidating at once never regress the block.

    Raises:
        NotFound: no block has this id.
        InvalidData: up_to_seq is negative or above the block's last_seq (deltas not stored
            yet cannot be covered).
    """
    stored = compress_snapshot(new_snapshot, compression_threshold)
    with db.writer() as conn, translate_errors(BLOCK_ENTITY, block_id):
        last_seq = scalar(conn, _BLOCK_LAST_SEQ, (block_id,))
        if last_seq is None:
            raise NotFound(BLOCK_ENTITY, block_id)
        if not 0 <= up_to_seq <= last_seq:
            raise InvalidData(
                f"up_to_seq {up_to_seq} is outside 0..{last_seq} (the last seq stored for "
                f"block {block_id}); consolidate only deltas you have loaded"
            )
        covered = scalar(conn, _MAX_CHECKPOINT_SEQ, (block_id,))
        conn.execute(_DELETE_CONSOLIDATED, (block_id, up_to_seq))
        consolidated = conn.changes()
        ts = now_ts()
        checkpoint_id = returning_int(
            conn,
            _INSERT_CHECKPOINT,
            (None, block_id, stored, ts, consolidated, new_frontier, up_to_seq),
        )
        if covered is None or up_to_seq >= covered:
            conn.execute(_SET_BLOCK_SNAPSHOT, (stored, new_frontier, ts, block_id))
    assert checkpoint_id is not None
    return checkpoint_id


# -- block sequence state ----------------------------------------------------------------------


def update_block_frontier(db: Executor, block_id: str, frontier: bytes | None) -> None:
    """Set the block's frontier (None clears it) and updated_at.

    Raises:
        NotFound: no block has this id.
    """
    write_one(db, _SET_FRONTIER, (frontier, now_ts(), block_id), BLOCK_ENTITY, block_id)


def get_block_version_info(db: Executor, block_id: str) -> BlockVersionInfo | None:
    """Return the block's last_seq, highest active seq and updated_at (no snapshot), or None.

    A cache of the block's content is current while all three are unchanged. Inactive blocks
    are included.
    """
    return fetch_one(db, _VERSION, _VERSION_INFO, (block_id,))


def reset_block_last_seq(db: Executor, block_id: str, new_seq: int) -> None:
    """Set the block's last_seq (and updated_at).

    Deliberate guard: the value may not go below a seq still stored or covered by a
    checkpoint, since the next `store_update` would then reuse a seq.

    Raises:
        NotFound: no block has this id.
        InvalidData: new_seq is below the highest seq stored or checkpointed for the block.
    """
    with db.writer() as conn, translate_errors(BLOCK_ENTITY, block_id):
        floor = int(scalar(conn, _SEQ_FLOOR, (block_id,)))
        if new_seq < floor:
            raise InvalidData(
                f"last_seq {new_seq} is below seq {floor} already used by block {block_id}; "
                "seqs may never repeat"
            )
        conn.execute(_SET_LAST_SEQ, (new_seq, now_ts(), block_id))
        if conn.changes() == 0:
            raise NotFound(BLOCK_ENTITY, block_id)


# -- undo and redo -----------------------------------------------------------------------------


def deactivate_latest_update(db: Executor, block_id: str) -> int | None:
    """Undo: deactivate the block's active delta with the highest seq; return its seq or None.

    One transaction, which also sets the block's updated_at (the reference used two statements
    and left updated_at alone, so caches could not see the change).
    """
    with db.writer() as conn, translate_errors(BLOCK_ENTITY, block_id):
        seq = returning_int(conn, _UNDO, (block_id,))
        if seq is not None:
            conn.execute(_TOUCH_BLOCK, (now_ts(), block_id))
    return seq


def reactivate_next_update(db: Executor, block_id: str) -> int | None:
    """Redo: reactivate the undone delta just above the highest active seq; return it or None.

    One transaction, which also sets the block's updated_at.
    """
    with db.writer() as conn, translate_errors(BLOCK_ENTITY, block_id):
        seq = returning_int(conn, _REDO, (block_id,))
        if seq is not None:
            conn.execute(_TOUCH_BLOCK, (now_ts(), block_id))
    return seq


def count_undo_steps(db: Executor, block_id: str) -> int:
    """Return the number of the block's active deltas (each can be undone)."""
    with db.reader() as conn:
        return int(scalar(conn, _COUNT_UNDO, (block_id,)))


def count_redo_steps(db: Executor, block_id: str) -> int:
    """Return the number of undone deltas above the block's highest active seq."""
    with db.reader() as conn:
        return int(scalar(conn, _COUNT_REDO, (block_id,)))
