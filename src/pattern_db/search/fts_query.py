"""FTS5 query text: the three modes, literal quoting and validation by SQLite itself.

Design note: which text is "valid FTS5" is decided by SQLite, never by a Python re-implementation
of the grammar. apsw's `fts5query` parser is close but disagrees at the edges (`hello : world`
parses there and fails in SQLite; `a:b` parses but names a column that does not exist), and a
query that a second parser accepts but SQLite rejects is exactly the traceback users of the peers
complain about. So the search functions run the text as written and, in `auto` mode, fall back to
literal terms when SQLite answers SQLITE_ERROR (classified by apsw's exception class, never by the
message text); `validate_fts_query` asks a private in-memory FTS5 table the same question.

Literal terms: the text is split on whitespace and every distinct piece becomes one quoted FTS5
string (`apsw.fts5query.quote` rules: `"` doubled), joined by spaces, so every word must occur
(FTS5's implicit AND) and nothing in the text is syntax. Text longer than MAX_QUERY_CHARS, or a
literal search of more than MAX_QUERY_TERMS distinct words, is refused with InvalidData: the work of
a search grows with its terms, and no question needs more. A piece the tokenizer reduces to nothing
(`?`) becomes an empty phrase, which FTS5 drops from an AND (and which matches nothing on its own).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum

import apsw

from pattern_db import _validate
from pattern_db.errors import InvalidData

__all__ = [
    "MAX_QUERY_CHARS",
    "MAX_QUERY_TERMS",
    "STOP_WORDS",
    "WORD",
    "FtsMode",
    "clean_query",
    "invalid_query",
    "is_special_query",
    "literal_expression",
    "looks_like_query",
    "natural_expression",
    "natural_terms",
    "parse_mode",
    "validate_fts_query",
]

# Longer text is refused rather than searched: FTS5's cost grows with every term, and a search
# is a question, not a document (4,000 characters is a long paragraph).
MAX_QUERY_CHARS = 4_000
# Distinct words a literal (or natural-language) expression may hold.
MAX_QUERY_TERMS = 64

# A small English stop list (articles, pronouns, auxiliaries, prepositions, conjunctions): words
# that carry no topic and, OR-ed, match nearly every row. Dropping them keeps natural-language
# queries short (bench/retrieval.py: nDCG@10 within 0.005 either way, fewer terms to merge).
_STOP_TEXT = """
a an the and or but if then else of to in on at by for with from into onto over under
about as is are was were be been being am do does did doing have has had having it its
this that these those there here i me my we our you your he him his she her they them
their what which who whom whose when where why how not no nor so than too very can could
should would will shall may might must just only also any all each every some such own
same other more most few both either neither one s t up down out off again further once
via per
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())
# FTS5's unicode61 tokens are runs of letters and digits; "_" and punctuation separate them.
WORD = re.compile(r"[^\W_]+")
# Text with one of these is clearly written for FTS5: a phrase, a prefix, NEAR, a first-token
# anchor. AND/OR/NOT and colons alone are not: "file NOT found", "note: call mum" are prose.
_QUERY_SYNTAX = re.compile(r'"|\w\*|\bNEAR\(|(?:^|\s)\^')

# Every column an FTS table of the schema indexes (0002_fts.sql); the default column set a
# standalone validation accepts in column filters (`label: todo`).
ALL_FTS_COLUMNS = ("content_preview", "label", "description", "content", "metadata")


class FtsMode(StrEnum):
    """How query text is read.

    NATURAL: words, any of which may match, ranked by bm25 (stop words dropped). FTS5: the text
    is an FTS5 expression (invalid syntax raises). LITERAL: every word must occur, as written.
    AUTO: FTS5 when the text is clearly a query (a quote, a `*`, `NEAR(`, `^`) and valid, else
    NATURAL.
    """

    AUTO = "auto"
    FTS5 = "fts5"
    LITERAL = "literal"
    NATURAL = "natural"


def parse_mode(mode: FtsMode | str) -> FtsMode:
    """Return the FtsMode for `mode`.

    Raises:
        InvalidData: `mode` is not one of "auto", "fts5", "literal".
    """
    return _validate.enum_value(FtsMode, mode, "FTS mode")


