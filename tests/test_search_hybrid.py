"""Hybrid search: modes, fusion scores on a real database, filters, thresholds, content."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pattern_db import ConstellationDb, DimensionMismatch, InvalidData, vector
from pattern_db.models import ArchivalEntry, FilePassage, FolderAttachment, SharedBlockAttachment
from pattern_db.models.memory import CONSTELLATION_OWNER
from pattern_db.search import (
    ContentFilter,
    FusionMethod,
    HybridSearchBuilder,
    SearchMode,
    SearchResult,
    search,
)
from pattern_db.vector import ContentType
from tests.search_support import agents, block, fake_embedding, folder_with_file, insert, msg

DIMS = 4


def unit(*values: float) -> list[float]:
    v = np.array(values + (0.0,) * (DIMS - len(values)), dtype=np.float64)
    return list(v / np.linalg.norm(v))


# cosine distance to Q: E0 0, E1 0.2, E2 0.4, E3 0.6, E4 1.0
Q = unit(1.0)
E0 = unit(1.0)
E1 = unit(0.8, 0.6)
E2 = unit(0.6, 0.8)
E3 = unit(0.4, math.sqrt(1 - 0.16))
E4 = unit(0.0, 1.0)


def embed(
    db: ConstellationDb, content_type: ContentType, id_: str, emb: list[float], agent: str | None
) -> None:
    vector.insert_embedding(db, content_type, id_, emb, agent_id=agent)


@pytest.fixture
def small(db: ConstellationDb) -> ConstellationDb:
    """Keyword list: m1 (best), m2; vector list: m2 (d 0), m3 (d 0.2), m1 (d 0.6)."""
    agents(db, "a1", "a2")
    vector.ensure_embeddings_table(db, DIMS, model="test", metric="cosine")
    insert(
        db,
        msg("m1", "a1", "garden tomatoes garden"),
        msg("m2", "a1", "the garden needs watering and weeding this week"),
        msg("m3", "a1", "water the plants"),
    )
    embed(db, ContentType.MESSAGE, "m2", E0, "a1")
    embed(db, ContentType.MESSAGE, "m3", E1, "a1")
    embed(db, ContentType.MESSAGE, "m1", E3, "a1")
    return db


def rows(results: list[SearchResult]) -> list[tuple[str, str]]:
    return [(r.content_type.value, r.id) for r in results]


def test_rrf_hybrid_scores_by_hand(small: ConstellationDb) -> None:
    results = search(small).text("garden").embedding(Q).fusion(FusionMethod.rrf()).execute()
    assert [r.id for r in results] == ["m2", "m1", "m3"]
    m2, m1, m3 = results
    # m2: keyword 2nd, vector 1st; m1: keyword 1st, vector 3rd; m3: vector 2nd only.
    assert (m2.scores.fts_position, m2.scores.vector_position) == (2, 1)
    assert (m1.scores.fts_position, m1.scores.vector_position) == (1, 3)
    assert (m3.scores.fts_position, m3.scores.vector_position) == (None, 2)
    assert m2.scores.fused_raw == pytest.approx(1 / 62 + 1 / 61)
    assert m1.scores.fused_raw == pytest.approx(1 / 61 + 1 / 63)
    assert m3.scores.fused_raw == pytest.approx(1 / 62)
    assert [r.score for r in results] == [
        pytest.approx(0.9919354839),  # (1/62 + 1/61) / (2/61)
        pytest.approx(0.9841269841),  # (1/61 + 1/63) / (2/61)
        pytest.approx(0.4919354839),  # (1/62) / (2/61)
    ]
    assert [r.scores.fused_normalized for r in results] == [r.score for r in results]
    # The breakdown: bm25 relative to the best hit, and cosine similarity 1 - d / 2.
    assert m1.scores.fts_normalized == 1.0
    assert m2.scores.fts_normalized == pytest.approx(m2.scores.fts_rank / m1.scores.fts_rank)
    assert 0 < m2.scores.fts_normalized < 1
    assert m1.scores.fts_rank < m2.scores.fts_rank < 0
    assert [r.scores.vector_distance for r in results] == [
        pytest.approx(0.0, abs=1e-6),
        pytest.approx(0.6, abs=1e-6),
        pytest.approx(0.2, abs=1e-6),
    ]
    assert [r.scores.vector_normalized for r in results] == [
        pytest.approx(1.0, abs=1e-6),
        pytest.approx(0.7, abs=1e-6),
        pytest.approx(0.9, abs=1e-6),
    ]
    # Every result carries its content; vector-only hits too, keyword hits with a snippet.
    assert m3.content == "water the plants"
    assert m3.snippet is None
    assert m1.snippet == "**garden** tomatoes **garden**"
    assert {r.agent_id for r in results} == {"a1"}


def test_linear_hybrid_scores_by_hand(small: ConstellationDb) -> None:
    # Min-max per list. Keyword: m1 1, m2 0. Vector (d 0, 0.2, 0.6): m2 1, m3 2/3, m1 0.
    weighted = (
        search(small)
        .text("garden")
        .embedding(Q)
        .fusion(FusionMethod.linear(fts_weight=1.0, vector_weight=3.0))
        .execute()
    )
    # m2: 3 * 1 / 4; m3: 3 * 2/3 / 4; m1: 1 / 4.
    assert [(r.id, r.score) for r in weighted] == [
        ("m2", pytest.approx(0.75, abs=1e-6)),
        ("m3", pytest.approx(0.5, abs=1e-6)),
        ("m1", pytest.approx(0.25, abs=1e-6)),
    ]
    assert weighted[1].scores.fused_raw == pytest.approx(2.0, abs=1e-6)
    # The breakdown still shows each retriever's own score, not the min-max value.
    assert weighted[2].scores.fts_normalized == 1.0
    assert weighted[2].scores.vector_normalized == pytest.approx(0.7, abs=1e-6)
    # The best keyword hit holds every word of the query: the keyword weight is kept whole.
    assert {r.scores.keyword_confidence for r in weighted} == {1.0}


def test_default_fusion_is_linear_with_keywords_at_04(small: ConstellationDb) -> None:
    results = search(small).text("garden").embedding(Q).execute()
    # m2: 0.6 * 1; m1: 0.4 * 1; m3: 0.6 * 2/3.
    assert results[0].id == "m2"
    assert results[0].score == pytest.approx(0.6, abs=1e-6)
    assert {r.id: r.score for r in results[1:]} == {
        "m1": pytest.approx(0.4, abs=1e-6),
        "m3": pytest.approx(0.4, abs=1e-6),
    }


def test_modes(small: ConstellationDb) -> None:
    fts_only = search(small).text("garden").execute()
    assert [r.id for r in fts_only] == ["m1", "m2"]
    assert fts_only[0].score == 1.0
    assert fts_only[1].score == fts_only[1].scores.fts_normalized
    assert fts_only[0].scores.vector_distance is None

    vec_only = search(small).embedding(Q).execute()
    assert [r.id for r in vec_only] == ["m2", "m3", "m1"]
    assert [r.content for r in vec_only][1] == "water the plants"
    assert vec_only[1].score == pytest.approx(0.9, abs=1e-6)
    assert vec_only[0].scores.fts_rank is None

    # Explicit modes use only their retriever; blank text under AUTO means no keyword evidence.
    explicit = search(small).text("garden").embedding(Q).mode("fts_only").execute()
    assert [r.id for r in explicit] == ["m1", "m2"]
    assert [r.id for r in search(small).text("  ").embedding(Q).execute()] == ["m2", "m3", "m1"]
    assert search(small).text("  ").execute() == []
    assert search(small).text("garden").embedding(Q).limit(0).execute() == []
    hybrid = search(small).text("zzz").embedding(Q).mode(SearchMode.HYBRID).execute()
    assert [r.id for r in hybrid] == ["m2", "m3", "m1"]
    assert hybrid[0].score == pytest.approx(0.6)  # the vector weight: no keyword hit at all
    assert hybrid[0].scores.keyword_confidence is None


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda s: s, "needs a text query"),
        (lambda s: s.text("x").mode("vector_only"), "needs an embedding"),
        (lambda s: s.embedding(Q).mode("hybrid"), "needs a text query"),
        (lambda s: s.embedding(Q).mode("fts_only"), "needs a text query"),
        (lambda s: s.mode("fuzzy"), "unknown search mode"),
        (lambda s: s.text("a-b").fts_mode("fts5"), "invalid FTS5 query"),
        (lambda s: s.text("x").limit(-1), "limit"),
        (lambda s: s.text("x").min_fts_score(-0.1), "min_fts_score"),
        (lambda s: s.text("x").max_vector_distance(float("nan")), "max_vector_distance"),
    ],
)
def test_invalid_searches_raise_invalid_data(
    small: ConstellationDb,
    build: Callable[[HybridSearchBuilder], HybridSearchBuilder],
    message: str,
) -> None:
    with pytest.raises(InvalidData, match=message):
        build(search(small)).execute()


def test_dimension_mismatch_surfaces(small: ConstellationDb) -> None:
    with pytest.raises(DimensionMismatch):
        search(small).text("garden").embedding([1.0, 0.0]).execute()


def test_thresholds_apply_in_every_mode(small: ConstellationDb) -> None:
    def search_rrf() -> HybridSearchBuilder:
        return search(small).fusion(FusionMethod.rrf())

    vec = search(small).embedding(Q).max_vector_distance(0.3).execute()
    assert [r.id for r in vec] == ["m2", "m3"]
    hybrid = search_rrf().text("garden").embedding(Q).max_vector_distance(0.3).execute()
    # m1 keeps its keyword hit but loses its vector hit (distance 0.6)
    assert [(r.id, r.scores.vector_position) for r in hybrid] == [
        ("m2", 1),
        ("m1", None),
        ("m3", 2),
    ]
    fts_only = search(small).text("garden").min_fts_score(0.99).execute()
    assert [r.id for r in fts_only] == ["m1"]
    hybrid = search_rrf().text("garden").embedding(Q).min_fts_score(0.99).execute()
    # m2's keyword hit (0.51 of the best) is pruned; its vector hit stays
    assert [(r.id, r.scores.fts_position, r.scores.vector_position) for r in hybrid] == [
        ("m1", 1, 3),
        ("m2", None, 1),
        ("m3", None, 2),
    ]
    top = search_rrf().text("garden").embedding(Q).min_score(0.9).execute()
    assert [r.id for r in top] == ["m2", "m1"]


def test_ties_break_by_content_type_then_id(db: ConstellationDb) -> None:
    agents(db, "a1")
    vector.ensure_embeddings_table(db, DIMS, model="test")
    insert(
        db,
        msg("x", "a1", "alpha"),
        block("x", "a1", "beta", "beta"),
        ArchivalEntry(id="b", agent_id="a1", content="gamma"),
        ArchivalEntry(id="a", agent_id="a1", content="gamma"),
    )
    for content_type, id_ in [
        (ContentType.MESSAGE, "x"),
        (ContentType.MEMORY_BLOCK, "x"),
        (ContentType.ARCHIVAL_ENTRY, "b"),
        (ContentType.ARCHIVAL_ENTRY, "a"),
    ]:
        embed(db, content_type, id_, E1, "a1")
    results = search(db).embedding(Q).execute()
    # Same distance everywhere; a message and a block may share an id and stay two results.
    assert rows(results) == [
        ("archival_entry", "a"),
        ("archival_entry", "b"),
        ("memory_block", "x"),
        ("message", "x"),
    ]


# -- filters -------------------------------------------------------------------------------------


@pytest.fixture
def crowd(db: ConstellationDb) -> ConstellationDb:
    """a2 owns 30 messages nearer the query than any of a1's 6; hidden rows of a1 are nearest."""
    agents(db, "a1", "a2")
    vector.ensure_embeddings_table(db, DIMS, model="test")
    records = [msg(f"b{i:02}", "a2", f"shopping list {i}") for i in range(30)]
    records += [msg(f"a{i}", "a1", f"shopping note {i}") for i in range(6)]
    records += [
        msg("a_arch", "a1", "shopping archived", is_archived=True),
        msg("a_del", "a1", "shopping deleted", is_deleted=True),
    ]
    insert(db, *records)
    for i in range(30):
        embed(db, ContentType.MESSAGE, f"b{i:02}", unit(1.0, 0.01 * i), "a2")
    for i in range(6):
        embed(db, ContentType.MESSAGE, f"a{i}", unit(1.0, 1.0 + 0.1 * i), "a1")
    embed(db, ContentType.MESSAGE, "a_arch", E0, "a1")
    embed(db, ContentType.MESSAGE, "a_del", E0, "a1")
    return db


