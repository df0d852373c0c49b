"""Keyword confidence: the idf-weighted share of a query's words the best keyword hit holds."""

from __future__ import annotations

import math

import pytest

from pattern_db import ConstellationDb
from pattern_db.models.content import ContentType
from pattern_db.search.coverage import keyword_coverage, query_tokens
from pattern_db.search.tables import TABLES_BY_TYPE
from tests.search_support import agents, insert, msg

MESSAGES = TABLES_BY_TYPE[ContentType.MESSAGE]


def idf(rows: int, df: int) -> float:
    return math.log(1 + (rows - df + 0.5) / (df + 0.5))


@pytest.fixture
def notes(db: ConstellationDb) -> ConstellationDb:
    agents(db, "a1")
    insert(
        db,
        msg("m1", "a1", "Rolling back the transactions"),
        msg("m2", "a1", "a transaction log"),
        msg("m3", "a1", "transaction fees"),
        msg("m4", "a1", "weather report"),
    )
    return db


def coverage(db: ConstellationDb, words: list[str], content_id: str) -> float:
    with db.reader() as conn:
        return keyword_coverage(conn, MESSAGES, words, content_id)


def test_tokens_are_stemmed_as_the_index_stems_them(notes: ConstellationDb) -> None:
    with notes.reader() as conn:
        assert query_tokens(conn, ["Rolling", "transactions", "transaction", "Été"]) == [
            "roll",
            "transact",
            "et",  # diacritics folded, then stemmed
        ]


def test_coverage_weighs_each_word_by_its_idf(notes: ConstellationDb) -> None:
    # 4 rows: "roll" in 1, "transact" in 3, "rollback" in none (full weight, no row can match it).
    roll, transact, absent = idf(4, 1), idf(4, 3), idf(4, 0)
    words = ["rolling", "transaction", "rollback"]
    total = roll + transact + absent
    assert coverage(notes, words, "m1") == pytest.approx((roll + transact) / total)
    assert coverage(notes, words, "m2") == pytest.approx(transact / (roll + transact + absent))
    assert coverage(notes, ["rolling", "transaction"], "m1") == pytest.approx(1.0)
    assert coverage(notes, ["weather"], "m2") == 0.0


def test_nothing_to_cover(notes: ConstellationDb) -> None:
    assert coverage(notes, [], "m1") == 0.0
    assert coverage(notes, ["?!"], "m1") == 0.0
    assert coverage(notes, ["transaction"], "gone") == 0.0


def test_the_vocabulary_table_lives_in_temp_and_the_file_is_unchanged(
    notes: ConstellationDb,
) -> None:
    with notes.reader() as conn:
        before = conn.execute("SELECT name FROM main.sqlite_schema ORDER BY name").fetchall()
        version = conn.execute("PRAGMA schema_version").fetchall()
        query_only = conn.execute("PRAGMA query_only").fetchall()
    # A file's readers are query_only connections: the temp table is made all the same.
    for _ in range(2):
        assert coverage(notes, ["transaction"], "m3") == 1.0
    with notes.reader() as conn:
        names = conn.execute("SELECT name FROM main.sqlite_schema ORDER BY name").fetchall()
        assert names == before
        assert conn.execute("PRAGMA schema_version").fetchall() == version
        assert conn.execute("PRAGMA query_only").fetchall() == query_only


def test_inside_a_transaction_the_coverage_sees_its_writes(db: ConstellationDb) -> None:
    agents(db, "a1")
    with db.transaction() as tx:
        insert(tx, msg("m1", "a1", "fresh garden note"))
        with tx.reader() as conn:
            assert keyword_coverage(conn, MESSAGES, ["garden"], "m1") == 1.0