def clean_query(query: str) -> str:
    """Return the text SQLite can be given: NULs become spaces, lone surrogates U+FFFD.

    FTS5 reads its query as a NUL-terminated string (a leading NUL is a syntax error, text after
    a NUL is silently dropped) and a lone surrogate cannot be encoded as UTF-8 at all, so neither
    can be part of a search; both are replaced rather than refused so that no user text raises.
    """
    if not isinstance(query, str):
        raise InvalidData(f"an FTS query must be text, got {type(query).__name__}")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidData(
            f"the search text is {len(query):,} characters long; at most {MAX_QUERY_CHARS:,} are "
            "searched: search with a few words or a sentence"
        )
    if "\x00" in query:
        query = query.replace("\x00", " ")
    try:
        query.encode("utf-8")
    except UnicodeEncodeError:
        # Valid surrogate pairs are joined, lone halves become U+FFFD.
        query = query.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return query


def is_special_query(text: str) -> bool:
    """Return True for text FTS5 reads as a debugging command (`*reads`, `*id`), not a search.

    FTS5 treats a MATCH string that begins with `*` as one of its internal special queries, which
    return a dummy row instead of matches; such text is never a valid search expression here.
    """
    return text.startswith("*")


def natural_terms(text: str) -> list[str]:
    """Return the distinct lower-cased words of `text` in order, stop words dropped.

    When every word is a stop word they are kept ("who are you"); at most MAX_QUERY_TERMS are
    returned (the first ones), so a long paragraph is still a search.
    """
    words = list(dict.fromkeys(WORD.findall(text.lower())))
    content = [w for w in words if w not in STOP_WORDS]
    return (content or words)[:MAX_QUERY_TERMS]


def natural_expression(text: str) -> str | None:
    """Return an FTS5 expression matching any word of `text`, or None when it has no word.

    bm25 ranks rows holding more of the words, and rarer ones, first.

    Example: `natural_expression("What's the deadline?")` -> `"deadline"`.
    """
    words = natural_terms(text)
    return " OR ".join(f'"{w}"' for w in words) if words else None


def looks_like_query(text: str) -> bool:
    """Return True when `text` uses FTS5 syntax only a query would (what AUTO reads as FTS5)."""
    return _QUERY_SYNTAX.search(text) is not None


def literal_expression(text: str) -> str:
    """Return an FTS5 expression matching every whitespace-separated word of `text` literally.

    A word repeated is searched once (AND-ing it again changes nothing). Example:
    `literal_expression("what's up?")` -> `"what's" "up?"`.

    Raises:
        InvalidData: the text has more than MAX_QUERY_TERMS distinct words.
    """
    words = list(dict.fromkeys(text.split()))
    if len(words) > MAX_QUERY_TERMS:
        raise InvalidData(
            f"the search text has {len(words)} distinct words; a literal search matches at most "
            f"{MAX_QUERY_TERMS} (every one must occur): use fewer words"
        )
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


def validate_fts_query(query: str, *, columns: Sequence[str] = ALL_FTS_COLUMNS) -> None:
    """Return None when FTS5 accepts `query` as written (column filters may name `columns`).

    The check runs the query against an empty private in-memory FTS5 table, so it accepts exactly
    what a search in `fts5` mode accepts.

    Raises:
        InvalidData: the query is empty, or FTS5 rejects it (the message gives SQLite's reason).

    Example: `validate_fts_query('"exact phrase" OR prefix*')` returns None;
    `validate_fts_query("multi-agent")` raises InvalidData ("no such column: agent").
    """
    text = clean_query(query)
    if not text.strip():
        raise InvalidData("empty FTS query: give at least one search term")
    names = [c for c in dict.fromkeys(columns) if c]
    if not names or not all(c.isascii() and c.isidentifier() for c in names):
        raise InvalidData(f"FTS column names must be identifiers, got {list(columns)!r}")
    if is_special_query(text):
        raise invalid_query(query, "a query cannot start with '*' (FTS5 special-query syntax)")
    conn = apsw.Connection(":memory:")
    try:
        try:
            conn.execute(f"CREATE VIRTUAL TABLE probe USING fts5({', '.join(names)})")
        except apsw.SQLError as exc:  # a reserved name such as rank or rowid
            raise InvalidData(f"FTS column names {names!r} are not usable: {exc}") from exc
        try:
            conn.execute("SELECT rowid FROM probe WHERE probe MATCH ?", (text,)).fetchall()
        except apsw.SQLError as exc:
            raise invalid_query(query, exc) from exc
    finally:
        conn.close()


def invalid_query(query: str, reason: apsw.Error | str) -> InvalidData:
    """Return the InvalidData for an FTS5 query SQLite rejected."""
    return InvalidData(
        f"invalid FTS5 query {query!r}: {reason}; quote literal text in double quotes, or search "
        "with mode='auto' (the default) or mode='literal' to match the words as written"
    )