def test_agent_filter_returns_k_and_never_another_agents_rows(crowd: ConstellationDb) -> None:
    for build in (
        lambda: search(crowd).embedding(Q),
        lambda: search(crowd).text("shopping").embedding(Q),
        lambda: search(crowd).text("shopping"),
    ):
        for content_filter in (ContentFilter.messages("a1"), ContentFilter.all("a1")):
            results = build().filter(content_filter).limit(5).execute()
            assert len(results) == 5
            assert {r.agent_id for r in results} == {"a1"}
            assert all(r.id.startswith("a") and r.id not in ("a_arch", "a_del") for r in results)
    unscoped = search(crowd).embedding(Q).limit(5).execute()
    assert {r.agent_id for r in unscoped} == {"a2"}


def test_archived_and_deleted_messages_hidden_from_vector_hits_by_default(
    crowd: ConstellationDb,
) -> None:
    nearest = search(crowd).embedding(Q).filter(ContentFilter.messages("a1")).limit(2).execute()
    assert [r.id for r in nearest] == ["a0", "a1"]
    flags = ContentFilter.messages("a1", include_archived=True, include_deleted=True)
    nearest = search(crowd).embedding(Q).filter(flags).limit(2).execute()
    assert [r.id for r in nearest] == ["a_arch", "a_del"]
    archived = ContentFilter.messages("a1", include_archived=True)
    both = search(crowd).text("shopping").embedding(Q).filter(archived).limit(3).execute()
    assert both[0].id == "a_arch"
    assert "a_del" not in [r.id for r in both]


