"""Bringing a cached document up to the block's stored version: catch up, or load afresh.

A cached entry is current while the block's `last_seq` and highest active seq are the ones it
was loaded at. Otherwise it catches up with `get_updates_since` only when that is provably the
same as a fresh load: the new deltas follow its last seq without a gap (a consolidation past it
or an abandoned redo branch leaves one) and, once imported, the document holds exactly what the
newest delta's writer held (its stored frontier). Anything else, an undo or redo among the deltas
it holds included, is a full load: the latest checkpoint plus its active deltas in seq order.
"""

from __future__ import annotations

from typing import NamedTuple

from pattern_db.connection import Executor
from pattern_db.errors import NotFound
from pattern_db.memory_docs._cache import Entry
from pattern_db.memory_docs._loro import build_doc, doc_has_exactly, loro_errors
from pattern_db.models.memory import BlockVersionInfo
from pattern_db.queries import memory as q

__all__ = ["BLOCK_ENTITY", "Loaded", "catch_up", "load", "version_info"]

BLOCK_ENTITY = "memory block"


class Loaded(NamedTuple):
    """A freshly loaded entry; `adopt` is the preview text of a block that has no Loro data."""

    entry: Entry
    adopt: str | None


def version_info(ex: Executor, block_id: str) -> BlockVersionInfo:
    """Return the block's version info.

    Raises:
        NotFound: no block has this id.
    """
    info = q.get_block_version_info(ex, block_id)
    if info is None:
        raise NotFound(BLOCK_ENTITY, block_id)
    return info


def catch_up(
    ex: Executor, block_id: str, entry: Entry, info: BlockVersionInfo, *, consistent: bool
) -> bool:
    """Import the deltas stored after the entry's last seq; return False if a full load is needed.

    `consistent` says `info` and the reads here share one transaction. On False the entry's
    document may hold part of the new deltas and must be thrown away.
    """
    new = q.get_updates_since(ex, block_id, entry.last_seq)
    if not new:
        return False
    if [u.seq for u in new] != list(range(entry.last_seq + 1, entry.last_seq + 1 + len(new))):
        return False
    last = new[-1]
    if consistent and last.seq != info.max_active_seq:
        return False
    with loro_errors(f"memory block {block_id} has a delta that is not Loro data"):
        status = entry.doc.import_batch([u.update_blob for u in new])
    entry.changed()
    if status.pending is not None and status.pending.inner():
        return False
    if not doc_has_exactly(entry.doc, last.frontier):
        return False
    if last.seq == info.max_active_seq:
        # Deltas above it (up to last_seq) were undone when `info` was read.
        entry.last_seq, entry.max_active = info.last_seq, info.max_active_seq
    else:
        entry.last_seq = entry.max_active = last.seq
    return True


def load(ex: Executor, block_id: str, info: BlockVersionInfo, *, consistent: bool) -> Loaded | None:
    """Build the block's document from its checkpoint (or creation snapshot) and active deltas.

    Returns None when not `consistent` and the block changed while it was read (the caller
    retries). The checkpoint and deltas come from one read snapshot; the creation snapshot is
    read after them, which is safe because importing a change twice is a no-op in Loro.

    Raises:
        NotFound: no block has this id.
        InvalidData: the stored data is not Loro data or its history is incomplete.
    """
    checkpoint, updates = q.get_checkpoint_and_updates(ex, block_id)
    preview: str | None = None
    if checkpoint is None:
        block = q.get_block(ex, block_id, include_inactive=True)
        if block is None:
            raise NotFound(BLOCK_ENTITY, block_id)
        base, preview = block.loro_snapshot, block.content_preview
    else:
        base = checkpoint.snapshot
    if not consistent:
        after = version_info(ex, block_id)
        if (after.last_seq, after.max_active_seq) != (info.last_seq, info.max_active_seq):
            return None
    doc = build_doc([base, *(u.update_blob for u in updates)], f"memory block {block_id}")
    entry = Entry(doc, info.last_seq, info.max_active_seq)
    legacy = checkpoint is None and not base and not updates and info.last_seq == 0
    return Loaded(entry, preview if legacy and preview else None)
