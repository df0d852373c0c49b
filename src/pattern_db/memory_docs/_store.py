"""`MemoryDocs`: the public operations on memory blocks as Loro documents."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from loro import Frontiers, LoroDoc

from pattern_db.connection import ConstellationDb, Transaction
from pattern_db.errors import InvalidData, NotFound
from pattern_db.memory_docs import _history
from pattern_db.memory_docs._cache import Entry
from pattern_db.memory_docs._core import DocsEngine, _source
from pattern_db.memory_docs._loro import (
    CONTENT,
    ENTRIES,
    METADATA,
    clip,
    entries_of,
    frontier_of,
    loro_errors,
    loro_value,
    metadata_of,
    new_doc,
    occurrences,
    render,
    replace_text,
    snapshot_of,
)
from pattern_db.memory_docs._sync import BLOCK_ENTITY
from pattern_db.memory_docs._types import (
    BlockVersion,
    CharLimitExceeded,
    EditResult,
    LoroStorageConfig,
)
from pattern_db.models.memory import (
    MemoryBlock,
    MemoryBlockType,
    MemoryOp,
    MemoryPermission,
    UpdateSource,
    UpdateStats,
)
from pattern_db.queries import memory as q

__all__ = ["MemoryDocs"]

Source = UpdateSource | str | None


class MemoryDocs:
    """Memory blocks as Loro documents over one database handle, with a document cache.

    Create one per `ConstellationDb` handle and share it between the handle's threads.
    Every method that reads or writes a block's content or history takes `actor`: the agent
    making the call, checked by the permission gate (the owner with the block's permission, a
    sharer with its attachment's, any agent may read a constellation-wide block), or None for a
    trusted system call, which is not gated. Edits also take `consent` (approval was given for a
    RequireConsent operation) and `source` (default "agent" with an actor, else "manual").

    Example:
        >>> from pattern_db import ConstellationDb
        >>> with ConstellationDb.open_in_memory() as db:
        ...     docs = MemoryDocs(db)
        ...     block = docs.create_block("a1", "persona", "I am helpful.")
        ...     _ = docs.append(block.id, " And kind.")
        ...     docs.read_text(block.id)
        'I am helpful. And kind.'
    """

    def __init__(self, db: ConstellationDb, config: LoroStorageConfig | None = None) -> None:
        self._engine = DocsEngine(db, config)

    @property
    def db(self) -> ConstellationDb:
        """The database these documents live in."""
        return self._engine.db

    @property
    def config(self) -> LoroStorageConfig:
        """The storage and consolidation policy."""
        return self._engine.config

    def invalidate(self, block_id: str | None = None) -> None:
        """Forget the cached document of one block (or of all), so the next use loads it.

        Only needed after a block's snapshot was replaced around memory_docs (for example with
        `queries.memory.update_block_content` or `upsert_block`); every change made through
        memory_docs, and every delta, undo or redo stored by any handle, is seen without it.
        """
        self._engine.cache.discard(block_id)

    # -- blocks --------------------------------------------------------------------------------

    def create_block(
        self,
        agent_id: str,
        label: str,
        text: str = "",
        *,
        description: str = "",
        block_type: MemoryBlockType | str = MemoryBlockType.WORKING,
        char_limit: int = 5000,
        permission: MemoryPermission | str = MemoryPermission.READ_WRITE,
        pinned: bool = False,
        metadata: Any | None = None,
        block_id: str | None = None,
        actor: str | None = None,
    ) -> MemoryBlock:
        """Create a block whose document holds `text` in "content"; return the stored block.

        `metadata` is the block's JSON column (schemas, viewport settings), not the document's
        "metadata" map (see `update_metadata`). An agent (`actor`) may create only its own
        blocks; constellation-wide and other agents' blocks are made by system calls.

        Raises:
            AlreadyExists: the id is taken, or the agent has an active block with this label.
            CharLimitExceeded: `text` is longer than `char_limit`.
            InvalidData: `char_limit` is not positive.
            PermissionDenied: `actor` is not `agent_id`.
        """
        self._engine.authorize_create(agent_id, actor, block_id)
        if char_limit <= 0:
            raise InvalidData(f"char_limit must be positive, got {char_limit}")
        doc = new_doc()
        if text:
            with loro_errors("cannot store this text"):
                doc.get_text(CONTENT).insert(0, text)
                doc.commit()
        fields: dict[str, Any] = {} if block_id is None else {"id": block_id}
        block = MemoryBlock(
            **fields,
            agent_id=agent_id,
            label=label,
            description=description,
            block_type=MemoryBlockType(block_type),
            char_limit=char_limit,
            permission=MemoryPermission(permission),
            pinned=pinned,
            loro_snapshot=snapshot_of(doc),
            content_preview=text,
            metadata=metadata,
            frontier=frontier_of(doc),
        )
        if len(text) > char_limit:
            raise CharLimitExceeded(block.id, label, char_limit, len(text))
        q.create_block(
            self._engine.db,
            block,
            compression_threshold=self._engine.config.compression_threshold_bytes,
        )
        if not self._engine.in_outer_transaction():
            self._engine.cache.put(block.id, Entry(doc, 0, 0))
        return block

    def resolve(self, owner_id: str, label: str, *, actor: str | None = None) -> str:
        """Return the id of the owner's active block `label` if `actor` (default: owner) may see it.

        Raises:
            NotFound: the owner has no active block with this label.
            PermissionDenied: `actor` may not read the block (see `MemoryDocs`).
        """
        block = q.get_block_by_label(self._engine.db, owner_id, label)
        if block is None:
            raise NotFound(BLOCK_ENTITY, f"{owner_id}/{label}")
        self._engine.authorize(self._engine.db, block, actor, MemoryOp.READ, False)
        return block.id

    def delete_block(
        self, block_id: str, *, actor: str | None = None, consent: bool = False
    ) -> None:
        """Soft-delete the block (only an admin permission allows an agent to).

        Raises:
            NotFound: no active block has this id.
            PermissionDenied: the gate refused (Delete is Allow only with admin).
        """
        with (
            self._engine.cache.locked(block_id),
            self._engine.db.transaction(savepoints=False) as tx,
        ):
            block = self._engine.active_block(tx, block_id)
            self._engine.authorize(tx, block, actor, MemoryOp.DELETE, consent)
            q.deactivate_block(tx, block_id)
        self._engine.cache.discard(block_id)

    # -- reading -------------------------------------------------------------------------------

    def read_text(self, block_id: str, *, actor: str | None = None) -> str:
        """Return the block's content: its text, then one line per log entry.

        Raises:
            NotFound: no block has this id (with an actor: no active block).
            PermissionDenied: `actor` has no access to the block.
        """
        self._engine.gate_read(block_id, actor)
        return self._engine.read(block_id, Entry.rendered)

    def read_entries(self, block_id: str, *, actor: str | None = None) -> list[Any]:
        """Return the values of the block's "entries" list (log blocks), oldest first.

        Raises:
            NotFound: no block has this id.
            PermissionDenied: `actor` has no access to the block.
        """
        self._engine.gate_read(block_id, actor)
        return self._engine.read(block_id, lambda entry: entries_of(entry.doc))

    def read_metadata(self, block_id: str, *, actor: str | None = None) -> dict[str, Any]:
        """Return the document's "metadata" map as a dict.

        Raises:
            NotFound: no block has this id.
            PermissionDenied: `actor` has no access to the block.
        """
        self._engine.gate_read(block_id, actor)
        return self._engine.read(block_id, lambda entry: metadata_of(entry.doc))

    def export_snapshot(self, block_id: str, *, actor: str | None = None) -> bytes:
        """Return a Loro snapshot of the block's current document (to sync another replica).

        Raises:
            NotFound: no block has this id (with an actor: no active block).
            PermissionDenied: `actor` has no access to the block.
        """
        self._engine.gate_read(block_id, actor)
        return self._engine.read(block_id, lambda entry: snapshot_of(entry.doc))

    def fork_doc(self, block_id: str, *, actor: str | None = None) -> LoroDoc:
        """Return a private copy of the block's document with its own new peer id.

        Edit it offline and send the change back with `import_update(block_id,
        doc.export(ExportMode.Updates(version)))` (gated as an edit of the block then).

        Raises:
            NotFound: no block has this id (with an actor: no active block).
            PermissionDenied: `actor` has no access to the block.
        """
        self._engine.gate_read(block_id, actor)
        return self._engine.read(block_id, lambda entry: entry.doc.fork())

    # -- editing -------------------------------------------------------------------------------

    def append(
        self,
        block_id: str,
        text: str,
        *,
        actor: str | None = None,
        consent: bool = False,
        source: Source = None,
    ) -> EditResult:
        """Append `text` to the block's text (an Append operation for the gate).

        Raises:
            NotFound: no active block has this id.
            PermissionDenied, ConsentRequired: the permission gate refused.
            CharLimitExceeded: the content would exceed the block's char_limit.
        """

        def mutate(doc: LoroDoc) -> None:
            content = doc.get_text(CONTENT)
            with loro_errors("cannot append this text"):
                content.insert(len(content), text)

        return self._engine.write(
            block_id, MemoryOp.APPEND, mutate, actor=actor, consent=consent, source=source
        )

    def replace(
        self,
        block_id: str,
        old: str,
        new: str,
        *,
        replace_all: bool = False,
        actor: str | None = None,
        consent: bool = False,
        source: Source = None,
    ) -> EditResult:
        """Replace the first occurrence of `old` in the text (every one with `replace_all`).

        Raises:
            NotFound: no active block has this id.
            InvalidData: `old` is empty or does not occur in the text (nothing is written).
            PermissionDenied, ConsentRequired: the permission gate refused (an Overwrite).
            CharLimitExceeded: the content would exceed the block's char_limit.
        """
        if not old:
            raise InvalidData("replace needs a non-empty text to look for")

        def mutate(doc: LoroDoc) -> None:
            content = doc.get_text(CONTENT)
            current = content.to_string()
            found = occurrences(current, old, replace_all)
            if not found:
                raise InvalidData(
                    f"{clip(old)!r} does not occur in block {block_id}; read it again with "
                    "read_text and replace text that is there"
                )
            with loro_errors("cannot replace this text"):
                for at in reversed(found):
                    content.splice(at, len(old), new)

        return self._engine.write(
            block_id, MemoryOp.OVERWRITE, mutate, actor=actor, consent=consent, source=source
        )

    def set_text(
        self,
        block_id: str,
        text: str,
        *,
        actor: str | None = None,
        consent: bool = False,
        source: Source = None,
    ) -> EditResult:
        """Make the block's text equal `text`, stored as a small diff (an Overwrite).

        Raises:
            NotFound: no active block has this id.
            PermissionDenied, ConsentRequired: the permission gate refused.
            CharLimitExceeded: the content would exceed the block's char_limit.
        """

        def mutate(doc: LoroDoc) -> None:
            with loro_errors("cannot store this text"):
                replace_text(doc.get_text(CONTENT), text)

        return self._engine.write(
            block_id, MemoryOp.OVERWRITE, mutate, actor=actor, consent=consent, source=source
        )

    def update_metadata(
        self,
        block_id: str,
        values: Mapping[str, Any],
        *,
        remove: Iterable[str] = (),
        actor: str | None = None,
        consent: bool = False,
        source: Source = None,
    ) -> EditResult:
        """Set keys of the document's "metadata" map (JSON-like values) and remove others.

        Raises:
            NotFound: no active block has this id.
            InvalidData: a value cannot be stored as JSON.
            PermissionDenied, ConsentRequired: the permission gate refused (an Overwrite).
        """
        converted = {str(key): loro_value(value) for key, value in values.items()}
        removed = list(remove)

        def mutate(doc: LoroDoc) -> None:
            meta = doc.get_map(METADATA)
            with loro_errors("cannot store this metadata"):
                for key in removed:
                    if key in meta:
                        meta.delete(key)
                for key, value in converted.items():
                    meta.insert(key, value)

        return self._engine.write(
            block_id, MemoryOp.OVERWRITE, mutate, actor=actor, consent=consent, source=source
        )

    def append_entry(
        self,
        block_id: str,
        entry: Any,
        *,
        actor: str | None = None,
        consent: bool = False,
        source: Source = None,
    ) -> EditResult:
        """Append a value (text or JSON-like) to the block's "entries" list (an Append).

        Raises:
            NotFound: no active block has this id.
            InvalidData: the value cannot be stored as JSON.
            PermissionDenied, ConsentRequired: the permission gate refused.
            CharLimitExceeded: the content would exceed the block's char_limit.
        """
        value = loro_value(entry)

        def mutate(doc: LoroDoc) -> None:
            with loro_errors("cannot store this entry"):
                doc.get_list(ENTRIES).push(value)

        return self._engine.write(
            block_id, MemoryOp.APPEND, mutate, actor=actor, consent=consent, source=source
        )

    def trim_entries(
        self,
        block_id: str,
        keep_last: int,
        *,
        actor: str | None = None,
        consent: bool = False,
        source: Source = None,
    ) -> EditResult:
        """Delete all but the newest `keep_last` entries (an Overwrite).

        Raises:
            NotFound: no active block has this id.
            InvalidData: `keep_last` is negative.
            PermissionDenied, ConsentRequired: the permission gate refused.
        """
        if keep_last < 0:
            raise InvalidData(f"keep_last must be >= 0, got {keep_last}")

        def mutate(doc: LoroDoc) -> None:
            entries = doc.get_list(ENTRIES)
            extra = len(entries) - keep_last
            if extra > 0:
                entries.delete(0, extra)

        return self._engine.write(
            block_id, MemoryOp.OVERWRITE, mutate, actor=actor, consent=consent, source=source
        )

    def import_update(
        self,
        block_id: str,
        update: bytes,
        *,
        actor: str | None = None,
        consent: bool = False,
        source: Source = UpdateSource.SYNC,
    ) -> EditResult:
        """Merge a Loro update or snapshot made elsewhere (another replica) into the block.

        Only the changes the block did not have are stored, as one delta. A merge is never
        refused for char_limit: the concurrent edits are kept, and the next edit that grows
        the content is refused instead.

        Raises:
            NotFound: no active block has this id.
            InvalidData: the bytes are not Loro data, or depend on changes the block does not
                have (send those first, or a snapshot).
            PermissionDenied, ConsentRequired: the permission gate refused (an Overwrite).
        """
        kind = _source(source or UpdateSource.SYNC, actor)

        def run(tx: Transaction, block: MemoryBlock, entry: Entry) -> EditResult:
            def mutate(doc: LoroDoc) -> None:
                with loro_errors("the update is not Loro data"):
                    status = doc.import_(update)
                if status.pending is not None and status.pending.inner():
                    entry.unsaved = True  # Loro keeps the pending part; never reuse this doc
                    raise InvalidData(
                        f"the update depends on changes block {block_id} does not have "
                        f"({status.pending.inner()}); import those first, or a snapshot"
                    )

            return self._engine.apply(tx, block, entry, mutate, kind, False)

        return self._engine.transact(
            block_id, MemoryOp.OVERWRITE, run, actor=actor, consent=consent
        )

    # -- consolidation -------------------------------------------------------------------------

    def consolidate(
        self, block_id: str, *, force: bool = True, actor: str | None = None, consent: bool = False
    ) -> int | None:
        """Merge the block's stored deltas into a new checkpoint; return its id (None if none).

        With `force=False` only when the policy (`LoroStorageConfig`) says it is due. Atomic:
        the snapshot covers exactly the deltas up to the seq it was built from, and a delta
        stored by another handle afterwards stays. Undone deltas are discarded with the
        rest, so redo is no longer possible past a consolidation; an agent therefore needs
        Overwrite permission to ask for it.

        Raises:
            NotFound: no active block has this id.
            PermissionDenied, ConsentRequired: the permission gate refused (an Overwrite).
        """

        def run(tx: Transaction, block: MemoryBlock, entry: Entry) -> int | None:
            return self._engine.consolidate_in(tx, block.id, entry, force=force)

        return self._engine.transact(
            block_id, MemoryOp.OVERWRITE, run, actor=actor, consent=consent
        )

    def pending_stats(self, block_id: str, *, actor: str | None = None) -> UpdateStats:
        """Return the count, bytes, max seq and age of the block's unconsolidated deltas.

        Raises:
            NotFound: `actor` is given and no active block has this id.
            PermissionDenied: `actor` has no access to the block.
        """
        self._engine.gate_read(block_id, actor)
        return q.get_pending_update_stats(self._engine.db, block_id)

    # -- history -------------------------------------------------------------------------------

    def versions(self, block_id: str, *, actor: str | None = None) -> list[BlockVersion]:
        """Return the block's versions (checkpoints, or creation, then each delta) by seq.

        Raises:
            NotFound: no block has this id (with an actor: no active block).
            PermissionDenied: `actor` has no access to the block.
        """
        self._engine.gate_read(block_id, actor)
        return _history.list_versions(self._engine.db, block_id)

    def text_at(self, block_id: str, seq: int, *, actor: str | None = None) -> str:
        """Return the block's content right after version `seq` (0 is its creation).

        Raises:
            NotFound: no block has this id (with an actor: no active block).
            InvalidData: no stored version has this seq (see `versions`).
            PermissionDenied: `actor` has no access to the block.
        """
        self._engine.gate_read(block_id, actor)
        return _history.text_at(self._engine.db, block_id, seq)

    def text_at_frontier(self, block_id: str, frontier: bytes, *, actor: str | None = None) -> str:
        """Return the block's content at an encoded Loro frontier (a Loro checkout).

        Raises:
            NotFound: no block has this id (with an actor: no active block).
            InvalidData: the frontier is not in the block's current history.
            PermissionDenied: `actor` has no access to the block.
        """
        self._engine.gate_read(block_id, actor)

        def at(entry: Entry) -> str:
            return render(_history.doc_at_frontier(entry.doc, frontier))

        return self._engine.read(block_id, at)

    def undo(self, block_id: str, *, actor: str | None = None, consent: bool = False) -> int | None:
        """Undo the newest active delta (whoever wrote it); return its seq, None if none.

        Only deltas since the last consolidation can be undone.

        Raises:
            NotFound: no active block has this id.
            PermissionDenied, ConsentRequired: the permission gate refused (an Overwrite).
        """

        def change(tx: Transaction) -> int | None:
            return q.deactivate_latest_update(tx, block_id)

        return self._engine.replace_state(block_id, change, actor=actor, consent=consent)

    def redo(self, block_id: str, *, actor: str | None = None, consent: bool = False) -> int | None:
        """Redo the oldest undone delta; return its seq, None if there is none.

        A new edit discards the undone deltas (as in an editor), so redo follows undo only.

        Raises:
            NotFound: no active block has this id.
            PermissionDenied, ConsentRequired: the permission gate refused (an Overwrite).
        """

        def change(tx: Transaction) -> int | None:
            return q.reactivate_next_update(tx, block_id)

        return self._engine.replace_state(block_id, change, actor=actor, consent=consent)

    def undo_steps(self, block_id: str, *, actor: str | None = None) -> int:
        """Return how many deltas `undo` can undo (the active ones since the last checkpoint).

        Raises:
            NotFound: `actor` is given and no active block has this id.
            PermissionDenied: `actor` has no access to the block.
        """
        self._engine.gate_read(block_id, actor)
        return q.count_undo_steps(self._engine.db, block_id)

    def redo_steps(self, block_id: str, *, actor: str | None = None) -> int:
        """Return how many undone deltas `redo` can bring back.

        Raises:
            NotFound: `actor` is given and no active block has this id.
            PermissionDenied: `actor` has no access to the block.
        """
        self._engine.gate_read(block_id, actor)
        return q.count_redo_steps(self._engine.db, block_id)

    def rollback(
        self,
        block_id: str,
        seq: int,
        *,
        actor: str | None = None,
        consent: bool = False,
        source: Source = None,
    ) -> EditResult:
        """Make the block hold what it held at version `seq` again, written as a new change.

        History is never rewritten: Loro's `revert_to` records the inverse changes (text,
        metadata and entries alike) as one new delta, which can itself be undone.

        Raises:
            NotFound: no active block has this id.
            InvalidData: no stored version has this seq, or it was undone (use `redo`).
            PermissionDenied, ConsentRequired: the permission gate refused (an Overwrite).
            CharLimitExceeded: that content is longer than the block's current char_limit.
        """
        self._engine.gate_read(block_id, actor)  # before looking the version up: say nothing of it
        target = Frontiers.decode(_history.find_frontier(self._engine.db, block_id, seq))

        def mutate(doc: LoroDoc) -> None:
            with loro_errors(f"version {seq} is not in block {block_id}'s active history"):
                doc.revert_to(target)

        return self._engine.write(
            block_id, MemoryOp.OVERWRITE, mutate, actor=actor, consent=consent, source=source
        )
