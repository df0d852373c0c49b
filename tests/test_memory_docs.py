"""Memory documents: create, read, edit, preview/FTS, char_limit, compression, caching."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from loro import ExportMode

from pattern_db import ConstellationDb
from pattern_db.compression import ZSTD_MAGIC
from pattern_db.connection import scalar
from pattern_db.errors import AlreadyExists, InvalidData, NotFound
from pattern_db.memory_docs import (
    CharLimitExceeded,
    EditResult,
    LoroStorageConfig,
    MemoryDocs,
)
from pattern_db.models import MemoryBlock, MemoryBlockType, UpdateSource, UpdateStats
from pattern_db.queries import memory as q


def _fts(db: ConstellationDb, word: str) -> list[str]:
    """Return the ids of blocks whose FTS index holds `word` (what content_preview feeds)."""
    sql = """SELECT b.id FROM memory_blocks_fts f JOIN memory_blocks b ON b.rowid = f.rowid
             WHERE memory_blocks_fts MATCH ? ORDER BY b.id"""
    with db.reader() as conn:
        return [row[0] for row in conn.execute(sql, (word,)).fetchall()]


def _stored_snapshot(db: ConstellationDb, block_id: str) -> bytes:
    # Raw bytes as stored (the queries return them decompressed).
    with db.reader() as conn:
        return bytes(
            scalar(conn, "SELECT loro_snapshot FROM memory_blocks WHERE id = ?", (block_id,))
        )


def _preview(db: ConstellationDb, block_id: str) -> str | None:
    block = q.get_block(db, block_id)
    assert block is not None
    return block.content_preview


# -- create and read ---------------------------------------------------------------------------


def test_create_block_stores_a_loro_document(db: ConstellationDb) -> None:
    docs = MemoryDocs(db)
    block = docs.create_block(
        "a1",
        "persona",
        "I am helpful.",
        description="who I am",
        block_type=MemoryBlockType.CORE,
        char_limit=100,
        block_id="b1",
    )
    stored = q.get_block(db, "b1")
    assert stored is not None
    assert (stored.label, stored.description, stored.block_type) == ("persona", "who I am", "core")
    assert (stored.char_limit, stored.content_preview, stored.last_seq) == (100, "I am helpful.", 0)
    assert stored.frontier == block.frontier
    assert stored.loro_snapshot[:4] == b"loro"
    assert docs.read_text("b1") == "I am helpful."
    assert MemoryDocs(db).read_text("b1") == "I am helpful."


def test_create_block_refuses_a_duplicate_label(db: ConstellationDb) -> None:
    docs = MemoryDocs(db)
    docs.create_block("a1", "persona", "x")
    with pytest.raises(AlreadyExists):
        docs.create_block("a1", "persona", "y")


def test_create_block_checks_char_limit(db: ConstellationDb) -> None:
    docs = MemoryDocs(db)
    with pytest.raises(CharLimitExceeded):
        docs.create_block("a1", "persona", "x" * 11, char_limit=10)
    with pytest.raises(InvalidData):
        docs.create_block("a1", "persona", "x", char_limit=0)
    assert q.list_blocks(db, "a1") == []


def test_read_missing_block_raises_not_found(db: ConstellationDb) -> None:
    with pytest.raises(NotFound):
        MemoryDocs(db).read_text("nope")
    with pytest.raises(NotFound):
        MemoryDocs(db).append("nope", "x")


# -- edits -------------------------------------------------------------------------------------


def test_append_replace_set_store_one_delta_each(db: ConstellationDb) -> None:
    docs = MemoryDocs(db)
    docs.create_block("a1", "notes", "alpha", block_id="b1")
    assert docs.append("b1", " beta") == EditResult(block_id="b1", seq=1, length=10)
    assert docs.replace("b1", "alpha", "gamma").seq == 2
    assert docs.set_text("b1", "gamma beta delta").seq == 3
    assert docs.read_text("b1") == "gamma beta delta"
    updates = q.get_updates_since(db, "b1", 0)
    assert [(u.seq, u.source) for u in updates] == [(1, "manual"), (2, "manual"), (3, "manual")]
    assert all(u.frontier for u in updates)
    assert _preview(db, "b1") == "gamma beta delta"


def test_replace_all_and_missing_text(db: ConstellationDb) -> None:
    docs = MemoryDocs(db)
    docs.create_block("a1", "notes", "a-b-a-b-a", block_id="b1")
    docs.replace("b1", "a", "xy", replace_all=True)
    assert docs.read_text("b1") == "xy-b-xy-b-xy"
    docs.replace("b1", "b", "c")
    assert docs.read_text("b1") == "xy-c-xy-b-xy"
    with pytest.raises(InvalidData, match="does not occur"):
        docs.replace("b1", "zzz", "q")
    with pytest.raises(InvalidData):
        docs.replace("b1", "", "q")
    assert q.get_block_version_info(db, "b1").last_seq == 2  # type: ignore[union-attr]


def test_no_op_edit_stores_nothing(db: ConstellationDb) -> None:
    docs = MemoryDocs(db)
    docs.create_block("a1", "notes", "same", block_id="b1")
    assert docs.set_text("b1", "same") == EditResult(block_id="b1", seq=None, length=4)
    assert docs.append("b1", "").seq is None
    assert q.get_updates_since(db, "b1", 0) == []


def test_unicode_positions(db: ConstellationDb) -> None:
    docs = MemoryDocs(db)
    docs.create_block("a1", "notes", "héllo 😀 wörld", block_id="b1")
    docs.replace("b1", "wörld", "мир")
    docs.append("b1", " 🎉")
    assert docs.read_text("b1") == "héllo 😀 мир 🎉"
    assert MemoryDocs(db).read_text("b1") == "héllo 😀 мир 🎉"


@pytest.mark.parametrize(
    "edit",
    [
        lambda docs: docs.append("b1", "bad \ud800"),
        lambda docs: docs.set_text("b1", "a\udfffb"),
        lambda docs: docs.replace("b1", "ok", "\ud800"),
        lambda docs: docs.append_entry("b1", {"k": "\ud800"}),
        lambda docs: docs.update_metadata("b1", {"\ud800": 1}),
        lambda docs: docs.create_block("a1", "other", "\ud800"),
    ],
)
def test_text_that_is_not_unicode_is_invalid_data(db: ConstellationDb, edit: Any) -> None:
    docs = MemoryDocs(db)
    docs.create_block("a1", "notes", "ok", block_id="b1")
    with pytest.raises(InvalidData, match=r"Unicode|utf-8"):
        edit(docs)
    assert docs.read_text("b1") == "ok"
    assert docs.append("b1", "!").seq == 1


def test_metadata_map_and_entries_list(db: ConstellationDb) -> None:
    docs = MemoryDocs(db)
    docs.create_block("a1", "log", "Recent:", block_type="log", block_id="b1")
    docs.update_metadata(
        "b1", {"schema": "log", "max": 3, "when": datetime(2026, 1, 2, tzinfo=UTC)}
    )
    docs.append_entry("b1", "woke up")
    docs.append_entry("b1", {"event": "meeting", "at": 9})
    docs.update_metadata("b1", {"max": 5}, remove=["schema"])
    assert docs.read_metadata("b1") == {"max": 5, "when": "2026-01-02T00:00:00Z"}
    assert docs.read_entries("b1") == ["woke up", {"event": "meeting", "at": 9}]
    assert docs.read_text("b1") == 'Recent:\nwoke up\n{"event":"meeting","at":9}'
    docs.trim_entries("b1", 1)
    fresh = MemoryDocs(db)
    assert fresh.read_entries("b1") == [{"event": "meeting", "at": 9}]
    assert fresh.read_metadata("b1") == {"max": 5, "when": "2026-01-02T00:00:00Z"}
    assert _preview(db, "b1") == 'Recent:\n{"event":"meeting","at":9}'
    with pytest.raises(InvalidData):
        docs.append_entry("b1", object())


def test_preview_is_current_so_fts_finds_new_text(db: ConstellationDb) -> None:
    docs = MemoryDocs(db)
    docs.create_block("a1", "notes", "nothing yet", block_id="b1")
    assert _fts(db, "kumquat") == []
    docs.append("b1", " kumquat recipe")
    assert _fts(db, "kumquat") == ["b1"]
    docs.replace("b1", "kumquat", "persimmon")
    assert _fts(db, "kumquat") == []
    assert _fts(db, "persimmon") == ["b1"]
    docs.append_entry("b1", "rambutan harvest")
    assert _fts(db, "rambutan") == ["b1"]


def test_source_is_recorded(db: ConstellationDb) -> None:
    docs = MemoryDocs(db)
    docs.create_block("a1", "notes", "", block_id="b1")
    docs.append("b1", "a", actor="a1")
    docs.append("b1", "b", source=UpdateSource.MIGRATION)
    docs.append("b1", "c", source="sync")
    assert [u.source for u in q.get_updates_since(db, "b1", 0)] == ["agent", "migration", "sync"]
    with pytest.raises(InvalidData):
        docs.append("b1", "d", source="bogus")
    assert docs.read_text("b1") == "abc"


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=60), st.text(max_size=60))
def test_set_text_reaches_any_text(old: str, new: str) -> None:
    with ConstellationDb.open_in_memory() as db:
        docs = MemoryDocs(db)
        docs.create_block("a1", "notes", old, block_id="b1")
        docs.set_text("b1", new)
        assert docs.read_text("b1") == new
        assert MemoryDocs(db).read_text("b1") == new


def test_set_text_of_large_unrelated_text_is_bounded(db: ConstellationDb) -> None:
    # A plain Myers diff of two unrelated 100 KB texts takes about a minute; the bounded diff
    # falls back to one splice.
    rnd = random.Random(7)
    old = "".join(rnd.choice("abcdefgh") for _ in range(60_000))
    new = "".join(rnd.choice("abcdefgh") for _ in range(60_000))
    docs = MemoryDocs(db, LoroStorageConfig())
    docs.create_block("a1", "big", old, char_limit=100_000, block_id="b1")
    docs.set_text("b1", new)
    assert MemoryDocs(db).read_text("b1") == new


# -- char_limit --------------------------------------------------------------------------------


def test_char_limit_refusal_leaves_the_block_unchanged(db: ConstellationDb) -> None:
    docs = MemoryDocs(db)
    docs.create_block("a1", "persona", "0123456789", char_limit=15, block_id="b1")
    docs.append("b1", "abc")
    before = q.get_block(db, "b1")
    with pytest.raises(CharLimitExceeded) as caught:
        docs.append("b1", "defgh")
    assert isinstance(caught.value, InvalidData)
    assert (caught.value.char_limit, caught.value.length) == (15, 18)
    assert "char_limit of 15" in str(caught.value)
    with pytest.raises(CharLimitExceeded):
        docs.append_entry("b1", "a long log line")
    with pytest.raises(CharLimitExceeded):
        docs.set_text("b1", "x" * 16)
    assert q.get_block(db, "b1") == before
    assert [u.seq for u in q.get_updates_since(db, "b1", 0)] == [1]
    assert docs.read_text("b1") == "0123456789abc"
    assert MemoryDocs(db).read_text("b1") == "0123456789abc"
    # The handle keeps working after a refusal, with edits that fit.
    assert docs.append("b1", "de").seq == 2
    assert MemoryDocs(db).read_text("b1") == "0123456789abcde"


def test_an_over_limit_block_can_still_shrink(db: ConstellationDb) -> None:
    docs = MemoryDocs(db)
    docs.create_block("a1", "persona", "x" * 20, char_limit=30, block_id="b1")
    q.update_block_config(db, "b1", char_limit=10)
    docs.replace("b1", "xxxxx", "")
    assert docs.read_text("b1") == "x" * 15
    with pytest.raises(CharLimitExceeded):
        docs.append("b1", "y")


# -- compression -------------------------------------------------------------------------------


def test_compressed_snapshots_round_trip_and_shrink_100kb(file_db: ConstellationDb) -> None:
    # Words drawn from a 2,000-word vocabulary: text-like, so zstd shrinks it (Loro's own
    # snapshot encoding already squeezes a very repetitive text below the threshold).
    rnd = random.Random(5)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = ["".join(rnd.choice(letters) for _ in range(rnd.randint(2, 9))) for _ in range(2000)]
    text = " ".join(rnd.choice(vocab) for _ in range(30_000))[:100_000]
    assert len(text) == 100_000
    docs = MemoryDocs(file_db)
    docs.create_block("a1", "big", text, char_limit=200_000, block_id="b1")
    created = _stored_snapshot(file_db, "b1")
    raw = docs.export_snapshot("b1")
    assert created[:4] == ZSTD_MAGIC
    assert len(created) < len(raw) / 2
    docs.append("b1", " tail")
    checkpoint_id = docs.consolidate("b1")
    stored = _stored_snapshot(file_db, "b1")
    assert stored[:4] == ZSTD_MAGIC
    assert len(stored) < 60_000
    checkpoint = q.get_latest_checkpoint(file_db, "b1")
    assert checkpoint is not None
    assert checkpoint.id == checkpoint_id
    assert checkpoint.snapshot[:4] == b"loro"  # queries return the bytes stored
    with ConstellationDb.open(file_db.path) as other:  # type: ignore[arg-type]
        assert MemoryDocs(other).read_text("b1") == text + " tail"


def test_small_snapshots_are_stored_as_given(db: ConstellationDb) -> None:
    docs = MemoryDocs(db, LoroStorageConfig(compression_threshold_bytes=10_240))
    docs.create_block("a1", "small", "short", block_id="b1")
    assert _stored_snapshot(db, "b1")[:4] == b"loro"


# -- consolidation policy ----------------------------------------------------------------------


def test_policy_thresholds() -> None:
    config = LoroStorageConfig(
        checkpoint_update_count=3,
        checkpoint_update_size=100,
        checkpoint_interval=timedelta(hours=1),
    )
    at = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert not config.should_consolidate(UpdateStats(), at=at)
    assert config.should_consolidate(UpdateStats(count=3, total_bytes=10, max_seq=3), at=at)
    assert config.should_consolidate(UpdateStats(count=1, total_bytes=100, max_seq=1), at=at)
    recent = UpdateStats(count=1, total_bytes=10, max_seq=1, oldest_at=at - timedelta(minutes=59))
    old = UpdateStats(count=1, total_bytes=10, max_seq=1, oldest_at=at - timedelta(minutes=60))
    assert not config.should_consolidate(recent, at=at)
    assert config.should_consolidate(old, at=at)
    with pytest.raises(InvalidData):
        LoroStorageConfig(checkpoint_update_count=0)


def test_auto_consolidation_by_count(db: ConstellationDb) -> None:
    docs = MemoryDocs(db, LoroStorageConfig(checkpoint_update_count=4))
    docs.create_block("a1", "notes", "", block_id="b1")
    results = [docs.append("b1", str(i)) for i in range(10)]
    assert [r.checkpoint_id is not None for r in results] == [
        False, False, False, True, False, False, False, True, False, False,
    ]  # fmt: skip
    checkpoint = q.get_latest_checkpoint(db, "b1")
    assert checkpoint is not None
    assert (checkpoint.up_to_seq, checkpoint.updates_consolidated) == (8, 4)
    assert [u.seq for u in q.get_updates_since(db, "b1", 0)] == [9, 10]
    assert MemoryDocs(db).read_text("b1") == "0123456789"


def test_auto_consolidation_by_size_and_off(db: ConstellationDb) -> None:
    docs = MemoryDocs(db, LoroStorageConfig(checkpoint_update_size=500))
    docs.create_block("a1", "notes", "", char_limit=10_000, block_id="b1")
    assert docs.append("b1", "x" * 600).checkpoint_id is not None
    manual = MemoryDocs(db, LoroStorageConfig(checkpoint_update_count=1, auto_consolidate=False))
    assert manual.append("b1", "y").checkpoint_id is None
    assert manual.consolidate("b1", force=False) is not None
    assert manual.consolidate("b1") is None  # nothing pending
    assert manual.pending_stats("b1").count == 0


# -- cache and handles -------------------------------------------------------------------------


def test_cache_is_bounded(db: ConstellationDb) -> None:
    docs = MemoryDocs(db, LoroStorageConfig(max_cached_docs=2))
    for i in range(4):
        docs.create_block("a1", f"b{i}", f"text {i}", block_id=f"b{i}")
    assert len(docs._engine.cache) == 2
    assert [docs.read_text(f"b{i}") for i in range(4)] == [f"text {i}" for i in range(4)]
    docs.invalidate()
    assert len(docs._engine.cache) == 0


def _append_then_fail(db: ConstellationDb, docs: MemoryDocs) -> None:
    with db.transaction():
        docs.append("b1", " phantom")
        raise RuntimeError("roll back")


def test_edit_inside_a_rolled_back_transaction_is_not_cached(file_db: ConstellationDb) -> None:
    docs = MemoryDocs(file_db)
    docs.create_block("a1", "notes", "base", block_id="b1")
    with pytest.raises(RuntimeError, match="roll back"):
        _append_then_fail(file_db, docs)
    assert docs.read_text("b1") == "base"
    # Another handle stores seq 1; this handle must not mistake it for its rolled-back seq 1.
    MemoryDocs(file_db).append("b1", " real")
    assert docs.read_text("b1") == "base real"
    docs.append("b1", "!")
    assert MemoryDocs(file_db).read_text("b1") == "base real!"


def test_block_with_preview_only_is_adopted_once(db: ConstellationDb) -> None:
    # A block written around memory_docs (an import) has text but no Loro document.
    q.create_block(db, MemoryBlock(id="b1", agent_id="a1", label="old", content_preview="legacy"))
    first, second = MemoryDocs(db), MemoryDocs(db)
    assert first.read_text("b1") == "legacy"
    assert second.read_text("b1") == "legacy"
    first.append("b1", " one")
    second.append("b1", " two")
    assert MemoryDocs(db).read_text("b1") == "legacy one two"


def test_garbage_snapshot_is_a_clear_error(db: ConstellationDb) -> None:
    q.create_block(db, MemoryBlock(id="b1", agent_id="a1", label="bad", loro_snapshot=b"junk"))
    with pytest.raises(InvalidData, match="not a Loro document"):
        MemoryDocs(db).read_text("b1")


def test_export_snapshot_and_fork(db: ConstellationDb) -> None:
    docs = MemoryDocs(db)
    docs.create_block("a1", "notes", "shared", block_id="b1")
    fork = docs.fork_doc("b1")
    assert fork.get_text("content").to_string() == "shared"
    snapshot = docs.export_snapshot("b1")
    assert snapshot[:4] == b"loro"
    assert fork.export(ExportMode.Snapshot())[:4] == b"loro"


def test_delete_block_soft_deletes(db: ConstellationDb, tmp_path: Path) -> None:
    docs = MemoryDocs(db)
    docs.create_block("a1", "notes", "x", block_id="b1")
    docs.delete_block("b1")
    assert q.get_block(db, "b1") is None
    with pytest.raises(NotFound):
        docs.append("b1", "y")
    docs.create_block("a1", "notes", "again", block_id="b2")  # label free for reuse
