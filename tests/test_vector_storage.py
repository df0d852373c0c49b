"""Where vectors live: bounded disk for every owner mix, one agent scope, no stale vectors."""

from __future__ import annotations

from pathlib import Path

import apsw
import numpy as np
import pytest

from pattern_db import ConstellationDb, fts, vector
from pattern_db import migrate as mig
from pattern_db.models import ArchivalEntry, FilePassage, FolderAttachment, SharedBlockAttachment
from pattern_db.models.memory import CONSTELLATION_OWNER
from pattern_db.queries import agent as agent_q
from pattern_db.queries import folder as folder_q
from pattern_db.queries import memory as memory_q
from pattern_db.queries import message as message_q
from pattern_db.search import ContentFilter, search
from pattern_db.vector import ContentType
from tests.search_support import agents, block, fake_embedding, folder_with_file, insert, msg
from tests.vector_support import use_path

DIMS = 16
PATHS = ["cache", "sqlite-vec"]


def _file_bytes(db: ConstellationDb) -> int:
    db.checkpoint()
    assert db.path is not None
    return db.path.stat().st_size


def _within_small_factor(db: ConstellationDb, empty: int, vectors: int, dims: int) -> None:
    raw = vectors * dims * 4
    # Beyond the empty file (its schema), the vectors take at most twice their raw bytes.
    grown = _file_bytes(db) - empty
    assert grown <= 2 * raw + 64 * 1024, (grown, raw)


# -- 1. disk ---------------------------------------------------------------------------------


def test_vectors_stored_without_an_agent_take_about_their_raw_size(
    file_db: ConstellationDb,
) -> None:
    vector.ensure_embeddings_table(file_db, 384)
    empty = _file_bytes(file_db)
    rng = np.random.default_rng(0)
    for i in range(200):  # the seed's call: no agent, one insert at a time
        vector.insert_embedding(file_db, "message", f"m{i}", rng.standard_normal(384), None, "h")
    _within_small_factor(file_db, empty, 200, 384)


def test_many_agents_with_a_few_vectors_each_take_about_their_raw_size(
    file_db: ConstellationDb,
) -> None:
    vector.ensure_embeddings_table(file_db, 384)
    empty = _file_bytes(file_db)
    rng = np.random.default_rng(1)
    for i in range(600):
        vector.insert_embedding(
            file_db, "message", f"m{i}", rng.standard_normal(384), agent_id=f"agent{i % 300}"
        )
    _within_small_factor(file_db, empty, 600, 384)


def test_re_embedding_the_same_items_does_not_grow_the_file(file_db: ConstellationDb) -> None:
    vector.ensure_embeddings_table(file_db, 384)
    empty = _file_bytes(file_db)
    rng = np.random.default_rng(2)
    for _ in range(40):
        for i in range(50):
            vector.update_embedding(file_db, "memory_block", f"b{i}", rng.standard_normal(384))
    assert vector.get_embedding_stats(file_db).total_embeddings == 50
    _within_small_factor(file_db, empty, 50, 384)


# -- 2. one agent scope ---------------------------------------------------------------------


@pytest.fixture
def scoped(db: ConstellationDb) -> ConstellationDb:
    """Two agents' private rows, shared and constellation rows, folders, an unstored item.

    Every row mentions "garden" and every vector is stored the seed's way, without an agent.
    """
    agents(db, "a1", "a2")
    f1, file1 = folder_with_file("f1", "file1")
    f2, file2 = folder_with_file("f2", "file2")
    insert(
        db,
        msg("m_a1", "a1", "garden plan"),
        msg("m_a2", "a2", "garden plan"),
        block("b_own", "a1", "plans", "garden plan"),
        block("b_shared", "a2", "household", "garden plan"),
        block("b_private", "a2", "diary", "garden plan"),
        block("b_team", CONSTELLATION_OWNER, "team", "garden plan"),
        SharedBlockAttachment(block_id="b_shared", agent_id="a1"),
        ArchivalEntry(id="e_a1", agent_id="a1", content="garden plan"),
        ArchivalEntry(id="e_a2", agent_id="a2", content="garden plan"),
        ArchivalEntry(id="e_team", agent_id=CONSTELLATION_OWNER, content="garden plan"),
        f1,
        file1,
        f2,
        file2,
        FilePassage(id="p_f1", file_id="file1", content="garden plan"),
        FilePassage(id="p_f2", file_id="file2", content="garden plan"),
        FolderAttachment(folder_id="f1", agent_id="a1"),
    )
    vector.ensure_embeddings_table(db, DIMS, model="test")
    items = [
        (ContentType.MESSAGE, "m_a1"),
        (ContentType.MESSAGE, "m_a2"),
        (ContentType.MEMORY_BLOCK, "b_own"),
        (ContentType.MEMORY_BLOCK, "b_shared"),
        (ContentType.MEMORY_BLOCK, "b_private"),
        (ContentType.MEMORY_BLOCK, "b_team"),
        (ContentType.ARCHIVAL_ENTRY, "e_a1"),
        (ContentType.ARCHIVAL_ENTRY, "e_a2"),
        (ContentType.ARCHIVAL_ENTRY, "e_team"),
        (ContentType.FILE_PASSAGE, "p_f1"),
        (ContentType.FILE_PASSAGE, "p_f2"),
        (ContentType.ARCHIVAL_ENTRY, "unstored"),
    ]
    for content_type, content_id in items:
        vector.insert_embedding(db, content_type, content_id, fake_embedding(content_id), None)
    return db


