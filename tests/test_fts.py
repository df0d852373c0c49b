"""Full-text search: query modes, the seed's syntax, filters, ranking, snippets, stats."""

from __future__ import annotations

import math

import pytest

from pattern_db import ConstellationDb, InvalidData, fts
from pattern_db.fts import FtsMatch
from pattern_db.models import ArchivalEntry, FilePassage, FolderAttachment, SharedBlockAttachment
from pattern_db.models.memory import CONSTELLATION_OWNER
from pattern_db.search.fts_query import looks_like_query
from tests.search_support import agents, block, folder_with_file, insert, msg

DOCS = {
    "m1": "Remember the dentist appointment on Friday",
    "m2": "The dentist called about rescheduling",
    "m3": "Friday team meeting about the project deadline",
    "m4": "Project planning for the deadline extension",
    "m5": "Appointments are hard to remember",
    "m6": "multi-agent coordination: what's up? see a:b and c++",
}


@pytest.fixture
def seeded(db: ConstellationDb) -> ConstellationDb:
    agents(db, "a1", "a2")
    insert(db, *(msg(i, "a1", text) for i, text in DOCS.items()))
    return db


def ids(matches: list[FtsMatch]) -> list[str]:
    return [m.id for m in matches]


def found(db: ConstellationDb, query: str, **kw: object) -> set[str]:
    return set(ids(fts.search_messages(db, query, limit=50, **kw)))  # type: ignore[arg-type]


# -- the seed's syntax examples ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("dentist Friday", {"m1"}),  # implicit AND
        ("dentist AND friday", {"m1"}),
        ('"dentist appointment"', {"m1"}),  # phrase: adjacent, in order
        ('"appointment dentist"', set()),
        ("dentist OR deadline", {"m1", "m2", "m3", "m4"}),
        ("deadline NOT Friday", {"m4"}),
        ("appoint*", {"m1", "m5"}),  # prefix
        ("appo", set()),  # without * a prefix is not a match
        ("appoint", {"m1", "m5"}),  # porter: appointment(s) stem to appoint
        ("(dentist OR planning) AND deadline", {"m4"}),
        ("NEAR(dentist friday, 2)", {"m1"}),  # two words between them
        ("NEAR(dentist friday, 1)", set()),
        ("content_preview: rescheduling", {"m2"}),  # a column filter on a real column
        ("DENTIST", {"m1", "m2"}),  # case-insensitive
    ],
)
def test_fts5_syntax_behaves_as_fts5_defines(
    seeded: ConstellationDb, query: str, expected: set[str]
) -> None:
    assert found(seeded, query, mode="fts5") == expected
    if looks_like_query(query):  # a phrase, a prefix, NEAR: auto reads it as FTS5 too
        assert found(seeded, query) == expected


def test_auto_reads_prose_as_words_any_of_which_may_match(seeded: ConstellationDb) -> None:
    ranked = fts.search_messages(seeded, "dentist Friday")
    assert ids(ranked)[0] == "m1"  # both words
    assert set(ids(ranked)) == {"m1", "m2", "m3"}
    # NOT, OR, AND and colons in prose are words, never operators or column filters.
    assert ids(fts.search_messages(seeded, "deadline NOT Friday"))[0] == "m3"
    assert found(seeded, "deadline NOT Friday") == {"m1", "m3", "m4"}
    assert found(seeded, "content_preview: rescheduling") == {"m2"}
    assert ids(fts.search_messages(seeded, "When is my dentist appointment?"))[0] == "m1"
    assert fts.search_messages(seeded, "dentist", mode="natural") == fts.search_messages(
        seeded, "dentist"
    )


def test_diacritics_are_folded(db: ConstellationDb) -> None:
    agents(db, "a1")
    insert(db, msg("m1", "a1", "Meet at the café in Zürich"))
    assert ids(fts.search_messages(db, "cafe zurich")) == ["m1"]
    assert ids(fts.search_messages(db, "CAFÉ")) == ["m1"]


