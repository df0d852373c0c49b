"""Memory documents: edits per second (one delta each) and cold loads, against raw loro + apsw.

Edits: N appends of ~30 characters to one block whose text starts at S characters, through
`MemoryDocs.append` on a file database with the default policy (a consolidation every 100
deltas), against the same durable work done directly with loro and raw apsw on a fresh file of
the same schema: per edit, export the Loro delta and frontier, then one BEGIN IMMEDIATE
transaction that bumps last_seq, inserts the delta and rewrites content_preview (FTS triggers
fire); every 100 edits a zstd-compressed snapshot replaces the deltas. The two sides take turns
round by round; the median round is reported.

Cold load: a block of S characters with a checkpoint and 100 pending deltas, read by a fresh
`MemoryDocs` (no cache) with `read_text`, against raw apsw reading the latest checkpoint and
the active deltas, zstd-decompressing and importing them into a new LoroDoc; then the same block
after consolidation. Warm read: `read_text` with the document cached (one version check).

Run: `.venv/bin/python -m bench.bench_memory_docs` (or `--quick` for a small smoke run).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import apsw
from loro import ExportMode, LoroDoc

from bench._util import median_seconds, report
from pattern_db import ConstellationDb
from pattern_db.compression import compress_snapshot, decompress_snapshot
from pattern_db.connection import _PRAGMAS
from pattern_db.memory_docs import LoroStorageConfig, MemoryDocs
from pattern_db.timeutil import now_ts

_NEXT_SEQ = """UPDATE memory_blocks SET last_seq = last_seq + 1, updated_at = ?
WHERE id = ? RETURNING last_seq"""
_INSERT_UPDATE = """INSERT INTO memory_block_updates
(block_id, seq, update_blob, byte_size, source, created_at, frontier, is_active)
VALUES (?, ?, ?, ?, 'manual', ?, ?, 1)"""
_SET_PREVIEW = "UPDATE memory_blocks SET content_preview = ?, updated_at = ? WHERE id = ?"
_DELETE_UPDATES = "DELETE FROM memory_block_updates WHERE block_id = ? AND seq <= ?"
_INSERT_CHECKPOINT = """INSERT INTO memory_block_checkpoints
(block_id, snapshot, created_at, updates_consolidated, frontier, up_to_seq)
VALUES (?, ?, ?, ?, ?, ?)"""
_SET_SNAPSHOT = (
    "UPDATE memory_blocks SET loro_snapshot = ?, frontier = ?, updated_at = ? WHERE id = ?"
)
_LATEST_CHECKPOINT = """SELECT snapshot, up_to_seq FROM memory_block_checkpoints
WHERE block_id = ? ORDER BY up_to_seq DESC, id DESC LIMIT 1"""
_ACTIVE_AFTER = """SELECT update_blob FROM memory_block_updates
WHERE block_id = ? AND is_active = 1 AND seq > ? ORDER BY seq"""


def make_text(size: int, seed: int = 3) -> str:
    rnd = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = ["".join(rnd.choice(letters) for _ in range(rnd.randint(2, 9))) for _ in range(2000)]
    words: list[str] = []
    length = 0
    while length < size:
        word = rnd.choice(vocab)
        words.append(word)
        length += len(word) + 1
    return " ".join(words)[:size]


def pieces(count: int) -> list[str]:
    rnd = random.Random(11)
    return [f" note {i} {'x' * rnd.randint(10, 25)}" for i in range(count)]


def raw_connection(path: Path) -> apsw.Connection:
    conn = apsw.Connection(str(path))
    conn.setbusytimeout(30_000)
    conn.execute("PRAGMA journal_mode = WAL").fetchall()
    for name, value in _PRAGMAS:
        conn.execute(f"PRAGMA {name} = {value}").fetchall()
    return conn


# -- edits -------------------------------------------------------------------------------------


def edits_library(folder: Path, text: str, edits: list[str]) -> float:
    with ConstellationDb.open(folder / "lib.db") as db:
        docs = MemoryDocs(db)
        block = docs.create_block("a1", "notes", text, char_limit=10_000_000)
        started = time.perf_counter()
        for piece in edits:
            docs.append(block.id, piece)
        return time.perf_counter() - started


def edits_raw(folder: Path, text: str, edits: list[str]) -> float:
    with ConstellationDb.open(folder / "raw.db") as db:
        block = MemoryDocs(db).create_block("a1", "notes", text, char_limit=10_000_000)
    conn = raw_connection(folder / "raw.db")
    try:
        doc = LoroDoc()
        doc.import_(decompress_snapshot(block.loro_snapshot))
        content = doc.get_text("content")
        pending = 0
        started = time.perf_counter()
        for piece in edits:
            version = doc.oplog_vv
            content.insert(len(content), piece)
            doc.commit()
            delta = doc.export(ExportMode.Updates(version))
            frontier = doc.oplog_frontiers.encode()
            preview = content.to_string()
            ts = now_ts()
            with conn:
                seq = conn.execute(_NEXT_SEQ, (ts, block.id)).fetchall()[0][0]
                conn.execute(_INSERT_UPDATE, (block.id, seq, delta, len(delta), ts, frontier))
                conn.execute(_SET_PREVIEW, (preview, ts, block.id))
                pending += 1
                if pending == 100:
                    snapshot = compress_snapshot(doc.export(ExportMode.Snapshot()), 10_240)
                    conn.execute(_DELETE_UPDATES, (block.id, seq))
                    conn.execute(_INSERT_CHECKPOINT, (block.id, snapshot, ts, 100, frontier, seq))
                    conn.execute(_SET_SNAPSHOT, (snapshot, frontier, ts, block.id))
                    pending = 0
        return time.perf_counter() - started
    finally:
        conn.close()


def bench_edits(size: int, count: int, rounds: int) -> dict[str, object]:
    text, edits = make_text(size), pieces(count)
    results = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            lib = edits_library(Path(tmp), text, edits)
            raw = edits_raw(Path(tmp), text, edits)
        results.append((lib / raw, lib, raw))
    ratio, lib, raw = sorted(results)[len(results) // 2]
    return {
        "case": f"append, {size:,}-char block",
        "edits": count,
        "lib_edits_per_s": round(count / lib),
        "raw_edits_per_s": round(count / raw),
        "lib_ms_per_edit": lib / count * 1000,
        "raw_ms_per_edit": raw / count * 1000,
        "raw_over_lib": 1 / ratio,
    }


# -- loads -------------------------------------------------------------------------------------


def raw_cold_load(conn: apsw.Connection, block_id: str) -> str:
    row = conn.execute(_LATEST_CHECKPOINT, (block_id,)).fetchone()
    assert row is not None
    snapshot, up_to_seq = row
    blobs = [b for (b,) in conn.execute(_ACTIVE_AFTER, (block_id, up_to_seq)).fetchall()]
    doc = LoroDoc()
    doc.import_batch([decompress_snapshot(snapshot), *blobs])
    return doc.get_text("content").to_string()


def bench_loads(size: int, repeat: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "load.db"
        config = LoroStorageConfig(auto_consolidate=False)
        with ConstellationDb.open(path) as db:
            docs = MemoryDocs(db, config)
            block = docs.create_block("a1", "notes", make_text(size), char_limit=10_000_000)
            docs.append(block.id, " first")
            docs.consolidate(block.id)
            for piece in pieces(100):
                docs.append(block.id, piece)
            expected = docs.read_text(block.id)
            conn = raw_connection(path)
            try:
                for state in ("checkpoint + 100 deltas", "after consolidation"):
                    if state == "after consolidation":
                        docs.consolidate(block.id)

                    def cold() -> None:
                        assert MemoryDocs(db, config).read_text(block.id) == expected

                    def raw() -> None:
                        assert raw_cold_load(conn, block.id) == expected

                    lib_s = median_seconds(cold, repeat=repeat)
                    raw_s = median_seconds(raw, repeat=repeat)
                    rows.append(
                        {
                            "case": f"cold load, {size:,} chars, {state}",
                            "lib_ms": lib_s * 1000,
                            "raw_ms": raw_s * 1000,
                            "raw_over_lib": raw_s / lib_s,
                        }
                    )
                warm_s = median_seconds(lambda: docs.read_text(block.id), repeat=repeat * 10)
                rows.append(
                    {
                        "case": f"warm read (cached), {size:,} chars",
                        "lib_ms": warm_s * 1000,
                        "raw_ms": None,
                        "raw_over_lib": None,
                    }
                )
            finally:
                conn.close()
    return rows


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench_memory_docs")
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    args = parser.parse_args(argv)
    count, rounds, repeat = (150, 1, 5) if args.quick else (1000, 5, 21)
    edit_rows = [bench_edits(size, count, rounds) for size in (2_000, 100_000)]
    report(
        "memory_docs_edits",
        edit_rows,
        notes="edits on a file database, one delta + preview per edit, consolidation every 100",
    )
    load_rows = [row for size in (5_000, 100_000) for row in bench_loads(size, repeat)]
    report(
        "memory_docs_loads",
        load_rows,
        notes=f"median of {repeat}; raw = apsw reads + zstd + LoroDoc.import_batch",
    )


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
