"""Hypothesis round trips: every memory record written and read back is equal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pattern_db import ConstellationDb
from pattern_db.compression import ZSTD_MAGIC
from pattern_db.models import (
    Agent,
    ArchivalEntry,
    MemoryBlock,
    MemoryBlockCheckpoint,
    MemoryBlockType,
    MemoryBlockUpdate,
    MemoryPermission,
    SharedBlockAttachment,
    UpdateSource,
)
from pattern_db.queries import agent as agents
from pattern_db.queries import memory as q

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
_name = _text.filter(lambda t: bool(t.strip()))  # required non-blank
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False,
        allow_infinity=False) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=10,
)  # fmt: skip
# Aware UTC datetimes with microsecond precision (hypothesis generates microseconds).
_when = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)
)
# Small blobs, blobs that begin with the zstd magic, and large compressible ones.
_blob = (
    st.binary(max_size=64)
    | st.binary(max_size=64).map(lambda b: ZSTD_MAGIC + b)
    | st.tuples(st.binary(min_size=1, max_size=8), st.integers(2_000, 4_000)).map(
        lambda t: t[0] * t[1]
    )
)
_int64 = st.integers(0, 2**62)

_blocks = st.builds(
    MemoryBlock,
    id=_text.filter(bool),
    agent_id=_text,
    label=_name,
    description=_text,
    block_type=st.sampled_from(MemoryBlockType),
    char_limit=st.integers(1, 2**62),
    permission=st.sampled_from(MemoryPermission),
    pinned=st.booleans(),
    loro_snapshot=_blob,
    content_preview=st.none() | _text,
    metadata=_json,
    embedding_model=st.none() | _text,
    is_active=st.booleans(),
    frontier=st.none() | _blob,
    last_seq=_int64,
    created_at=_when,
    updated_at=_when,
)
_checkpoints = st.builds(
    MemoryBlockCheckpoint,
    id=st.none() | st.integers(1, 2**62),
    block_id=st.just(""),
    snapshot=_blob,
    created_at=_when,
    updates_consolidated=_int64,
    frontier=st.none() | _blob,
    up_to_seq=_int64,
)
_updates = st.builds(
    lambda blob, **fields: MemoryBlockUpdate(update_blob=blob, byte_size=len(blob), **fields),
    _blob,
    id=st.none() | st.integers(1, 2**62),
    block_id=st.just(""),
    seq=st.integers(1, 2**62),
    source=st.none() | st.sampled_from(UpdateSource),
    frontier=st.none() | _blob,
    is_active=st.booleans(),
    created_at=_when,
)
_entries = st.builds(
    ArchivalEntry,
    id=_text.filter(bool),
    agent_id=_text,
    content=_text,
    metadata=_json,
    chunk_index=_int64,
    parent_entry_id=st.none(),
    created_at=_when,
)


def _clear(db: ConstellationDb) -> None:
    with db.writer() as conn:
        for table in ("memory_blocks", "archival_entries", "agents"):
            conn.execute(f"DELETE FROM {table}")


def _with_id(record: Any, row_id: int) -> Any:
    return msgspec.structs.replace(record, id=row_id)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    block=_blocks,
    checkpoint=_checkpoints,
    update=_updates,
    entry=_entries,
    chunk=_entries,
    agent_id=_name,
    permission=st.sampled_from(MemoryPermission),
    attached_at=_when,
)
def test_memory_records_round_trip(
    db: ConstellationDb,
    block: MemoryBlock,
    checkpoint: MemoryBlockCheckpoint,
    update: MemoryBlockUpdate,
    entry: ArchivalEntry,
    chunk: ArchivalEntry,
    agent_id: str,
    permission: MemoryPermission,
    attached_at: datetime,
) -> None:
    _clear(db)
    q.create_block(db, block)
    assert q.get_block(db, block.id, include_inactive=True) == block

    checkpoint = msgspec.structs.replace(checkpoint, block_id=block.id)
    checkpoint_id = q.create_checkpoint(db, checkpoint)
    assert checkpoint_id == (checkpoint.id or checkpoint_id)
    assert q.get_latest_checkpoint(db, block.id) == _with_id(checkpoint, checkpoint_id)

    update = msgspec.structs.replace(update, block_id=block.id)
    update_id = q.create_update(db, update)
    assert update_id == (update.id or update_id)
    assert q.list_updates(db, block.id, include_inactive=True) == [_with_id(update, update_id)]

    q.create_archival_entry(db, entry)
    assert q.get_archival_entry(db, entry.id) == entry
    if chunk.id != entry.id:
        chunk = msgspec.structs.replace(chunk, parent_entry_id=entry.id)
        q.create_archival_entry(db, chunk)
        assert q.get_archival_entry(db, chunk.id) == chunk

    agents.create_agent(
        db,
        Agent(id=agent_id, name=agent_id, model_provider="p", model_name="m", system_prompt="s"),
    )
    attachment = SharedBlockAttachment(
        block_id=block.id, agent_id=agent_id, permission=permission, attached_at=attached_at
    )
    q.create_shared_block_attachment(db, block.id, agent_id, permission, attached_at=attached_at)
    assert q.get_shared_block_attachment(db, block.id, agent_id) == attachment
