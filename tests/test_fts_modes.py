"""Property tests of the FTS query modes: auto never raises, fts5 raises InvalidData exactly when
FTS5 rejects the text."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pattern_db import ConstellationDb, InvalidData, fts
from pattern_db.models import ArchivalEntry, FilePassage
from tests.search_support import agents, block, folder_with_file, insert, msg

# Pieces of FTS5 syntax and ordinary words, glued with or without spaces, so that the generated
# text often is (or is nearly) valid FTS5.
_PIECES = st.sampled_from(
    [
        "dentist",
        "friday",
        "AND",
        "OR",
        "NOT",
        "NEAR",
        "NEAR(",
        '"',
        "(",
        ")",
        "*",
        ":",
        "-",
        "^",
        "+",
        ",",
        "{",
        "}",
        "label",
        "content",
        "content_preview",
        "metadata",
        "a",
        "é",
        "'",
        "?",
        "\x00",
        "\ud800",
        "3",
    ]
)
_SYNTAXISH = st.lists(st.tuples(_PIECES, st.sampled_from(["", " "])), max_size=8).map(
    lambda parts: "".join(p + sep for p, sep in parts)
)
# Any text at all, lone surrogates included.
_ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)
QUERIES = st.one_of(_SYNTAXISH, _ANY_TEXT)

_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _seed(db: ConstellationDb) -> None:
    agents(db, "a1")
    folder, file = folder_with_file("f1", "file1")
    insert(
        db,
        msg("m1", "a1", "Remember the dentist appointment on Friday"),
        msg("m2", "a1", "multi-agent label: content"),
        block("b1", "a1", "label", "dentist content"),
        ArchivalEntry(id="e1", agent_id="a1", content="friday", metadata={"k": "dentist"}),
        folder,
        file,
        FilePassage(id="p1", file_id="file1", content="dentist friday"),
    )


def test_auto_and_literal_never_raise_for_any_text() -> None:
    with ConstellationDb.open_in_memory() as db:
        _seed(db)

        @_SETTINGS
        @given(QUERIES)
        def check(query: str) -> None:
            for mode in ("auto", "literal"):
                merged = fts.search_all(db, query, "a1", 5, mode=mode, include_shared=True)
                assert all(0 < m.score <= 1.0 for m in merged)
                fts.search_messages(db, query, mode=mode)
                fts.search_file_passages(db, query, "f1", mode=mode)

        check()


def test_strict_mode_raises_invalid_data_exactly_when_fts5_rejects_the_text() -> None:
    with ConstellationDb.open_in_memory() as db:
        _seed(db)

        @_SETTINGS
        @given(QUERIES)
        def check(query: str) -> None:
            try:
                fts.validate_fts_query(query, columns=["content_preview"])
            except InvalidData:
                valid = False
            else:
                valid = True
            try:
                strict = fts.search_messages(db, query, mode="fts5")
            except InvalidData:
                assert not valid, query
            else:
                assert valid, query
                # Valid syntax is used as written, so auto mode finds the same rows.
                assert strict == fts.search_messages(db, query)

        check()


def test_over_long_search_text_is_refused_with_a_clear_error(db: ConstellationDb) -> None:
    from pattern_db.search import search
    from pattern_db.search.fts_query import MAX_QUERY_CHARS

    long_text = "word " * (MAX_QUERY_CHARS // 5) + "x"
    assert len(long_text) == MAX_QUERY_CHARS + 1
    for call in (
        lambda: fts.search_messages(db, long_text),
        lambda: fts.search_all(db, long_text, mode="literal"),
        lambda: fts.validate_fts_query(long_text),
        lambda: search(db).text(long_text).execute(),
    ):
        with pytest.raises(InvalidData, match="characters long"):
            call()
    assert fts.search_messages(db, long_text[:MAX_QUERY_CHARS]) == []


def test_repeated_words_are_searched_once_and_many_distinct_words_refused() -> None:
    from pattern_db.search.fts_query import MAX_QUERY_TERMS, literal_expression

    assert literal_expression("up? up? what's up? up?") == '"up?" "what\'s"'
    many = " ".join(f"w{i}" for i in range(MAX_QUERY_TERMS + 1))
    with pytest.raises(InvalidData, match="distinct words"):
        literal_expression(many)