A1_SCOPE = {"m_a1", "b_own", "b_shared", "b_team", "e_a1", "e_team", "p_f1", "unstored"}
A1_OWN = {"m_a1", "b_own", "e_a1", "p_f1"}


@pytest.mark.parametrize("path", PATHS)
def test_an_agents_vector_scope_is_what_it_may_see(scoped: ConstellationDb, path: str) -> None:
    use_path(scoped, path)
    q = fake_embedding("garden")

    def ids(content_type: ContentType | None = None, **kw: object) -> set[str]:
        found = vector.knn_search(scoped, q, 50, content_type, **kw)  # type: ignore[arg-type]
        return {r.content_id for r in found}

    assert ids(agent_id="a1") == A1_SCOPE
    assert ids(agent_id="a1", include_shared=False) == A1_OWN
    assert ids(ContentType.FILE_PASSAGE, agent_id="a1") == {"p_f1"}
    assert ids(ContentType.FILE_PASSAGE, agent_id="a1", folder_id="f2") == set()
    assert ids(ContentType.FILE_PASSAGE, folder_id="f2") == {"p_f2"}
    assert ids(ContentType.MEMORY_BLOCK, agent_id="a1") == {"b_own", "b_shared", "b_team"}
    a2 = ids(agent_id="a2")
    assert a2 == {"m_a2", "b_shared", "b_private", "b_team", "e_a2", "e_team", "unstored"}
    assert len(ids()) == 12


def test_fts_vector_and_hybrid_agree_on_an_agents_scope(scoped: ConstellationDb) -> None:
    stored = A1_SCOPE - {"unstored"}  # full-text search only finds stored rows
    assert {m.id for m in fts.search_all(scoped, "garden", "a1", 50)} == stored
    own = fts.search_all(scoped, "garden", "a1", 50, include_shared=False)
    assert {m.id for m in own} == A1_OWN
    q = fake_embedding("garden")
    for mode_text, mode_vector in ((True, False), (False, True), (True, True)):
        s = search(scoped).filter(ContentFilter.all("a1")).limit(50)
        if mode_text:
            s = s.text("garden")
        if mode_vector:
            s = s.embedding(q)
        assert {r.id for r in s.execute()} == stored
    passages = search(scoped).embedding(q).filter(ContentFilter.file_passages(agent_id="a1"))
    assert [r.id for r in passages.limit(5).execute()] == ["p_f1"]


@pytest.mark.parametrize("path", PATHS)
def test_a_vector_stored_before_its_content_moves_to_the_contents_owner(
    db: ConstellationDb, path: str
) -> None:
    agents(db, "a1", "a2")
    vector.ensure_embeddings_table(db, DIMS)
    vector.insert_embedding(db, "message", "later", fake_embedding("later"))
    use_path(db, path)
    q = fake_embedding("later")
    assert [r.content_id for r in vector.knn_search(db, q, 5, agent_id="a1")] == ["later"]
    message_q.create_message(db, msg("later", "a2", "stored now"))
    assert vector.knn_search(db, q, 5, agent_id="a1") == []
    assert [r.content_id for r in vector.knn_search(db, q, 5, agent_id="a2")] == ["later"]


def test_an_agent_given_for_someone_elses_content_is_refused(scoped: ConstellationDb) -> None:
    from pattern_db.errors import InvalidData

    with pytest.raises(InvalidData, match="belongs to 'a2'"):
        vector.insert_embedding(scoped, "message", "m_a2", fake_embedding("x"), agent_id="a1")


# -- 4. stale vectors -------------------------------------------------------------------------


def _deletions(db: ConstellationDb) -> dict[str, tuple[str, ...]]:
    """Run every way content leaves the database; return which ids each one removed."""
    return {
        "tombstone": (message_q.delete_message(db, "m_a1") and ("m_a1",)) or (),
        "delete agent": (agent_q.delete_agent(db, "a2") and ("m_a2",)) or (),
        "delete block": (memory_q.delete_block(db, "b_private") and ("b_private",)) or (),
        "delete entry": (memory_q.delete_archival_entry(db, "e_a1") and ("e_a1",)) or (),
        "delete file": (folder_q.delete_file(db, "file1") and ("p_f1",)) or (),
        "delete folder": (folder_q.delete_folder(db, "f2") and ("p_f2",)) or (),
    }


