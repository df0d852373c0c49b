"""Memory documents' history: versions, text at a version, undo/redo, rollback, stale caches."""

from __future__ import annotations

from pathlib import Path

import pytest

from pattern_db import ConstellationDb
from pattern_db.errors import InvalidData
from pattern_db.memory_docs import LoroStorageConfig, MemoryDocs
from pattern_db.queries import memory as q

MANUAL = LoroStorageConfig(auto_consolidate=False)


def _fts(db: ConstellationDb, word: str) -> list[str]:
    """Return the ids of blocks whose FTS index holds `word` (what content_preview feeds)."""
    sql = """SELECT b.id FROM memory_blocks_fts f JOIN memory_blocks b ON b.rowid = f.rowid
             WHERE memory_blocks_fts MATCH ? ORDER BY b.id"""
    with db.reader() as conn:
        return [row[0] for row in conn.execute(sql, (word,)).fetchall()]


def _docs(db: ConstellationDb) -> MemoryDocs:
    docs = MemoryDocs(db, MANUAL)
    docs.create_block("a1", "notes", "v0", block_id="b1")
    docs.append("b1", " v1")
    docs.append("b1", " v2")
    docs.replace("b1", "v0", "V0")
    return docs


TEXTS = ["v0", "v0 v1", "v0 v1 v2", "V0 v1 v2"]


# -- versions and text at a version ------------------------------------------------------------


def test_versions_list_seq_time_and_source(db: ConstellationDb) -> None:
    docs = _docs(db)
    docs.append("b1", "!", actor="a1")
    versions = docs.versions("b1")
    assert [(v.seq, v.kind, v.source, v.is_active) for v in versions] == [
        (0, "base", None, True),
        (1, "update", "manual", True),
        (2, "update", "manual", True),
        (3, "update", "manual", True),
        (4, "update", "agent", True),
    ]
    times = [v.created_at for v in versions]
    assert times == sorted(times)
    assert all(v.frontier for v in versions)


def test_text_at_every_version(db: ConstellationDb) -> None:
    docs = _docs(db)
    assert [docs.text_at("b1", seq) for seq in range(4)] == TEXTS
    with pytest.raises(InvalidData):
        docs.text_at("b1", 4)
    with pytest.raises(InvalidData):
        docs.text_at("b1", -1)


def test_text_at_after_consolidation_checks_out_checkpoint_frontiers(db: ConstellationDb) -> None:
    docs = _docs(db)
    docs.consolidate("b1")  # checkpoint up to seq 3
    docs.append("b1", " v4")
    docs.consolidate("b1")  # checkpoint up to seq 4
    docs.append("b1", " v5")
    docs.consolidate("b1")  # checkpoint up to seq 5
    docs.append("b1", " v6")
    versions = docs.versions("b1")
    assert [(v.seq, v.kind) for v in versions] == [
        (3, "base"),
        (4, "base"),
        (5, "base"),
        (6, "update"),
    ]
    assert docs.text_at("b1", 3) == "V0 v1 v2"  # an older checkpoint: checkout of its frontier
    assert docs.text_at("b1", 4) == "V0 v1 v2 v4"
    assert docs.text_at("b1", 5) == "V0 v1 v2 v4 v5"
    assert docs.text_at("b1", 6) == "V0 v1 v2 v4 v5 v6"
    with pytest.raises(InvalidData, match="consolidated"):
        docs.text_at("b1", 2)
    frontier = versions[0].frontier
    assert frontier is not None
    assert docs.text_at_frontier("b1", frontier) == "V0 v1 v2"
    with pytest.raises(InvalidData):
        docs.text_at_frontier("b1", b"\x01junk")


# -- undo and redo -----------------------------------------------------------------------------


