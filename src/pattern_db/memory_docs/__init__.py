"""Memory blocks as Loro CRDT documents over the delta storage of `queries.memory`.

Design note.

* Storage. A block's document (text container "content", map "metadata", list "entries") is
  its creation snapshot or latest checkpoint plus deltas numbered by seq. Every edit is one
  write transaction (BEGIN IMMEDIATE, so one writer at a time across threads and processes):
  bring the document up to date, gate, mutate, check `char_limit`, `store_update` the delta
  with the new frontier, and write the rendered content to `content_preview` so FTS finds it.
  Snapshots over `compression_threshold_bytes` are stored zstd-compressed by the queries.
* Cache. Each `MemoryDocs` keeps one document per block (LRU) with the (last_seq, highest
  active seq) it reflects, checked with one cheap query per use. A stale document catches up
  with `get_updates_since` only when that provably equals a fresh load (no seq gap, and the
  result holds exactly the newest delta's stored frontier); an undo, redo or consolidation by
  any handle, or anything unexpected, means a full load. A document that might hold a change
  the database does not (a failed or rolled-back write) is dropped, never cached.
* Peer ids. A document built from the database gets Loro's fresh random 64-bit peer id, and
  only that one in-memory document (edited under a per-block lock) ever commits with it. A
  fixed id per agent or per block would let two handles or processes issue the same
  (peer, counter) for different edits, and Loro would silently keep only one of them (a test
  shows it). When a handle rebuilds its document (after a consolidation or undo elsewhere) the
  new one keeps the old id only if it already holds every change committed under it; if one
  was undone it gets a new id, since a redo could bring the original back beside a reissued
  one. So the version vector gains a peer per handle lifetime (and per undo of the handle's
  own changes), not per reload: a few bytes each in snapshots.
* Consolidation. By `LoroStorageConfig` (100 deltas, 50 KB or 1 h by default), checked after
  each edit inside its transaction: the snapshot is exported from the just-refreshed document,
  so it covers exactly the seqs up to the one it was built from, and a delta stored by another
  handle later gets a higher seq and is kept. Exporting and compressing a 100 KB document
  takes about a millisecond, so doing it under the write lock is cheaper than validating a
  merge done outside it.
* Permissions. Every method that reads or writes a block's content or history takes
  `actor=<agent id>` and passes `MemoryGate` (reads as Read; consolidation, undo, redo and
  rollback as Overwrite): the owner with the block's permission, another agent with its shared
  attachment's permission (`check_block_access`), which may be looser than the block's own.
  A constellation-wide block (owner `_constellation_`) is read-only to an agent without an
  attachment, as search shows it to every agent; `_constellation_` itself is not an agent and
  cannot act, and `queries.agent.create_agent` refuses it as an id. An agent creates only its
  own blocks. RequireConsent raises `ConsentRequired` unless `consent=True`; Deny raises
  `PermissionDenied`. `actor=None` is a trusted system call and is not gated.
* History. Versions are the checkpoints and the stored deltas (seq, time, source). Undo and
  redo flip the deltas' `is_active` and rebuild the document; rollback writes the old state
  as a new change with Loro's `revert_to`; older versions are read by replaying deltas or by
  checking out a stored frontier. Trade-off: only deltas since the last consolidation can be
  undone, and consolidation discards the undone ones.
"""

from pattern_db.memory_docs._store import MemoryDocs
from pattern_db.memory_docs._types import (
    BlockVersion,
    CharLimitExceeded,
    ConsentRequired,
    EditResult,
    LoroStorageConfig,
    MemoryAccessError,
    PermissionDenied,
)
from pattern_db.models.memory import (
    Allow,
    Deny,
    GateDecision,
    MemoryGate,
    MemoryOp,
    MemoryPermission,
    RequireConsent,
)

__all__ = [
    "Allow",
    "BlockVersion",
    "CharLimitExceeded",
    "ConsentRequired",
    "Deny",
    "EditResult",
    "GateDecision",
    "LoroStorageConfig",
    "MemoryAccessError",
    "MemoryDocs",
    "MemoryGate",
    "MemoryOp",
    "MemoryPermission",
    "PermissionDenied",
    "RequireConsent",
]
