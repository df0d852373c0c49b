"""Bulk ingest: records, FTS and vectors in one pass, all or nothing, the cache kept warm."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pattern_db import ConstellationDb, errors, fts, ingest, vector
from pattern_db.models import Agent, ArchivalEntry, MemoryBlock, Message
from pattern_db.models.folder import FilePassage, Folder, FolderFile, FolderPathType
from pattern_db.models.memory import CONSTELLATION_OWNER
from pattern_db.queries import folder as q_folder
from pattern_db.queries import message as q_message
from pattern_db.queries.agent import create_agent
from pattern_db.queries.memory import archival as q_archival
from pattern_db.queries.memory import blocks as q_blocks
from pattern_db.vector import ContentType

DIM = 8
WORDS = ["apple", "river", "stone", "cloud", "maple", "ember", "tide", "quartz"]


@pytest.fixture
def vdb(db: ConstellationDb) -> ConstellationDb:
    """A database with two agents and an 8-dimension cosine index."""
    for agent_id in ("a1", "a2"):
        create_agent(db, Agent(id=agent_id, name=agent_id, model_provider="p", model_name="m"))
    vector.ensure_embeddings_table(db, DIM, model="test")
    return db


def vectors(n: int, seed: int = 1) -> np.ndarray[Any, np.dtype[np.float32]]:
    rng = np.random.default_rng(seed)
    out = rng.standard_normal((n, DIM)).astype(np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def entries(n: int, *, prefix: str = "e", agents: tuple[str, ...] = ("a1", "a2")) -> list[Any]:
    return [
        ArchivalEntry(
            id=f"{prefix}{i}",
            agent_id=agents[i % len(agents)],
            content=f"{WORDS[i % len(WORDS)]} note number {prefix}{i}",
        )
        for i in range(n)
    ]


def count(db: ConstellationDb, sql: str) -> int:
    with db.reader() as conn:
        return int(conn.execute(sql).fetchone()[0])


def stored(db: ConstellationDb) -> tuple[int, int, int]:
    """(archival rows, archival FTS rows, vectors)."""
    return (
        count(db, "SELECT count(*) FROM archival_entries"),
        count(db, "SELECT count(*) FROM archival_fts_docsize"),
        count(db, "SELECT count(*) FROM embeddings"),
    )


# -- what gets written ---------------------------------------------------------------------------


def test_archival_entries_with_vectors_are_stored_searchable_and_owned(
    vdb: ConstellationDb,
) -> None:
    batch = entries(2500)  # more than one multi-row statement, and a remainder
    matrix = vectors(2500)
    rowids = ingest.create_archival_entries(vdb, batch, embeddings=matrix)
    assert len(rowids) == 2500
    assert rowids == sorted(rowids)
    assert stored(vdb) == (2500, 2500, 2500)
    assert q_archival.get_archival_entry(vdb, "e1234") == batch[1234]
    # Keyword search sees them, per agent.
    assert [h.id for h in fts.search_archival(vdb, "e1234", "a1")] == ["e1234"]
    assert fts.search_archival(vdb, "e1234", "a2") == []
    # Each vector is its entry's, owned by the entry's agent.
    top = vector.knn_search(vdb, matrix[7], 1, ContentType.ARCHIVAL_ENTRY)
    assert [r.content_id for r in top] == ["e7"]
    mine = vector.knn_search(vdb, matrix[7], 5, agent_id="a2", include_shared=False)
    assert all(int(r.content_id[1:]) % 2 == 1 for r in mine)
    assert vdb.verify() == []


def test_without_embeddings_only_the_records_are_written(vdb: ConstellationDb) -> None:
    assert ingest.create_archival_entries(vdb, entries(30)) == []
    q_archival.create_archival_entries(vdb, (e for e in entries(5, prefix="g")))  # any iterable
    assert stored(vdb) == (35, 35, 0)
    assert ingest.create_archival_entries(vdb, [], embeddings=np.zeros((0, DIM))) == []


def test_content_hashes_are_stored_with_the_vectors(vdb: ConstellationDb) -> None:
    batch = entries(3)
    ingest.create_archival_entries(
        vdb, batch, embeddings=vectors(3), content_hashes=["h0", None, "h2"]
    )
    assert vector.embedding_is_current(vdb, ContentType.ARCHIVAL_ENTRY, "e0", "h0")
    assert not vector.embedding_is_current(vdb, ContentType.ARCHIVAL_ENTRY, "e1", "h1")
    with pytest.raises(errors.InvalidData, match="content hashes"):
        ingest.create_archival_entries(
            vdb, entries(2, prefix="x"), embeddings=vectors(2), content_hashes=["h"]
        )


def test_blocks_with_vectors(vdb: ConstellationDb) -> None:
    blocks = [
        MemoryBlock(id=f"b{i}", agent_id=owner, label=f"label{i}", content_preview=f"{w} block")
        for i, (owner, w) in enumerate(zip(["a1", "a2", CONSTELLATION_OWNER], WORDS, strict=False))
    ]
    matrix = vectors(3, seed=5)
    ingest.create_blocks(vdb, blocks, embeddings=matrix)
    assert q_blocks.get_block(vdb, "b2") == blocks[2]
    assert [b.id for b in fts.search_memory_blocks(vdb, "river", "a2")] == ["b1"]
    # The constellation's block is in every agent's scope; a1's is not in a2's.
    seen = {r.content_id for r in vector.knn_search(vdb, matrix[0], 3, agent_id="a2")}
    assert seen == {"b1", "b2"}
    with pytest.raises(errors.AlreadyExists, match="label"):
        q_blocks.create_blocks(vdb, [MemoryBlock(id="b9", agent_id="a1", label="label0")])


def test_passages_with_vectors_belong_to_the_folder(vdb: ConstellationDb) -> None:
    q_folder.create_folder(
        vdb, Folder(id="f1", name="docs", path_type=FolderPathType.VIRTUAL, embedding_model="m")
    )
    q_folder.upsert_file(vdb, FolderFile(id="ff1", folder_id="f1", name="a.txt"))
    passages = [
        FilePassage(id=f"p{i}", file_id="ff1", content=f"{WORDS[i]} passage", chunk_index=i)
        for i in range(4)
    ]
    matrix = vectors(4, seed=9)
    ingest.create_passages(vdb, passages, embeddings=matrix)
    assert q_folder.get_file_passages(vdb, "ff1") == passages
    assert [p.id for p in fts.search_file_passages(vdb, "stone", "f1")] == ["p2"]
    found = vector.knn_search(vdb, matrix[3], 1, folder_id="f1")
    assert [r.content_id for r in found] == ["p3"]
    assert vector.knn_search(vdb, matrix[3], 4, agent_id="a1") == []  # folder not attached
    q_folder.attach_folder_to_agent(vdb, "f1", "a1")
    assert len(vector.knn_search(vdb, matrix[3], 4, agent_id="a1")) == 4


def test_messages_with_vectors(vdb: ConstellationDb) -> None:
    messages = [
        Message(id=f"m{i}", agent_id="a1", position=i + 1, content_json={"text": f"{w} said"})
        for i, w in enumerate(WORDS)
    ]
    matrix = vectors(len(messages), seed=3)
    ingest.create_messages(vdb, messages, embeddings=matrix)
    assert q_message.count_messages(vdb, "a1") == len(WORDS)
    assert [m.id for m in fts.search_messages(vdb, "ember", "a1")] == ["m5"]
    top = vector.knn_search(vdb, matrix[5], 1, ContentType.MESSAGE, agent_id="a1")
    assert [r.content_id for r in top] == ["m5"]
    dead = Message(id="dead", agent_id="a1", position=99, content_json="x", is_deleted=True)
    with pytest.raises(errors.InvalidData, match="tombstoned"):
        ingest.create_messages(vdb, [dead], embeddings=vectors(1))


# -- nothing of a refused batch is stored --------------------------------------------------------


def test_a_wrong_length_vector_stores_nothing(vdb: ConstellationDb) -> None:
    ragged = [list(v) for v in vectors(3)]
    ragged[2] = ragged[2][:-1]
    with pytest.raises(errors.DimensionMismatch):
        ingest.create_archival_entries(vdb, entries(3), embeddings=ragged)
    with pytest.raises(errors.DimensionMismatch):
        ingest.create_archival_entries(vdb, entries(3), embeddings=np.ones((3, DIM + 1)))
    with pytest.raises(errors.InvalidData, match="2 embeddings for 3 items"):
        ingest.create_archival_entries(vdb, entries(3), embeddings=vectors(2))
    bad = vectors(3)
    bad[1, 0] = np.nan
    with pytest.raises(errors.InvalidData):
        ingest.create_archival_entries(vdb, entries(3), embeddings=bad)
    assert stored(vdb) == (0, 0, 0)


def test_a_duplicate_id_stores_nothing_and_is_named(vdb: ConstellationDb) -> None:
    batch = entries(4)
    batch[3] = ArchivalEntry(id="e1", agent_id="a1", content="again")
    with pytest.raises(errors.AlreadyExists, match="e1") as repeated:
        ingest.create_archival_entries(vdb, batch, embeddings=vectors(4))
    assert "row 4 of 4" in "\n".join(repeated.value.__notes__)
    assert stored(vdb) == (0, 0, 0)

    q_archival.create_archival_entry(vdb, ArchivalEntry(id="taken", agent_id="a1", content="x"))
    big = entries(1500)
    big[1400] = ArchivalEntry(id="taken", agent_id="a2", content="clash")
    with pytest.raises(errors.AlreadyExists, match="taken") as clash:
        ingest.create_archival_entries(vdb, big, embeddings=vectors(1500))
    assert "row 1401 of 1500" in "\n".join(clash.value.__notes__)
    assert stored(vdb) == (1, 1, 0)


def test_an_unknown_agent_stores_nothing(vdb: ConstellationDb) -> None:
    batch = entries(5)
    batch[2] = ArchivalEntry(id="e2", agent_id="ghost", content="who")
    with pytest.raises(errors.ConstraintViolation, match=r"ghost.*row 3 of 5"):
        ingest.create_archival_entries(vdb, batch, embeddings=vectors(5))
    with pytest.raises(errors.ConstraintViolation, match="ghost"):
        ingest.create_blocks(vdb, [MemoryBlock(agent_id="ghost", label="x")], embeddings=vectors(1))
    messages = [Message(id="m1", agent_id="ghost", position=1, content_json="hi")]
    with pytest.raises(errors.ConstraintViolation, match="foreign key"):
        ingest.create_messages(vdb, messages, embeddings=vectors(1))
    assert stored(vdb) == (0, 0, 0)
    assert count(vdb, "SELECT count(*) FROM memory_blocks") == 0
    assert count(vdb, "SELECT count(*) FROM messages") == 0


def test_an_unknown_file_stores_no_passage(vdb: ConstellationDb) -> None:
    passages = [FilePassage(id="p1", file_id="nofile", content="lost")]
    with pytest.raises(errors.ConstraintViolation):
        ingest.create_passages(vdb, passages, embeddings=vectors(1))
    assert count(vdb, "SELECT count(*) FROM file_passages") == 0
    assert count(vdb, "SELECT count(*) FROM embeddings") == 0


def test_vectors_without_an_index_are_refused(db: ConstellationDb) -> None:
    create_agent(db, Agent(id="a1", name="a1", model_provider="p", model_name="m"))
    with pytest.raises(errors.InvalidData, match="no vector index"):
        ingest.create_archival_entries(db, entries(2, agents=("a1",)), embeddings=vectors(2))
    assert count(db, "SELECT count(*) FROM archival_entries") == 0


# -- transactions and the cache ------------------------------------------------------------------


def test_many_batches_in_one_transaction_without_savepoints(vdb: ConstellationDb) -> None:
    with vdb.transaction(savepoints=False) as tx:
        for b in range(4):
            batch = entries(300, prefix=f"t{b}_")
            ingest.create_archival_entries(tx, batch, embeddings=vectors(300, seed=b))
        # The transaction sees its own writes, by keyword and by vector (SQL path).
        assert fts.search_archival(tx, "t3_7", "a2")[0].id == "t3_7"
    assert stored(vdb) == (1200, 1200, 1200)
    assert vdb.verify() == []


def test_a_refused_batch_in_a_savepoint_transaction_rolls_back_alone(
    vdb: ConstellationDb,
) -> None:
    with vdb.transaction() as tx:
        ingest.create_archival_entries(tx, entries(3), embeddings=vectors(3))
        with pytest.raises(errors.AlreadyExists):
            ingest.create_archival_entries(tx, entries(3), embeddings=vectors(3))
        ingest.create_archival_entries(tx, entries(2, prefix="z"), embeddings=vectors(2))
    assert stored(vdb) == (5, 5, 5)


def test_the_cache_takes_the_batch_without_reading_it_back(vdb: ConstellationDb) -> None:
    first = vectors(50, seed=11)
    ingest.create_archival_entries(vdb, entries(50, prefix="w"), embeddings=first)
    assert vector.warm_vector_cache(vdb) == 50
    before = vector.vector_cache_info(vdb)
    more = vectors(2000, seed=12)
    ingest.create_archival_entries(vdb, entries(2000), embeddings=more)
    after = vector.vector_cache_info(vdb)
    # Applied at commit: the cache already holds the new rows at the index's generation.
    assert after.loaded
    assert after.vectors == 2050
    assert before.generation is not None
    assert after.generation == before.generation + 1
    assert after.generation == vector.get_index_config(vdb).generation  # type: ignore[union-attr]
    query = more[1999]
    cached = vector.knn_search(vdb, query, 10)
    with vdb.transaction() as tx:  # inside a transaction the search runs in SQL
        by_sql = vector.knn_search(tx, query, 10)
    assert cached == by_sql
    assert cached[0].content_id == "e1999"
