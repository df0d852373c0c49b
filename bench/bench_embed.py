"""Indexing throughput and peak memory of `index_pending` with the bundled LocalEmbedder.

Run: `.venv/bin/python -m bench.bench_embed [--quick]` (needs the `embed` extra).

Each configuration runs in a fresh child process (so its peak RSS is its own): a file-backed
constellation gets N messages whose previews are real text, the running Python's stdlib
docstring bodies (12 to 400 words, median ~36), then `index_pending` embeds them all. Rows:
items/s, vectors/s, WordPiece tokens/s, seconds, the share of the time spent in the model
(the rest is reading, chunking, hashing and writing vectors), RSS after loading the model, and
peak RSS.
Workloads: `docs` (the docstrings as they are) and `long` (every text cut to exactly one full
256-token chunk: the worst case for memory). Configurations vary the batch bound
(`max_batch_tokens`: padded tokens per model run) and onnxruntime's CPU arena; the last row is
the unbounded case the bound exists for (32 texts of 256 tokens per run).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._util import report

CONFIGS = [
    # (workload, max_batch_tokens, max_batch, cpu_arena); the first of each workload is the default
    ("docs", 512, 64, True),
    ("docs", 512, 64, False),
    ("docs", 1024, 64, True),
    ("long", 512, 64, True),
    ("long", 512, 64, False),
    ("long", 1024, 64, True),
    ("long", 8192, 32, True),
]


def _rss_mib() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _texts(workload: str, n: int) -> list[str]:
    from bench._retrieval_corpus import stdlib_pairs
    from pattern_db.embed import LocalEmbedder

    docs = [p.doc for p in stdlib_pairs()]
    docs = (docs * (n // max(len(docs), 1) + 1))[:n]
    if workload == "docs":
        return docs
    # Long: repeat each text until it is at least one full chunk; the model truncates at 256.
    chunk = LocalEmbedder().chunk_text
    return [chunk((d + " ") * 12)[0] for d in docs]


def child(workload: str, n: int, max_batch_tokens: int, max_batch: int, arena: bool) -> None:
    """Index n messages in a fresh database and print one JSON line of figures."""
    from pattern_db import ConstellationDb
    from pattern_db.embed import LocalEmbedder, index_pending
    from pattern_db.models import Agent, Message
    from pattern_db.queries.agent import create_agent
    from pattern_db.queries.message import create_messages

    texts = _texts(workload, n)
    model = LocalEmbedder(max_batch_tokens=max_batch_tokens, max_batch=max_batch, cpu_arena=arena)
    model.embed(["load the model"])
    embed_seconds = 0.0
    inner = model.embed

    def timed(texts: list[str]) -> object:
        nonlocal embed_seconds
        started = time.perf_counter()
        try:
            return inner(texts)
        finally:
            embed_seconds += time.perf_counter() - started

    model.embed = timed  # type: ignore[method-assign,assignment]
    tokens = sum(len(e.ids) for e in model._encoder.encode_batch(texts))
    loaded = _rss_mib()
    with (
        tempfile.TemporaryDirectory(prefix="bench-embed-") as tmp,
        ConstellationDb.open(Path(tmp) / "c.db") as db,
    ):
        create_agent(
            db, Agent(id="a", name="a", model_provider="x", model_name="x", system_prompt="x")
        )
        create_messages(
            db,
            (
                Message(id=f"m{i:05}", agent_id="a", content_json={"t": t}, content_preview=t)
                for i, t in enumerate(texts)
            ),
        )
        started = time.perf_counter()
        done = index_pending(db, model)
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "workload": workload,
                "max_batch_tokens": max_batch_tokens,
                "max_batch": max_batch,
                "cpu_arena": arena,
                "items": done.embedded,
                "vectors": done.chunks,
                "seconds": round(seconds, 2),
                "items_per_s": round(done.embedded / seconds, 1),
                "vectors_per_s": round(done.chunks / seconds, 1),
                "tokens_per_s": round(tokens / seconds),
                "model_share": round(embed_seconds / seconds, 2),
                "rss_loaded_mib": round(loaded),
                "peak_rss_mib": round(peak),
            }
        )
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_embed")
    parser.add_argument("--quick", action="store_true", help="fewer items and configurations")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args(argv)
    if args.child:
        workload, n, tokens, batch, arena = args.child
        child(workload, int(n), int(tokens), int(batch), arena == "1")
        return
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        print("skipped: the embed extra is not installed")
        return
    configs = [CONFIGS[0], CONFIGS[3]] if args.quick else CONFIGS
    rows = []
    for workload, tokens, batch, arena in configs:
        n = (200 if args.quick else 1000) if workload == "docs" else (60 if args.quick else 200)
        command = [sys.executable, "-m", "bench.bench_embed", "--child", workload, str(n)]
        command += [str(tokens), str(batch), "1" if arena else "0"]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    report(
        "embed",
        rows,
        notes="index_pending with LocalEmbedder (2 intra-op threads) into a file database; "
        "peak_rss_mib is the child process's ru_maxrss.",
    )


if __name__ == "__main__":
    main()
