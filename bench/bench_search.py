"""Full-text, vector and hybrid search at 100k messages: hybrid beside the sum of its parts.

Run (the numpy baseline needs the OpenBLAS overrides of this machine removed):
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python -m bench.bench_search [--quick]

Data: N messages (default 100,000) of 10 agents in a file database, previews of 8-60 words drawn
Zipf-like from common English words, words of an assistant's daily topics and a long tail of rare
tokens; the oldest 20% of each agent's messages archived (hidden from search by default); one
384-dimension random unit vector per message (cosine), stored with its agent.

For each query text (and one random query vector per text), unscoped and scoped to one agent, the
median time (the five calls run in turn in each round, so load from other processes hits them
alike) of:
* `fts`: `fts.search_messages(db, text, agent, 20)`, the keyword part hybrid runs (20 = the
  candidate depth of a limit-10 hybrid search);
* `vector`: `vector.knn_search(db, q, 20, "message", agent_id=agent)` (warm cache), its vector part;
* `hybrid`: `search(db).text(text).embedding(q).filter(ContentFilter.messages(agent)).limit(10)`
  with RRF (inside: the same FTS call, a KNN with k = 30 so that archived hits can be dropped, a
  look-up of the vector hits' visibility and content, fusion), and `ratio` = hybrid /
  (fts + vector), the goal being <= 1.2;
* baselines of the same work done directly: `raw_fts`, the bare FTS5 query through apsw (no
  snippet, no tie handling), and `numpy`, `M @ q` + argpartition over the (agent's) float32 matrix.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import apsw
import numpy as np

from bench._util import report
from pattern_db import ConstellationDb, fts, vector
from pattern_db.ids import position_from_parts
from pattern_db.models import Agent, Message, MessageRole
from pattern_db.queries import message as mq
from pattern_db.queries.agent import create_agent
from pattern_db.search import ContentFilter, search

AGENTS = [f"agent_{i}" for i in range(10)]
DIMENSIONS = 384
LIMIT = 10
DEPTH = 20  # the hybrid search's candidates per retriever at LIMIT 10


def _words(text: str) -> list[str]:
    return text.split()


COMMON = _words("""the to and a of I you it is that for in on with this be are was have not but my
me we so do at can just will about what your if get all up there out one like know from
they as time or no how now think go today need some more want good back make did them would
really then when also could been because still one feel way work day by got an lot much
very going too here try""")
TOPICS = _words("""task tasks remind reminder meeting doctor dentist appointment meds medication
focus sleep email emails project deadline groceries shopping laundry dishes budget bills rent
call mom dad sister friend birthday gift plan plans schedule calendar morning evening tomorrow
week weekend monday tuesday wednesday thursday friday break walk exercise gym water lunch
dinner breakfast coffee notes list todo priority urgent later overwhelmed anxious tired
energy hyperfocus timer pomodoro routine habit habits journal therapy therapist pharmacy
refill prescription insurance form forms paperwork taxes report draft review slides
presentation boss team client code bug deploy release garden plants cat dog vet car
repair train bus flight trip packing travel hotel ticket""")
QUERIES = [
    "dentist appointment",  # two topic words (implicit AND)
    "meds",  # one topic word
    '"sleep schedule"',  # phrase
    "remind*",  # prefix
    "groceries OR shopping",  # OR
    "deadline NOT boss",  # NOT
    "what's the plan for tomorrow?",  # not FTS5: searched as literal words (the auto fallback)
    "the",  # the most common word: the largest match set
]

_RAW_FTS = """
SELECT m.id, messages_fts.rank FROM messages_fts JOIN messages AS m ON m.rowid = messages_fts.rowid
WHERE messages_fts MATCH ? {agent} AND m.is_archived = 0 AND m.is_deleted = 0
ORDER BY messages_fts.rank LIMIT ?
"""


def vocabulary(rng: np.random.Generator, tail: int = 20_000) -> tuple[list[str], np.ndarray]:
    """Return words (common, topical, then a tail of rare tokens) and Zipf-like weights."""
    letters = list("abcdefghijklmnopqrstuvwxyz")
    rare = {"".join(rng.choice(letters, size=int(rng.integers(3, 10)))) for _ in range(tail)}
    words = COMMON + TOPICS + sorted(rare - set(COMMON) - set(TOPICS))
    ranks = np.arange(len(words), dtype=np.float64)
    weights = 1.0 / (ranks + 2.7)
    return words, weights / weights.sum()


def make_messages(count: int, rng: np.random.Generator) -> list[Message]:
    """Return `count` messages round-robin over AGENTS, oldest 20% of each agent archived."""
    words, p = vocabulary(rng)
    lengths = rng.integers(8, 61, size=count)
    tokens = rng.choice(len(words), size=int(lengths.sum()), p=p)
    start_ms = int(datetime(2026, 1, 5, tzinfo=UTC).timestamp() * 1000)
    archived_below = int(count * 0.2)
    messages = []
    offset = 0
    for i in range(count):
        text = " ".join(words[t] for t in tokens[offset : offset + lengths[i]])
        offset += int(lengths[i])
        messages.append(
            Message(
                id=f"msg_{i:08d}",
                agent_id=AGENTS[i % len(AGENTS)],
                position=position_from_parts(start_ms + 41 * i, i % 5),
                role=MessageRole.USER if i % 2 == 0 else MessageRole.ASSISTANT,
                content_json={"type": "text", "text": text},
                content_preview=text,
                is_archived=i < archived_below,
                created_at=datetime(2026, 1, 5, tzinfo=UTC) + timedelta(milliseconds=41 * i),
            )
        )
    return messages


def unit_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    m = rng.standard_normal((n, DIMENSIONS)).astype(np.float32)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    return m


def build(path: Path, count: int, rng: np.random.Generator) -> tuple[ConstellationDb, np.ndarray]:
    db = ConstellationDb.open(path)
    for agent in AGENTS:
        create_agent(
            db,
            Agent(id=agent, name=agent, model_provider="x", model_name="y", system_prompt="z"),
        )
    messages = make_messages(count, rng)
    started = time.perf_counter()
    for i in range(0, count, 5000):
        mq.create_messages(db, messages[i : i + 5000])
    print(f"inserted {count} messages in {time.perf_counter() - started:.1f} s", flush=True)
    matrix = unit_rows(rng, count)
    vector.ensure_embeddings_table(db, DIMENSIONS, model="random-unit", metric="cosine")
    started = time.perf_counter()
    for i in range(0, count, 5000):
        part = messages[i : i + 5000]
        vector.insert_embeddings(
            db,
            vector.ContentType.MESSAGE,
            [m.id for m in part],
            matrix[i : i + 5000],
            agent_ids=[m.agent_id for m in part],
        )
    print(f"inserted {count} vectors in {time.perf_counter() - started:.1f} s", flush=True)
    return db, matrix


def literal(text: str) -> str:
    """The expression fts's auto mode runs for text that is not FTS5 (for the raw baseline)."""
    try:
        fts.validate_fts_query(text, columns=["content_preview"])
    except Exception:
        return " ".join('"' + w.replace('"', '""') + '"' for w in text.split())
    return text


