"""Vector index settings, writes, bookkeeping and the sqlite-vec requirement."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pattern_db import ConstellationDb, _vec_loader, vector
from pattern_db.errors import DimensionMismatch, ExtensionError, InvalidData
from pattern_db.vector import ContentType, EmbeddingStats, VectorSearchResult


def test_content_type_values() -> None:
    assert [t.value for t in ContentType] == [
        "message",
        "memory_block",
        "archival_entry",
        "file_passage",
    ]
    assert ContentType.MESSAGE == "message"


def test_result_record_shape() -> None:
    r = VectorSearchResult("m1", 0.25, ContentType.MESSAGE, None)
    assert (r.content_id, r.distance, r.content_type, r.chunk_index) == (
        "m1",
        0.25,
        "message",
        None,
    )


def test_sqlite_vec_version(db: ConstellationDb) -> None:
    assert vector.init_sqlite_vec() == db.vec_version
    assert vector.verify_sqlite_vec(db) == db.vec_version
    assert vector.verify_sqlite_vec(db).startswith("v0.1.")


# -- settings ----------------------------------------------------------------------------------


def test_settings_are_recorded_once_and_enforced(db: ConstellationDb) -> None:
    vector.ensure_embeddings_table(db, 4, model="mini")
    vector.ensure_embeddings_table(db, 4, model="mini")
    vector.ensure_embeddings_table(db, 4)  # no model given: any recorded model is fine
    stats = vector.get_embedding_stats(db)
    assert (stats.dimensions, stats.model, stats.metric) == (4, "mini", "cosine")
    with pytest.raises(DimensionMismatch) as info:
        vector.ensure_embeddings_table(db, 8, model="mini")
    assert (info.value.expected, info.value.got) == (4, 8)
    with pytest.raises(InvalidData, match=r"model 'mini', not 'other'.*reset=True"):
        vector.ensure_embeddings_table(db, 4, model="other")
    with pytest.raises(InvalidData, match="cosine metric, not l2"):
        vector.ensure_embeddings_table(db, 4, model="mini", metric="l2")


def test_model_is_recorded_when_first_given(db: ConstellationDb) -> None:
    vector.ensure_embeddings_table(db, 4)
    assert vector.get_embedding_stats(db).model is None
    vector.ensure_embeddings_table(db, 4, model="late")
    assert vector.get_embedding_stats(db).model == "late"


@pytest.mark.parametrize(
    ("dimensions", "metric"), [(0, "cosine"), (8193, "cosine"), (4, "dot"), (True, "cosine")]
)
def test_bad_settings(db: ConstellationDb, dimensions: int, metric: str) -> None:
    with pytest.raises(InvalidData):
        vector.ensure_embeddings_table(db, dimensions, metric=metric)


def test_reset_drops_vectors_and_switches_model(db: ConstellationDb) -> None:
    vector.ensure_embeddings_table(db, 3, model="old")
    vector.insert_embedding(db, "message", "m1", [1, 2, 3])
    vector.insert_embedding(db, "message", "m2", [3, 2, 1])
    assert vector.reset_embeddings(db, 2, model="new", metric="l2") == 2
    stats = vector.get_embedding_stats(db)
    assert stats == EmbeddingStats(dimensions=2, model="new", metric="l2")
    assert vector.knn_search(db, [1, 2], 5) == []
    vector.insert_embedding(db, "message", "m1", [1, 2])
    vector.ensure_embeddings_table(db, 5, model="newer", reset=True)
    assert vector.get_embedding_stats(db).total_embeddings == 0
    assert vector.get_embedding_stats(db).dimensions == 5


# -- writes ------------------------------------------------------------------------------------


def test_writes_need_an_index(db: ConstellationDb) -> None:
    with pytest.raises(InvalidData, match="ensure_embeddings_table"):
        vector.insert_embedding(db, "message", "m1", [1.0])
    assert vector.delete_embeddings(db, "message", "m1") == 0


def test_insert_accepts_sequences_and_arrays(db: ConstellationDb) -> None:
    vector.ensure_embeddings_table(db, 3)
    first = vector.insert_embedding(db, "message", "list", [1, 2, 3])
    second = vector.insert_embedding(db, ContentType.MESSAGE, "tuple", (1.0, 2.0, 3.5))
    third = vector.insert_embedding(db, "message", "f64", np.array([3, 2, 1], np.float64))
    fourth = vector.insert_embedding(db, "message", "f32", np.array([3, 2, 1.5], np.float32))
    assert [first, second, third, fourth] == [1, 2, 3, 4]
    assert vector.get_embedding_stats(db).total_embeddings == 4


@pytest.mark.parametrize(
    ("embedding", "error"),
    [
        ([1, 2], DimensionMismatch),
        ([1, 2, 3, 4], DimensionMismatch),
        ([], DimensionMismatch),
        ([1, float("nan"), 3], InvalidData),
        ([1, float("-inf"), 3], InvalidData),
        (np.array([1e39, 1, 1]), InvalidData),  # beyond float32
        ([0, 0, 0], InvalidData),  # no direction: cosine undefined
        ([[1, 2, 3]], InvalidData),
        (["a", "b", "c"], InvalidData),
        (np.array([1 + 1j, 2, 3]), InvalidData),
        ([1, None, 3], InvalidData),
    ],
)
def test_insert_checks_the_vector(db: ConstellationDb, embedding: object, error: type) -> None:
    vector.ensure_embeddings_table(db, 3)
    with pytest.raises(error):
        vector.insert_embedding(db, "message", "m1", embedding)  # type: ignore[arg-type]
    assert vector.get_embedding_stats(db).total_embeddings == 0


def test_zero_vector_is_fine_under_l2(db: ConstellationDb) -> None:
    vector.ensure_embeddings_table(db, 2, metric="l2")
    vector.insert_embedding(db, "message", "origin", [0, 0])
    assert vector.knn_search(db, [0, 0], 1)[0].distance == 0.0


def test_insert_checks_the_arguments(db: ConstellationDb) -> None:
    vector.ensure_embeddings_table(db, 2)
    with pytest.raises(InvalidData, match="unknown content type 'tweet'"):
        vector.insert_embedding(db, "tweet", "t1", [1, 2])
    for chunk in (-1, 1.5, True):
        with pytest.raises(InvalidData, match="chunk_index"):
            vector.insert_embedding(db, "message", "m1", [1, 2], chunk)  # type: ignore[arg-type]


def test_chunks_and_delete(db: ConstellationDb) -> None:
    vector.ensure_embeddings_table(db, 2)
    for chunk in range(3):
        vector.insert_embedding(db, "file_passage", "p1", [1, chunk + 1], chunk, agent_id="a1")
    vector.insert_embedding(db, "file_passage", "p2", [1, 1])
    vector.insert_embedding(db, "message", "p1", [1, 1])  # same id, other type: kept
    got = vector.knn_search(db, [1, 1], 10, "file_passage")
    assert [(r.content_id, r.chunk_index) for r in got] == [
        ("p1", 0),
        ("p2", None),
        ("p1", 1),
        ("p1", 2),
    ]
    assert vector.delete_embeddings(db, "file_passage", "p1") == 3
    assert vector.delete_embeddings(db, "file_passage", "p1") == 0
    assert [r.content_id for r in vector.knn_search(db, [1, 1], 10)] == ["p1", "p2"]
    assert vector.get_embedding_stats(db).by_content_type == {
        ContentType.FILE_PASSAGE: 1,
        ContentType.MESSAGE: 1,
    }


def test_update_replaces_every_chunk_atomically(db: ConstellationDb) -> None:
    vector.ensure_embeddings_table(db, 2)
    vector.insert_embedding(db, "archival_entry", "e1", [1, 0], 0, "h1", agent_id="a1")
    vector.insert_embedding(db, "archival_entry", "e1", [0, 1], 1, "h1", agent_id="a1")
    with pytest.raises(DimensionMismatch):
        vector.update_embedding(db, "archival_entry", "e1", [1, 2, 3], content_hash="h2")
    assert vector.get_embedding_stats(db).total_embeddings == 2  # nothing half-done
    rowid = vector.update_embedding(db, "archival_entry", "e1", [1, 1], None, "h2", agent_id="a1")
    assert rowid == 3
    got = vector.knn_search(db, [1, 1], 10, agent_id="a1")
    assert [(r.content_id, r.chunk_index) for r in got] == [("e1", None)]
    assert vector.embedding_is_current(db, "archival_entry", "e1", "h2")
    vector.update_embedding(db, "archival_entry", "e1", [2, 1], content_hash="h3")
    got = vector.knn_search(db, [1, 1], 10, agent_id="a1")  # no agent given: the owner stays
    assert [(r.content_id, r.chunk_index) for r in got] == [("e1", None)]


def test_bulk_insert(db: ConstellationDb) -> None:
    vector.ensure_embeddings_table(db, 2)
    rowids = vector.insert_embeddings(
        db,
        "message",
        ["m1", "m2", "m3"],
        np.array([[1, 0], [0, 1], [1, 1]], np.float32),
        chunk_indexes=[None, 0, 1],
        content_hashes=["h1", None, "h3"],
        agent_ids=["a1", "a2", None],
    )
    assert rowids == [1, 2, 3]
    # m3 has no owner: constellation-wide, in every agent's scope; m1 is a1's alone.
    assert [r.content_id for r in vector.knn_search(db, [1, 0.1], 3, agent_id="a2")] == [
        "m3",
        "m2",
    ]
    own = vector.knn_search(db, [1, 0.1], 3, agent_id="a2", include_shared=False)
    assert [r.content_id for r in own] == ["m2"]
    assert vector.embedding_is_current(db, "message", "m3", "h3")
    assert vector.insert_embeddings(db, "message", [], []) == []
    with pytest.raises(DimensionMismatch):
        vector.insert_embeddings(db, "message", ["x", "y"], [[1, 2], [1, 2, 3]])
    with pytest.raises(InvalidData):
        vector.insert_embeddings(db, "message", ["x", "y"], [[1, 2], [1, float("nan")]])
    with pytest.raises(InvalidData, match="differ in length"):
        vector.insert_embeddings(db, "message", ["x", "y"], [[1, 2]], agent_ids=["a"])
    with pytest.raises(InvalidData, match="1 embeddings for 2"):
        vector.insert_embeddings(db, "message", ["x", "y"], [[1, 2]])
    assert vector.get_embedding_stats(db).total_embeddings == 3


def test_writes_in_a_transaction_roll_back_together(db: ConstellationDb) -> None:
    vector.ensure_embeddings_table(db, 2)

    def fail() -> None:
        with db.transaction() as tx:
            vector.insert_embedding(tx, "message", "m1", [1, 2])
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail()
    assert vector.get_embedding_stats(db).total_embeddings == 0
    assert vector.knn_search(db, [1, 2], 3) == []


# -- bookkeeping -------------------------------------------------------------------------------


def test_embedding_is_current(db: ConstellationDb) -> None:
    vector.ensure_embeddings_table(db, 2)
    assert not vector.embedding_is_current(db, "message", "m1", "h")  # no vector
    vector.insert_embedding(db, "message", "m1", [1, 2])  # NULL hash: False, not an error
    assert not vector.embedding_is_current(db, "message", "m1", "h")
    vector.update_embedding(db, "message", "m1", [1, 2], content_hash="h")
    assert vector.embedding_is_current(db, "message", "m1", "h")
    assert not vector.embedding_is_current(db, "message", "m1", "other")
    assert not vector.embedding_is_current(db, "memory_block", "m1", "h")
    vector.insert_embedding(db, "message", "m1", [2, 1], 1, "stale")
    assert not vector.embedding_is_current(db, "message", "m1", "h")  # every chunk must match


def test_stats(db: ConstellationDb) -> None:
    assert vector.get_embedding_stats(db) == EmbeddingStats()
    vector.ensure_embeddings_table(db, 2, model="m")
    vector.insert_embedding(db, "message", "m1", [1, 2])
    vector.insert_embedding(db, "message", "m2", [1, 2])
    vector.insert_embedding(db, "file_passage", "p1", [1, 2])
    assert vector.get_embedding_stats(db) == EmbeddingStats(
        total_embeddings=3,
        by_content_type={ContentType.MESSAGE: 2, ContentType.FILE_PASSAGE: 1},
        dimensions=2,
        model="m",
        metric="cosine",
    )
    assert db.stats().embedding_count == 3


# -- without sqlite-vec ------------------------------------------------------------------------


@pytest.fixture(params=["memory", "file"])
def db_without_vec(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> ConstellationDb:
    monkeypatch.setattr(_vec_loader, "wheel_library", lambda: str(tmp_path / "no-such-lib"))
    if request.param == "memory":
        return ConstellationDb.open_in_memory()
    return ConstellationDb.open(tmp_path / "c.db")


def test_every_function_raises_extension_error_without_sqlite_vec(
    db_without_vec: ConstellationDb,
) -> None:
    db = db_without_vec
    with db:
        assert db.vec_version is None
        calls = [
            lambda: vector.init_sqlite_vec(),
            lambda: vector.verify_sqlite_vec(db),
            lambda: vector.ensure_embeddings_table(db, 3),
            lambda: vector.reset_embeddings(db, 3),
            lambda: vector.insert_embedding(db, "message", "m1", [1, 2, 3]),
            lambda: vector.insert_embeddings(db, "message", ["m1"], [[1, 2, 3]]),
            lambda: vector.update_embedding(db, "message", "m1", [1, 2, 3]),
            lambda: vector.delete_embeddings(db, "message", "m1"),
            lambda: vector.knn_search(db, [1, 2, 3], 3),
            lambda: vector.search_similar(db, [1, 2, 3], "message", 3),
            lambda: vector.embedding_is_current(db, "message", "m1", "h"),
            lambda: vector.get_embedding_stats(db),
            lambda: vector.configure_vector_cache(db),
            lambda: vector.warm_vector_cache(db),
            lambda: vector.vector_cache_info(db),
        ]
        for call in calls:
            with pytest.raises(ExtensionError, match="sqlite-vec"):
                call()
        with db.transaction() as tx, pytest.raises(ExtensionError):
            vector.knn_search(tx, [1, 2, 3], 3)
        # The rest of the database still works.
        assert db.schema_version() > 0


def test_content_hashes_name_each_item_and_flag_disagreeing_chunks(db: ConstellationDb) -> None:
    vector.ensure_embeddings_table(db, 3)
    vector.insert_embedding(db, "message", "m1", [1.0, 0.0, 0.0], 0, "h1")
    vector.insert_embedding(db, "message", "m1", [0.0, 1.0, 0.0], 1, "h1")
    vector.insert_embedding(db, "message", "m2", [1.0, 1.0, 0.0], 0, "h2")
    vector.insert_embedding(db, "message", "m2", [1.0, 1.0, 1.0], 1, "other")
    vector.insert_embedding(db, "message", "m3", [0.0, 0.0, 1.0])
    vector.insert_embedding(db, "memory_block", "b1", [0.0, 0.0, 1.0], None, "hb")
    assert vector.content_hashes(db, "message") == {"m1": "h1", "m2": None, "m3": None}
    assert vector.content_hashes(db, vector.ContentType.MEMORY_BLOCK) == {"b1": "hb"}
    assert vector.content_hashes(db, "file_passage") == {}
