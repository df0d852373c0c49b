"""The vector writes of an open transaction, seen on top of the committed cache.

Design note. Inside `db.transaction()` every vector write of this handle is recorded here (its
generation, the rows it removed, the rows it added). A query inside the transaction scans the
committed matrix, skipping the rows the transaction removed, plus a small matrix of the rows it
added; at commit the writes are applied to the cache as autocommit writes are, at rollback they
are dropped. The overlay is trusted only while it is provably the transaction's state:

* Its writes form an unbroken chain of generations from the cache's (every change to the
  vectors bumps `embedding_meta.generation`, the triggers' too), so no unrecorded change hides
  between them, and the generation read now is the last one recorded.
* The last recorded write still stands: a savepoint rolled back undoes a suffix of the
  transaction, which would include that write. It is checked on the row itself (its id with the
  same content, owner and bytes; or, for a delete, the id still gone) whenever the overlay is
  used, extended or folded in.

Otherwise the query uses SQL, and after the commit the cache reads the change from the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import apsw
import numpy as np

from pattern_db.search.vector.core import (
    CONTENT_TYPES,
    F32,
    AddedRows,
    Candidate,
    Metric,
    Owner,
    Scope,
)
from pattern_db.search.vector.sql import MAX_K
from pattern_db.search.vector.store import VectorStore

__all__ = ["TxOverlay", "Write"]

_PROBE_ROW = """
SELECT content_type, content_id, chunk_index, agent_id, folder_id, embedding FROM embeddings
WHERE id = ?
"""


class Write:
    """One recorded vector write: the generation it moved the index to, what it changed."""

    __slots__ = ("added", "generation", "removed")

    def __init__(self, generation: int, removed: Sequence[int], added: AddedRows | None) -> None:
        self.generation = generation
        self.removed = list(removed)
        self.added = added if added is not None and len(added.rowids) else None

    def removed_by(self, later: Write) -> bool:
        """Return whether a later write removed the last row this one added."""
        return self.added is not None and self.added.rowids[-1] in later.removed

    def stands(self, conn: apsw.Connection) -> bool:
        """Return whether this write is still in effect in `conn`'s snapshot."""
        if self.added is None:
            return (
                not self.removed or conn.execute(_PROBE_ROW, (self.removed[0],)).fetchone() is None
            )
        a = self.added
        row: Any = conn.execute(_PROBE_ROW, (a.rowids[-1],)).fetchone()
        owner = a.owners[-1]
        expected = (
            a.content_type.value,
            a.content_ids[-1],
            a.chunks[-1],
            owner.agent_id,
            owner.folder_id,
        )
        return row is not None and tuple(row[:5]) == expected and row[5] == a.vectors[-1].tobytes()


class TxOverlay:
    """The recorded vector writes of one transaction over a cache at generation `base`."""

    def __init__(self, dimensions: int, metric: Metric, base: int) -> None:
        self.base = base
        self.generation = base
        self.writes: list[Write] = []
        self.valid = True
        self.committed = False
        # The rows added and still live, and the committed rowids removed, as of the first
        # `applied` writes: built when a query or the fold needs them, not per write.
        self.added = VectorStore(dimensions, metric)
        self.hidden: set[int] = set()
        self.applied = 0

    def record(self, conn: apsw.Connection, write: Write) -> None:
        """Add a write just made on `conn`; the overlay breaks unless it follows the last one.

        Following: the next generation, and the last write still stands (or this one removed
        its row, which shows it stood).
        """
        last = self.writes[-1] if self.writes else None
        if (
            not self.valid
            or write.generation != self.generation + 1
            or (last is not None and not last.stands(conn) and not last.removed_by(write))
        ):
            self.valid = False
            return
        self.writes.append(write)
        self.generation = write.generation

    def _catch_up(self) -> None:
        """Apply the writes recorded since the last call, with one append for their rows."""
        live: dict[int, tuple[AddedRows, int]] = {}
        for write in self.writes[self.applied :]:
            for rowid in write.removed:
                if live.pop(rowid, None) is None and not self.added.remove(rowid):
                    self.hidden.add(rowid)
            if write.added is not None:
                live.update((rowid, (write.added, i)) for i, rowid in enumerate(write.added.rowids))
        self.applied = len(self.writes)
        if not live:
            return
        rows = list(live.values())
        vectors = np.stack([a.vectors[i] for a, i in rows])
        self.added.append(
            list(live),
            vectors,
            [a.content_type.value for a, _ in rows],
            [a.content_ids[i] for a, i in rows],
            [a.chunks[i] for a, i in rows],
            [a.owners[i] for a, i in rows],
        )

    def net(
        self,
    ) -> tuple[list[int], list[int], F32, list[str], list[str], list[int | None], list[Owner]]:
        """Return the net change: committed rowids removed, then the rows added and still live.

        The added rows come as rowids, vectors, content types, content ids, chunks, owners.
        """
        if self.applied == 0:
            return self._net_of_writes()
        self._catch_up()
        store = self.added
        live = np.flatnonzero(store.alive[: store.n])
        owners = {code: owner for owner, code in store.agent_codes.items()}
        picked = live.tolist()
        return (
            sorted(self.hidden),
            store.rowids[live].tolist(),
            store.mat[live],
            [CONTENT_TYPES[code].value for code in store.types[live].tolist()],
            [store.content_ids[i] for i in picked],
            [None if store.chunks[i] < 0 else store.chunks[i] for i in picked],
            [owners[code] for code in store.agents[live].tolist()],
        )

    def _net_of_writes(
        self,
    ) -> tuple[list[int], list[int], F32, list[str], list[str], list[int | None], list[Owner]]:
        # No query inside the transaction built the added rows' store: read the writes.
        live: dict[int, tuple[AddedRows, int]] = {}
        hidden: set[int] = set()
        for write in self.writes:
            for rowid in write.removed:
                if live.pop(rowid, None) is None:
                    hidden.add(rowid)
            if write.added is not None:
                live.update((rowid, (write.added, i)) for i, rowid in enumerate(write.added.rowids))
        rows = list(live.values())
        dimensions = self.added.dimensions
        vectors = (
            np.stack([a.vectors[i] for a, i in rows])
            if rows
            else np.zeros((0, dimensions), np.float32)
        )
        return (
            sorted(hidden),
            list(live),
            vectors,
            [a.content_type.value for a, _ in rows],
            [a.content_ids[i] for a, i in rows],
            [a.chunks[i] for a, i in rows],
            [a.owners[i] for a, i in rows],
        )

    def holds(self, conn: apsw.Connection, cache_generation: int, generation: int) -> bool:
        """Return whether the overlay is the state `conn` sees at `generation` over the cache."""
        if not self.valid or self.base != cache_generation or self.generation != generation:
            return False
        return not self.writes or self.writes[-1].stands(conn)

    def search(
        self, main: VectorStore, query: F32, k: int, ctype: int | None, scope: Scope | None
    ) -> list[Candidate] | None:
        """Return the candidates of the k nearest rows as the transaction sees them.

        None when the transaction removed too many committed rows to skip them cheaply.
        """
        self._catch_up()
        hidden = self.hidden
        if len(hidden) > MAX_K:
            return None
        # The k nearest rows left once the hidden ones are skipped are among the k + |hidden|
        # nearest of the committed matrix.
        found = [
            c for c in main.search(query, k + len(hidden), ctype, scope) if c.rowid not in hidden
        ]
        if self.added.live:
            found += self.added.search(query, k, ctype, scope)
        return found
