"""Memory documents under concurrency: random edits with reloads, handles, threads, processes."""

from __future__ import annotations

import itertools
import multiprocessing
import random
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from loro import ExportMode, LoroDoc

from pattern_db import ConstellationDb
from pattern_db.errors import InvalidData
from pattern_db.memory_docs import LoroStorageConfig, MemoryDocs
from pattern_db.queries import memory as q

ALPHABET = "abcdefgh ijklmnop\nqrstuvwxyz é😀"


def _random_text(rnd: random.Random, low: int = 1, high: int = 12) -> str:
    return "".join(rnd.choice(ALPHABET) for _ in range(rnd.randint(low, high)))


@dataclass
class _Model:
    """What the block should hold, with the undo/redo stacks of memory_docs' semantics."""

    base: tuple[str, tuple[str, ...]] = ("", ())
    applied: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    undone: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    @property
    def state(self) -> tuple[str, tuple[str, ...]]:
        return self.applied[-1] if self.applied else self.base

    def rendered(self) -> str:
        text, entries = self.state
        if not entries:
            return text
        return "\n".join([text, *entries]) if text else "\n".join(entries)

    def stored(self, state: tuple[str, tuple[str, ...]], checkpointed: bool) -> None:
        self.applied.append(state)
        self.undone.clear()
        if checkpointed:
            self.consolidated()

    def consolidated(self) -> None:
        self.base, self.applied, self.undone = self.state, [], []


def _random_edit(rnd: random.Random, docs: MemoryDocs, model: _Model) -> None:
    text, entries = model.state
    roll = rnd.random()
    if roll < 0.30:
        piece = _random_text(rnd)
        result = docs.append("b1", piece)
        new = (text + piece, entries)
    elif roll < 0.50 and text:
        start = rnd.randrange(len(text))
        old = text[start : start + rnd.randint(1, 5)]
        replacement = _random_text(rnd, 0, 6)
        result = docs.replace("b1", old, replacement)
        new = (text.replace(old, replacement, 1), entries)
    elif roll < 0.65:
        start = rnd.randint(0, len(text))
        end = min(len(text), start + rnd.randint(0, 8))
        target = text[:start] + _random_text(rnd, 0, 8) + text[end:]
        result = docs.set_text("b1", target)
        new = (target, entries)
    elif roll < 0.75:
        line = _random_text(rnd).replace("\n", " ")
        result = docs.append_entry("b1", line)
        new = (text, (*entries, line))
    elif roll < 0.78:
        keep = rnd.randint(0, 3)
        result = docs.trim_entries("b1", keep)
        new = (text, entries[len(entries) - keep :] if len(entries) > keep else entries)
    elif roll < 0.88:
        seq = docs.undo("b1")
        assert (seq is not None) == bool(model.applied)
        if model.applied:
            model.undone.append(model.applied.pop())
        return
    elif roll < 0.95:
        seq = docs.redo("b1")
        assert (seq is not None) == bool(model.undone)
        if model.undone:
            model.applied.append(model.undone.pop())
        return
    else:
        checkpoint = docs.consolidate("b1")
        assert (checkpoint is not None) == bool(model.applied or model.undone)
        model.consolidated()
        return
    if result.seq is None:
        assert new == model.state
    else:
        model.stored(new, result.checkpoint_id is not None)


def _run_random_edits(db: ConstellationDb, count: int, seed: int) -> None:
    rnd = random.Random(seed)
    config = LoroStorageConfig(checkpoint_update_count=40, checkpoint_update_size=4_000)
    docs = MemoryDocs(db, config)
    docs.create_block("a1", "notes", "", char_limit=1_000_000, block_id="b1")
    model = _Model()
    for i in range(count):
        _random_edit(rnd, docs, model)
        assert docs.read_text("b1") == model.rendered()
        if i % 97 == 0:
            assert MemoryDocs(db, config).read_text("b1") == model.rendered()
    assert MemoryDocs(db).read_text("b1") == model.rendered()
    assert q.get_block(db, "b1").content_preview == model.rendered()  # type: ignore[union-attr]
    if db.path is not None:
        with ConstellationDb.open(db.path) as other:
            assert MemoryDocs(other).read_text("b1") == model.rendered()


def test_1000_random_edits_reload_equals_memory(file_db: ConstellationDb) -> None:
    _run_random_edits(file_db, 1000, seed=1)
    assert q.list_checkpoints(file_db, "b1")  # consolidations happened in between


