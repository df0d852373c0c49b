"""k-NN correctness: both search paths against a float64 brute force, filters, ties, metrics."""

from __future__ import annotations

import apsw
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pattern_db import ConstellationDb, vector
from pattern_db.errors import DimensionMismatch, InvalidData
from pattern_db.vector import ContentType
from tests.vector_support import (
    TYPES,
    Dataset,
    Row,
    as_tuples,
    brute_force,
    random_dataset,
    use_path,
)

PATHS = ["cache", "sqlite-vec"]
FILTERS = [
    (None, None),
    (ContentType.MESSAGE, None),
    (None, "a2"),
    (ContentType.ARCHIVAL_ENTRY, "a1"),
]


def _assert_same(got: list[vector.VectorSearchResult], want: list[tuple[str, int | None, float]]):
    assert [(cid, chunk) for cid, chunk, _ in as_tuples(got)] == [(c, ch) for c, ch, _ in want]
    for (_, _, d_got), (_, _, d_want) in zip(as_tuples(got), want, strict=True):
        assert d_got == pytest.approx(d_want, abs=1e-9)


@pytest.mark.parametrize("path", PATHS)
def test_knn_equals_brute_force_for_every_filter(db: ConstellationDb, path: str) -> None:
    data = random_dataset(db, 400, 16, seed=1)
    use_path(db, path)
    rng = np.random.default_rng(7)
    for content_type, agent_id in FILTERS:
        for _ in range(5):
            q = rng.standard_normal(16).astype(np.float32)
            got = vector.knn_search(db, q, 12, content_type, agent_id=agent_id)
            _assert_same(got, brute_force(data, q, 12, content_type, agent_id))
            assert len(got) == 12
            assert all(r.content_type == content_type for r in got if content_type)


@pytest.mark.parametrize("metric", ["l2", "l1"])
@pytest.mark.parametrize("path", PATHS)
def test_other_metrics_equal_brute_force(db: ConstellationDb, path: str, metric: str) -> None:
    data = random_dataset(db, 300, 8, seed=2, metric=metric)
    use_path(db, path)
    rng = np.random.default_rng(3)
    for content_type, agent_id in FILTERS:
        q = rng.standard_normal(8).astype(np.float32) * 3
        got = vector.knn_search(db, q, 7, content_type, agent_id=agent_id)
        _assert_same(got, brute_force(data, q, 7, content_type, agent_id, metric))


def test_both_paths_return_identical_lists(db: ConstellationDb) -> None:
    random_dataset(db, 300, 12, seed=4)
    q = np.random.default_rng(5).standard_normal(12).astype(np.float32)
    use_path(db, "sqlite-vec")
    from_vec = [vector.knn_search(db, q, 20, t, agent_id=a) for t, a in FILTERS]
    use_path(db, "cache")
    from_cache = [vector.knn_search(db, q, 20, t, agent_id=a) for t, a in FILTERS]
    assert from_cache == from_vec  # bit-identical distances too


def test_distances_match_sqlite_vec_definition(db: ConstellationDb) -> None:
    data = random_dataset(db, 50, 32, seed=6)
    q = np.random.default_rng(8).standard_normal(32).astype(np.float32)
    use_path(db, "cache")
    got = vector.knn_search(db, q, 50)
    by_id = {row.content_id: row.vector for row in data.rows.values()}
    with db.reader() as conn:
        for result in got:
            theirs = conn.execute(
                "SELECT vec_distance_cosine(?, ?)",
                (by_id[result.content_id].tobytes(), q.tobytes()),
            ).fetchone()[0]
            assert result.distance == pytest.approx(theirs, abs=1e-6)


@pytest.mark.parametrize("path", PATHS)
def test_a_filter_matching_five_percent_still_returns_k(db: ConstellationDb, path: str) -> None:
    vector.ensure_embeddings_table(db, 8)
    rng = np.random.default_rng(9)
    data = Dataset()
    for i in range(1000):
        rare = i % 20 == 0  # 50 of 1000 rows
        data.insert(
            db,
            Row(
                ContentType.FILE_PASSAGE if rare else ContentType.MESSAGE,
                f"r{i:04d}",
                rng.standard_normal(8).astype(np.float32),
                agent_id="rare" if rare else "common",
            ),
        )
    use_path(db, path)
    q = rng.standard_normal(8).astype(np.float32)
    for content_type, agent_id in [
        (ContentType.FILE_PASSAGE, None),
        (None, "rare"),
        (ContentType.FILE_PASSAGE, "rare"),
    ]:
        got = vector.knn_search(db, q, 30, content_type, agent_id=agent_id)
        assert len(got) == 30
        _assert_same(got, brute_force(data, q, 30, content_type, agent_id))
    # More than match: every match comes back, and no more.
    assert len(vector.knn_search(db, q, 80, ContentType.FILE_PASSAGE, agent_id="rare")) == 50
    assert vector.knn_search(db, q, 5, ContentType.FILE_PASSAGE, agent_id="common") == []