def interleaved(fns: dict[str, Any], repeat: int, warmup: int = 3) -> dict[str, float]:
    """Return each function's median time in ms, the functions run in turn within each round.

    Interleaving spreads any load from other processes over every column alike, so the ratio
    of hybrid to its parts stays meaningful on a busy machine.
    """
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for round_ in range(warmup + repeat):
        for name, fn in fns.items():
            started = time.perf_counter()
            fn()
            if round_ >= warmup:
                samples[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) * 1000 for name, values in samples.items()}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench_search")
    parser.add_argument("--quick", action="store_true", help="5,000 messages, fewer repeats")
    parser.add_argument("--rows", type=int, default=None)
    args = parser.parse_args(argv)
    count = args.rows or (5_000 if args.quick else 100_000)
    repeat = 7 if args.quick else 21
    rng = np.random.default_rng(20260105)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "search.db"
        db, matrix = build(path, count, rng)
        raw = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
        try:
            rows = run(db, raw, matrix, count, repeat, rng)
        finally:
            raw.close()
            db.close()
    total = {k: sum(r[k] for r in rows) for k in ("fts_ms", "vector_ms", "hybrid_ms")}
    by_scope = {}
    for scope in ("all", AGENTS[3]):
        part = [r for r in rows if r["scope"] == scope]
        sums = sum(r["fts_ms"] + r["vector_ms"] for r in part)
        by_scope[scope] = sum(r["hybrid_ms"] for r in part) / sums
    notes = (
        f"{count} messages x {DIMENSIONS} dims, 10 agents, 20% archived; k/limit: parts at "
        f"depth {DEPTH}, hybrid limit {LIMIT} (RRF). Times are medians of {repeat} runs in ms. "
        f"Hybrid / (fts + vector) over all queries: "
        f"{total['hybrid_ms'] / (total['fts_ms'] + total['vector_ms']):.3f} "
        f"(unscoped {by_scope['all']:.3f}, scoped {by_scope[AGENTS[3]]:.3f}); goal <= 1.2."
    )
    report("search", rows, notes=notes)


