"""Memory blocks, archival entries and shared blocks: every query, soft delete and cascades."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from pattern_db import ConstellationDb, errors
from pattern_db.connection import scalar
from pattern_db.errors import AlreadyExists, ConstraintViolation, NotFound
from pattern_db.models import (
    CONSTELLATION_OWNER,
    Agent,
    ArchivalEntry,
    MemoryBlock,
    MemoryBlockCheckpoint,
    MemoryBlockType,
    MemoryPermission,
    SharedBlockAttachment,
)
from pattern_db.queries import agent as agents
from pattern_db.queries import memory as q

MakeAgent = Callable[..., Agent]
T0 = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


def _block(db: ConstellationDb, block_id: str, **fields: Any) -> MemoryBlock:
    block = MemoryBlock(
        id=block_id,
        agent_id=str(fields.pop("agent_id", "a1")),
        label=str(fields.pop("label", block_id)),
        created_at=fields.pop("created_at", T0),
        updated_at=fields.pop("updated_at", T0),
        **fields,
    )
    q.create_block(db, block)
    return block


def _ids(blocks: list[MemoryBlock]) -> list[str]:
    return [b.id for b in blocks]


def _count(db: ConstellationDb, sql: str, *params: Any) -> int:
    with db.reader() as conn:
        return int(scalar(conn, sql, params))


# -- blocks: create and read -------------------------------------------------------------------


def test_create_and_get_block(db: ConstellationDb) -> None:
    block = _block(
        db,
        "b1",
        label="persona",
        description="who I am",
        block_type=MemoryBlockType.CORE,
        char_limit=1200,
        permission=MemoryPermission.APPEND,
        pinned=True,
        loro_snapshot=b"\x00loro",
        content_preview="I am helpful",
        metadata={"schema": {"kind": "text"}, "n": 1.50},
        embedding_model="minilm",
        frontier=b"\x01",
        last_seq=3,
    )
    assert q.get_block(db, "b1") == block
    assert q.get_block_by_label(db, "a1", "persona") == block
    assert q.get_block(db, "missing") is None
    assert q.get_block_by_label(db, "a1", "missing") is None
    assert q.get_block_by_label(db, "a2", "persona") is None


def test_create_block_clashes_raise_already_exists(db: ConstellationDb) -> None:
    _block(db, "b1", label="persona")
    with pytest.raises(AlreadyExists):
        _block(db, "b1", label="other")
    with pytest.raises(AlreadyExists):
        _block(db, "b2", label="persona")
    # Labels are unique per agent only.
    _block(db, "b3", label="persona", agent_id="a2")


def test_blocks_need_no_agent_row(db: ConstellationDb) -> None:
    _block(db, "b1", agent_id=CONSTELLATION_OWNER, label="organization")
    block = q.get_block_by_label(db, CONSTELLATION_OWNER, "organization")
    assert block is not None
    assert block.id == "b1"


def test_get_block_hides_inactive_blocks_unless_asked(db: ConstellationDb) -> None:
    _block(db, "b1", label="persona")
    q.deactivate_block(db, "b1")
    assert q.get_block(db, "b1") is None
    assert q.get_block_by_label(db, "a1", "persona") is None
    block = q.get_block(db, "b1", include_inactive=True)
    assert block is not None
    assert block.is_active is False
    assert block.updated_at > T0
    block = q.get_block_by_label(db, "a1", "persona", include_inactive=True)
    assert block is not None
    assert block.id == "b1"


def test_a_deactivated_blocks_label_can_be_reused(db: ConstellationDb) -> None:
    _block(db, "old", label="persona", updated_at=T0)
    q.deactivate_block(db, "old")
    _block(db, "new", label="persona")
    block = q.get_block_by_label(db, "a1", "persona")
    assert block is not None
    assert block.id == "new"
    # With inactive blocks included, the active one still wins...
    block = q.get_block_by_label(db, "a1", "persona", include_inactive=True)
    assert block is not None
    assert block.id == "new"
    # ...and without one, the most recently updated inactive block does.
    q.deactivate_block(db, "new")
    q.update_block_preview(db, "old", "touched")
    block = q.get_block_by_label(db, "a1", "persona", include_inactive=True)
    assert block is not None
    assert block.id == "old"
    assert q.list_blocks(db, "a1") == []


def test_list_blocks(db: ConstellationDb) -> None:
    _block(db, "b1", label="zeta", block_type=MemoryBlockType.CORE)
    _block(db, "b2", label="alpha", block_type=MemoryBlockType.WORKING)
    _block(db, "b3", label="mid", block_type=MemoryBlockType.CORE)
    _block(db, "b4", label="gone", block_type=MemoryBlockType.CORE)
    _block(db, "c1", label="beta", agent_id="a2")
    q.deactivate_block(db, "b4")
    assert _ids(q.list_blocks(db, "a1")) == ["b2", "b3", "b1"]
    assert _ids(q.list_blocks_by_type(db, "a1", MemoryBlockType.CORE)) == ["b3", "b1"]
    assert _ids(q.list_blocks_by_type(db, "a1", "working")) == ["b2"]
    assert _ids(q.list_blocks_by_type(db, "a2", "core")) == []
    assert _ids(q.list_all_blocks(db)) == ["b2", "b3", "b1", "c1"]
    assert q.list_blocks(db, "nobody") == []


def test_list_blocks_by_label_prefix_is_literal(db: ConstellationDb) -> None:
    _block(db, "b1", label="task_board")
    _block(db, "b2", label="taskXboard")
    _block(db, "b3", label="task%list", agent_id="a2")
    _block(db, "b4", label="Task_upper")
    _block(db, "b5", label="task_gone")
    q.deactivate_block(db, "b5")
    assert _ids(q.list_blocks_by_label_prefix(db, "task_")) == ["b1"]
    assert _ids(q.list_blocks_by_label_prefix(db, "task%")) == ["b3"]
    # Binary label order: "%" < "X" < "_", and "T" before every lower-case letter.
    assert _ids(q.list_blocks_by_label_prefix(db, "task")) == ["b3", "b2", "b1"]
    assert _ids(q.list_blocks_by_label_prefix(db, "")) == ["b4", "b3", "b2", "b1"]
    assert q.list_blocks_by_label_prefix(db, "zzz") == []


# -- blocks: writes ----------------------------------------------------------------------------


def test_upsert_block_inserts_then_updates_every_column_but_id_and_created_at(
    db: ConstellationDb,
) -> None:
    original = MemoryBlock(id="b1", agent_id="a1", label="l", created_at=T0, updated_at=T0)
    q.upsert_block(db, original)
    assert q.get_block(db, "b1") == original
    later = T0 + timedelta(days=1)
    changed = MemoryBlock(
        id="b1",
        agent_id="a2",
        label="renamed",
        description="d",
        block_type=MemoryBlockType.LOG,
        char_limit=10,
        permission=MemoryPermission.ADMIN,
        pinned=True,
        loro_snapshot=b"snap",
        content_preview="p",
        metadata=[1, "two"],
        embedding_model="e",
        is_active=False,
        frontier=b"f",
        last_seq=5,
        created_at=later,
        updated_at=later,
    )
    q.upsert_block(db, changed)
    assert q.get_block(db, "b1", include_inactive=True) == msgspec.structs.replace(
        changed, created_at=T0
    )


def test_upsert_block_never_lowers_last_seq(db: ConstellationDb) -> None:
    _block(db, "b1")
    for _ in range(3):
        q.store_update(db, "b1", b"x")
    q.upsert_block(db, MemoryBlock(id="b1", agent_id="a1", label="b1", last_seq=0))
    block = q.get_block(db, "b1")
    assert block is not None
    assert block.last_seq == 3
    assert q.store_update(db, "b1", b"x") == 4


def test_upsert_block_label_clash(db: ConstellationDb) -> None:
    _block(db, "b1", label="persona")
    with pytest.raises(AlreadyExists):
        q.upsert_block(db, MemoryBlock(id="b2", agent_id="a1", label="persona"))


def test_update_block_content(db: ConstellationDb) -> None:
    _block(db, "b1", frontier=b"keep")
    q.update_block_content(db, "b1", b"new snapshot", "new text")
    block = q.get_block(db, "b1")
    assert block is not None
    assert (block.loro_snapshot, block.content_preview, block.frontier) == (
        b"new snapshot",
        "new text",
        b"keep",
    )
    assert block.updated_at > T0
    q.update_block_content(db, "b1", b"", None, frontier=b"f2")
    block = q.get_block(db, "b1")
    assert block is not None
    assert (block.loro_snapshot, block.content_preview, block.frontier) == (b"", None, b"f2")
    with pytest.raises(NotFound, match="memory block not found: nope"):
        q.update_block_content(db, "nope", b"", None)


def test_content_preview_feeds_full_text_search(db: ConstellationDb) -> None:
    _block(db, "b1", content_preview="apples")
    sql = "SELECT count(*) FROM memory_blocks_fts WHERE memory_blocks_fts MATCH ?"
    assert _count(db, sql, "apples") == 1
    q.update_block_content(db, "b1", b"s", "bananas")
    assert (_count(db, sql, "apples"), _count(db, sql, "bananas")) == (0, 1)
    q.update_block_preview(db, "b1", "cherries")
    assert (_count(db, sql, "bananas"), _count(db, sql, "cherries")) == (0, 1)


def test_single_column_updates(db: ConstellationDb) -> None:
    _block(db, "b1", loro_snapshot=b"imported")
    q.update_block_preview(db, "b1", "preview")
    q.update_block_permission(db, "b1", MemoryPermission.PARTNER)
    q.update_block_pinned(db, "b1", True)
    q.update_block_label(db, "b1", "renamed")
    q.update_block_type(db, "b1", MemoryBlockType.ARCHIVAL)
    q.update_block_metadata(db, "b1", {"viewport": {"lines": 20}})
    block = q.get_block(db, "b1")
    assert block is not None
    assert (
        block.content_preview,
        block.permission,
        block.pinned,
        block.label,
        block.block_type,
        block.metadata,
        block.loro_snapshot,
    ) == (
        "preview",
        MemoryPermission.PARTNER,
        True,
        "renamed",
        MemoryBlockType.ARCHIVAL,
        {"viewport": {"lines": 20}},
        b"imported",
    )
    assert block.updated_at > T0
    q.update_block_metadata(db, "b1", None)
    q.update_block_pinned(db, "b1", False)
    q.update_block_preview(db, "b1", None)
    block = q.get_block(db, "b1")
    assert block is not None
    assert (block.metadata, block.pinned, block.content_preview) == (None, False, None)


@pytest.mark.parametrize(
    ("update", "value"),
    [
        (q.update_block_preview, "p"),
        (q.update_block_permission, MemoryPermission.ADMIN),
        (q.update_block_pinned, True),
        (q.update_block_label, "l"),
        (q.update_block_type, MemoryBlockType.CORE),
        (q.update_block_metadata, {"a": 1}),
    ],
)
def test_single_column_updates_of_a_missing_block_raise(
    db: ConstellationDb, update: Callable[..., None], value: Any
) -> None:
    with pytest.raises(NotFound):
        update(db, "nope", value)


def test_update_block_label_clash_and_invalid_enum_values(db: ConstellationDb) -> None:
    _block(db, "b1", label="one")
    _block(db, "b2", label="two")
    with pytest.raises(AlreadyExists):
        q.update_block_label(db, "b2", "one")
    with pytest.raises(errors.InvalidData, match="unknown permission 'superuser'"):
        q.update_block_permission(db, "b1", "superuser")
    with pytest.raises(errors.InvalidData, match="unknown block type 'scratch'"):
        q.update_block_type(db, "b1", "scratch")
    block = q.get_block(db, "b2")
    assert block is not None
    assert block.label == "two"


def test_update_block_config_sets_only_given_fields(db: ConstellationDb) -> None:
    _block(db, "b1", description="d", char_limit=100, loro_snapshot=b"s" * 20_000)
    updated = q.update_block_config(db, "b1", pinned=True)
    assert (updated.pinned, updated.description, updated.char_limit) == (True, "d", 100)
    assert updated.permission == MemoryPermission.READ_WRITE
    assert updated.loro_snapshot == b"s" * 20_000
    assert updated == q.get_block(db, "b1")
    updated = q.update_block_config(
        db,
        "b1",
        permission=MemoryPermission.HUMAN,
        block_type="core",
        description="new",
        pinned=False,
        char_limit=9,
    )
    assert (
        updated.permission,
        updated.block_type,
        updated.description,
        updated.pinned,
        updated.char_limit,
    ) == (MemoryPermission.HUMAN, MemoryBlockType.CORE, "new", False, 9)
    assert updated.updated_at > T0
    assert updated == q.get_block(db, "b1")


def test_update_block_config_errors_change_nothing(db: ConstellationDb) -> None:
    before = _block(db, "b1")
    with pytest.raises(NotFound):
        q.update_block_config(db, "nope", pinned=True)
    with pytest.raises(ConstraintViolation):
        q.update_block_config(db, "b1", pinned=True, char_limit=0)
    assert q.get_block(db, "b1") == before


def test_deactivate_block(db: ConstellationDb) -> None:
    _block(db, "b1")
    q.deactivate_block(db, "b1")
    q.deactivate_block(db, "b1")
    with pytest.raises(NotFound):
        q.deactivate_block(db, "nope")


def test_delete_block_cascades_to_checkpoints_updates_and_attachments(
    db: ConstellationDb, make_agent: MakeAgent
) -> None:
    make_agent("a2")
    _block(db, "b1")
    _block(db, "keep", label="keep")
    for block_id in ("b1", "keep"):
        q.store_update(db, block_id, b"x")
        q.store_update(db, block_id, b"y")
        q.consolidate_checkpoint(db, block_id, b"s", None, 1)
        q.create_shared_block_attachment(db, block_id, "a2")
    assert q.delete_block(db, "b1") is True
    assert q.delete_block(db, "b1") is False
    for table in ("memory_block_checkpoints", "memory_block_updates", "shared_block_agents"):
        assert _count(db, f"SELECT count(*) FROM {table} WHERE block_id = 'b1'") == 0
        assert _count(db, f"SELECT count(*) FROM {table} WHERE block_id = 'keep'") == 1
    assert q.get_block(db, "b1", include_inactive=True) is None


def test_deleting_an_agent_leaves_its_blocks_and_archival_entries(
    db: ConstellationDb, make_agent: MakeAgent
) -> None:
    make_agent("a1")
    make_agent("a2")
    _block(db, "b1", agent_id="a1")
    _block(db, "b2", agent_id="a2")
    q.create_archival_entry(db, ArchivalEntry(id="e1", agent_id="a1", content="fact"))
    q.create_shared_block_attachment(db, "b2", "a1")
    assert agents.delete_agent(db, "a1") is True
    # No foreign key on memory_blocks/archival_entries (REFERENCE 1.6); attachments cascade.
    assert _ids(q.list_blocks(db, "a1")) == ["b1"]
    assert q.get_archival_entry(db, "e1") is not None
    assert q.list_block_shared_agents(db, "b2") == []


# -- archival entries --------------------------------------------------------------------------


def _entry(entry_id: str, minutes: int = 0, **fields: Any) -> ArchivalEntry:
    return ArchivalEntry(
        id=entry_id,
        agent_id=str(fields.pop("agent_id", "a1")),
        content=str(fields.pop("content", f"content of {entry_id}")),
        created_at=T0 + timedelta(minutes=minutes),
        **fields,
    )


def test_create_get_and_count_archival_entries(db: ConstellationDb) -> None:
    entry = _entry("e1", metadata={"labels": ["adhd", "sleep"]}, chunk_index=0)
    q.create_archival_entry(db, entry)
    assert q.get_archival_entry(db, "e1") == entry
    assert q.get_archival_entry(db, "missing") is None
    with pytest.raises(AlreadyExists):
        q.create_archival_entry(db, entry)
    q.create_archival_entry(db, _entry("e2", agent_id=CONSTELLATION_OWNER))
    assert q.count_archival_entries(db, "a1") == 1
    assert q.count_archival_entries(db, CONSTELLATION_OWNER) == 1
    assert q.count_archival_entries(db, "nobody") == 0


def test_list_archival_entries_pages_newest_first(db: ConstellationDb) -> None:
    for i, minutes in enumerate([5, 1, 3, 3, 9]):
        q.create_archival_entry(db, _entry(f"e{i}", minutes))
    q.create_archival_entry(db, _entry("other", 100, agent_id="a2"))
    # e2 and e3 share a timestamp: the later insert comes first, deterministically.
    assert [e.id for e in q.list_archival_entries(db, "a1")] == ["e4", "e0", "e3", "e2", "e1"]
    assert [e.id for e in q.list_archival_entries(db, "a1", 2, 0)] == ["e4", "e0"]
    assert [e.id for e in q.list_archival_entries(db, "a1", 2, 2)] == ["e3", "e2"]
    assert [e.id for e in q.list_archival_entries(db, "a1", 2, 4)] == ["e1"]
    assert q.list_archival_entries(db, "a1", 2, 6) == []


def test_upsert_archival_entry(db: ConstellationDb) -> None:
    q.upsert_archival_entry(db, _entry("e1"))
    changed = _entry("e1", 60, agent_id="a2", content="new", metadata={"k": "v"}, chunk_index=2)
    q.upsert_archival_entry(db, changed)
    assert q.get_archival_entry(db, "e1") == msgspec.structs.replace(changed, created_at=T0)


def test_upsert_archival_entries_writes_all_or_nothing(db: ConstellationDb) -> None:
    q.upsert_archival_entry(db, _entry("e1"))
    changed = _entry("e1", 60, content="new")
    q.upsert_archival_entries(db, [changed, _entry("e2", 30)])
    assert q.get_archival_entry(db, "e1") == msgspec.structs.replace(changed, created_at=T0)
    assert q.get_archival_entry(db, "e2") == _entry("e2", 30)
    with pytest.raises(ConstraintViolation):
        q.upsert_archival_entries(db, [_entry("e3"), _entry("e4", parent_entry_id="nope")])
    assert q.get_archival_entry(db, "e3") is None
    q.upsert_archival_entries(db, [])
    assert q.count_archival_entries(db, "a1") == 2


def test_archival_chunks_cascade_with_their_parent(db: ConstellationDb) -> None:
    q.create_archival_entry(db, _entry("parent"))
    for i in (2, 0, 1):
        q.create_archival_entry(db, _entry(f"chunk{i}", chunk_index=i, parent_entry_id="parent"))
    q.create_archival_entry(db, _entry("lone"))
    assert [e.id for e in q.list_archival_chunks(db, "parent")] == ["chunk0", "chunk1", "chunk2"]
    assert q.count_archival_entries(db, "a1") == 5
    assert q.delete_archival_entry(db, "parent") is True
    assert q.delete_archival_entry(db, "parent") is False
    assert q.list_archival_chunks(db, "parent") == []
    assert [e.id for e in q.list_archival_entries(db, "a1")] == ["lone"]


def test_archival_chunk_with_a_missing_parent_is_refused(db: ConstellationDb) -> None:
    with pytest.raises(ConstraintViolation):
        q.create_archival_entry(db, _entry("c", parent_entry_id="nope"))
    with pytest.raises(ConstraintViolation):
        q.upsert_archival_entry(db, _entry("c", parent_entry_id="nope"))


# -- shared blocks -----------------------------------------------------------------------------


def test_shared_block_attachments(db: ConstellationDb, make_agent: MakeAgent) -> None:
    make_agent("a2")
    make_agent("a3")
    _block(db, "b1", agent_id="a1")
    _block(db, "b2", agent_id="a1", label="two")
    q.create_shared_block_attachment(db, "b1", "a2", MemoryPermission.READ_WRITE, attached_at=T0)
    q.create_shared_block_attachment(db, "b1", "a3", attached_at=T0 + timedelta(seconds=1))
    q.create_shared_block_attachment(
        db, "b2", "a2", "append", attached_at=T0 + timedelta(seconds=2)
    )
    assert q.get_shared_block_attachment(db, "b1", "a2") == SharedBlockAttachment(
        block_id="b1", agent_id="a2", permission=MemoryPermission.READ_WRITE, attached_at=T0
    )
    assert q.get_shared_block_attachment(db, "b1", "a1") is None
    assert [(s.agent_id, s.permission) for s in q.list_block_shared_agents(db, "b1")] == [
        ("a2", MemoryPermission.READ_WRITE),
        ("a3", MemoryPermission.READ_ONLY),
    ]
    assert [(s.block_id, s.permission) for s in q.list_agent_shared_blocks(db, "a2")] == [
        ("b1", MemoryPermission.READ_WRITE),
        ("b2", MemoryPermission.APPEND),
    ]
    assert [(s.block_id, s.agent_id) for s in q.list_all_shared_block_attachments(db)] == [
        ("b1", "a2"),
        ("b1", "a3"),
        ("b2", "a2"),
    ]
    assert q.delete_shared_block_attachment(db, "b1", "a3") is True
    assert q.delete_shared_block_attachment(db, "b1", "a3") is False
    assert [s.agent_id for s in q.list_block_shared_agents(db, "b1")] == ["a2"]


def test_sharing_again_updates_permission_and_refreshes_attached_at(
    db: ConstellationDb, make_agent: MakeAgent
) -> None:
    make_agent("a2")
    _block(db, "b1")
    q.create_shared_block_attachment(db, "b1", "a2", attached_at=T0)
    q.create_shared_block_attachment(db, "b1", "a2", MemoryPermission.ADMIN)
    attachment = q.get_shared_block_attachment(db, "b1", "a2")
    assert attachment is not None
    assert attachment.permission == MemoryPermission.ADMIN
    assert attachment.attached_at > T0
    assert len(q.list_all_shared_block_attachments(db)) == 1


def test_sharing_needs_an_existing_block_and_agent(
    db: ConstellationDb, make_agent: MakeAgent
) -> None:
    make_agent("a2")
    _block(db, "b1")
    with pytest.raises(ConstraintViolation):
        q.create_shared_block_attachment(db, "nope", "a2")
    with pytest.raises(ConstraintViolation):
        q.create_shared_block_attachment(db, "b1", "nobody")
    with pytest.raises(errors.InvalidData, match="unknown permission 'superuser'"):
        q.create_shared_block_attachment(db, "b1", "a2", "superuser")
    assert q.list_all_shared_block_attachments(db) == []


def test_check_block_access(db: ConstellationDb, make_agent: MakeAgent) -> None:
    make_agent("reader")
    make_agent("stranger")
    _block(db, "b1", agent_id="owner", label="task_board", permission=MemoryPermission.READ_ONLY)
    # The sharer's permission is the attachment's, even when looser than the block's own.
    q.create_shared_block_attachment(db, "b1", "reader", MemoryPermission.READ_WRITE)
    assert q.check_block_access(db, "owner", "owner", "task_board") == (
        "b1",
        MemoryPermission.READ_ONLY,
    )
    assert q.check_block_access(db, "reader", "owner", "task_board") == (
        "b1",
        MemoryPermission.READ_WRITE,
    )
    assert q.check_block_access(db, "stranger", "owner", "task_board") is None
    assert q.check_block_access(db, "reader", "owner", "other_label") is None
    assert q.check_block_access(db, "reader", "someone_else", "task_board") is None
    q.deactivate_block(db, "b1")
    assert q.check_block_access(db, "owner", "owner", "task_board") is None
    assert q.check_block_access(db, "reader", "owner", "task_board") is None


def test_get_shared_blocks(db: ConstellationDb, make_agent: MakeAgent) -> None:
    make_agent("owner", name="Owner Agent")
    make_agent("reader")
    _block(db, "b1", agent_id="owner", label="zeta", loro_snapshot=b"z" * 20_000)
    _block(db, "b2", agent_id=CONSTELLATION_OWNER, label="alpha")
    _block(db, "b3", agent_id="owner", label="gone")
    _block(db, "b4", agent_id="owner", label="not shared")
    q.create_shared_block_attachment(db, "b1", "reader", MemoryPermission.APPEND)
    q.create_shared_block_attachment(db, "b2", "reader")
    q.create_shared_block_attachment(db, "b3", "reader")
    q.deactivate_block(db, "b3")
    shared = q.get_shared_blocks(db, "reader")
    assert [(b.id, permission, owner) for b, permission, owner in shared] == [
        ("b2", MemoryPermission.READ_ONLY, None),
        ("b1", MemoryPermission.APPEND, "Owner Agent"),
    ]
    assert shared[1][0] == q.get_block(db, "b1")
    assert q.get_shared_blocks(db, "owner") == []


def test_memory_queries_compose_in_one_transaction(db: ConstellationDb) -> None:

    def write_then_fail() -> None:
        with db.transaction() as tx:
            q.create_block(tx, MemoryBlock(id="b1", agent_id="a1", label="l"))
            q.store_update(tx, "b1", b"x")
            q.create_checkpoint(tx, MemoryBlockCheckpoint(block_id="b1", snapshot=b"s"))
            q.create_archival_entry(tx, _entry("e1"))
            assert q.get_block(tx, "b1") is not None
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert q.get_block(db, "b1", include_inactive=True) is None
    assert q.get_archival_entry(db, "e1") is None


def test_a_label_clash_names_the_agent_and_the_label(db: ConstellationDb) -> None:
    from pattern_db.models import MemoryBlock

    q.create_block(db, MemoryBlock(id="b1", agent_id="a1", label="persona", description="d"))
    with pytest.raises(errors.AlreadyExists, match="agent_id 'a1' and label 'persona'") as info:
        q.create_block(db, MemoryBlock(id="b2", agent_id="a1", label="persona", description="d"))
    assert info.value.fields == {"agent_id": "a1", "label": "persona"}
