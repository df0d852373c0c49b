"""A block's history read from the database: its versions, and its content at any of them.

Versions are the checkpoints (each holds the state up to its `up_to_seq`), the creation
snapshot (seq 0) while no checkpoint exists, and every delta still stored (undone ones too).
The content at a delta's seq is its checkpoint plus every delta up to that seq: undone deltas
are always the newest (`store_update` discards an abandoned redo branch), so that replay is
exactly what the block held right after the delta was written. A version older than the latest
checkpoint is reached by checking out a stored frontier in the checkpoint's full history.
"""

from __future__ import annotations

from loro import Frontiers, LoroDoc

from pattern_db.connection import Executor
from pattern_db.errors import InvalidData, NotFound
from pattern_db.memory_docs._loro import build_doc, loro_errors, render
from pattern_db.memory_docs._sync import BLOCK_ENTITY, version_info
from pattern_db.memory_docs._types import BlockVersion
from pattern_db.models.memory import MemoryBlockCheckpoint, MemoryBlockUpdate
from pattern_db.queries import memory as q

__all__ = ["doc_at_frontier", "find_frontier", "list_versions", "text_at"]


def _history(
    db: Executor, block_id: str
) -> tuple[list[MemoryBlockUpdate], list[MemoryBlockCheckpoint], BlockVersion, bytes]:
    """Return the stored deltas, the checkpoints (newest first), the base version and its bytes.

    The deltas are read before the checkpoints: a consolidation committing in between then
    leaves deltas the checkpoint also covers, which is harmless (Loro imports a change once),
    whereas the other order could miss deltas.
    """
    updates = q.list_updates(db, block_id, include_inactive=True)
    checkpoints = q.list_checkpoints(db, block_id)
    if checkpoints:
        latest = checkpoints[0]
        base = BlockVersion(
            seq=latest.up_to_seq,
            created_at=latest.created_at,
            kind="base",
            source=None,
            byte_size=len(latest.snapshot),
            frontier=latest.frontier,
        )
        return updates, checkpoints, base, latest.snapshot
    block = q.get_block(db, block_id, include_inactive=True)
    if block is None:
        raise NotFound(BLOCK_ENTITY, block_id)
    base = BlockVersion(
        seq=0,
        created_at=block.created_at,
        kind="base",
        source=None,
        byte_size=len(block.loro_snapshot),
        frontier=block.frontier,
    )
    return updates, [], base, block.loro_snapshot


def list_versions(db: Executor, block_id: str) -> list[BlockVersion]:
    """Return the block's versions in seq order: checkpoints (or creation), then the deltas.

    Raises:
        NotFound: no block has this id.
    """
    updates, checkpoints, base, _ = _history(db, block_id)
    older = [
        BlockVersion(
            seq=c.up_to_seq,
            created_at=c.created_at,
            kind="base",
            source=None,
            byte_size=len(c.snapshot),
            frontier=c.frontier,
        )
        # Oldest first; of two checkpoints covering one seq (two handles consolidating at
        # once) the later one is kept.
        for c in {c.up_to_seq: c for c in reversed(checkpoints[1:])}.values()
        if c.up_to_seq < base.seq
    ]
    deltas = [
        BlockVersion(
            seq=u.seq,
            created_at=u.created_at,
            kind="update",
            source=None if u.source is None else u.source.value,
            byte_size=u.byte_size,
            is_active=u.is_active,
            frontier=u.frontier,
        )
        for u in updates
        if u.seq > base.seq
    ]
    return [*older, base, *deltas]


def text_at(db: Executor, block_id: str, seq: int) -> str:
    """Return the block's rendered content right after version `seq`.

    Raises:
        NotFound: no block has this id.
        InvalidData: no version has this seq (never stored, discarded with an abandoned redo
            branch, or consolidated into a checkpoint that does not end at it).
    """
    last_seq = version_info(db, block_id).last_seq
    if not 0 <= seq <= last_seq:
        raise InvalidData(f"block {block_id} has versions 0..{last_seq}, not {seq}")
    updates, checkpoints, base, base_bytes = _history(db, block_id)
    if seq >= base.seq:
        if seq > base.seq and all(u.seq != seq for u in updates):
            raise _no_version(block_id, seq, updates, base)
        blobs = [u.update_blob for u in updates if u.seq <= seq]
        return render(build_doc([base_bytes, *blobs], f"memory block {block_id}"))
    frontier = next((c.frontier for c in checkpoints if c.up_to_seq == seq), None)
    if frontier is None:
        raise _no_version(block_id, seq, updates, base)
    return render(doc_at_frontier(build_doc([base_bytes], f"memory block {block_id}"), frontier))


def find_frontier(db: Executor, block_id: str, seq: int) -> bytes:
    """Return the stored frontier of version `seq` (a delta's, a checkpoint's or the creation's).

    Raises:
        NotFound: no block has this id.
        InvalidData: no stored version has this seq, or it has no frontier.
    """
    updates, checkpoints, base, _ = _history(db, block_id)
    frontier: bytes | None
    if seq > base.seq:
        frontier = next((u.frontier for u in updates if u.seq == seq), None)
    elif seq == base.seq:
        frontier = base.frontier
    else:
        frontier = next((c.frontier for c in checkpoints if c.up_to_seq == seq), None)
    if frontier is None:
        raise _no_version(block_id, seq, updates, base)
    return frontier


def doc_at_frontier(doc: LoroDoc, frontier: bytes) -> LoroDoc:
    """Return a new document holding `doc`'s history up to the encoded `frontier`.

    Raises:
        InvalidData: the frontier is not in the document's history.
    """
    with loro_errors("that version is not in the block's history"):
        return doc.fork_at(Frontiers.decode(frontier))


def _no_version(
    block_id: str, seq: int, updates: list[MemoryBlockUpdate], base: BlockVersion
) -> InvalidData:
    stored = [u.seq for u in updates if u.seq > base.seq]
    return InvalidData(
        f"block {block_id} has no version {seq}: its history starts at seq {base.seq} (older "
        f"deltas were consolidated) and the deltas since are {stored}; see versions()"
    )