def test_blocks_shared_constellation_and_inactive(db: ConstellationDb) -> None:
    agents(db, "a1", "a2")
    vector.ensure_embeddings_table(db, DIMS, model="test")
    insert(
        db,
        block("own", "a1", "plans", "travel plans"),
        block("old", "a1", "old_plans", "travel plans", is_active=False),
        block("shared", "a2", "trip", "travel plans"),
        block("private", "a2", "diary", "travel plans"),
        block("team", CONSTELLATION_OWNER, "team", "travel plans"),
        SharedBlockAttachment(block_id="shared", agent_id="a1"),
    )
    # The hidden blocks are nearest; 20 more of a2's blocks crowd the neighbourhood.
    insert(db, *(block(f"z{i:02}", "a2", f"z{i:02}", "travel plans") for i in range(20)))
    embed(db, ContentType.MEMORY_BLOCK, "old", E0, "a1")
    embed(db, ContentType.MEMORY_BLOCK, "private", E0, "a2")
    for i in range(20):
        embed(db, ContentType.MEMORY_BLOCK, f"z{i:02}", unit(1.0, 0.001 * i), "a2")
    embed(db, ContentType.MEMORY_BLOCK, "shared", E2, "a2")
    embed(db, ContentType.MEMORY_BLOCK, "team", E3, CONSTELLATION_OWNER)
    embed(db, ContentType.MEMORY_BLOCK, "own", E4, "a1")

    def ids(content_filter: ContentFilter, text: str | None = None) -> list[str]:
        s = search(db).embedding(Q).filter(content_filter).limit(3)
        if text is not None:
            s = s.text(text)
        return [r.id for r in s.execute()]

    assert ids(ContentFilter.memory_blocks("a1", include_shared=False)) == ["own"]
    assert ids(ContentFilter.memory_blocks("a1")) == ["shared", "team", "own"]
    assert ids(ContentFilter.all("a1")) == ["shared", "team", "own"]
    inactive = ContentFilter.memory_blocks("a1", include_inactive=True, include_shared=False)
    assert ids(inactive) == ["old", "own"]
    assert set(ids(ContentFilter.memory_blocks("a1", include_shared=True), "travel")) == {
        "shared",
        "team",
        "own",
    }