@pytest.mark.parametrize("path", PATHS)
def test_agents_never_see_each_others_vectors(db: ConstellationDb, path: str) -> None:
    vector.ensure_embeddings_table(db, 4)
    q = np.array([1, 0, 0, 0], np.float32)
    vector.insert_embedding(db, "message", "mine", [0.1, 1, 0, 0], agent_id="me")
    vector.insert_embedding(db, "message", "theirs", [1, 0, 0, 0], agent_id="them")
    vector.insert_embedding(db, "message", "nobodys", [1, 0.1, 0, 0])
    use_path(db, path)

    def ids(agent: str | None, **kw: bool) -> list[str]:
        return [r.content_id for r in vector.knn_search(db, q, 10, agent_id=agent, **kw)]

    # A vector stored without an owner is constellation-wide: every agent's scope holds it.
    assert ids("me") == ["nobodys", "mine"]
    assert ids("them") == ["theirs", "nobodys"]
    assert ids("stranger") == ["nobodys"]
    assert ids("me", include_shared=False) == ["mine"]
    assert ids("stranger", include_shared=False) == []
    assert ids(None) == ["theirs", "nobodys", "mine"]


@pytest.mark.parametrize("path", PATHS)
def test_ties_break_by_content_id_then_chunk(db: ConstellationDb, path: str) -> None:
    vector.ensure_embeddings_table(db, 3)
    same = [1.0, 2.0, 3.0]
    for cid, chunk in [("b", 1), ("c", None), ("a", 2), ("b", 0), ("a", None), ("d", 0)]:
        vector.insert_embedding(db, "archival_entry", cid, same, chunk)
    vector.insert_embedding(db, "archival_entry", "0-far", [3.0, 2.0, 1.0])
    use_path(db, path)
    got = vector.knn_search(db, same, 4)
    assert [(r.content_id, r.chunk_index) for r in got] == [
        ("a", None),
        ("a", 2),
        ("b", 0),
        ("b", 1),
    ]
    assert {r.distance for r in got} == {0.0}
    assert vector.knn_search(db, same, 7)[-1].content_id == "0-far"