def test_undo_redo_round_trip(db: ConstellationDb) -> None:
    docs = _docs(db)
    assert (docs.undo_steps("b1"), docs.redo_steps("b1")) == (3, 0)
    assert docs.undo("b1") == 3
    assert docs.read_text("b1") == TEXTS[2]
    assert docs.undo("b1") == 2
    assert docs.read_text("b1") == TEXTS[1]
    assert (docs.undo_steps("b1"), docs.redo_steps("b1")) == (1, 2)
    assert MemoryDocs(db).read_text("b1") == TEXTS[1]
    assert docs.redo("b1") == 2
    assert docs.read_text("b1") == TEXTS[2]
    assert docs.redo("b1") == 3
    assert docs.redo("b1") is None
    assert docs.read_text("b1") == TEXTS[3]
    assert MemoryDocs(db).read_text("b1") == TEXTS[3]
    assert [v.is_active for v in docs.versions("b1")] == [True] * 4


def test_text_at_an_undone_version_shows_what_it_held(db: ConstellationDb) -> None:
    docs = _docs(db)
    docs.undo("b1")
    assert docs.read_text("b1") == TEXTS[2]
    assert docs.text_at("b1", 3) == TEXTS[3]  # what redo would bring back
    assert [v.is_active for v in docs.versions("b1")] == [True, True, True, False]


def test_undo_everything_then_nothing(db: ConstellationDb) -> None:
    docs = _docs(db)
    assert [docs.undo("b1") for _ in range(4)] == [3, 2, 1, None]
    assert docs.read_text("b1") == "v0"
    assert [v.is_active for v in docs.versions("b1")] == [True, False, False, False]
    assert q.get_block(db, "b1").content_preview == "v0"  # type: ignore[union-attr]


def test_undo_updates_the_preview_and_fts(db: ConstellationDb) -> None:
    docs = _docs(db)
    docs.append("b1", " zucchini")
    assert _fts(db, "zucchini") == ["b1"]
    docs.undo("b1")
    assert _fts(db, "zucchini") == []
    docs.redo("b1")
    assert _fts(db, "zucchini") == ["b1"]


def test_a_new_edit_discards_the_redo_stack(db: ConstellationDb) -> None:
    docs = _docs(db)
    docs.undo("b1")
    docs.undo("b1")
    docs.append("b1", " new")
    assert docs.redo_steps("b1") == 0
    assert docs.redo("b1") is None
    assert docs.read_text("b1") == "v0 v1 new"
    assert MemoryDocs(db).read_text("b1") == "v0 v1 new"


def test_consolidation_ends_undo_history(db: ConstellationDb) -> None:
    docs = _docs(db)
    docs.undo("b1")
    docs.consolidate("b1")
    assert (docs.undo_steps("b1"), docs.redo_steps("b1")) == (0, 0)
    assert docs.undo("b1") is None
    assert docs.redo("b1") is None
    assert docs.read_text("b1") == TEXTS[2]
    assert MemoryDocs(db).read_text("b1") == TEXTS[2]


def test_undo_and_redo_work_on_entries_and_metadata(db: ConstellationDb) -> None:
    docs = _docs(db)
    docs.append_entry("b1", "e1")
    docs.update_metadata("b1", {"k": "v"})
    docs.undo("b1")
    assert docs.read_metadata("b1") == {}
    docs.undo("b1")
    assert docs.read_entries("b1") == []
    docs.redo("b1")
    assert docs.read_entries("b1") == ["e1"]


# -- rollback ----------------------------------------------------------------------------------


def test_rollback_is_a_new_change(db: ConstellationDb) -> None:
    docs = _docs(db)
    docs.append_entry("b1", "e1")
    result = docs.rollback("b1", 1)
    assert result.seq == 5
    assert docs.read_text("b1") == "v0 v1"
    assert docs.read_entries("b1") == []
    assert [v.seq for v in docs.versions("b1")] == [0, 1, 2, 3, 4, 5]
    assert docs.text_at("b1", 4) == "V0 v1 v2\ne1"  # history is kept
    assert MemoryDocs(db).read_text("b1") == "v0 v1"
    assert docs.undo("b1") == 5  # a rollback can itself be undone
    assert docs.read_text("b1") == "V0 v1 v2\ne1"


def test_rollback_to_creation_and_to_a_checkpoint(db: ConstellationDb) -> None:
    docs = _docs(db)
    docs.rollback("b1", 0)
    assert docs.read_text("b1") == "v0"
    docs.consolidate("b1")  # checkpoint up to seq 4
    docs.append("b1", " after")
    docs.rollback("b1", 4)
    assert docs.read_text("b1") == "v0"
    docs.rollback("b1", 5)
    assert docs.read_text("b1") == "v0 after"
    assert MemoryDocs(db).read_text("b1") == "v0 after"