@pytest.mark.parametrize("path", PATHS)
def test_deleting_content_deletes_its_vectors(scoped: ConstellationDb, path: str) -> None:
    use_path(scoped, path)
    q = fake_embedding("garden")
    assert len(vector.knn_search(scoped, q, 50)) == 12
    removed = {cid for ids in _deletions(scoped).values() for cid in ids}
    assert removed == {"m_a1", "m_a2", "b_private", "e_a1", "p_f1", "p_f2"}
    left = {r.content_id for r in vector.knn_search(scoped, q, 50)}
    assert left == {"b_own", "b_shared", "b_team", "e_a2", "e_team", "unstored"}
    assert vector.get_embedding_stats(scoped).total_embeddings == 6


def test_deleting_a_parent_archival_entry_deletes_its_chunks_vectors(db: ConstellationDb) -> None:
    insert(
        db,
        ArchivalEntry(id="parent", agent_id="a1", content="long text"),
        ArchivalEntry(id="chunk", agent_id="a1", content="part", parent_entry_id="parent"),
    )
    vector.ensure_embeddings_table(db, DIMS)
    vector.insert_embedding(db, "archival_entry", "parent", fake_embedding("p"))
    vector.insert_embedding(db, "archival_entry", "chunk", fake_embedding("c"))
    memory_q.delete_archival_entry(db, "parent")
    assert vector.knn_search(db, fake_embedding("c"), 5) == []


def test_replacing_a_files_passages_drops_the_old_vectors(scoped: ConstellationDb) -> None:
    folder_q.replace_file_passages(
        scoped, "file1", [FilePassage(id="p_new", file_id="file1", content="garden")]
    )
    hits = vector.knn_search(scoped, fake_embedding("p_f1"), 50, ContentType.FILE_PASSAGE)
    assert {r.content_id for r in hits} == {"p_f2"}


def test_verify_reports_vectors_whose_content_is_not_stored(scoped: ConstellationDb) -> None:
    assert vector.find_orphans(scoped) == {ContentType.ARCHIVAL_ENTRY: 1}
    assert any("1 archival_entry vector" in p for p in scoped.verify())
    assert vector.purge_orphans(scoped) == 1
    assert vector.find_orphans(scoped) == {}
    assert not [p for p in scoped.verify() if "vector" in p]


# -- migration from the sqlite-vec table -----------------------------------------------------


def test_a_file_with_vectors_in_a_vec0_table_keeps_them(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = apsw.Connection(str(path))
    try:
        vector_module_path = __import__("sqlite_vec").loadable_path()
        conn.enable_load_extension(True)
        conn.load_extension(vector_module_path)
        mig.apply_migrations(conn, [m for m in mig.load_migrations() if m.version <= 2])
        # What pattern-db 0.1 wrote: settings, vec0 vectors under rowids of embedding_rows.
        conn.execute(
            "INSERT INTO embedding_meta (id, model, dimensions, metric, generation, created_at,"
            " updated_at) VALUES (1, 'm', 2, 'cosine', 3, '2026-01-01T00:00:00.000000Z',"
            " '2026-01-01T00:00:00.000000Z')"
        )
        conn.execute(
            "CREATE VIRTUAL TABLE embeddings USING vec0(embedding float[2] distance_metric=cosine,"
            " agent_id text partition key, content_type text)"
        )
        conn.execute(
            "INSERT INTO agents (id, name, model_provider, model_name, system_prompt, config,"
            " enabled_tools, created_at, updated_at) VALUES ('a1', 'a1', 'p', 'm', 's', '{}', '[]',"
            " '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z')"
        )
        conn.execute(
            "INSERT INTO messages (id, agent_id, position, role, content_json, created_at)"
            " VALUES ('m1', 'a1', '00000000000000000001', 'user', '{}',"
            " '2026-01-01T00:00:00.000000Z')"
        )
        for rowid, (cid, agent, vec) in enumerate(
            [("m1", None, [1.0, 0.0]), ("ghost", "a9", [0.0, 1.0])], start=1
        ):
            conn.execute(
                "INSERT INTO embedding_rows (id, content_type, content_id, agent_id)"
                " VALUES (?, 'message', ?, ?)",
                (rowid, cid, agent),
            )
            conn.execute(
                "INSERT INTO embeddings (rowid, embedding, agent_id, content_type)"
                " VALUES (?, ?, ?, 'message')",
                (rowid, np.array(vec, np.float32).tobytes(), agent),
            )
    finally:
        conn.close()
    with ConstellationDb.open(path) as db:
        got = vector.knn_search(db, [1.0, 0.1], 5, agent_id="a1", include_shared=False)
        assert [r.content_id for r in got] == ["m1"]  # its owner now comes from the message
        assert [r.content_id for r in vector.knn_search(db, [0.0, 1.0], 1, agent_id="a9")] == [
            "ghost"
        ]
        assert vector.get_embedding_stats(db).total_embeddings == 2
        with db.reader() as conn:
            assert conn.execute("SELECT count(*) FROM sqlite_schema WHERE sql LIKE '%vec0%'")
            (count,) = conn.execute(
                "SELECT count(*) FROM sqlite_schema WHERE sql LIKE '%USING vec0%'"
            ).fetchone()
        assert count == 0
