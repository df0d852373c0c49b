"""Bulk loading: many records with their full-text entries and their vectors in one transaction.

Each `create_*` writes a batch of new records (multi-row INSERTs, their FTS entries through the
triggers) and, given `embeddings` (one vector per record, an (n, d) array or n sequences), their
vectors in the same pass (`search.vector.bulk`), all in one write transaction: every record is
encoded, every vector checked and every agent looked up before the first row is written, and if
SQLite refuses any row nothing of the batch is stored (the error names the row).

Transactions. Called on a ConstellationDb, a batch is one `BEGIN IMMEDIATE ... COMMIT`. Called
inside `db.transaction()` it follows that transaction's savepoint policy: one savepoint for the
whole batch by default, none with `savepoints=False` (the policy for loading many batches in
one transaction: no savepoint release, so no FTS5 flush, per call). Inside the batch nothing
opens a savepoint of its own. The handle's vector cache gets the new vectors straight after the
commit (inside a caller's transaction it reads them at its next query instead).

These live above `queries` (which has the record-only `create_archival_entries`,
`create_blocks`, `create_passages`, `create_messages`) because vectors belong to the search layer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import apsw

from pattern_db.compression import DEFAULT_COMPRESSION_THRESHOLD
from pattern_db.connection import Executor
from pattern_db.errors import InvalidData
from pattern_db.models.folder import FilePassage
from pattern_db.models.memory import ArchivalEntry, MemoryBlock
from pattern_db.models.message import Message
from pattern_db.queries import folder as q_folder
from pattern_db.queries import message as q_message
from pattern_db.queries.memory import archival as q_archival
from pattern_db.queries.memory import blocks as q_blocks
from pattern_db.search.vector import bulk
from pattern_db.search.vector.core import ContentType, Owner

__all__ = ["create_archival_entries", "create_blocks", "create_messages", "create_passages"]

R = TypeVar("R")
Embeddings = Any  # an (n, d) array or n sequences of floats; checked by `bulk.check_matrix`


def create_archival_entries(
    db: Executor,
    entries: Iterable[ArchivalEntry],
    *,
    embeddings: Embeddings | None = None,
    content_hashes: Sequence[str | None] | None = None,
) -> list[int]:
    """Insert new archival entries, their FTS entries and (given) one vector each; return rowids.

    The rowids are the vectors' (empty without `embeddings`). `content_hashes` are stored with
    the vectors (`embed.content_hash` makes `index_pending` see them as current).

    Raises:
        AlreadyExists: an id exists already or repeats in the batch.
        ConstraintViolation: an agent does not exist, or a `parent_entry_id` names no entry.
        DimensionMismatch: a vector's length is not the index's dimensions.
        InvalidData: a field or a vector is invalid, no vector index yet, counts differ.
        ExtensionError: vectors were given and sqlite-vec is not loaded.
    """
    records = _listed(entries)
    return _load(
        db,
        records,
        q_archival.encode_archival_entries(records),
        q_archival.insert_archival_rows,
        ContentType.ARCHIVAL_ENTRY,
        lambda conn: _agent_owners([e.agent_id for e in records]),
        embeddings,
        content_hashes,
    )


def create_blocks(
    db: Executor,
    blocks: Iterable[MemoryBlock],
    *,
    embeddings: Embeddings | None = None,
    content_hashes: Sequence[str | None] | None = None,
    compression_threshold: int = DEFAULT_COMPRESSION_THRESHOLD,
) -> list[int]:
    """Insert new memory blocks, their FTS entries and (given) one vector each; return rowids.

    Raises:
        AlreadyExists: an id exists already or repeats, or an agent has an active block with
            a label given.
        ConstraintViolation: an agent does not exist (nor is `_constellation_`).
        DimensionMismatch: a vector's length is not the index's dimensions.
        InvalidData: a field or a vector is invalid, no vector index yet, counts differ.
        ExtensionError: vectors were given and sqlite-vec is not loaded.
    """
    records = _listed(blocks)
    return _load(
        db,
        records,
        q_blocks.encode_blocks(records, compression_threshold),
        q_blocks.insert_block_rows,
        ContentType.MEMORY_BLOCK,
        lambda conn: _agent_owners([b.agent_id for b in records]),
        embeddings,
        content_hashes,
    )


def create_passages(
    db: Executor,
    passages: Iterable[FilePassage],
    *,
    embeddings: Embeddings | None = None,
    content_hashes: Sequence[str | None] | None = None,
) -> list[int]:
    """Insert new file passages, their FTS entries and (given) one vector each; return rowids.

    The vectors belong to the folder of each passage's file.

    Raises:
        AlreadyExists: an id exists already or repeats in the batch.
        ConstraintViolation: a passage's file does not exist, or a chunk_index is negative.
        DimensionMismatch: a vector's length is not the index's dimensions.
        InvalidData: a field or a vector is invalid, no vector index yet, counts differ.
        ExtensionError: vectors were given and sqlite-vec is not loaded.
    """
    records = _listed(passages)

    def owners(conn: apsw.Connection) -> list[Owner]:
        folders = q_folder.file_folders(conn, (p.file_id for p in records))
        owner = {file_id: Owner(None, folder) for file_id, folder in folders.items()}
        return [owner[p.file_id] for p in records]

    return _load(
        db,
        records,
        q_folder.encode_passages(records),
        q_folder.insert_passage_rows,
        ContentType.FILE_PASSAGE,
        owners,
        embeddings,
        content_hashes,
    )


def create_messages(
    db: Executor,
    messages: Iterable[Message],
    *,
    embeddings: Embeddings | None = None,
    content_hashes: Sequence[str | None] | None = None,
) -> list[int]:
    """Insert new messages, their FTS entries and (given) one vector each; return the rowids.

    Raises:
        AlreadyExists: an id exists already or repeats in the batch.
        ConstraintViolation: an agent does not exist, or a field breaks a CHECK.
        DimensionMismatch: a vector's length is not the index's dimensions.
        InvalidData: a field or a vector is invalid, a tombstoned message was given a vector,
            no vector index yet, counts differ.
        ExtensionError: vectors were given and sqlite-vec is not loaded.
    """
    records = _listed(messages)
    if embeddings is not None:
        for message in records:
            if message.is_deleted:
                raise InvalidData(
                    f"message {message.id} is tombstoned (is_deleted) and cannot have vectors; "
                    "store it without embeddings"
                )
    return _load(
        db,
        records,
        q_message.encode_messages(records),
        q_message.insert_message_rows,
        ContentType.MESSAGE,
        lambda conn: _agent_owners([m.agent_id for m in records]),
        embeddings,
        content_hashes,
    )


def _agent_owners(agent_ids: list[str]) -> list[Owner]:
    # One Owner per agent, shared by its rows: a NamedTuple costs microseconds to make.
    owner = {agent_id: Owner(agent_id, None) for agent_id in set(agent_ids)}
    return [owner[agent_id] for agent_id in agent_ids]


def _listed(records: Iterable[R]) -> Sequence[R]:
    return records if isinstance(records, list | tuple) else list(records)


def _load(
    db: Executor,
    records: Sequence[Any],
    rows: Sequence[Sequence[Any]],
    insert: Callable[[apsw.Connection, Any, Any], None],
    content_type: ContentType,
    owners_of: Callable[[apsw.Connection], list[Owner]],
    embeddings: Embeddings | None,
    content_hashes: Sequence[str | None] | None,
) -> list[int]:
    """Write encoded records and, given, their vectors in one write transaction."""
    if not records:
        if embeddings is not None and len(embeddings) != 0:
            raise InvalidData(f"{len(embeddings)} embeddings for 0 items")
        return []
    if embeddings is None:
        if content_hashes is not None:
            raise InvalidData("content_hashes were given without embeddings")
        with db.writer() as conn:
            insert(conn, records, rows)
        return []
    handle = db.database
    handle.require_vec()
    if content_hashes is not None and len(content_hashes) != len(records):
        raise InvalidData(f"{len(content_hashes)} content hashes for {len(records)} items")
    with db.writer() as conn:
        meta, matrix = bulk.check_matrix(conn, embeddings, len(records))
        insert(conn, records, rows)
        written = bulk.write_vectors(
            conn,
            meta,
            content_type,
            [r.id for r in records],
            matrix,
            owners_of(conn),
            hashes=content_hashes,
        )
    bulk.publish(conn, handle, written)
    return list(written.added.rowids)