@pytest.mark.parametrize("path", PATHS)
def test_k_bounds(db: ConstellationDb, path: str) -> None:
    random_dataset(db, 20, 4)
    use_path(db, path)
    q = [1.0, 0.5, 0.25, 0.125]
    assert vector.knn_search(db, q, 0) == []
    assert len(vector.knn_search(db, q, 100)) == 20
    assert len(vector.knn_search(db, q, vector.MAX_K)) == 20
    for bad in (-1, vector.MAX_K + 1, 2.5, True):
        with pytest.raises(InvalidData):
            vector.knn_search(db, q, bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("path", PATHS)
def test_query_checks(db: ConstellationDb, path: str) -> None:
    random_dataset(db, 10, 4)
    use_path(db, path)
    with pytest.raises(DimensionMismatch) as info:
        vector.knn_search(db, [1.0, 2.0, 3.0], 3)
    assert (info.value.expected, info.value.got) == (4, 3)
    with pytest.raises(DimensionMismatch):
        vector.knn_search(db, np.ones(5, np.float32), 3)
    for bad in ([1.0, float("nan"), 0, 0], [float("inf"), 1, 1, 1], [0.0, 0, 0, 0]):
        with pytest.raises(InvalidData):
            vector.knn_search(db, bad, 3)
    with pytest.raises(InvalidData):
        vector.knn_search(db, [1, 1, 1, 1], 3, "tweet")


def test_query_accepts_any_float_sequence(db: ConstellationDb) -> None:
    data = random_dataset(db, 30, 4)
    want = [r[0] for r in brute_force(data, np.array([1, 2, 3, 4], np.float32), 3)]
    for q in ([1, 2, 3, 4], (1.0, 2.0, 3.0, 4.0), np.array([1, 2, 3, 4], np.float64)):
        assert [r.content_id for r in vector.knn_search(db, q, 3)] == want


def test_search_similar_keeps_rows_within_max_distance(db: ConstellationDb) -> None:
    vector.ensure_embeddings_table(db, 2)
    for i, angle in enumerate([0.0, 0.3, 0.6, 1.2, 2.0]):
        vector.insert_embedding(db, "memory_block", f"b{i}", [np.cos(angle), np.sin(angle)])
    vector.insert_embedding(db, "message", "m", [1.0, 0.0])
    got = vector.search_similar(db, [1.0, 0.0], ContentType.MEMORY_BLOCK, 4, max_distance=0.2)
    assert [r.content_id for r in got] == ["b0", "b1", "b2"]  # 1 - cos(0.6) = 0.175
    assert len(vector.search_similar(db, [1.0, 0.0], "memory_block", 4)) == 4


def test_no_index_yet_means_no_results(db: ConstellationDb) -> None:
    assert vector.knn_search(db, [1.0, 2.0], 5) == []
    assert vector.search_similar(db, [1.0, 2.0], "message", 5) == []


@pytest.mark.parametrize("path", PATHS)
def test_query_inside_a_transaction_sees_its_own_writes(db: ConstellationDb, path: str) -> None:
    random_dataset(db, 20, 4)
    use_path(db, path)
    with db.transaction() as tx:
        vector.insert_embedding(tx, "message", "new", [5, 5, 5, 5], agent_id="a9")
        assert [r.content_id for r in vector.knn_search(tx, [5, 5, 5, 5], 1)] == ["new"]
        assert [r.content_id for r in vector.knn_search(db, [5, 5, 5, 5], 1, agent_id="a9")] == [
            "new"
        ]


# No two of these are parallel, so equal distances come only from repeated vectors (exact ties).
PALETTE = [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (1, -1, 2), (-2, 1, 1), (3, 1, -1)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    points=st.lists(
        st.tuples(
            st.sampled_from(PALETTE),
            st.sampled_from(TYPES),
            st.sampled_from(["a", "b", None]),
            st.sampled_from(["x", "y", "z"]),
        ),
        min_size=1,
        max_size=25,
    ),
    k=st.integers(1, 12),
    content_type=st.sampled_from([None, *TYPES]),
    agent_id=st.sampled_from([None, "a", "b"]),
)
def test_repeated_vectors_tie_deterministically(points, k, content_type, agent_id) -> None:
    # Few distinct vectors, so ties (also across the k-th place) are everywhere.
    with ConstellationDb.open_in_memory() as db:
        vector.ensure_embeddings_table(db, 3)
        data = Dataset()
        for i, (coords, ctype, agent, cid) in enumerate(points):
            data.insert(db, Row(ctype, cid, np.array(coords, np.float32), i, agent))
        q = np.array([0.3, -0.7, 1.1], np.float32)
        want = brute_force(data, q, k, content_type, agent_id)
        for path in PATHS:
            use_path(db, path)
            got = vector.knn_search(db, q, k, content_type, agent_id=agent_id)
            _assert_same(got, want)


def test_sqlite_vec_distance_ranking_agrees(db: ConstellationDb) -> None:
    # sqlite-vec's own distance function over the table ranks the same rows first.
    random_dataset(db, 200, 8, seed=11)
    use_path(db, "cache")
    q = np.random.default_rng(12).standard_normal(8).astype(np.float32)
    ours = [r.content_id for r in vector.knn_search(db, q, 10)]
    with db.reader() as conn:
        raw = conn.execute(
            "SELECT content_id FROM embeddings ORDER BY vec_distance_cosine(embedding, ?) LIMIT 10",
            (q.tobytes(),),
        ).fetchall()
    assert ours == [r[0] for r in raw]
    assert isinstance(conn, apsw.Connection)


@pytest.mark.parametrize("path", PATHS)
def test_unrankable_rows_written_by_other_software_are_skipped(
    db: ConstellationDb, path: str
) -> None:
    data = random_dataset(db, 30, 4)
    with db.writer() as conn:  # as raw SQL would, bypassing the checks
        for i, bad in enumerate([[0, 0, 0, 0], [float("nan"), 1, 1, 1], [1, 2, 3]]):
            conn.execute(
                "INSERT INTO embeddings (id, content_type, content_id, agent_id, embedding) "
                "VALUES (?, 'message', ?, 'a1', ?)",
                (1000 + i, f"bad{i}", np.array(bad, np.float32).tobytes()),
            )
        conn.execute("UPDATE embedding_meta SET generation = generation + 1")
    use_path(db, path)
    q = np.array([1, 2, 3, 4], np.float32)
    for content_type, agent_id in FILTERS:
        got = vector.knn_search(db, q, 5, content_type, agent_id=agent_id)
        _assert_same(got, brute_force(data, q, 5, content_type, agent_id))
