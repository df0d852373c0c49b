"""Reading the `embeddings` table into the cache: row metadata as columns, then the vectors.

Both reads stream the table in id order, a few thousand rows at a time, inside the caller's read
transaction (one snapshot). Per batch the work is done by C loops (`zip`, `map`, `bytes.join`,
one numpy scatter), not per row in Python, and nothing is held past its batch but what the
cache keeps: holding every row's tuple at once would cost about 300 bytes a row, and freed
small objects interleaved with the content ids that stay are not given back to the OS.
"""

from __future__ import annotations

from itertools import islice
from operator import itemgetter
from typing import NamedTuple

import apsw
import numpy as np
import numpy.typing as npt

from pattern_db.search.vector.core import F32, I64, Owner
from pattern_db.search.vector.store import TYPE_CODES

__all__ = ["Columns", "read_columns", "read_vectors"]

_BATCH = 4096
_SELECT_ROWS = """
SELECT id, content_type, content_id, chunk_index, agent_id, folder_id FROM embeddings ORDER BY id
"""
_VECTORS_BY_ID = "SELECT embedding FROM embeddings ORDER BY id"


class Columns(NamedTuple):
    """Every row's metadata in id order: ids, type codes, owner codes, content ids, chunk keys."""

    ids: I64
    types: npt.NDArray[np.int8]
    owners: npt.NDArray[np.int32]
    owner_codes: dict[Owner, int]
    content_ids: list[str]
    chunks: list[int]


class _Codes(dict[tuple[str | None, str | None], int]):
    """Owner -> code, numbering owners as they first appear."""

    def __missing__(self, key: tuple[str | None, str | None]) -> int:
        code = self[key] = len(self)
        return code


def read_columns(conn: apsw.Connection) -> Columns:
    """Return the metadata of every row, in id order."""
    ids: list[int] = []
    types: list[int] = []
    owners: list[int] = []
    content_ids: list[str] = []
    chunks: list[int] = []
    codes = _Codes()
    cursor = conn.execute(_SELECT_ROWS)
    while batch := list(islice(cursor, _BATCH)):
        rowid, ctype, cid, chunk, agent, folder = zip(*batch, strict=True)
        ids.extend(rowid)
        types.extend(map(TYPE_CODES.__getitem__, ctype))
        owners.extend(map(codes.__getitem__, zip(agent, folder, strict=True)))
        content_ids.extend(cid)
        chunks.extend(-1 if c is None else c for c in chunk)
    return Columns(
        np.asarray(ids, np.int64),
        np.asarray(types, np.int8),
        np.asarray(owners, np.int32),
        {Owner(*key): code for key, code in codes.items()},
        content_ids,
        chunks,
    )


def read_vectors(
    conn: apsw.Connection, dimensions: int, places: I64, into: F32
) -> npt.NDArray[np.bool_]:
    """Copy every row's vector, in id order, to `into[places[i]]`; return which rows had one.

    A blob of the wrong size leaves its row out; rows added after `places` was made are ignored
    (the next sync reads them).
    """
    n = len(places)
    present = np.zeros(n, np.bool_)
    row_bytes = dimensions * 4
    first = itemgetter(0)
    cursor = conn.execute(_VECTORS_BY_ID)
    done = 0
    while done < n and (blobs := list(map(first, islice(cursor, min(_BATCH, n - done))))):
        m = len(blobs)
        at = places[done : done + m]
        joined = b"".join(blobs)
        if len(joined) == m * row_bytes and all(len(b) == row_bytes for b in blobs):
            into[at] = np.frombuffer(joined, np.float32).reshape(m, dimensions)
            present[done : done + m] = True
        else:
            for i, blob in enumerate(blobs):
                if len(blob) == row_bytes:
                    into[at[i]] = np.frombuffer(blob, np.float32)
                    present[done + i] = True
        done += m
    return present
