"""The one workload every system loads: items (agent, text, vector), queries and exact answers.

Written once per size to a scratch folder as .npy/.json files; every adapter process reads the
same files, so all systems store and search identical data.

* Items: `n` items over 10 agents (drawn at random), ids `item_0000000`...; text of 15-40 words
  drawn from a fixed vocabulary of 5,000 pseudo-words with Zipf weights, so the keyword queries
  (words of medium frequency) have real hits in every agent; vectors are 384-d float32 unit
  vectors in 256 clusters (centre + Gaussian noise of the same norm, cosine to the centre about
  0.7), so nearest neighbours are well defined and approximate indexes have a fair chance;
  or (`kind="random"`) uniform random unit vectors, where every neighbour is about as far as
  any other and approximate indexes lose most of their recall.
* Extra items (`EXTRA`, same distribution) for the single inserts and the transaction measure.
* Queries: `QUERIES` vectors of the same distribution (not items), each with an agent for the
  scoped query (`i % 10`), and `QUERIES` keyword terms.
* Truth: numpy's exact top-10 by cosine for every query, unscoped and within its agent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

DIMENSIONS = 384
AGENTS = [f"agent_{i}" for i in range(10)]
K = 10
QUERIES = 20
EXTRA = 1_500
SINGLE_INSERTS = 500
TX_INSERTS = 1_000
CLUSTERS = 256
VOCABULARY = 5_000
SEED = 20_261_202

F32 = np.ndarray[Any, np.dtype[np.float32]]


@dataclass
class Items:
    """Items as the adapters receive them: parallel lists plus an (n, 384) float32 matrix."""

    ids: list[str]
    agents: list[str]
    texts: list[str]
    vectors: F32

    def __len__(self) -> int:
        return len(self.ids)

    def slice(self, start: int, stop: int) -> Items:
        """Return items start..stop (the matrix rows as a view)."""
        return Items(
            self.ids[start:stop],
            self.agents[start:stop],
            self.texts[start:stop],
            self.vectors[start:stop],
        )


@dataclass
class Queries:
    """What the measures ask: query vectors with their agents, and keyword terms."""

    vectors: F32
    agents: list[str]
    terms: list[str]


def item_id(i: int) -> str:
    """Return the id of item number i."""
    return f"item_{i:07d}"


def _vocabulary(rng: np.random.Generator) -> list[str]:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words: dict[str, None] = {}
    while len(words) < VOCABULARY:
        length = int(rng.integers(3, 10))
        words.setdefault("".join(rng.choice(letters, length)), None)
    return list(words)


def _texts(rng: np.random.Generator, vocab: list[str], n: int) -> list[str]:
    weights = 1.0 / np.arange(1, len(vocab) + 1)
    weights /= weights.sum()
    lengths = rng.integers(15, 41, n)
    drawn = rng.choice(len(vocab), int(lengths.sum()), p=weights)
    out, at = [], 0
    for length in lengths.tolist():
        out.append(" ".join(vocab[w] for w in drawn[at : at + length].tolist()))
        at += length
    return out


def _vectors(rng: np.random.Generator, centres: F32 | None, n: int) -> F32:
    out = np.empty((n, DIMENSIONS), dtype=np.float32)
    step = 100_000
    for start in range(0, n, step):
        stop = min(n, start + step)
        if centres is None:
            part = rng.standard_normal((stop - start, DIMENSIONS), dtype=np.float32)
        else:
            part = centres[rng.integers(0, len(centres), stop - start)]
            noise = rng.standard_normal((stop - start, DIMENSIONS), dtype=np.float32)
            part = part + noise / np.float32(np.sqrt(DIMENSIONS))
        out[start:stop] = part / np.linalg.norm(part, axis=1, keepdims=True)
    return out


def exact_top(matrix: F32, agents: np.ndarray[Any, Any], queries: Queries) -> dict[str, Any]:
    """Return numpy's exact top-K item numbers per query: unscoped, and within the query's agent."""
    scores = queries.vectors @ matrix.T
    unscoped = np.argsort(-scores, axis=1, kind="stable")[:, :K]
    scoped = []
    for qi, agent in enumerate(queries.agents):
        row = scores[qi].copy()
        row[agents != AGENTS.index(agent)] = -np.inf
        scoped.append(np.argsort(-row, kind="stable")[:K])
    return {
        "unscoped": [[item_id(int(i)) for i in r] for r in unscoped],
        "scoped": [[item_id(int(i)) for i in r] for r in scoped],
    }


def generate(folder: Path, n: int, kind: str = "clustered") -> dict[str, Any]:
    """Write the workload of `n` items to `folder` (kept if already there); return its summary.

    `kind` is "clustered" (the default) or "random" (uniform unit vectors).
    """
    if kind not in ("clustered", "random"):
        raise ValueError(f"kind must be 'clustered' or 'random', not {kind!r}")
    summary_path = folder / "summary.json"
    if summary_path.exists():
        summary: dict[str, Any] = json.loads(summary_path.read_text())
        if (summary.get("n"), summary.get("seed"), summary.get("kind")) == (n, SEED, kind):
            return summary
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    vocab = _vocabulary(rng)
    centres: F32 | None = rng.standard_normal((CLUSTERS, DIMENSIONS), dtype=np.float32)
    assert centres is not None
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    if kind == "random":
        centres = None
    # Queries and extra items come first, so they are the same at every size.
    query_vectors = _vectors(rng, centres, QUERIES)
    terms = [str(t) for t in rng.choice(vocab[50:300], QUERIES, replace=False)]
    extra_agents = rng.integers(0, len(AGENTS), EXTRA).astype(np.int8)
    extra_texts = _texts(rng, vocab, EXTRA)
    extra_vectors = _vectors(rng, centres, EXTRA)
    agents = rng.integers(0, len(AGENTS), n).astype(np.int8)
    texts = _texts(rng, vocab, n)
    vectors = _vectors(rng, centres, n)
    np.save(folder / "vectors.npy", vectors)
    np.save(folder / "agents.npy", agents)
    (folder / "texts.json").write_text(json.dumps(texts))
    np.save(folder / "extra_vectors.npy", extra_vectors)
    np.save(folder / "extra_agents.npy", extra_agents)
    (folder / "extra_texts.json").write_text(json.dumps(extra_texts))
    np.save(folder / "query_vectors.npy", query_vectors)
    (folder / "terms.json").write_text(json.dumps(terms))
    queries = load_queries(folder)
    (folder / "truth.json").write_text(json.dumps(exact_top(vectors, agents, queries)))
    raw_bytes = int(vectors.nbytes + sum(len(t) for t in texts))
    summary = {
        "n": n,
        "seed": SEED,
        "kind": kind,
        "dimensions": DIMENSIONS,
        "raw_bytes": raw_bytes,
    }
    summary_path.write_text(json.dumps(summary))
    return summary


def load_items(folder: Path, *, extra: bool = False) -> Items:
    """Read the items (or the extra items) of a workload folder."""
    prefix = "extra_" if extra else ""
    vectors = np.load(folder / f"{prefix}vectors.npy", mmap_mode="r")
    agent_numbers = np.load(folder / f"{prefix}agents.npy").tolist()
    texts = json.loads((folder / f"{prefix}texts.json").read_text())
    offset = 10_000_000 if extra else 0
    return Items(
        [item_id(offset + i) for i in range(len(texts))],
        [AGENTS[a] for a in agent_numbers],
        texts,
        vectors,
    )


def load_queries(folder: Path) -> Queries:
    """Read the queries of a workload folder."""
    vectors = np.load(folder / "query_vectors.npy")
    terms = json.loads((folder / "terms.json").read_text())
    return Queries(vectors, [AGENTS[i % len(AGENTS)] for i in range(len(vectors))], terms)


def load_truth(folder: Path) -> dict[str, list[list[str]]]:
    """Read numpy's exact answers for the queries."""
    truth: dict[str, list[list[str]]] = json.loads((folder / "truth.json").read_text())
    return truth
