"""Retrieval quality of FTS, vector and hybrid search on known-item sets built on this machine.

`python -m bench.retrieval [--quick] [--keep-cache] [--no-man]` builds three query sets (see
`_retrieval_corpus`): stdlib docstrings (summary line -> body), man pages (NAME line -> DESCRIPTION)
when installed, and hand-written paraphrases sharing no word with their answer (`_paraphrases`).
Each corpus is loaded into a fresh constellation as archival entries, indexed with LocalEmbedder
through `index_pending`, and every query runs through the public `fts`, `vector` and `search` APIs.
Keyword-query variants (OR, stop words, AND then OR, with and without porter stemming), keyword
gates and fusion variants (RRF k, linear normalisations and weights) are prototyped here on the
ranked lists. A mixed set spreads the stdlib documents over the four content tables to compare ways
of merging bm25 across tables. The public hybrid search itself (api_* rows) runs on an even sample
of at most API_QUERIES queries per set, to keep a full run near ten minutes. Prints nDCG@10 / MRR@10
/ recall@10 and writes bench/results/retrieval.json. Work files live in /tmp/embed-bench and are
removed at the end (`--keep-cache` keeps the vector cache).
"""

from __future__ import annotations

import argparse
import pickle
import random
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench import _retrieval_db as rdb
from bench._paraphrases import PARAPHRASES
from bench._retrieval_corpus import MAN_ROOT, Pair, man_pairs, stdlib_pairs
from bench._retrieval_eval import (
    Ranked,
    Scores,
    and_expression,
    evaluate,
    fill,
    fuse_linear,
    fuse_rrf,
    interleave,
    norm_best,
    norm_current,
    norm_minmax,
    norm_rank,
    or_expression,
    terms,
)
from bench._util import environment, report
from pattern_db import ConstellationDb
from pattern_db.embed import LocalEmbedder, WordChunker
from pattern_db.search import ContentFilter, FusionMethod
from pattern_db.search.fusion import gate_factor
from pattern_db.vector import ContentType

WORK = Path("/tmp/embed-bench")
QUICK_QUERIES = 300
API_QUERIES = 600
RRF_KS = (1, 5, 10, 20, 40, 60, 100)
WEIGHTS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
NORMALISERS = {"current": norm_current, "best": norm_best, "minmax": norm_minmax, "rank": norm_rank}
KEYWORD_FOR_FUSION = ("natural", "plain_or_stop")
API_ROWS = ("api_vector", "api_default", "api_linear_nogate", "api_rrf")
NO_GATE = FusionMethod.linear(keyword_gate=None)
# Keyword gates (low, high) swept on the library's natural keyword list, linear min-max fusion.
GATES = ((0.3, 0.6), (0.4, 0.7), (0.5, 0.8), (0.5, 0.9), (0.6, 0.9))
GATE_WEIGHTS = (0.3, 0.4, 0.5, 0.6)
# Every set's ranked lists, pickled to WORK with --keep-cache for fusion experiments.
LISTS: dict[str, Any] = {}


def _words(text: str) -> set[str]:
    return set(terms(text))


def paraphrase_pairs(corpus: dict[str, Pair]) -> list[Pair]:
    """Paraphrase queries for answers in `corpus`: the first phrasing sharing no word with it."""
    out = []
    for key, phrasings in PARAPHRASES:
        answer = corpus.get(key)
        if answer is None:
            continue
        for phrasing in phrasings.split("|"):
            if not _words(phrasing) & _words(answer.doc):
                out.append(Pair(key=key, query=phrasing, doc=answer.doc))
                break
    return out


# -- one query set on one corpus ---------------------------------------------------------------


def collect(db: ConstellationDb, pairs: Sequence[Pair], vectors: np.ndarray[Any, Any]) -> dict:
    """Run every retriever for every query; return lists per retriever (and API top-10 ids).

    The public hybrid search (the api_* rows, half the time of a query) runs on every
    `api_step(len(pairs))`-th query only; `score_set` scores those rows on the same queries.
    """
    out: dict[str, list[Any]] = {}
    step = api_step(len(pairs))

    def put(name: str, value: Any) -> None:
        out.setdefault(name, []).append(value)

    for i, (p, qv) in enumerate(zip(pairs, vectors, strict=True)):
        words, content = terms(p.query), terms(p.query, stop_words=True)
        or_all, or_stop = or_expression(words), or_expression(content)
        and_stop = and_expression(content)
        # The library's keyword modes (porter-stemmed indexes since migration 0004).
        put("default", rdb.fts_list(db, p.query, mode="auto"))
        put("natural", rdb.fts_list(db, p.query, mode="natural"))
        put("and", rdb.fts_list(db, and_expression(words)))
        put("or", rdb.fts_list(db, or_all))
        put("or_stop", rdb.fts_list(db, or_stop))
        put("and_or_stop", fill(rdb.fts_list(db, and_stop), out["or_stop"][-1], rdb.DEPTH))
        # The same expressions on an unstemmed index (the tables before migration 0004).
        put("plain_and", rdb.own_fts_list(db, "bench_plain", and_expression(words)))
        put("plain_or", rdb.own_fts_list(db, "bench_plain", or_all))
        put("plain_or_stop", rdb.own_fts_list(db, "bench_plain", or_stop))
        put("vector", rdb.vector_list(db, qv))
        put("confidence", rdb.confidence(db, p.query, out["natural"][-1]))
        if i % step:
            continue
        put("api_vector", rdb.api_ids(db, None, qv))
        put("api_default", rdb.api_ids(db, p.query, qv))
        put("api_linear_nogate", rdb.api_ids(db, p.query, qv, fusion=NO_GATE))
        put("api_rrf", rdb.api_ids(db, p.query, qv, fusion=FusionMethod.rrf()))
    return out