def test_rollback_to_an_undone_or_missing_version_is_refused(db: ConstellationDb) -> None:
    docs = _docs(db)
    docs.undo("b1")
    with pytest.raises(InvalidData):
        docs.rollback("b1", 3)
    with pytest.raises(InvalidData):
        docs.rollback("b1", 9)
    assert docs.read_text("b1") == TEXTS[2]
    docs.consolidate("b1")
    with pytest.raises(InvalidData):
        docs.rollback("b1", 1)
    assert MemoryDocs(db).read_text("b1") == TEXTS[2]


# -- other handles change what a cached document reflects ---------------------------------------


def _two(tmp_path: Path) -> tuple[ConstellationDb, ConstellationDb]:
    path = tmp_path / "c.db"
    return ConstellationDb.open(path), ConstellationDb.open(path)


def test_undo_by_another_handle_invalidates_the_cache(tmp_path: Path) -> None:
    one, two = _two(tmp_path)
    with one, two:
        first, second = _docs(one), MemoryDocs(two, MANUAL)
        assert first.read_text("b1") == TEXTS[3]
        second.undo("b1")
        assert first.read_text("b1") == TEXTS[2]
        second.redo("b1")
        assert first.read_text("b1") == TEXTS[3]
        second.undo("b1")
        first.append("b1", "!")
        assert second.read_text("b1") == TEXTS[2] + "!"
        assert MemoryDocs(one).read_text("b1") == TEXTS[2] + "!"


def test_undo_then_edit_by_another_handle_is_not_taken_for_new_deltas(tmp_path: Path) -> None:
    # The first handle holds seq 3; the second undoes it and stores seq 4. Catching up with
    # "the deltas after 3" would keep the undone change: the stored frontier check forbids it.
    one, two = _two(tmp_path)
    with one, two:
        first, second = _docs(one), MemoryDocs(two, MANUAL)
        assert first.read_text("b1") == TEXTS[3]
        second.undo("b1")
        second.append("b1", " v4")
        assert first.read_text("b1") == TEXTS[2] + " v4"
        first.append("b1", "!")
        assert MemoryDocs(two).read_text("b1") == TEXTS[2] + " v4!"


def test_raw_undo_through_the_queries_is_seen(tmp_path: Path) -> None:
    one, two = _two(tmp_path)
    with one, two:
        first = _docs(one)
        assert first.read_text("b1") == TEXTS[3]
        q.deactivate_latest_update(two, "b1")
        assert first.read_text("b1") == TEXTS[2]


def test_consolidation_past_the_cached_seq_by_another_handle(tmp_path: Path) -> None:
    one, two = _two(tmp_path)
    with one, two:
        first, second = _docs(one), MemoryDocs(two, MANUAL)
        assert first.read_text("b1") == TEXTS[3]
        second.append("b1", " x")
        second.append("b1", " y")
        second.consolidate("b1")
        assert first.read_text("b1") == TEXTS[3] + " x y"
        first.append("b1", " z")
        assert second.read_text("b1") == TEXTS[3] + " x y z"


def test_peer_id_survives_a_reload_unless_its_changes_were_undone(tmp_path: Path) -> None:
    one, two = _two(tmp_path)
    with one, two:
        first, second = _docs(one), MemoryDocs(two, MANUAL)

        def peer() -> int:
            entry = first._engine.cache.get("b1")
            assert entry is not None
            return entry.doc.peer_id

        first.append("b1", " mine")
        before = peer()
        second.append("b1", " theirs")
        second.consolidate("b1")  # first must reload: its changes are all in the checkpoint
        first.append("b1", " again")
        assert peer() == before
        second.undo("b1")  # undoes " again", written under `before`
        first.read_text("b1")
        assert peer() != before
        first.append("b1", " later")
        second.redo_steps("b1")
        assert MemoryDocs(two).read_text("b1") == TEXTS[3] + " mine theirs later"
