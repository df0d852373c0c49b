"""Score fusion for hybrid search: pure functions over ranked lists, no I/O.

Design note. Each retriever hands over a ranked list of `Hit`s (key = (content type, id), 1-based
position, raw score, score normalised to [0, 1]). Fusion keys results by (content type, id), never
by id alone, so a message and a block that share an id stay two results.

* RRF: fused_raw = sum over lists of weight / (k + position), positions 1-based within each list.
  The raw score is at most sum(weight) / (k + 1) (first in every list searched), so
  fused_normalized = fused_raw / that maximum lies in (0, 1] and 1.0 means "top of every list";
  the raw RRF value alone (at most 2/61 for k=60) is too small to threshold.
* Linear: each list is min-max normalised on its raw values (best hit 1.0, the last one
  fetched 0.0, a list of one hit 1.0), so bm25 and distances weigh alike whatever their scales;
  fused_raw = sum of weight * that value (0 for a list the hit is absent from) and
  fused_normalized = fused_raw / sum(weights): a weighted mean in [0, 1]. A hit below a list's
  depth would score at most 0 there, so counting an absent hit as 0 is exact, not a guess.
* Keyword gate: `gate_factor` turns the keyword list's confidence (`pattern_db.search.coverage`)
  into a factor on its weight: 0 below `low`, 1 above `high`, linear between.

The maximum is taken over the lists that were searched, so a hit found by one retriever of two can
score at most about one half: the fused score says how much evidence there is, not only the order.
Results are ordered by fused score descending, then content type, then id; the order of the input
lists and of the hits inside them (positions are explicit) does not change the outcome.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pattern_db import _validate

__all__ = [
    "Fused",
    "Hit",
    "fuse_linear",
    "fuse_rrf",
    "gate_factor",
    "minmax",
    "validate_weight",
    "vector_similarity",
]

Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Hit:
    """One entry of a retriever's ranked list."""

    key: Key
    position: int  # 1-based
    raw: float  # bm25 rank or vector distance: lower is better
    normalized: float  # the retriever's own score in [0, 1], 1.0 = best possible


@dataclass(frozen=True, slots=True)
class Fused:
    """One fused result: the hit of each list it appears in and its scores."""

    key: Key
    hits: tuple[Hit | None, ...]  # one slot per input list
    fused_raw: float
    fused_normalized: float


def validate_weight(name: str, value: float) -> float:
    """Return `value` as a float when it is finite and >= 0.

    Raises:
        InvalidData: not a number, negative, NaN or infinite.
    """
    return _validate.non_negative(value, name)


def _collect(lists: Sequence[Sequence[Hit]]) -> dict[Key, list[Hit | None]]:
    slots: dict[Key, list[Hit | None]] = {}
    for index, hits in enumerate(lists):
        for hit in hits:
            entry = slots.setdefault(hit.key, [None] * len(lists))
            current = entry[index]
            # A key listed twice in one list (should not happen) counts once, at its best place.
            if current is None or hit.position < current.position:
                entry[index] = hit
    return slots


def _ordered(results: list[Fused]) -> list[Fused]:
    results.sort(key=lambda f: (-f.fused_raw, f.key[0], f.key[1]))
    return results


def fuse_rrf(lists: Sequence[Sequence[Hit]], weights: Sequence[float], k: float) -> list[Fused]:
    """Return every key of `lists` with its reciprocal-rank-fusion score, best first.

    Example: first in list A and third in list B, k=60, weights 1: raw 1/61 + 1/63, normalised
    by 2/61 to 0.98413.
    """
    if len(weights) != len(lists):
        raise ValueError("one weight per list")
    top = sum(w / (k + 1) for w in weights)
    results = []
    for key, hits in _collect(lists).items():
        raw = math.fsum(
            w / (k + hit.position) for w, hit in zip(weights, hits, strict=True) if hit is not None
        )
        results.append(Fused(key, tuple(hits), raw, min(1.0, raw / top) if top > 0 else 0.0))
    return _ordered(results)


def minmax(hits: Sequence[Hit]) -> dict[Key, float]:
    """Return each hit's raw value rescaled to [0, 1] within its list: best 1.0, worst 0.0.

    Example: raws -3.0, -2.0, -1.0 (bm25) -> 1.0, 0.5, 0.0.
    """
    if not hits:
        return {}
    best = min(h.raw for h in hits)
    span = max(h.raw for h in hits) - best
    return {h.key: (1.0 - (h.raw - best) / span) if span > 0 else 1.0 for h in hits}


def fuse_linear(lists: Sequence[Sequence[Hit]], weights: Sequence[float]) -> list[Fused]:
    """Return every key of `lists` with its weighted sum of min-max scores, best first.

    Example: best of list A (1.0) and middle of list B (0.5), weights 0.4/0.6: raw 0.7,
    normalised 0.7.
    """
    if len(weights) != len(lists):
        raise ValueError("one weight per list")
    total = math.fsum(weights)
    scaled = [minmax(hits) for hits in lists]
    results = []
    for key, hits in _collect(lists).items():
        raw = math.fsum(
            w * values[key]
            for w, values, hit in zip(weights, scaled, hits, strict=True)
            if hit is not None
        )
        results.append(Fused(key, tuple(hits), raw, min(1.0, raw / total) if total > 0 else 0.0))
    return _ordered(results)


def gate_factor(confidence: float, low: float, high: float) -> float:
    """Return the share of the keyword weight a list of this confidence keeps, in [0, 1].

    Example: confidence 0.65 with the gate (0.5, 0.8) -> 0.5.
    """
    if confidence >= high:
        return 1.0
    if confidence <= low:
        return 0.0
    return (confidence - low) / (high - low)


def vector_similarity(distance: float, metric: str) -> float:
    """Return a distance as a similarity in [0, 1], 1.0 at distance 0 and falling as d grows.

    cosine: 1 - d / 2 (cosine distances lie in [0, 2], so opposite vectors score 0 and every
    distance keeps its own score); l2 and l1: 1 / (1 + d).
    """
    if metric == "cosine":
        return min(1.0, max(0.0, 1.0 - distance / 2.0))
    return 1.0 / (1.0 + max(0.0, distance))