def test_file_passages_and_archival_are_searched(db: ConstellationDb) -> None:
    agents(db, "a1", "a2")
    vector.ensure_embeddings_table(db, DIMS, model="test")
    f1, file1 = folder_with_file("f1", "file1")
    f2, file2 = folder_with_file("f2", "file2")
    insert(
        db,
        f1,
        file1,
        f2,
        file2,
        FilePassage(id="p1", file_id="file1", content="budget spreadsheet"),
        FilePassage(id="p2", file_id="file2", content="budget plan"),
        FolderAttachment(folder_id="f1", agent_id="a1"),
        ArchivalEntry(id="e1", agent_id="a1", content="budget history"),
        ArchivalEntry(id="e2", agent_id="a2", content="budget secrets"),
    )
    embed(db, ContentType.FILE_PASSAGE, "p2", E0, None)
    embed(db, ContentType.FILE_PASSAGE, "p1", E1, None)
    embed(db, ContentType.ARCHIVAL_ENTRY, "e2", E0, "a2")
    embed(db, ContentType.ARCHIVAL_ENTRY, "e1", E2, "a1")
    everything = search(db).text("budget").embedding(Q).execute()
    assert {r.id for r in everything} == {"p1", "p2", "e1", "e2"}
    mine = search(db).text("budget").embedding(Q).filter(ContentFilter.all("a1")).execute()
    assert rows(mine) == [("file_passage", "p1"), ("archival_entry", "e1")] or set(rows(mine)) == {
        ("file_passage", "p1"),
        ("archival_entry", "e1"),
    }
    vec_mine = search(db).embedding(Q).filter(ContentFilter.all("a1")).execute()
    assert rows(vec_mine) == [("file_passage", "p1"), ("archival_entry", "e1")]
    folder = search(db).embedding(Q).filter(ContentFilter.file_passages("f2")).execute()
    assert [(r.id, r.content, r.agent_id) for r in folder] == [("p2", "budget plan", None)]