# -- modes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "natural", "literal"),
    [
        ("multi-agent", {"m6"}, {"m6"}),  # FTS5 reads `-agent` as a column filter
        ("what's up?", {"m6"}, {"m6"}),  # only stop words: they are kept
        ("a:b", {"m6"}, {"m6"}),  # no column `a`
        ("c++", {"m6"}, {"m6"}),
        ('"unbalanced', set(), set()),
        ("NOT remember", {"m1", "m5", "m7"}, {"m7"}),  # NOT is binary in FTS5
        ("hello AND", set(), set()),
        ("dentist -friday", {"m1", "m2", "m3"}, {"m1"}),  # `-friday` is no column
        ("*reads", {"m7"}, {"m7"}),  # FTS5's special-query syntax; here the word "reads"
        ("(", set(), set()),
    ],
)
def test_text_that_is_not_valid_fts5_is_searched_as_words(
    seeded: ConstellationDb, query: str, natural: set[str], literal: set[str]
) -> None:
    insert(seeded, msg("m7", "a1", "not remember the reads"))
    assert found(seeded, query) == natural
    assert found(seeded, query, mode="natural") == natural
    assert found(seeded, query, mode="literal") == literal
    with pytest.raises(InvalidData, match="invalid FTS5 query"):
        fts.search_messages(seeded, query, mode="fts5")
    with pytest.raises(InvalidData):
        fts.validate_fts_query(query)


def test_literal_mode_treats_operators_as_words(seeded: ConstellationDb) -> None:
    assert found(seeded, "dentist OR deadline") == {"m1", "m2", "m3", "m4"}
    assert found(seeded, "dentist OR deadline", mode="literal") == set()
    assert found(seeded, "appo*", mode="literal") == set()  # the * is a character here
    assert found(seeded, '"dentist appointment"', mode="literal") == {"m1"}
    assert found(seeded, "Friday dentist", mode="literal") == {"m1"}


@pytest.mark.parametrize("query", ["", "   ", "\t\n", "\x00"])
def test_blank_query_returns_nothing_or_raises_in_strict_mode(
    seeded: ConstellationDb, query: str
) -> None:
    assert fts.search_messages(seeded, query) == []
    assert fts.search_all(seeded, query, mode="literal") == []
    with pytest.raises(InvalidData, match="empty FTS query"):
        fts.search_messages(seeded, query, mode="fts5")
    with pytest.raises(InvalidData, match="empty FTS query"):
        fts.validate_fts_query(query)


def test_nul_and_lone_surrogates_never_reach_sqlite(seeded: ConstellationDb) -> None:
    assert ids(fts.search_messages(seeded, "\x00dentist\x00rescheduling")) == ["m2", "m1"]
    assert ids(fts.search_messages(seeded, "\x00dentist\x00rescheduling", mode="literal")) == ["m2"]
    # A lone surrogate becomes U+FFFD, which the tokenizer drops.
    assert ids(fts.search_messages(seeded, "rescheduling \ud800")) == ["m2"]
    assert ids(fts.search_messages(seeded, "rescheduling \ud83d\ude00")) == ["m2"]


def test_unknown_mode_and_bad_limit_are_invalid_data(seeded: ConstellationDb) -> None:
    with pytest.raises(InvalidData, match="unknown FTS mode"):
        fts.search_messages(seeded, "dentist", mode="regex")
    with pytest.raises(InvalidData, match="limit"):
        fts.search_messages(seeded, "dentist", limit=-1)
    assert fts.search_messages(seeded, "dentist", limit=0) == []


def test_validate_fts_query_accepts_the_seed_syntax() -> None:
    for query in ["a b", "a AND b", '"a b"', "a OR b", "a NOT b", "pre*", "label: todo", "^a"]:
        fts.validate_fts_query(query)
    with pytest.raises(InvalidData, match="no such column: todo"):
        fts.validate_fts_query("todo: x")
    fts.validate_fts_query("todo: x", columns=["todo"])
    for bad_columns in (["rank"], ["a b"], []):
        with pytest.raises(InvalidData, match="column names"):
            fts.validate_fts_query("x", columns=bad_columns)


# -- visibility filters --------------------------------------------------------------------------


