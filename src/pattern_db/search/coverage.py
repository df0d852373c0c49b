"""How much of a natural-language query the best keyword hit holds: the keyword confidence.

Design note. OR-ed keyword search always finds something: a question that shares no word with
its answer ("how do I undo my last change") still matches rows holding "change". Hybrid search
scales the keyword list's weight by this confidence so that such a list cannot push the vector
list's good hits down (bench/retrieval.py, paraphrase set). Coverage is idf-weighted: the share
of the query's words, each weighted by its inverse document frequency in the hit's own table,
that the hit contains. Rare words decide: a hit holding "rollback" of "how to rollback a
transaction" covers most of it, one holding only "transaction" little.

* Tokens come from the index's own tokenizer (`TOKENIZER`, as migration 0004 creates the
  tables), so stemming agrees with what FTS5 matched.
* Document frequencies come from an `fts5vocab` table over the index, created on first use in
  the connection's temp schema (never in the database file); N is the highest rowid of the
  index's `_docsize` table, an upper bound of its row count that costs one seek (idf is a log).
* idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5)), the non-negative bm25 idf; a word no row holds
  keeps its full weight, since the keyword list cannot match it at all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import apsw

from pattern_db.connection import scalar
from pattern_db.search.tables import SearchTable

__all__ = ["TOKENIZER", "keyword_coverage", "query_tokens"]

# The tokenizer of every FTS index (migration 0004), as apsw names it.
TOKENIZER = ("porter", ["unicode61", "remove_diacritics", "2"])

_VOCAB_PREFIX = "pdb_vocab_"


def _tokenize(conn: apsw.Connection, text: str) -> list[str]:
    tokenizer = conn.fts5_tokenizer(TOKENIZER[0], TOKENIZER[1])
    found = tokenizer(
        text.encode("utf-8"),
        apsw.FTS5_TOKENIZE_DOCUMENT,
        None,
        include_offsets=False,
        include_colocated=False,
    )
    return [str(token) for token in found]


def query_tokens(conn: apsw.Connection, words: Sequence[str]) -> list[str]:
    """Return the index tokens of `words` (stemmed as FTS5 stems them), distinct, in order.

    Example: `query_tokens(conn, ["copies", "trees"])` -> `["copi", "tree"]`.
    """
    tokens: dict[str, None] = {}
    for word in words:
        tokens.update(dict.fromkeys(_tokenize(conn, word)))
    return list(tokens)


def _vocab(conn: apsw.Connection, table: SearchTable) -> str:
    name = _VOCAB_PREFIX + table.fts
    if scalar(conn, "SELECT count(*) FROM temp.sqlite_schema WHERE name = ?", (name,)):
        return name
    # Reader connections are query_only; a temp-schema table writes nothing to the file.
    query_only = scalar(conn, "PRAGMA query_only")
    if query_only:
        conn.execute("PRAGMA query_only = 0")
    try:
        # Identifiers come from the table specs (a whitelist), never from user text.
        conn.execute(
            f'CREATE VIRTUAL TABLE temp."{name}" USING fts5vocab(main, "{table.fts}", row)'
        )
    finally:
        if query_only:
            conn.execute("PRAGMA query_only = 1")
    return name


def _row_tokens(conn: apsw.Connection, table: SearchTable, content_id: str) -> set[str]:
    sql = (
        f'SELECT * FROM "{table.fts}" WHERE rowid = '
        f'(SELECT rowid FROM "{table.content_table}" WHERE id = ?)'
    )
    tokens: set[str] = set()
    for row in conn.execute(sql, (content_id,)):
        for value in row:
            if isinstance(value, str):
                tokens.update(_tokenize(conn, value))
    return tokens


def keyword_coverage(
    conn: apsw.Connection, table: SearchTable, words: Sequence[str], content_id: str
) -> float:
    """Return the idf-weighted share of `words` that row `content_id` of `table` holds, in [0, 1].

    0.0 when there are no words or the row is gone.
    """
    tokens = query_tokens(conn, words)
    if not tokens:
        return 0.0
    held = _row_tokens(conn, table, content_id)
    if not held:
        return 0.0
    vocab = _vocab(conn, table)
    rows = scalar(conn, f'SELECT coalesce(max(rowid), 0) FROM "{table.fts}_docsize"')
    total = held_weight = 0.0
    for token in tokens:
        df = scalar(conn, f'SELECT doc FROM temp."{vocab}" WHERE term = ?', (token,)) or 0
        weight = math.log1p((rows - df + 0.5) / (df + 0.5))
        total += weight
        if token in held:
            held_weight += weight
    return held_weight / total if total > 0 else 0.0