def test_random_edits_in_memory_database(db: ConstellationDb) -> None:
    _run_random_edits(db, 200, seed=2)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3, 8))
def test_random_edits_stress(file_db: ConstellationDb, seed: int) -> None:
    _run_random_edits(file_db, 3000, seed=seed)


# -- several handles ---------------------------------------------------------------------------


def _markers(text: str, prefix: str, count: int) -> list[int]:
    return [text.count(f"[{prefix}{i}]") for i in range(count)]


def test_interleaved_edits_from_two_handles_converge(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    with ConstellationDb.open(path) as one, ConstellationDb.open(path) as two:
        first, second = MemoryDocs(one), MemoryDocs(two)
        first.create_block("a1", "shared", "start", block_id="b1")
        assert second.read_text("b1") == "start"
        first.append("b1", " one")
        second.append("b1", " two")  # second's cached document catches up first
        first.replace("b1", "start", "begin")
        second.append_entry("b1", "entry")
        first.update_metadata("b1", {"k": 1})
        expected = "begin one two\nentry"
        assert first.read_text("b1") == second.read_text("b1") == expected
        assert MemoryDocs(one).read_text("b1") == expected
        assert second.read_metadata("b1") == {"k": 1}


def test_concurrent_threads_on_two_handles_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    config = LoroStorageConfig(checkpoint_update_count=9)
    with ConstellationDb.open(path) as one, ConstellationDb.open(path) as two:
        handles = [MemoryDocs(one, config), MemoryDocs(two, config)]
        handles[0].create_block("a1", "shared", "", char_limit=100_000, block_id="b1")
        start = threading.Barrier(3)
        errors: list[BaseException] = []

        def write(docs: MemoryDocs, name: str) -> None:
            try:
                start.wait()
                for i in range(40):
                    docs.append("b1", f"[{name}{i}]")
                    if i % 10 == 0:
                        docs.read_text("b1")
                    # SQLite's busy handler is not fair: a handle writing in a tight loop keeps
                    # the lock until it is done. A pause lets the two handles interleave.
                    time.sleep(0.001)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [
            threading.Thread(target=write, args=(handles[0], "A")),
            threading.Thread(target=write, args=(handles[1], "B")),
        ]
        for thread in threads:
            thread.start()
        start.wait()
        for thread in threads:
            thread.join()
        assert errors == []
        text = handles[0].read_text("b1")
        assert _markers(text, "A", 40) == [1] * 40
        assert _markers(text, "B", 40) == [1] * 40
        order = re.findall(r"\[([AB])", text)
        assert sum(a != b for a, b in itertools.pairwise(order)) >= 10  # they did interleave
        assert handles[1].read_text("b1") == text
        assert MemoryDocs(one).read_text("b1") == text
        assert q.get_block(one, "b1").content_preview == text  # type: ignore[union-attr]


def test_consolidation_while_another_handle_writes_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    writer_config = LoroStorageConfig(auto_consolidate=False)
    with ConstellationDb.open(path) as one, ConstellationDb.open(path) as two:
        consolidator, writer = MemoryDocs(one), MemoryDocs(two, writer_config)
        consolidator.create_block("a1", "shared", "", char_limit=100_000, block_id="b1")
        done = threading.Event()
        checkpoints: list[int | None] = []

        def consolidate() -> None:
            while not done.is_set():
                checkpoints.append(consolidator.consolidate("b1"))
                time.sleep(0.0005)

        thread = threading.Thread(target=consolidate)
        thread.start()
        try:
            for i in range(120):
                writer.append("b1", f"[W{i}]")
                time.sleep(0.0005)
        finally:
            done.set()
            thread.join()
        assert sum(c is not None for c in checkpoints) >= 2
        consolidator.consolidate("b1")
        expected = "".join(f"[W{i}]" for i in range(120))
        assert writer.read_text("b1") == expected
        assert consolidator.read_text("b1") == expected
        with ConstellationDb.open(path) as three:
            assert MemoryDocs(three).read_text("b1") == expected
        covered = [c.up_to_seq for c in q.list_checkpoints(one, "b1")]
        assert covered == sorted(covered, reverse=True)
        assert covered[0] == 120


def _process_writer(path: str, name: str, count: int) -> None:
    config = LoroStorageConfig(checkpoint_update_count=7)
    with ConstellationDb.open(path) as db:
        docs = MemoryDocs(db, config)
        for i in range(count):
            docs.append("b1", f"[{name}{i}]")
            if i % 5 == 4:
                docs.consolidate("b1")
            time.sleep(0.001)


def test_two_processes_edit_and_consolidate_one_block(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    with ConstellationDb.open(path) as db:
        docs = MemoryDocs(db)
        docs.create_block("a1", "shared", "", char_limit=100_000, block_id="b1")
        context = multiprocessing.get_context("spawn")
        workers = [
            context.Process(target=_process_writer, args=(str(path), name, 25)) for name in "PQ"
        ]
        for worker in workers:
            worker.start()
        for i in range(25):
            docs.append("b1", f"[M{i}]")
            docs.consolidate("b1")
            time.sleep(0.001)
        for worker in workers:
            worker.join(timeout=120)
        assert [worker.exitcode for worker in workers] == [0, 0]
        text = docs.read_text("b1")
        for name in "PQM":
            assert _markers(text, name, 25) == [1] * 25
        assert MemoryDocs(db).read_text("b1") == text
        assert q.get_block_version_info(db, "b1").last_seq == 75  # type: ignore[union-attr]


# -- replicas and peer ids ---------------------------------------------------------------------


def test_concurrent_replica_edits_merge_through_import_update(db: ConstellationDb) -> None:
    docs = MemoryDocs(db)
    docs.create_block("a1", "shared", "The plan.", block_id="b1")
    left, right = docs.fork_doc("b1"), docs.fork_doc("b1")
    assert left.peer_id != right.peer_id
    left_version, right_version = left.oplog_vv, right.oplog_vv
    left.get_text("content").insert(0, "Left: ")
    left.commit()
    right.get_text("content").insert(9, " Right.")
    right.commit()
    first = docs.import_update("b1", left.export(ExportMode.Updates(left_version)))
    second = docs.import_update("b1", right.export(ExportMode.Updates(right_version)))
    assert (first.seq, second.seq) == (1, 2)
    assert docs.read_text("b1") == "Left: The plan. Right."
    assert MemoryDocs(db).read_text("b1") == "Left: The plan. Right."
    assert [u.source for u in q.get_updates_since(db, "b1", 0)] == ["sync", "sync"]
    # Importing what the block already has stores nothing.
    assert docs.import_update("b1", left.export(ExportMode.Snapshot())).seq is None


def test_import_update_with_missing_dependencies_is_refused(db: ConstellationDb) -> None:
    docs = MemoryDocs(db)
    docs.create_block("a1", "shared", "base", block_id="b1")
    elsewhere = LoroDoc()
    elsewhere.get_text("content").insert(0, "one")
    elsewhere.commit()
    version = elsewhere.oplog_vv
    elsewhere.get_text("content").insert(3, " two")
    elsewhere.commit()
    with pytest.raises(InvalidData, match="depends on changes"):
        docs.import_update("b1", elsewhere.export(ExportMode.Updates(version)))
    with pytest.raises(InvalidData, match="not Loro data"):
        docs.import_update("b1", b"junk")
    assert docs.read_text("b1") == "base"
    assert q.get_updates_since(db, "b1", 0) == []
    docs.append("b1", "!")
    assert MemoryDocs(db).read_text("b1") == "base!"


def test_a_reused_peer_id_would_silently_lose_an_edit() -> None:
    # Why memory_docs never pins peer ids: two documents committing with one peer id issue the
    # same operation ids for different edits, and a merge keeps only one of them.
    base = LoroDoc()
    base.get_text("content").insert(0, "x")
    base.commit()
    snapshot = base.export(ExportMode.Snapshot())
    left, right = LoroDoc(), LoroDoc()
    for doc, text in ((left, "L"), (right, "R")):
        doc.import_(snapshot)
        doc.peer_id = 42
        doc.get_text("content").insert(1, text)
        doc.commit()
    left.import_(right.export(ExportMode.Snapshot()))
    assert left.get_text("content").to_string() == "xL"  # the "R" edit is gone


def test_two_handles_edit_with_different_peer_ids(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    with ConstellationDb.open(path) as one, ConstellationDb.open(path) as two:
        first, second = MemoryDocs(one), MemoryDocs(two)
        first.create_block("a1", "shared", "", block_id="b1")
        first.append("b1", "a")
        second.append("b1", "b")
        one_doc = first._engine.cache.get("b1")
        two_doc = second._engine.cache.get("b1")
        assert one_doc is not None
        assert two_doc is not None
        assert one_doc.doc.peer_id != two_doc.doc.peer_id