def test_archived_and_deleted_messages_are_hidden_by_default(db: ConstellationDb) -> None:
    agents(db, "a1")
    insert(
        db,
        msg("live", "a1", "budget review"),
        msg("arch", "a1", "budget review", is_archived=True),
        msg("gone", "a1", "budget review", is_deleted=True),
    )
    assert found(db, "budget") == {"live"}
    assert found(db, "budget", include_archived=True) == {"live", "arch"}
    assert found(db, "budget", include_deleted=True) == {"live", "gone"}
    assert found(db, "budget", include_archived=True, include_deleted=True) == {
        "live",
        "arch",
        "gone",
    }
    assert {m.id for m in fts.search_all(db, "budget")} == {"live"}


def test_agent_filter_on_messages(seeded: ConstellationDb) -> None:
    insert(seeded, msg("x1", "a2", "dentist appointment for a2"))
    assert found(seeded, "dentist", agent_id="a2") == {"x1"}
    assert found(seeded, "dentist", agent_id="a1") == {"m1", "m2"}
    assert found(seeded, "dentist") == {"m1", "m2", "x1"}
    assert found(seeded, "dentist", agent_id="nobody") == set()


def test_blocks_inactive_hidden_shared_and_constellation_blocks_on_request(
    db: ConstellationDb,
) -> None:
    agents(db, "a1", "a2")
    insert(
        db,
        block("own", "a1", "notes", "garden plans"),
        block("old", "a1", "old_notes", "garden plans", is_active=False),
        block("shared", "a2", "household", "garden plans"),
        block("private", "a2", "diary", "garden plans"),
        block("team", CONSTELLATION_OWNER, "team", "garden plans"),
        SharedBlockAttachment(block_id="shared", agent_id="a1"),
    )

    def blocks(**kw: object) -> set[str]:
        return {m.id for m in fts.search_memory_blocks(db, "garden", limit=50, **kw)}  # type: ignore[arg-type]

    assert blocks() == {"own", "shared", "private", "team"}
    assert blocks(include_inactive=True) == {"own", "old", "shared", "private", "team"}
    # An agent's scope: its own blocks, those shared with it and the constellation's.
    assert blocks(agent_id="a1") == {"own", "shared", "team"}
    assert blocks(agent_id="a1", include_shared=False) == {"own"}
    assert blocks(agent_id="a2") == {"shared", "private", "team"}
    all_a1 = {m.id for m in fts.search_all(db, "garden", "a1", 50)}
    assert all_a1 == {"own", "shared", "team"}


def test_archival_agent_and_constellation_entries(db: ConstellationDb) -> None:
    insert(
        db,
        ArchivalEntry(id="e1", agent_id="a1", content="tax deadline in April"),
        ArchivalEntry(id="e2", agent_id="a2", content="tax forms"),
        ArchivalEntry(id="e3", agent_id=CONSTELLATION_OWNER, content="shared tax notes"),
        ArchivalEntry(id="e4", agent_id="a1", content="receipts", metadata={"topic": "tax"}),
    )
    assert {m.id for m in fts.search_archival(db, "tax")} == {"e1", "e2", "e3", "e4"}
    own = fts.search_archival(db, "tax", "a1", include_shared=False)
    assert {m.id for m in own} == {"e1", "e4"}
    assert {m.id for m in fts.search_archival(db, "tax", "a1")} == {"e1", "e3", "e4"}
    # metadata is indexed with half the weight of content: the content hit ranks first
    assert [m.id for m in own] == ["e1", "e4"]
    assert own[1].content == "receipts"


def test_file_passages_by_folder_and_by_attached_agent(db: ConstellationDb) -> None:
    agents(db, "a1")
    f1, file1 = folder_with_file("f1", "file1")
    f2, file2 = folder_with_file("f2", "file2")
    insert(
        db,
        f1,
        file1,
        f2,
        file2,
        FilePassage(id="p1", file_id="file1", content="install the solar panels"),
        FilePassage(id="p2", file_id="file2", content="solar inverter manual", chunk_index=1),
        FolderAttachment(folder_id="f2", agent_id="a1"),
    )
    assert {m.id for m in fts.search_file_passages(db, "solar")} == {"p1", "p2"}
    assert [m.id for m in fts.search_file_passages(db, "solar", "f1")] == ["p1"]
    assert [m.id for m in fts.search_file_passages(db, "solar", agent_id="a1")] == ["p2"]
    match = fts.search_file_passages(db, "inverter")[0]
    assert (match.content_type, match.agent_id, match.content) == (
        "file_passage",
        None,
        "solar inverter manual",
    )
    assert [m.id for m in fts.search_all(db, "solar", "a1")] == ["p2"]


