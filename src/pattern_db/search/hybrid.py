"""Hybrid search: full-text (FTS5) and vector (sqlite-vec) results fused into one ranked list.

Design note. A search runs up to two retrievers under the same visibility rules (agent, archived
and deleted messages, inactive blocks, sharing, folders; `pattern_db.search.tables`), then fuses:

* **Retrievers.** The keyword list is `fts.search_tables` over the requested content types (file
  passages included), merged across tables by bm25 (see `pattern_db.fts`). The vector list is
  `vector.knn_search` with the content type and the agent applied inside the nearest-neighbour
  search; its hits are checked against the same visibility rules (an archived message or an
  inactive block keeps its embedding) and given their content, and k grows until enough visible
  hits are in hand (`pattern_db.search.neighbours`). Each retriever fetches `candidates` rows
  (default max(2 * limit, 20)). Thresholds (`min_fts_score`, `max_vector_distance`) prune each
  list before fusion in every mode, so a hit pruned from one list can still arrive through the
  other; positions are 1-based in the pruned list; `min_score` prunes the fused list.
* **Scores shown.** `fts_normalized` = bm25 / best bm25 of the keyword list (1.0 for the best
  keyword hit). `vector_normalized` is a similarity on the absolute scale a distance already has:
  cosine 1 - d / 2 (distances lie in [0, 2]), l2 and l1 1 / (1 + d). A single retriever's results
  keep that retriever's order (bm25, or distance) and its score.
* **Fusion** (`pattern_db.search.fusion`): linear by default: each list min-max normalised on its
  raw values, then weighted (keywords 0.4, vectors 0.6); or RRF (k=60, 1-based ranks). The
  keyword weight is scaled by the keyword list's confidence, the idf-weighted share of the
  query's words its best hit holds (`keyword_confidence` in the breakdown;
  `pattern_db.search.coverage`): none below 0.5, all of it from 0.8. A question that shares no
  word with its answer still matches rows holding one of its common words; the gate keeps such a
  list from pushing the vector list's hits down. Text in explicit FTS5 syntax is trusted as
  written (no gate). `fused_normalized` is in [0, 1] (linear: raw / sum of weights; RRF: raw /
  the raw score of a hit first in every list) and is `SearchResult.score`. Results are keyed by
  (content type, id), ordered by score, then content type, then id.

Modes: an explicit HYBRID needs both a text and an embedding; AUTO (the default) runs both when
both are given, else whichever is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any, Literal

import msgspec

from pattern_db import _validate
from pattern_db.connection import Executor
from pattern_db.errors import InvalidData
from pattern_db.models.content import ContentType
from pattern_db.search import fts as _fts
from pattern_db.search.coverage import keyword_coverage
from pattern_db.search.fts_query import (
    FtsMode,
    clean_query,
    looks_like_query,
    natural_terms,
    parse_mode,
)
from pattern_db.search.fusion import (
    Fused,
    Hit,
    fuse_linear,
    fuse_rrf,
    gate_factor,
    validate_weight,
    vector_similarity,
)
from pattern_db.search.tables import TABLES_BY_TYPE, Detail, Visibility

__all__ = [
    "ContentFilter",
    "FusionMethod",
    "HybridSearchBuilder",
    "ScoreBreakdown",
    "SearchMode",
    "SearchResult",
    "search",
    "vector_similarity",
]

# Fetched per retriever: twice the limit, but at least this many, so fusion has depth to work with.
MIN_CANDIDATES = 20
# Default fusion, chosen on bench/retrieval.py (stdlib, man-page and paraphrase sets; the
# figures are in the README): linear, keywords 0.4, vectors 0.6, keyword gate 0.5 to 0.8.
DEFAULT_FTS_WEIGHT = 0.4
DEFAULT_VECTOR_WEIGHT = 0.6
DEFAULT_KEYWORD_GATE: tuple[float, float] | None = (0.5, 0.8)


class SearchMode(StrEnum):
    """Which retrievers run. AUTO: hybrid with text and embedding, else whichever is given."""

    AUTO = "auto"
    FTS_ONLY = "fts_only"
    VECTOR_ONLY = "vector_only"
    HYBRID = "hybrid"


class FusionMethod(msgspec.Struct, frozen=True, kw_only=True):
    """How two ranked lists become one: `FusionMethod.linear()` (the default) or `.rrf()`.

    `keyword_gate` = (low, high) scales the keyword weight by the keyword list's confidence
    (`pattern_db.search.coverage`): 0 at or below `low`, the full weight at or above `high`.
    """

    kind: Literal["rrf", "linear"] = "linear"
    k: float = 60.0
    fts_weight: float = DEFAULT_FTS_WEIGHT
    vector_weight: float = DEFAULT_VECTOR_WEIGHT
    keyword_gate: tuple[float, float] | None = DEFAULT_KEYWORD_GATE

    @classmethod
    def rrf(
        cls,
        k: float = 60.0,
        *,
        fts_weight: float = 1.0,
        vector_weight: float = 1.0,
        keyword_gate: tuple[float, float] | None = None,
    ) -> FusionMethod:
        """Return reciprocal rank fusion: sum of weight / (k + position), positions 1-based.

        Raises:
            InvalidData: k <= 0, a weight that is negative or not finite, both weights zero,
                or a gate that is not 0 <= low <= high <= 1.
        """
        k_value = validate_weight("k", k)
        if k_value <= 0:
            raise InvalidData(f"RRF k must be > 0, got {k!r}")
        return cls(
            kind="rrf",
            k=k_value,
            keyword_gate=_gate(keyword_gate),
            **_weights(fts_weight, vector_weight),
        )

    @classmethod
    def linear(
        cls,
        fts_weight: float = DEFAULT_FTS_WEIGHT,
        vector_weight: float = DEFAULT_VECTOR_WEIGHT,
        *,
        keyword_gate: tuple[float, float] | None = DEFAULT_KEYWORD_GATE,
    ) -> FusionMethod:
        """Return a weighted sum of the min-max normalised scores (a missing score counts 0).

        Example: `FusionMethod.linear(0.5, 0.5, keyword_gate=None)` weighs both lists alike
        whatever the query.

        Raises:
            InvalidData: a weight that is negative or not finite, both weights zero, or a gate
                that is not 0 <= low <= high <= 1.
        """
        weights = _weights(fts_weight, vector_weight)
        return cls(kind="linear", keyword_gate=_gate(keyword_gate), **weights)


def _gate(gate: tuple[float, float] | None) -> tuple[float, float] | None:
    if gate is None:
        return None
    try:
        low, high = (validate_weight("keyword_gate", value) for value in gate)
    except (TypeError, ValueError):
        raise InvalidData(f"keyword_gate must be (low, high) or None, got {gate!r}") from None
    if not low <= high <= 1.0:
        raise InvalidData(f"keyword_gate must satisfy 0 <= low <= high <= 1, got {gate!r}")
    return (low, high)


def _weights(fts_weight: float, vector_weight: float) -> dict[str, float]:
    weights = {
        "fts_weight": validate_weight("fts_weight", fts_weight),
        "vector_weight": validate_weight("vector_weight", vector_weight),
    }
    if not any(weights.values()):
        raise InvalidData("at least one fusion weight must be > 0")
    return weights


class ContentFilter(msgspec.Struct, frozen=True, kw_only=True):
    """What to search: one content type or all, one agent's rows or everyone's, and flags.

    Example: `ContentFilter.messages("agent_1")`, `ContentFilter.all("agent_1",
    include_shared=True)`, `ContentFilter.file_passages(folder_id="f1")`.
    """

    content_type: ContentType | None = None
    agent_id: str | None = None
    include_archived: bool = False
    include_deleted: bool = False
    include_inactive: bool = False
    include_shared: bool = True
    folder_id: str | None = None

    @classmethod
    def messages(
        cls,
        agent_id: str | None = None,
        *,
        include_archived: bool = False,
        include_deleted: bool = False,
    ) -> ContentFilter:
        """Return a filter for messages (of one agent when given)."""
        return cls(
            content_type=ContentType.MESSAGE,
            agent_id=agent_id,
            include_archived=include_archived,
            include_deleted=include_deleted,
        )

    @classmethod
    def memory_blocks(
        cls,
        agent_id: str | None = None,
        *,
        include_inactive: bool = False,
        include_shared: bool = True,
    ) -> ContentFilter:
        """Return a filter for memory blocks (owned by, or with sharing visible to, an agent)."""
        return cls(
            content_type=ContentType.MEMORY_BLOCK,
            agent_id=agent_id,
            include_inactive=include_inactive,
            include_shared=include_shared,
        )

    @classmethod
    def archival(cls, agent_id: str | None = None, *, include_shared: bool = True) -> ContentFilter:
        """Return a filter for archival entries (with constellation entries when shared)."""
        return cls(
            content_type=ContentType.ARCHIVAL_ENTRY,
            agent_id=agent_id,
            include_shared=include_shared,
        )

    @classmethod
    def file_passages(
        cls, folder_id: str | None = None, *, agent_id: str | None = None
    ) -> ContentFilter:
        """Return a filter for file passages (of one folder, or of the folders an agent has)."""
        return cls(content_type=ContentType.FILE_PASSAGE, agent_id=agent_id, folder_id=folder_id)

    @classmethod
    def all(
        cls,
        agent_id: str | None = None,
        *,
        include_archived: bool = False,
        include_deleted: bool = False,
        include_inactive: bool = False,
        include_shared: bool = True,
    ) -> ContentFilter:
        """Return a filter for every content type (file passages of an agent's folders)."""
        return cls(
            agent_id=agent_id,
            include_archived=include_archived,
            include_deleted=include_deleted,
            include_inactive=include_inactive,
            include_shared=include_shared,
        )

    def content_types(self) -> list[ContentType]:
        """Return the content types this filter searches."""
        return list(ContentType) if self.content_type is None else [self.content_type]

    def visibility(self) -> Visibility:
        """Return the visibility rules of this filter."""
        return Visibility(
            agent_id=self.agent_id,
            include_archived=self.include_archived,
            include_deleted=self.include_deleted,
            include_inactive=self.include_inactive,
            include_shared=self.include_shared,
            folder_id=self.folder_id,
        )


class ScoreBreakdown(msgspec.Struct, frozen=True, kw_only=True):
    """How a result scored: each retriever's raw value, list position and normalised score."""

    fts_rank: float | None = None
    vector_distance: float | None = None
    fts_position: int | None = None
    vector_position: int | None = None
    fts_normalized: float | None = None
    vector_normalized: float | None = None
    fused_raw: float = 0.0
    fused_normalized: float = 0.0
    keyword_confidence: float | None = None


class SearchResult(msgspec.Struct, frozen=True, kw_only=True):
    """One hybrid result; `score` is the fused score normalised to [0, 1] (higher is better)."""

    id: str
    content_type: ContentType
    content: str
    score: float
    scores: ScoreBreakdown
    agent_id: str | None = None
    snippet: str | None = None
    chunk_index: int | None = None


# -- the builder -------------------------------------------------------------------------------


class HybridSearchBuilder:
    """Fluent description of a search; `execute()` runs it. Start with `search(db)`."""

    def __init__(self, db: Executor) -> None:
        self._db = db
        self._text: str | None = None
        self._embedding: Any = None
        self._filter = ContentFilter()
        self._mode = SearchMode.AUTO
        self._fusion = FusionMethod.linear()
        self._limit = 10
        self._candidates: int | None = None
        self._max_vector_distance: float | None = None
        self._min_fts_score: float | None = None
        self._min_score: float | None = None
        self._fts_mode = FtsMode.NATURAL

    def text(self, query: str) -> HybridSearchBuilder:
        """Set the keyword query, read as words by default (any may match; see fts_mode)."""
        if not isinstance(query, str):
            raise InvalidData(f"the search text must be a string, got {type(query).__name__}")
        self._text = query
        return self

    def embedding(self, query_embedding: Sequence[float] | Any) -> HybridSearchBuilder:
        """Set the query vector (any float sequence or numpy array)."""
        self._embedding = query_embedding
        return self

    def filter(self, content_filter: ContentFilter) -> HybridSearchBuilder:
        """Set what is searched (content type, agent, visibility flags)."""
        self._filter = content_filter
        return self

    def mode(self, mode: SearchMode | str) -> HybridSearchBuilder:
        """Set the mode: AUTO (default), FTS_ONLY, VECTOR_ONLY or HYBRID."""
        self._mode = _validate.enum_value(SearchMode, mode, "search mode")
        return self

    def fusion(self, method: FusionMethod) -> HybridSearchBuilder:
        """Set the fusion method (default `FusionMethod.rrf(k=60)`)."""
        self._fusion = method
        return self

    def limit(self, limit: int) -> HybridSearchBuilder:
        """Set the number of results (default 10)."""
        self._limit = _non_negative_int("limit", limit)
        return self

    def candidates(self, count: int) -> HybridSearchBuilder:
        """Set how many rows each retriever fetches (default max(2 * limit, 20); never < limit)."""
        self._candidates = _non_negative_int("candidates", count) or None
        return self

    def max_vector_distance(self, distance: float) -> HybridSearchBuilder:
        """Drop vector hits farther than `distance` (in every mode)."""
        self._max_vector_distance = validate_weight("max_vector_distance", distance)
        return self

    def min_fts_score(self, score: float) -> HybridSearchBuilder:
        """Drop keyword hits whose normalised score (1.0 = best hit) is below `score`."""
        self._min_fts_score = validate_weight("min_fts_score", score)
        return self

    def min_score(self, score: float) -> HybridSearchBuilder:
        """Drop results whose final score (fused, normalised to [0, 1]) is below `score`."""
        self._min_score = validate_weight("min_score", score)
        return self

    def fts_mode(self, mode: FtsMode | str) -> HybridSearchBuilder:
        """Set how the text is read: "natural" (default), "auto", "fts5" (strict) or "literal"."""
        self._fts_mode = parse_mode(mode)
        return self

    def execute(self) -> list[SearchResult]:
        """Run the search and return the results, best first.

        Raises:
            InvalidData: no text and no embedding, a mode without its input, an invalid FTS5
                query in "fts5" text mode, or a malformed embedding.
            DimensionMismatch: the embedding's dimensions differ from the index's.
            ExtensionError: a vector search was asked for and sqlite-vec is not loaded.
        """
        mode = self._resolve_mode()
        if self._limit == 0:
            return []
        fetch = max(self._limit, self._candidates or max(2 * self._limit, MIN_CANDIDATES))
        details: dict[tuple[str, str], Detail] = {}
        confidence: float | None = None
        if mode is SearchMode.FTS_ONLY:
            fused = _single(self._fts_hits(fetch, details))
        elif mode is SearchMode.VECTOR_ONLY:
            fused = _single(self._vector_hits(fetch, details))
        else:
            fts_hits = self._fts_hits(fetch, details)
            lists = [fts_hits, self._vector_hits(fetch, details)]
            fts_weight = self._fusion.fts_weight
            gate = self._fusion.keyword_gate
            if gate is not None and fts_hits:
                confidence = self._keyword_confidence(fts_hits[0])
                if confidence is not None:
                    fts_weight *= gate_factor(confidence, *gate)
            if not fts_weight and not self._fusion.vector_weight:
                fts_weight = self._fusion.fts_weight  # keywords alone were asked for: no gate
            weights = [fts_weight, self._fusion.vector_weight]
            fused = _fuse(lists, weights, self._fusion)
        if self._min_score is not None:
            fused = [f for f in fused if f.fused_normalized >= self._min_score]
        return [_result(f, mode, details, confidence) for f in fused[: self._limit]]

    # -- retrievers ----------------------------------------------------------------------------

    def _resolve_mode(self) -> SearchMode:
        has_text = self._text is not None
        has_vector = self._embedding is not None
        mode = self._mode
        if mode is SearchMode.AUTO:
            # Blank text is no keyword evidence: with an embedding, search by vector alone.
            has_words = has_text and bool(str(self._text).strip())
            if has_words and has_vector:
                return SearchMode.HYBRID
            if has_vector:
                return SearchMode.VECTOR_ONLY
            if has_text:
                return SearchMode.FTS_ONLY
            raise InvalidData("a search needs a text query (.text(...)) or an embedding")
        if mode in (SearchMode.FTS_ONLY, SearchMode.HYBRID) and not has_text:
            raise InvalidData(f"{mode.value} search needs a text query: call .text(...)")
        if mode in (SearchMode.VECTOR_ONLY, SearchMode.HYBRID) and not has_vector:
            raise InvalidData(f"{mode.value} search needs an embedding: call .embedding(...)")
        return mode

    def _fts_hits(self, fetch: int, details: dict[tuple[str, str], Detail]) -> list[Hit]:
        f = self._filter
        matches = _fts.search_tables(
            self._db,
            self._text or "",
            f.content_types(),
            fetch,
            mode=self._fts_mode,
            agent_id=f.agent_id,
            include_archived=f.include_archived,
            include_deleted=f.include_deleted,
            include_inactive=f.include_inactive,
            include_shared=f.include_shared,
            folder_id=f.folder_id,
        )
        if self._min_fts_score is not None:
            matches = [m for m in matches if m.score >= self._min_fts_score]
        hits = []
        for position, m in enumerate(matches, start=1):
            key = (m.content_type, m.id)
            details[key] = Detail(m.content_type, m.id, m.content, m.agent_id, m.snippet, None)
            hits.append(Hit(key, position, m.rank, m.score))
        return hits

    def _keyword_confidence(self, top: Hit) -> float | None:
        """Return the coverage of the best keyword hit, or None for an explicit FTS5 query."""
        text = clean_query(self._text or "")
        if self._fts_mode is FtsMode.FTS5 or (
            self._fts_mode is FtsMode.AUTO and looks_like_query(text)
        ):
            return None  # the caller wrote a keyword query: it is trusted as written
        content_type, content_id = top.key
        with self._db.reader() as conn:
            return keyword_coverage(
                conn, TABLES_BY_TYPE[ContentType(content_type)], natural_terms(text), content_id
            )

    def _vector_hits(self, fetch: int, details: dict[tuple[str, str], Detail]) -> list[Hit]:
        # Imported here so that keyword-only searches never load numpy.
        from pattern_db.search.neighbours import index_metric, visible_neighbours

        metric = index_metric(self._db)
        found = visible_neighbours(
            self._db, self._embedding, self._filter, fetch, self._max_vector_distance, details
        )
        return [
            Hit(
                (r.content_type, r.content_id),
                position,
                r.distance,
                vector_similarity(r.distance, metric),
            )
            for position, r in enumerate(found, start=1)
        ]


def search(db: Executor) -> HybridSearchBuilder:
    """Return a search builder over `db` (a ConstellationDb or a Transaction).

    Example: `search(db).text("ADHD task management").embedding(vec)
    .filter(ContentFilter.messages("agent_1")).limit(10).execute()`.
    """
    return HybridSearchBuilder(db)


# -- helpers -----------------------------------------------------------------------------------


def _non_negative_int(name: str, value: int) -> int:
    return _validate.count(value, name)


def _fuse(lists: list[list[Hit]], weights: list[float], method: FusionMethod) -> list[Fused]:
    if method.kind == "linear":
        return fuse_linear(lists, weights)
    return fuse_rrf(lists, weights, method.k)


def _single(hits: list[Hit]) -> list[Fused]:
    # One retriever: its own order (bm25, or distance) is the ranking, whatever the scores.
    ordered = sorted(hits, key=lambda h: h.position)
    return [Fused(h.key, (h,), h.normalized, h.normalized) for h in ordered]


def _result(
    f: Fused,
    mode: SearchMode,
    details: dict[tuple[str, str], Detail],
    confidence: float | None,
) -> SearchResult:
    fts_hit: Hit | None = None
    vec_hit: Hit | None = None
    if mode is SearchMode.HYBRID:
        fts_hit, vec_hit = f.hits
    elif mode is SearchMode.FTS_ONLY:
        fts_hit = f.hits[0]
    else:
        vec_hit = f.hits[0]
    detail = details[f.key]
    scores = ScoreBreakdown(
        fts_rank=None if fts_hit is None else fts_hit.raw,
        vector_distance=None if vec_hit is None else vec_hit.raw,
        fts_position=None if fts_hit is None else fts_hit.position,
        vector_position=None if vec_hit is None else vec_hit.position,
        fts_normalized=None if fts_hit is None else fts_hit.normalized,
        vector_normalized=None if vec_hit is None else vec_hit.normalized,
        fused_raw=f.fused_raw,
        fused_normalized=f.fused_normalized,
        keyword_confidence=confidence,
    )
    return SearchResult(
        id=detail.id,
        content_type=detail.content_type,
        content=detail.content,
        score=f.fused_normalized,
        scores=scores,
        agent_id=detail.agent_id,
        snippet=detail.snippet,
        chunk_index=detail.chunk_index,
    )