def run(
    db: ConstellationDb,
    raw: apsw.Connection,
    matrix: np.ndarray,
    count: int,
    repeat: int,
    rng: np.random.Generator,
) -> list[dict[str, Any]]:
    warmed = vector.warm_vector_cache(db)
    print(f"vector cache warm: {warmed} vectors", flush=True)
    agent_of = np.array([i % len(AGENTS) for i in range(count)])
    submatrix = {a: np.ascontiguousarray(matrix[agent_of == i]) for i, a in enumerate(AGENTS)}
    results = []
    for scope in (None, AGENTS[3]):
        m = matrix if scope is None else submatrix[scope]
        for text in QUERIES:
            q = unit_rows(rng, 1)[0]
            expr = literal(text)

            def fts_part(text: str = text, scope: str | None = scope) -> object:
                return fts.search_messages(db, text, scope, DEPTH)

            def vector_part(q: np.ndarray = q, scope: str | None = scope) -> object:
                return vector.knn_search(db, q, DEPTH, "message", agent_id=scope)

            def hybrid(text: str = text, q: np.ndarray = q, scope: str | None = scope) -> object:
                flt = ContentFilter.messages(scope)
                return search(db).text(text).embedding(q).filter(flt).limit(LIMIT).execute()

            def raw_fts(expr: str = expr, scope: str | None = scope) -> object:
                if scope is None:
                    sql, params = _RAW_FTS.format(agent=""), (expr, DEPTH)
                else:
                    sql, params = _RAW_FTS.format(agent="AND m.agent_id = ?"), (expr, scope, DEPTH)
                return raw.execute(sql, params).fetchall()

            def numpy_knn(q: np.ndarray = q, m: np.ndarray = m) -> object:
                scores = m @ q
                top = np.argpartition(-scores, DEPTH)[:DEPTH]
                return top[np.argsort(-scores[top], kind="stable")]

            found = hybrid()
            assert isinstance(found, list), (text, scope)
            assert len(found) == LIMIT, (text, scope)
            times = interleaved(
                {
                    "fts": fts_part,
                    "vector": vector_part,
                    "hybrid": hybrid,
                    "raw_fts": raw_fts,
                    "numpy": numpy_knn,
                },
                repeat,
            )
            hits = len(fts.search_messages(db, text, scope, 100_000, markers=("", "")))
            part_sum = times["fts"] + times["vector"]
            results.append(
                {
                    "scope": scope or "all",
                    "query": text,
                    "fts_hits": hits,
                    "fts_ms": round(times["fts"], 3),
                    "vector_ms": round(times["vector"], 3),
                    "sum_ms": round(part_sum, 3),
                    "hybrid_ms": round(times["hybrid"], 3),
                    "ratio": round(times["hybrid"] / part_sum, 3),
                    "raw_fts_ms": round(times["raw_fts"], 3),
                    "numpy_ms": round(times["numpy"], 3),
                }
            )
            print(results[-1], flush=True)
    ratios = [r["ratio"] for r in results]
    print(f"median ratio {statistics.median(ratios):.3f}, max {max(ratios):.3f}", flush=True)
    return results


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