# -- ranking, ties, snippets ---------------------------------------------------------------------


def test_block_label_outweighs_content(db: ConstellationDb) -> None:
    agents(db, "a1")
    insert(
        db,
        block("b_content", "a1", "misc", "some words about groceries and more words here"),
        block("b_label", "a1", "groceries", "some words about things and more words here"),
    )
    assert ids(fts.search_memory_blocks(db, "groceries")) == ["b_label", "b_content"]


def test_ties_are_broken_by_id_also_at_the_limit(db: ConstellationDb) -> None:
    agents(db, "a1")
    # Same text, inserted in an order unrelated to the ids: equal bm25 for all five.
    insert(db, *(msg(i, "a1", "weekly review") for i in ["m4", "m1", "m5", "m3", "m2"]))
    insert(db, msg("m0", "a1", "a longer weekly review, so a lower bm25"))
    assert ids(fts.search_messages(db, "review")) == ["m1", "m2", "m3", "m4", "m5", "m0"]
    # FTS5 itself returns equal ranks in rowid order (m4, m1, m5, ...): the cut is by id.
    assert ids(fts.search_messages(db, "review", limit=3)) == ["m1", "m2", "m3"]


def test_rank_is_bm25_and_score_is_relative_to_the_best_hit(seeded: ConstellationDb) -> None:
    matches = fts.search_messages(seeded, "deadline OR dentist")
    ranks = [m.rank for m in matches]
    assert ranks == sorted(ranks)
    assert all(r < 0 for r in ranks)
    assert matches[0].score == 1.0
    for m in matches:
        assert m.score == pytest.approx(m.rank / matches[0].rank)


def test_snippet_marks_the_matched_terms(seeded: ConstellationDb) -> None:
    [match] = fts.search_messages(seeded, "rescheduling")
    assert match.snippet == "The dentist called about **rescheduling**"
    assert match.content == DOCS["m2"]
    assert match.agent_id == "a1"
    [match] = fts.search_messages(seeded, "reschedul*", markers=("<b>", "</b>"))
    assert match.snippet == "The dentist called about <b>rescheduling</b>"


def test_updated_and_deleted_rows_follow_the_index(seeded: ConstellationDb) -> None:
    with seeded.writer() as conn:
        conn.execute("UPDATE messages SET content_preview = 'orthodontist visit' WHERE id = 'm2'")
        conn.execute("DELETE FROM messages WHERE id = 'm1'")
    assert found(seeded, "dentist") == set()
    assert found(seeded, "orthodontist") == {"m2"}


def test_search_inside_a_transaction_sees_its_own_writes(db: ConstellationDb) -> None:
    agents(db, "a1")
    with db.transaction() as tx:
        insert(tx, msg("m1", "a1", "uncommitted thought"))
        assert ids(fts.search_messages(tx, "thought")) == ["m1"]


# -- search_all ----------------------------------------------------------------------------------


def test_search_all_merges_by_bm25_scaled_to_each_tables_size(db: ConstellationDb) -> None:
    agents(db, "a1")
    # "deadline" is in one of 4 blocks and one of 50 messages: the bigger table's idf is larger,
    # so raw bm25 would put the message first although the block is the closer match.
    insert(
        db,
        block("b1", "a1", "plans", "deadline friday for the report"),
        block("b2", "a1", "habits", "walk daily"),
        block("b3", "a1", "goals", "learn piano"),
        block("b4", "a1", "misc", "other things"),
        msg("m1", "a1", "someone said the deadline is soon, and many other words were said too"),
        *(msg(f"filler{i:02}", "a1", f"unrelated chatter {i}") for i in range(49)),
    )
    [best_block] = fts.search_memory_blocks(db, "deadline", limit=1)
    [best_message] = fts.search_messages(db, "deadline", limit=1)
    assert best_message.rank < best_block.rank < 0
    merged = fts.search_all(db, "deadline", limit=3)
    assert [(m.content_type, m.id) for m in merged] == [("memory_block", "b1"), ("message", "m1")]
    # Scores are relative to the best merged hit: bm25 / ln(1 + rows) of each table.
    expected = (best_message.rank / math.log(51)) / (best_block.rank / math.log(5))
    assert merged[0].score == 1.0
    assert merged[1].score == pytest.approx(expected)
    assert merged[1].rank == best_message.rank  # rank stays the table's own bm25


