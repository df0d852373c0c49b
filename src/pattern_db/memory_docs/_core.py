"""The engine `MemoryDocs` delegates to: cached loading, the permission gate, atomic writes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from loro import LoroDoc

from pattern_db.connection import ConstellationDb, Executor, Transaction
from pattern_db.errors import InvalidData, NotFound
from pattern_db.memory_docs._cache import DocCache, Entry
from pattern_db.memory_docs._loro import (
    CONTENT,
    delta_since,
    frontier_of,
    inherit_peer,
    loro_errors,
    snapshot_of,
)
from pattern_db.memory_docs._sync import BLOCK_ENTITY, catch_up, load, version_info
from pattern_db.memory_docs._types import (
    CharLimitExceeded,
    ConsentRequired,
    EditResult,
    LoroStorageConfig,
    PermissionDenied,
)
from pattern_db.models.memory import (
    CONSTELLATION_OWNER,
    Allow,
    Deny,
    MemoryBlock,
    MemoryGate,
    MemoryOp,
    MemoryPermission,
    UpdateSource,
)
from pattern_db.queries import memory as q
from pattern_db.queries.agent import RESERVED_AGENT_IDS

__all__ = ["DocsEngine"]

T = TypeVar("T")

# A read that races with writers retries this often before reading inside a transaction.
_LOAD_ATTEMPTS = 3


class DocsEngine:
    """Loading, caching, gating and writing of one handle's documents; `MemoryDocs` uses one."""

    def __init__(self, db: ConstellationDb, config: LoroStorageConfig | None = None) -> None:
        if not isinstance(db, ConstellationDb):
            raise TypeError("MemoryDocs needs a ConstellationDb (it opens its own transactions)")
        self.db = db
        self.config = config or LoroStorageConfig()
        self.cache = DocCache(self.config.max_cached_docs)

    # -- loading -------------------------------------------------------------------------------

    def in_outer_transaction(self) -> bool:
        # Inside the caller's own `db.transaction()` our writes are savepoints that may still
        # roll back, so nothing read or written there may be cached.
        return self.db.in_transaction()

    @contextmanager
    def entry(self, block_id: str) -> Iterator[Entry]:
        """Yield the block's current document under its lock (loaded or refreshed as needed)."""
        cacheable = not self.in_outer_transaction()
        with self.cache.locked(block_id):
            entry = self.cache.take(block_id)
            entry = self.sync(self.db, block_id, entry, consistent=False)
            try:
                yield entry
            finally:
                if cacheable:
                    self.cache.put(block_id, entry)

    def read(self, block_id: str, fn: Callable[[Entry], T]) -> T:
        with self.entry(block_id) as entry:
            return fn(entry)

    def sync(self, ex: Executor, block_id: str, entry: Entry | None, *, consistent: bool) -> Entry:
        """Return an entry reflecting the block's stored version (`entry` itself when current).

        `consistent` means `ex` is a transaction, so its reads cannot interleave with writes.
        """
        info = version_info(ex, block_id)
        if entry is not None:
            if entry.at(info.last_seq, info.max_active_seq):
                return entry
            if info.last_seq > entry.last_seq and catch_up(
                ex, block_id, entry, info, consistent=consistent
            ):
                return entry
        for _ in range(_LOAD_ATTEMPTS):
            loaded = load(ex, block_id, info, consistent=consistent)
            if loaded is not None:
                if loaded.adopt is None:
                    if entry is not None:
                        inherit_peer(entry.doc, loaded.entry.doc)
                    return loaded.entry
                break
            info = version_info(ex, block_id)
        if consistent:
            assert isinstance(ex, Transaction)
            return self.adopt(ex, block_id)
        with self.db.transaction(savepoints=False) as tx:
            fresh = self.sync(tx, block_id, entry, consistent=True)
        fresh.unsaved = False
        return fresh

    def adopt(self, tx: Transaction, block_id: str) -> Entry:
        """Load a block inside `tx`, first giving a Loro document to one that has only a preview.

        Blocks written around memory_docs (imports, raw queries) may hold text in
        `content_preview` and no Loro data. Their document is created once, in a transaction,
        and stored as the block's snapshot; creating it on every load instead would give each
        handle its own copy of the text under its own peer id, and merging them would
        duplicate it.
        """
        info = version_info(tx, block_id)
        loaded = load(tx, block_id, info, consistent=True)
        assert loaded is not None
        if loaded.adopt is None:
            return loaded.entry
        doc = loaded.entry.doc
        with loro_errors(f"cannot adopt the preview of memory block {block_id}"):
            doc.get_text(CONTENT).insert(0, loaded.adopt)
            doc.commit()
        q.update_block_content(
            tx,
            block_id,
            snapshot_of(doc),
            loaded.adopt,
            frontier=frontier_of(doc),
            compression_threshold=self.config.compression_threshold_bytes,
        )
        adopted = Entry(doc, info.last_seq, info.max_active_seq)
        adopted.unsaved = True
        return adopted

    # -- the permission gate -------------------------------------------------------------------

    def active_block(self, ex: Executor, block_id: str) -> MemoryBlock:
        block = q.get_block(ex, block_id)
        if block is None:
            raise NotFound(BLOCK_ENTITY, block_id)
        return block

    def authorize(
        self,
        ex: Executor,
        block: MemoryBlock,
        actor: str | None,
        op: MemoryOp,
        consent: bool,
    ) -> None:
        """Apply MemoryGate to `op` by `actor` on `block` (no actor: a trusted system call).

        The owner acts with the block's own permission; another agent with the permission of
        its shared attachment. Without one it has no access, except that every agent may read
        a constellation-wide block (as search shows them to every agent). A reserved id such
        as `_constellation_` is not an agent and cannot act.

        Raises:
            PermissionDenied: the gate says Deny, or the agent has no access to the block.
            ConsentRequired: the gate says RequireConsent and `consent` is False.
        """
        if actor is None:
            return
        permission = self.permission_of(ex, block, actor, op)
        decision = MemoryGate.check(op, permission)
        if isinstance(decision, Allow):
            return
        where = f"block {block.label!r} ({block.id}) with {permission.value} permission"
        if isinstance(decision, Deny):
            hint = ""
            if block.agent_id == CONSTELLATION_OWNER and actor != block.agent_id:
                hint = (
                    "; constellation-wide blocks are read-only to agents without an attachment "
                    "(queries.memory.create_shared_block_attachment)"
                )
            raise PermissionDenied(
                f"agent {actor!r} may not {op.value} {where}: {decision.reason}{hint}",
                block_id=block.id,
                actor=actor,
                op=op,
                permission=permission,
            )
        if consent:
            return
        raise ConsentRequired(
            f"agent {actor!r} needs {decision.reason} to {op.value} {where}; ask for it, then "
            "call again with consent=True",
            reason=decision.reason,
            block_id=block.id,
            actor=actor,
            op=op,
            permission=permission,
        )

    def gate_read(self, block_id: str, actor: str | None) -> None:
        """Check that `actor` may read the active block (nothing to check for None).

        Raises:
            NotFound: `actor` is given and no active block has this id.
            PermissionDenied: `actor` may not read the block.
        """
        if actor is not None:
            block = self.active_block(self.db, block_id)
            self.authorize(self.db, block, actor, MemoryOp.READ, False)

    def authorize_create(self, agent_id: str, actor: str | None, block_id: str | None) -> None:
        """Check that `actor` may create a block owned by `agent_id`: only its own.

        Raises:
            PermissionDenied: `actor` is another agent, or a reserved id.
        """
        if actor is None or (actor == agent_id and actor not in RESERVED_AGENT_IDS):
            return
        raise PermissionDenied(
            f"agent {actor!r} may not create a block for {agent_id!r}; an agent creates only "
            "its own blocks (others' are created with actor=None, then shared with "
            "queries.memory.create_shared_block_attachment)",
            block_id=block_id or "",
            actor=actor,
            op=MemoryOp.OVERWRITE,
            permission=None,
        )

    def permission_of(
        self, ex: Executor, block: MemoryBlock, actor: str, op: MemoryOp
    ) -> MemoryPermission:
        """Return the permission `actor` acts with on `block` (see `authorize`).

        Raises:
            PermissionDenied: `actor` is a reserved id, or has no access to the block.
        """
        if actor in RESERVED_AGENT_IDS:
            raise PermissionDenied(
                f"{actor!r} is a reserved id, not an agent, and cannot act on memory blocks; "
                "pass the acting agent's id, or actor=None for a trusted system call",
                block_id=block.id,
                actor=actor,
                op=op,
                permission=None,
            )
        if actor == block.agent_id:
            return block.permission
        access = q.check_block_access(ex, actor, block.agent_id, block.label)
        if access is not None and access[0] == block.id:
            return access[1]
        if block.agent_id == CONSTELLATION_OWNER:
            return MemoryPermission.READ_ONLY
        raise PermissionDenied(
            f"agent {actor!r} has no access to block {block.label!r} ({block.id}) of "
            f"{block.agent_id!r}; the owner can share it with "
            "queries.memory.create_shared_block_attachment",
            block_id=block.id,
            actor=actor,
            op=op,
            permission=None,
        )

    # -- writing -------------------------------------------------------------------------------

    def write(
        self,
        block_id: str,
        op: MemoryOp,
        mutate: Callable[[LoroDoc], None],
        *,
        actor: str | None,
        consent: bool,
        source: UpdateSource | str | None,
        enforce_limit: bool = True,
    ) -> EditResult:
        """Apply `mutate` to the block's current document and store the change as one delta.

        One transaction (so one writer at a time, in every process): gate, bring the document
        up to date, mutate, check char_limit, store the delta with its frontier, refresh the
        preview, and consolidate if the policy says so. If anything fails nothing is stored and
        the document, if it may hold the unsaved change, is dropped.

        Raises:
            NotFound: no active block has this id.
            PermissionDenied, ConsentRequired: the permission gate refused.
            CharLimitExceeded: the content would grow past the block's char_limit.
        """
        kind = _source(source, actor)

        def run(tx: Transaction, block: MemoryBlock, entry: Entry) -> EditResult:
            return self.apply(tx, block, entry, mutate, kind, enforce_limit)

        return self.transact(block_id, op, run, actor=actor, consent=consent)

    def transact(
        self,
        block_id: str,
        op: MemoryOp,
        run: Callable[[Transaction, MemoryBlock, Entry], T],
        *,
        actor: str | None,
        consent: bool,
    ) -> T:
        """Run `run` in a write transaction with the gated block and its up-to-date entry.

        The entry goes back into the cache only if the transaction committed, or if it failed
        without the document changing after it was brought up to date.
        """
        cacheable = not self.in_outer_transaction()
        with self.cache.locked(block_id):
            cached = self.cache.take(block_id)
            syncing = False
            entry: Entry | None = None
            mark = b""
            try:
                with self.db.transaction(savepoints=False) as tx:
                    block = self.active_block(tx, block_id)
                    self.authorize(tx, block, actor, op, consent)
                    syncing = True  # from here on `cached` may be partly updated
                    entry = self.sync(tx, block_id, cached, consistent=True)
                    mark = entry.mark()
                    result = run(tx, block, entry)
            except BaseException:
                if cacheable:
                    if not syncing and cached is not None:
                        self.cache.put(block_id, cached)
                    elif entry is not None and entry.unchanged_since(mark):
                        self.cache.put(block_id, entry)
                raise
            entry.unsaved = False
            if cacheable:
                self.cache.put(block_id, entry)
            return result

    def apply(
        self,
        tx: Transaction,
        block: MemoryBlock,
        entry: Entry,
        mutate: Callable[[LoroDoc], None],
        source: UpdateSource,
        enforce_limit: bool,
    ) -> EditResult:
        doc = entry.doc
        before_len = len(entry.rendered())
        version = doc.oplog_vv
        before = entry.mark()
        mutate(doc)
        with loro_errors(f"cannot commit the edit of memory block {block.id}"):
            doc.commit()
        entry.changed()
        if entry.mark() == before:
            return EditResult(block_id=block.id, seq=None, length=before_len)
        text = entry.rendered()
        if enforce_limit and len(text) > block.char_limit and len(text) > before_len:
            raise CharLimitExceeded(block.id, block.label, block.char_limit, len(text))
        delta = delta_since(doc, version)
        seq = q.store_update(tx, block.id, delta, source, frontier=entry.mark())
        q.update_block_preview(tx, block.id, text)
        entry.last_seq = entry.max_active = seq
        checkpoint_id = None
        if self.config.auto_consolidate:
            checkpoint_id = self.consolidate_in(tx, block.id, entry, force=False)
        return EditResult(block_id=block.id, seq=seq, length=len(text), checkpoint_id=checkpoint_id)

    def consolidate_in(
        self, tx: Transaction, block_id: str, entry: Entry, *, force: bool
    ) -> int | None:
        """Merge the stored deltas the entry holds into a checkpoint; return its id or None.

        Runs inside the write transaction right after the entry was brought up to date, so the
        snapshot covers exactly the deltas up to `entry.last_seq` and none can be stored in
        between; a delta another handle stores later gets a higher seq and stays. Exporting and
        compressing even a 100 KB document takes about a millisecond, less than re-validating
        a merge done outside the lock would.
        """
        stats = q.get_pending_update_stats(tx, block_id)
        if stats.count == 0 or not (force or self.config.should_consolidate(stats)):
            return None
        checkpoint_id = q.consolidate_checkpoint(
            tx,
            block_id,
            snapshot_of(entry.doc),
            frontier_of(entry.doc),
            entry.last_seq,
            compression_threshold=self.config.compression_threshold_bytes,
        )
        # The content is unchanged, but the highest active seq is not (the merged deltas are
        # gone); record it so this handle's next use does not take it for an undo.
        info = version_info(tx, block_id)
        entry.last_seq, entry.max_active = info.last_seq, info.max_active_seq
        return checkpoint_id

    def replace_state(
        self,
        block_id: str,
        change: Callable[[Transaction], int | None],
        *,
        actor: str | None,
        consent: bool,
    ) -> int | None:
        """Run a change of which deltas count (undo, redo), then rebuild the block's document.

        The document is rebuilt from the database inside the same transaction (keeping its
        peer id only if none of that id's changes was undone, so an undone change's id is never
        issued again) and the preview is refreshed. Returns what `change` returned; None means
        nothing changed.
        """
        cacheable = not self.in_outer_transaction()
        with self.cache.locked(block_id):
            cached = self.cache.take(block_id)
            entry: Entry | None = cached
            try:
                with self.db.transaction(savepoints=False) as tx:
                    block = self.active_block(tx, block_id)
                    self.authorize(tx, block, actor, MemoryOp.OVERWRITE, consent)
                    result = change(tx)
                    if result is not None:
                        entry = None
                        entry = self.sync(tx, block_id, cached, consistent=True)
                        q.update_block_preview(tx, block_id, entry.rendered())
            except BaseException:
                if entry is cached and entry is not None and cacheable:
                    self.cache.put(block_id, entry)
                raise
            if entry is not None and cacheable:
                entry.unsaved = False
                self.cache.put(block_id, entry)
            return result


def _source(source: UpdateSource | str | None, actor: str | None) -> UpdateSource:
    """Return the update source to record: the given one, else agent (with an actor) or manual.

    Raises:
        InvalidData: `source` is not agent, sync, migration or manual.
    """
    if source is None:
        return UpdateSource.AGENT if actor is not None else UpdateSource.MANUAL
    try:
        return UpdateSource(source)
    except ValueError:
        allowed = ", ".join(s.value for s in UpdateSource)
        raise InvalidData(f"unknown update source {source!r}; use one of {allowed}") from None
