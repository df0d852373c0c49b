"""The per-handle document cache: one Loro document per block, its version, and block locks."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from loro import LoroDoc

from pattern_db.memory_docs._loro import frontier_of, render

__all__ = ["DocCache", "Entry"]

# Block locks are striped: a bounded set of re-entrant locks chosen by the block id's hash, so
# memory stays constant however many blocks a handle touches. A thread only ever holds one
# stripe at a time, so two blocks sharing a stripe cannot deadlock.
_STRIPES = 64


class Entry:
    """A loaded document and the block version it reflects.

    The document equals the block's checkpoint plus its active deltas as they were when the
    block's `last_seq` and highest active seq were `last_seq` and `max_active`; it never holds
    a change that is not in the database (a document that might is dropped, never cached).
    """

    __slots__ = ("_rendered", "doc", "last_seq", "max_active", "unsaved")

    def __init__(self, doc: LoroDoc, last_seq: int, max_active: int) -> None:
        self.doc = doc
        self.last_seq = last_seq
        self.max_active = max_active
        # True while the document holds a change written by a transaction not yet committed.
        self.unsaved = False
        self._rendered: str | None = None

    def rendered(self) -> str:
        """Return the rendered content, computed once per change."""
        if self._rendered is None:
            self._rendered = render(self.doc)
        return self._rendered

    def changed(self) -> None:
        """Forget the rendered content after the document changed."""
        self._rendered = None

    def mark(self) -> bytes:
        """Return the document's current frontier, to tell later whether it changed."""
        return frontier_of(self.doc)

    def unchanged_since(self, mark: bytes) -> bool:
        """Return True when the document holds nothing beyond `mark` and nothing unsaved."""
        return not self.unsaved and self.doc.get_pending_txn_len() == 0 and self.mark() == mark

    def at(self, last_seq: int, max_active: int) -> bool:
        """Return True when this entry reflects the block version (last_seq, max_active)."""
        return self.last_seq == last_seq and self.max_active == max_active


class DocCache:
    """A bounded LRU map block id -> Entry, plus striped per-block locks."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._guard = threading.Lock()
        self._stripes = [threading.RLock() for _ in range(_STRIPES)]

    @contextmanager
    def locked(self, block_id: str) -> Iterator[None]:
        """Hold the block's lock: one thread at a time loads or edits a block's document."""
        with self._stripes[hash(block_id) % _STRIPES]:
            yield

    def take(self, block_id: str) -> Entry | None:
        """Remove and return the block's entry (put it back with `put` once it is valid)."""
        with self._guard:
            return self._entries.pop(block_id, None)

    def get(self, block_id: str) -> Entry | None:
        """Return the block's entry without removing it."""
        with self._guard:
            entry = self._entries.get(block_id)
            if entry is not None:
                self._entries.move_to_end(block_id)
            return entry

    def put(self, block_id: str, entry: Entry) -> None:
        """Store the block's entry, evicting the least recently used beyond capacity."""
        with self._guard:
            self._entries[block_id] = entry
            self._entries.move_to_end(block_id)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)

    def discard(self, block_id: str | None = None) -> None:
        """Drop one block's entry, or every entry when `block_id` is None."""
        with self._guard:
            if block_id is None:
                self._entries.clear()
            else:
                self._entries.pop(block_id, None)

    def __len__(self) -> int:
        with self._guard:
            return len(self._entries)

    def __contains__(self, block_id: object) -> bool:
        with self._guard:
            return block_id in self._entries