def test_search_all_word_in_most_rows_of_a_small_table_weighs_nothing(
    db: ConstellationDb,
) -> None:
    agents(db, "a1")
    # "focus" is in 3 of 4 blocks, so FTS5 clamps its idf there and the bm25 is ~ -1e-6.
    insert(
        db,
        block("b1", "a1", "focus", "focus strategies"),
        block("b2", "a1", "habits", "focus on habits"),
        block("b3", "a1", "goals", "focus goal"),
        block("b4", "a1", "misc", "other"),
        msg("m1", "a1", "trouble to focus today"),
        *(msg(f"filler{i:02}", "a1", f"unrelated chatter {i}") for i in range(49)),
    )
    merged = fts.search_all(db, "focus", limit=4)
    assert [(m.content_type, m.id) for m in merged[:2]] == [
        ("message", "m1"),
        ("memory_block", "b1"),
    ]
    assert merged[1].score < 1e-5


def test_search_all_column_filter_falls_back_per_table(db: ConstellationDb) -> None:
    agents(db, "a1")
    insert(
        db,
        block("b1", "a1", "todo", "buy milk"),
        block("b2", "a1", "notes", "the todo list is long"),
        msg("m1", "a1", "label todo reminder"),
    )
    # In prose a colon is punctuation: every table searches the words; the message holds both,
    # and among blocks a label hit weighs most.
    merged = fts.search_all(db, "label: todo")
    assert [m.id for m in merged] == ["m1", "b1", "b2"]
    # As FTS5 it is a column filter, valid for blocks only.
    assert ids(fts.search_memory_blocks(db, "label: todo", mode="fts5")) == ["b1"]
    with pytest.raises(InvalidData, match="no such column: label"):
        fts.search_all(db, "label: todo", mode="fts5")
    assert [m.id for m in fts.search_all(db, "todo", content_types=["memory_block"])] == [
        "b1",
        "b2",
    ]


# -- stats and maintenance -----------------------------------------------------------------------


def test_stats_count_what_is_indexed(seeded: ConstellationDb) -> None:
    insert(seeded, ArchivalEntry(id="e1", agent_id="a1", content="x"))
    stats = fts.get_fts_stats(seeded)
    assert (stats.messages_indexed, stats.memory_blocks_indexed) == (6, 0)
    assert (stats.archival_indexed, stats.file_passages_indexed) == (1, 0)
    assert stats.in_sync
    # Empty the message index behind the triggers' back: the content table still has 6 rows.
    with seeded.writer() as conn:
        conn.execute("INSERT INTO messages_fts(messages_fts) VALUES ('delete-all')")
    stats = fts.get_fts_stats(seeded)
    assert stats.messages_indexed == 0
    [messages] = [t for t in stats.tables if t.table == "messages_fts"]
    assert (messages.indexed_rows, messages.content_rows, messages.in_sync) == (0, 6, False)
    assert not stats.in_sync
    assert fts.check_fts_integrity(seeded) == ["messages_fts"]
    assert found(seeded, "dentist") == set()

    fts.rebuild_messages_fts(seeded)
    assert fts.get_fts_stats(seeded).messages_indexed == 6
    assert fts.check_fts_integrity(seeded) == []
    assert found(seeded, "dentist") == {"m1", "m2"}


def test_rebuild_all_and_optimize_keep_results(seeded: ConstellationDb) -> None:
    before = fts.search_all(seeded, "deadline")
    fts.rebuild_all_fts(seeded)
    fts.rebuild_memory_blocks_fts(seeded)
    fts.rebuild_archival_fts(seeded)
    fts.rebuild_file_passages_fts(seeded)
    fts.optimize_all_fts(seeded)
    assert fts.search_all(seeded, "deadline") == before
    assert fts.get_fts_stats(seeded).in_sync