def test_search_inside_a_transaction(small: ConstellationDb) -> None:
    with small.transaction() as tx:
        insert(tx, msg("m9", "a1", "garden gnome"))
        vector.insert_embedding(tx, ContentType.MESSAGE, "m9", E0, agent_id="a1")
        found = search(tx).text("gnome").embedding(Q).execute()
        assert found[0].id == "m9"


# -- property: an agent never sees another agent's rows ------------------------------------------

WORDS = ["focus", "task", "plan", "sleep", "meds", "walk", "email", "call"]


def test_hybrid_with_an_agent_filter_never_returns_another_agents_rows() -> None:
    with ConstellationDb.open_in_memory() as db:
        agents(db, "a1", "a2", "a3")
        vector.ensure_embeddings_table(db, 16, model="fake")
        rng = np.random.default_rng(7)
        records = []
        for i in range(120):
            owner = ["a1", "a2", "a3"][i % 3]
            text = " ".join(rng.choice(WORDS, size=3))
            records.append(msg(f"m{i:03}", owner, text, is_archived=bool(i % 11 == 0)))
            records.append(block(f"b{i:03}", owner, f"label{i}", text))
        insert(db, *records)
        for r in records:
            content_type = ContentType.MESSAGE if r.id.startswith("m") else ContentType.MEMORY_BLOCK
            text = r.content_preview or ""
            embed(db, content_type, r.id, list(fake_embedding(text)), r.agent_id)
        owners = {r.id: r.agent_id for r in records}

        @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(
            st.lists(st.sampled_from([*WORDS, "OR", "NOT", '"', "-"]), min_size=1, max_size=3),
            st.sampled_from(["a1", "a2", "a3"]),
            st.sampled_from(["rrf", "linear"]),
            st.booleans(),
        )
        def check(words: list[str], agent: str, fusion: str, all_types: bool) -> None:
            text = " ".join(words)
            query = fake_embedding(text)
            method = FusionMethod.rrf() if fusion == "rrf" else FusionMethod.linear()
            content_filter = (
                ContentFilter.all(agent) if all_types else ContentFilter.messages(agent)
            )
            results = (
                search(db)
                .text(text)
                .embedding(query)
                .filter(content_filter)
                .fusion(method)
                .limit(15)
                .execute()
            )
            assert len(results) == 15  # the vector list alone has enough of the agent's rows
            for r in results:
                assert r.agent_id == agent
                assert owners[r.id] == agent
                assert r.content
            keys = [(-r.score, r.content_type.value, r.id) for r in results]
            assert keys == sorted(keys)
            assert len(set(rows(results))) == len(results)

        check()


def test_k_grows_past_hidden_neighbours(db: ConstellationDb) -> None:
    agents(db, "a1")
    vector.ensure_embeddings_table(db, DIMS, model="test")
    archived = [msg(f"old{i:03}", "a1", "archived", is_archived=True) for i in range(100)]
    live = [msg(f"new{i}", "a1", "live") for i in range(3)]
    insert(db, *archived, *live)
    vector.insert_embeddings(
        db,
        ContentType.MESSAGE,
        [m.id for m in archived],
        [unit(1.0, 0.001 * i) for i in range(100)],
        agent_ids="a1",
    )
    for i, m in enumerate(live):
        embed(db, ContentType.MESSAGE, m.id, unit(1.0, 1.0 + i), "a1")
    # The 100 nearest vectors belong to archived messages: k has to grow twice (30, 120).
    found = search(db).embedding(Q).filter(ContentFilter.messages("a1")).limit(3).execute()
    assert [r.id for r in found] == ["new0", "new1", "new2"]
    assert [r.scores.vector_position for r in found] == [1, 2, 3]
    # Past max_vector_distance nothing further is fetched.
    near = search(db).embedding(Q).max_vector_distance(0.01).limit(3).execute()
    assert near == []


