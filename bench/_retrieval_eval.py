"""Metrics, keyword-query variants and fusion variants for bench/retrieval.py.

A ranked list is a list of (doc_id, raw score) best first: bm25 (negative, lower is better) for
keyword lists, cosine distance for vector lists. Every fusion here returns ids best first, ties
broken by id, as `pattern_db.search` does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pattern_db.search.fts_query import WORD, natural_terms

Ranked = list[tuple[str, float]]


def terms(text: str, *, stop_words: bool = False) -> list[str]:
    """Return the query's distinct lower-cased tokens in order (without stop words if asked).

    The library's own word split (`natural_terms`) with its stop list, or every word.
    """
    if stop_words:
        return natural_terms(text)
    return list(dict.fromkeys(WORD.findall(text.lower())))


def or_expression(words: Sequence[str]) -> str | None:
    """Return an FTS5 expression matching any of the words ("a" OR "b"), None if none."""
    return " OR ".join(f'"{w}"' for w in words) if words else None


def and_expression(words: Sequence[str]) -> str | None:
    """Return an FTS5 expression matching all of the words ("a" "b"), None if none."""
    return " ".join(f'"{w}"' for w in words) if words else None


def fill(first: Ranked, second: Ranked, depth: int) -> Ranked:
    """Return `first`, then the items of `second` not in it, up to `depth` (AND, then OR)."""
    seen = {doc for doc, _ in first}
    out = list(first[:depth])
    for doc, score in second:
        if len(out) >= depth:
            break
        if doc not in seen:
            out.append((doc, score))
            seen.add(doc)
    return out


# -- metrics -----------------------------------------------------------------------------------


@dataclass
class Scores:
    """Mean nDCG@10, MRR@10, recall@10 over queries, and the share of queries with no hit."""

    ndcg: float
    mrr: float
    recall: float
    empty: float


def evaluate(rankings: Sequence[Sequence[str]], answers: Sequence[str], cut: int = 10) -> Scores:
    """Score ranked id lists against one relevant id per query."""
    ndcg = mrr = recall = empty = 0.0
    for ranking, answer in zip(rankings, answers, strict=True):
        top = list(ranking[:cut])
        empty += not top
        if answer in top:
            rank = top.index(answer) + 1
            ndcg += 1.0 / math.log2(rank + 1)
            mrr += 1.0 / rank
            recall += 1.0
    n = max(len(answers), 1)
    return Scores(ndcg / n, mrr / n, recall / n, empty / n)


# -- normalisation and fusion ------------------------------------------------------------------

Normaliser = Callable[[Ranked, str], dict[str, float]]


def norm_current(items: Ranked, kind: str) -> dict[str, float]:
    """What `pattern_db.search` does: bm25 / best bm25; cosine similarity 1 - d / 2."""
    if not items:
        return {}
    if kind == "fts":
        best = items[0][1]
        return {d: (s / best if best else 1.0) for d, s in items}
    return {d: min(1.0, max(0.0, 1.0 - s / 2.0)) for d, s in items}


def norm_best(items: Ranked, kind: str) -> dict[str, float]:
    """Both relative to the list's best: bm25 / best bm25 and similarity / best similarity."""
    if not items:
        return {}
    if kind == "fts":
        return norm_current(items, kind)
    sims = [(d, max(0.0, 1.0 - s)) for d, s in items]
    best = sims[0][1]
    return {d: (s / best if best > 0 else 0.0) for d, s in sims}


def norm_minmax(items: Ranked, kind: str) -> dict[str, float]:
    """Min-max over the list: best 1.0, worst 0.0 (a single hit scores 1.0)."""
    if not items:
        return {}
    goodness = [(d, -s) for d, s in items]  # bm25 and distance: lower is better
    hi, lo = goodness[0][1], goodness[-1][1]
    span = hi - lo
    return {d: ((g - lo) / span if span > 0 else 1.0) for d, g in goodness}


def norm_rank(items: Ranked, kind: str, depth: int = 20) -> dict[str, float]:
    """By position only: 1.0 for the first, falling by 1/depth per place."""
    return {d: 1.0 - i / depth for i, (d, _) in enumerate(items)}


def fuse_linear(fts: Ranked, vec: Ranked, normaliser: Normaliser, fts_weight: float) -> list[str]:
    """Weighted sum of normalised scores (a missing score counts 0); ids best first."""
    scores: dict[str, float] = {}
    for weight, items, kind in ((fts_weight, fts, "fts"), (1.0 - fts_weight, vec, "vec")):
        for doc, value in normaliser(items, kind).items():
            scores[doc] = scores.get(doc, 0.0) + weight * value
    return [d for d, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))]


def fuse_rrf(fts: Ranked, vec: Ranked, k: float, fts_weight: float = 0.5) -> list[str]:
    """Reciprocal rank fusion, 1-based ranks, weights summing to 1; ids best first."""
    scores: dict[str, float] = {}
    for weight, items in ((fts_weight, fts), (1.0 - fts_weight, vec)):
        for i, (doc, _) in enumerate(items):
            scores[doc] = scores.get(doc, 0.0) + weight / (k + i + 1)
    return [d for d, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))]


def interleave(lists: Sequence[Ranked], depth: int) -> Ranked:
    """Round-robin merge of per-table lists by their own rank (ties by table order)."""
    out: Ranked = []
    for i in range(max((len(items) for items in lists), default=0)):
        out.extend(items[i] for items in lists if i < len(items))
    return out[:depth]