def api_step(n: int) -> int:
    """Every how many queries the public hybrid search runs (at most API_QUERIES of them)."""
    return max(1, -(-n // API_QUERIES))


def ids(lists: Sequence[Ranked]) -> list[list[str]]:
    return [[d for d, _ in items] for items in lists]


def score_set(lists: dict, answers: Sequence[str]) -> dict[str, Scores]:
    """Score every retriever and every fusion variant of one query set."""
    scores: dict[str, Scores] = {}
    ranked = [k for k in lists if not k.startswith("api_") and k != "confidence"]
    for name in ranked:
        scores[f"fts:{name}" if name != "vector" else "vector"] = evaluate(
            ids(lists[name]), answers
        )
    sampled = list(answers)[:: api_step(len(answers))]
    for name in API_ROWS:
        scores[name] = evaluate(lists[name], sampled)
    vec = lists["vector"]
    for keyword in KEYWORD_FOR_FUSION:
        kw = lists[keyword]
        for k in RRF_KS:
            fused = [fuse_rrf(a, b, k) for a, b in zip(kw, vec, strict=True)]
            scores[f"rrf:{keyword}:k{k}"] = evaluate(fused, answers)
        for w in WEIGHTS:
            fused = [fuse_rrf(a, b, 60, w) for a, b in zip(kw, vec, strict=True)]
            scores[f"rrfw:{keyword}:k60:w{w}"] = evaluate(fused, answers)
        for norm_name, normaliser in NORMALISERS.items():
            for w in WEIGHTS:
                fused = [fuse_linear(a, b, normaliser, w) for a, b in zip(kw, vec, strict=True)]
                scores[f"linear:{keyword}:{norm_name}:w{w}"] = evaluate(fused, answers)
    kw, conf = lists["natural"], lists["confidence"]
    for w in GATE_WEIGHTS:
        for low, high in GATES:
            fused = [
                fuse_linear(a, b, norm_minmax, w * gate_factor(c or 0.0, low, high))
                for a, b, c in zip(kw, vec, conf, strict=True)
            ]
            scores[f"gated:natural:minmax:w{w}:{low}-{high}"] = evaluate(fused, answers)
    # The row "hybrid linear (FTS 0.3), OR-ed FTS".
    fused = [fuse_linear(a, b, norm_current, 0.3) for a, b in zip(lists["or"], vec, strict=True)]
    scores["linear:or:current:w0.3"] = evaluate(fused, answers)
    return scores


def run_corpus(
    name: str,
    pairs: list[Pair],
    para: list[Pair],
    embedder: rdb.CachedEmbedder,
    limit: int | None,
) -> tuple[dict[str, Scores], dict, list[str], dict[str, Any]]:
    """Build the corpus database, run its own queries and its paraphrases."""
    started = time.perf_counter()
    before = embedder.computed
    db = rdb.archival_db(WORK / f"{name}.db", pairs, embedder)
    built = time.perf_counter() - started
    try:
        queries = pairs if limit is None else random.Random(7).sample(pairs, min(limit, len(pairs)))
        qv = embedder.embed([p.query for p in queries])
        started = time.perf_counter()
        lists = collect(db, queries, qv)
        LISTS[name] = (lists, [p.doc_id for p in queries])
        scores = score_set(lists, [p.doc_id for p in queries])
        scores.update(chunking_scores(pairs, queries, qv, embedder))
        para_lists = collect(db, para, embedder.embed([p.query for p in para]))
        info = {
            "documents": len(pairs),
            "queries": len(queries),
            "paraphrases": len(para),
            "build_and_index_seconds": round(built, 1),
            "texts_embedded_not_cached": embedder.computed - before,
            "query_seconds": round(time.perf_counter() - started, 1),
        }
        return scores, para_lists, [p.doc_id for p in para], info
    finally:
        db.close()


def merge_lists(a: dict, b: dict) -> dict:
    return {k: a.get(k, []) + b.get(k, []) for k in {**a, **b}}


# -- the mixed set: bm25 across tables ---------------------------------------------------------


def run_mixed(
    pairs: list[Pair], embedder: rdb.CachedEmbedder, limit: int | None
) -> dict[str, Scores]:
    """Compare ways to merge keyword hits of four tables, and block label/description text."""
    db = rdb.mixed_db(WORK / "mixed.db", pairs, embedder)
    try:
        queries = pairs if limit is None else random.Random(7).sample(pairs, min(limit, len(pairs)))
        answers = [p.doc_id for p in queries]
        qv = embedder.embed([p.query for p in queries])
        merged: dict[str, list[Ranked]] = {}
        api: list[list[str]] = []
        vec: list[Ranked] = []
        for p, v in zip(queries, qv, strict=True):
            expr = or_expression(terms(p.query, stop_words=True))
            tables = rdb.per_table_lists(db, expr)
            union = [item for items in tables for item in items]
            merged.setdefault("global", []).append(rdb.own_fts_list(db, "bench_global", expr))
            merged.setdefault("search_all", []).append(rdb.search_all_list(db, expr))
            merged.setdefault("raw_bm25", []).append(sorted(union, key=lambda t: (t[1], t[0]))[:20])
            merged.setdefault("interleave", []).append(interleave(tables, rdb.DEPTH))
            vec.append(rdb.vector_list(db, v))
            api.append(rdb.api_ids(db, p.query, v, content_filter=ContentFilter.all()))
        scores = {f"mixed:fts:{k}": evaluate(ids(v), answers) for k, v in merged.items()}
        scores["mixed:vector"] = evaluate(ids(vec), answers)
        scores["mixed:api_default"] = evaluate(api, answers)
        for k, lists in merged.items():
            for label, fuse in (
                ("rrf60", lambda a, b: fuse_rrf(a, b, 60)),
                ("linear_best_w0.3", lambda a, b: fuse_linear(a, b, norm_best, 0.3)),
            ):
                fused = [fuse(a, b) for a, b in zip(lists, vec, strict=True)]
                scores[f"mixed:{label}:{k}"] = evaluate(fused, answers)
        scores.update(_block_text(pairs, queries, qv, embedder))
        return scores
    finally:
        db.close()


def _block_text(
    pairs: list[Pair], queries: list[Pair], qv: np.ndarray[Any, Any], embedder: rdb.CachedEmbedder
) -> dict[str, Scores]:
    """Vector retrieval of block answers: content alone vs label + description + content."""
    blocks = {
        p.doc_id: i for i, p in enumerate(pairs) if rdb.table_of(p) is ContentType.MEMORY_BLOCK
    }
    results = {}
    picked = [i for i, p in enumerate(queries) if p.doc_id in blocks]
    for variant in ("content", "label_description_content"):
        starts, texts = [], []
        for i, p in enumerate(pairs):
            text = p.doc
            if variant != "content" and p.doc_id in blocks:
                label, description = rdb.BLOCK_ROLES[i % len(rdb.BLOCK_ROLES)]
                text = f"{label}: {description}\n{p.doc}" if description else f"{label}\n{p.doc}"
            starts.append(len(texts))
            texts.extend(embedder.chunk_text(text))
        best = np.maximum.reduceat(qv[picked] @ embedder.embed(texts).T, starts, axis=1)
        top = np.argsort(-best, axis=1, kind="stable")[:, :10]
        rankings = [[pairs[j].doc_id for j in row] for row in top]
        answers = [queries[i].doc_id for i in picked]
        results[f"mixed:block_vector:{variant}"] = evaluate(rankings, answers)
    return results


def chunking_scores(
    pairs: list[Pair], queries: list[Pair], qv: np.ndarray[Any, Any], embedder: rdb.CachedEmbedder
) -> dict[str, Scores]:
    """Vector retrieval with token windows, word windows, or the first 256 tokens only.

    Scored over all queries and over those whose answer is longer than one chunk (the only
    ones chunking can change); items rank by their nearest chunk, as search does.
    """
    words = WordChunker()
    splitters: dict[str, Callable[[str], list[str]]] = {
        "tokens_254_32": embedder.chunk_text,
        "words_180_30": words.split,
        "truncate_256": lambda text: [text],
    }
    long_docs = {p.doc_id for p in pairs if len(embedder.chunk_text(p.doc)) > 1}
    results = {}
    answers = [p.doc_id for p in queries]
    picked = [i for i, p in enumerate(queries) if p.doc_id in long_docs]
    for name, split in splitters.items():
        starts, texts = [], []
        for p in pairs:
            starts.append(len(texts))
            texts.extend(split(p.doc))
        # Each document's chunks are contiguous: its score is the max over its slice.
        best = np.maximum.reduceat(qv @ embedder.embed(texts).T, starts, axis=1)
        top = np.argsort(-best, axis=1, kind="stable")[:, :10]
        rankings = [[pairs[j].doc_id for j in row] for row in top]
        results[f"chunking:{name}:all"] = evaluate(rankings, answers)
        results[f"chunking:{name}:long_answers"] = evaluate(
            [rankings[i] for i in picked], [answers[i] for i in picked]
        )
    return results


# -- output ------------------------------------------------------------------------------------


def _row(set_name: str, variant: str, s: Scores) -> dict[str, Any]:
    return {
        "set": set_name,
        "variant": variant,
        "ndcg@10": round(s.ndcg, 3),
        "mrr@10": round(s.mrr, 3),
        "recall@10": round(s.recall, 3),
        "no_hits": round(s.empty, 3),
    }


def _best(scores: dict[str, Scores], prefix: str) -> tuple[str, Scores]:
    name = max((k for k in scores if k.startswith(prefix)), key=lambda k: scores[k].ndcg)
    return name, scores[name]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.retrieval")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_QUERIES} queries per set")
    parser.add_argument("--keep-cache", action="store_true", help="keep /tmp/embed-bench vectors")
    parser.add_argument("--no-man", action="store_true", help="skip the man-page set")
    args = parser.parse_args(argv)
    limit = QUICK_QUERIES if args.quick else None
    WORK.mkdir(mode=0o700, exist_ok=True)
    embedder = rdb.CachedEmbedder(LocalEmbedder(), WORK / "vectors.npz")
    started = time.perf_counter()
    corpora = {"stdlib": stdlib_pairs()}
    if not args.no_man and MAN_ROOT.is_dir():
        # `gcloud alpha` / `gcloud beta` pages are pre-release copies of the GA pages.
        corpora["man"] = [
            p for p in man_pairs() if not p.key.startswith(("man:gcloud_alpha", "man:gcloud_beta"))
        ]
    everything = {p.key: p for pairs in corpora.values() for p in pairs}
    para_all = paraphrase_pairs(everything)
    results: dict[str, dict[str, Scores]] = {}
    infos: dict[str, Any] = {}
    para_lists: dict = {}
    para_answers: list[str] = []
    try:
        for name, pairs in corpora.items():
            keys = {p.key for p in pairs}
            para = [p for p in para_all if p.key in keys]
            scores, plists, panswers, info = run_corpus(name, pairs, para, embedder, limit)
            results[name], infos[name] = scores, info
            para_lists = merge_lists(para_lists, plists)
            para_answers += panswers
            print(f"{name}: {info}", file=sys.stderr, flush=True)
        results["paraphrase"] = score_set(para_lists, para_answers)
        LISTS["paraphrase"] = (para_lists, para_answers)
        results["mixed"] = run_mixed(corpora["stdlib"], embedder, limit)
        if args.keep_cache:
            embedder.save()
            with (WORK / "lists.pkl").open("wb") as f:
                pickle.dump(LISTS, f)
    finally:
        for path in WORK.glob("*.db*"):
            path.unlink()
        if not args.keep_cache:
            shutil.rmtree(WORK, ignore_errors=True)
    rows = [_row(s, v, sc) for s, scores in results.items() for v, sc in scores.items()]
    _print_summary(results)
    infos["total_seconds"] = round(time.perf_counter() - started, 1)
    report_rows = [r for r in rows if _headline(r["variant"])]
    report("retrieval", report_rows, notes=f"sets: {infos}")
    full = {"environment": environment(), "sets": infos, "rows": rows}
    _write_full(full)


def _headline(variant: str) -> bool:
    """Rows for the printed table: retrievers, the API and the main fusion settings."""
    return (
        variant.startswith(("fts:", "api_", "mixed:", "chunking:", "gated:"))
        or variant == "vector"
        or variant in ("rrf:natural:k60", "linear:or:current:w0.3")
        or variant.endswith((":k60", ":best:w0.3", ":minmax:w0.3", ":rank:w0.3"))
    )


def _print_summary(results: dict[str, dict[str, Scores]]) -> None:
    print("\nbest per family (nDCG@10):")
    for set_name, scores in results.items():
        if set_name == "mixed":
            continue
        for prefix in ("fts:", "rrf:", "rrfw:", "linear:", "gated:"):
            name, s = _best(scores, prefix)
            print(f"  {set_name:10} {prefix:8} {name:40} {s.ndcg:.3f}")


def _write_full(full: dict[str, Any]) -> None:
    import json

    path = Path(__file__).parent / "results" / "retrieval.json"
    path.write_text(json.dumps(full, indent=1) + "\n")


if __name__ == "__main__":
    main()