def test_without_a_vector_index_hybrid_keeps_the_keyword_hits(db: ConstellationDb) -> None:
    agents(db, "a1")
    insert(db, msg("m1", "a1", "garden"))
    results = search(db).text("garden").embedding(Q).execute()
    # The keyword weight of 0.4 + 0.6: nothing came from the vector list.
    assert [(r.id, r.score, r.scores.vector_position) for r in results] == [
        ("m1", pytest.approx(0.4), None)
    ]
    assert search(db).embedding(Q).execute() == []


@pytest.mark.parametrize("path", ["cache", "sqlite-vec"])
def test_vector_only_ranks_by_distance_past_orthogonal(db: ConstellationDb, path: str) -> None:
    from tests.vector_support import use_path

    agents(db, "a1")
    vector.ensure_embeddings_table(db, DIMS, model="test")
    insert(db, *(msg(f"m{i}", "a1", f"note {i}") for i in range(3)))
    # Every vector points away from Q: cosine distances 1.2, 1.5 and 1.9.
    for i, d in enumerate((1.9, 1.2, 1.5)):
        cos = 1 - d
        embed(db, ContentType.MESSAGE, f"m{i}", unit(cos, math.sqrt(1 - cos * cos)), "a1")
    use_path(db, path)
    nearest = search(db).embedding(Q).limit(1).execute()
    assert [r.id for r in nearest] == ["m1"]
    ranked = search(db).embedding(Q).execute()
    assert [r.id for r in ranked] == ["m1", "m2", "m0"]
    scores = [r.score for r in ranked]
    assert scores == sorted(scores, reverse=True)
    assert len(set(scores)) == 3
    # Linear fusion keeps the vector signal of those hits (it was clipped to 0).
    linear = search(db).text("note").embedding(Q).fusion(FusionMethod.linear()).limit(3).execute()
    assert [r.id for r in linear] == ["m1", "m2", "m0"]
    assert all(r.scores.vector_normalized for r in linear)


# -- the keyword gate --------------------------------------------------------------------------


@pytest.fixture
def weekly(db: ConstellationDb) -> ConstellationDb:
    """Ten "weekly report" messages; the vector list ranks n1 (no query word at all) first."""
    agents(db, "a1")
    vector.ensure_embeddings_table(db, DIMS, model="test", metric="cosine")
    insert(
        db,
        *(msg(f"w{i}", "a1", f"weekly report number {i}") for i in range(10)),
        msg("n1", "a1", "remember to water the plants"),
        msg("n2", "a1", "the ferns are thirsty"),
    )
    embed(db, ContentType.MESSAGE, "n1", E0, "a1")
    embed(db, ContentType.MESSAGE, "n2", E2, "a1")
    for i in range(10):
        embed(db, ContentType.MESSAGE, f"w{i}", E4, "a1")
    return db


def test_keywords_sharing_only_a_common_word_do_not_outrank_the_vector_hits(
    weekly: ConstellationDb,
) -> None:
    # "weekly" is in 10 of 12 rows, "hydration" in none: the best keyword hit covers little.
    query = "weekly hydration"
    gated = search(weekly).text(query).embedding(Q).execute()
    vector_only = search(weekly).embedding(Q).execute()
    assert [r.id for r in gated][:2] == [r.id for r in vector_only][:2] == ["n1", "n2"]
    confidence = gated[0].scores.keyword_confidence
    assert confidence is not None
    assert confidence < 0.5
    # Without the gate the best keyword hit (0.4 * 1) beats n2 (0.6 * 0.6: distance 0.4 of 1).
    ungated = search(weekly).text(query).embedding(Q).fusion(FusionMethod.linear(keyword_gate=None))
    assert [r.id for r in ungated.execute()][1].startswith("w")


def test_a_query_in_fts5_syntax_is_not_gated(weekly: ConstellationDb) -> None:
    results = search(weekly).text('"weekly" OR hydration*').embedding(Q).fts_mode("auto").execute()
    assert {r.scores.keyword_confidence for r in results} == {None}
    assert results[1].id.startswith("w")


def test_keyword_weight_alone_is_never_gated_away(weekly: ConstellationDb) -> None:
    keywords_only = FusionMethod.linear(fts_weight=1.0, vector_weight=0.0)
    results = search(weekly).text("weekly hydration").embedding(Q).fusion(keywords_only).execute()
    assert results[0].id.startswith("w")
    assert results[0].score == pytest.approx(1.0)
