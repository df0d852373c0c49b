"""Embedding protocol, fake embedder, word chunks and incremental indexing (index_pending)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from pattern_db import ConstellationDb, InvalidData, vector
from pattern_db.embed import (
    ChunkingEmbedder,
    Embedder,
    HashEmbedder,
    WordChunker,
    content_hash,
    index_pending,
    pending_counts,
)
from pattern_db.embed.index import MAX_CHUNKS
from pattern_db.models import ArchivalEntry, FilePassage
from pattern_db.queries.memory import delete_archival_entry, update_block_preview
from pattern_db.queries.message import update_message_content
from pattern_db.vector import ContentType
from tests.search_support import agents, block, folder_with_file, insert, msg


class SmallChunks(HashEmbedder):
    """The fake model with a tiny input limit: windows of 4 words overlapping by 1."""

    chunking = "words:4/1"

    def chunk_text(self, text: str) -> list[str]:
        return WordChunker(4, 1).split(text)


class Exploding(HashEmbedder):
    """The fake model that fails on its n-th call (an interrupted run)."""

    def __init__(self, fail_on_call: int) -> None:
        super().__init__(name="hash-bow-32")
        self.fail_on_call = fail_on_call
        self.runs = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        self.runs += 1
        if self.runs == self.fail_on_call:
            raise KeyboardInterrupt
        return super().embed(texts)


@pytest.fixture
def filled(db: ConstellationDb) -> ConstellationDb:
    """Two agents' messages, a block, an archival entry and a file passage."""
    agents(db, "a1", "a2")
    folder, file = folder_with_file("f1", "file1")
    insert(
        db,
        msg("m1", "a1", "the cat sat on the mat"),
        msg("m2", "a1", "archived note about dogs", is_archived=True),
        msg("m3", "a2", "  "),
        block("b1", "a1", "persona", "likes green tea"),
        ArchivalEntry(id="ar1", agent_id="a1", content="the treaty was signed in 1648"),
        folder,
        file,
        FilePassage(id="p1", file_id="file1", content="install with pip"),
    )
    return db


def stored(db: ConstellationDb, content_type: ContentType) -> dict[str, str | None]:
    return vector.content_hashes(db, content_type)


# -- the fake embedder and chunking -----------------------------------------------------------


def test_hash_embedder_is_deterministic_unit_and_word_based() -> None:
    model = HashEmbedder(16)
    a, b, c, again = model.embed(["red apple", "red car", "blue sky", "Red  apple!"])
    assert model.embed([]).shape == (0, 16)
    assert a.dtype == np.float32
    assert float(np.linalg.norm(a)) == pytest.approx(1.0, abs=1e-6)
    np.testing.assert_array_equal(a, again)  # same words, same vector
    assert float(a @ b) > float(a @ c)  # a shared word brings texts closer
    assert model.calls == 4
    assert model.model_name == "hash-bow-16"
    assert isinstance(model, Embedder)
    assert not isinstance(model, ChunkingEmbedder)
    assert isinstance(SmallChunks(), ChunkingEmbedder)


def test_hash_embedder_text_without_words_still_gets_a_vector() -> None:
    (v,) = HashEmbedder(8).embed(["?!"])
    assert float(np.linalg.norm(v)) == pytest.approx(1.0, abs=1e-6)


def test_word_chunker_windows_overlap_and_keep_exact_text() -> None:
    chunker = WordChunker(3, 1)
    assert chunker.split("a b c d e") == ["a b c", "c d e"]
    assert chunker.split("a  b\nc d e f") == ["a  b\nc", "c d e", "e f"]
    assert chunker.split("one two") == ["one two"]
    assert chunker.chunking == "words:3/1"
    with pytest.raises(InvalidData):
        WordChunker(3, 3)


def test_content_hash_is_sha256_of_model_chunking_and_text() -> None:
    expected = hashlib.sha256(b"hash-bow-32\nwords:180/30;max256\nhello").hexdigest()
    assert content_hash(HashEmbedder(), "hello") == expected
    assert content_hash(SmallChunks(), "hello") != expected  # other chunking, other hash


# -- index_pending ----------------------------------------------------------------------------


def test_index_pending_embeds_every_content_type(filled: ConstellationDb) -> None:
    report = index_pending(filled, HashEmbedder())
    assert report.embedded == 5
    assert report.chunks == 5
    assert {name: part.embedded for name, part in report.by_type.items()} == {
        "message": 2,
        "memory_block": 1,
        "archival_entry": 1,
        "file_passage": 1,
    }
    assert report.by_type["message"].empty == 1  # m3 is blank
    assert set(stored(filled, ContentType.MESSAGE)) == {"m1", "m2"}  # archived m2 included
    config = vector.get_index_config(filled)
    assert config is not None
    assert (config.model, config.dimensions) == ("hash-bow-32", 32)
    assert stored(filled, ContentType.MEMORY_BLOCK) == {
        "b1": content_hash(HashEmbedder(), "likes green tea")
    }


def test_agent_scoped_search_finds_indexed_items(filled: ConstellationDb) -> None:
    model = HashEmbedder()
    index_pending(filled, model)
    query = model.embed(["cat mat dogs tea treaty pip"])[0]
    assert {r.content_id for r in vector.knn_search(filled, query, 10, agent_id="a1")} == {
        "m1",
        "m2",
        "b1",
        "ar1",
    }
    assert [r.content_id for r in vector.knn_search(filled, query, 10, agent_id="a2")] == []
    assert "p1" in {r.content_id for r in vector.knn_search(filled, query, 10)}


def test_rerun_embeds_nothing_and_edits_are_stale(filled: ConstellationDb) -> None:
    model = HashEmbedder()
    index_pending(filled, model)
    calls = model.calls
    again = index_pending(filled, model)
    assert (again.embedded, again.current, model.calls) == (0, 5, calls)
    update_message_content(filled, "m1", {"text": "x"}, "the dog sat on the log")
    update_block_preview(filled, "b1", "")
    third = index_pending(filled, model)
    assert third.embedded == 1
    assert third.by_type["memory_block"].removed == 1  # emptied: its vector goes
    assert stored(filled, ContentType.MESSAGE)["m1"] == content_hash(
        model, "the dog sat on the log"
    )
    assert "b1" not in stored(filled, ContentType.MEMORY_BLOCK)
    (hit,) = vector.knn_search(filled, model.embed(["dog log"])[0], 1, ContentType.MESSAGE)
    assert hit.content_id == "m1"


def test_vectors_without_content_are_removed(filled: ConstellationDb) -> None:
    model = HashEmbedder()
    index_pending(filled, model)
    delete_archival_entry(filled, "ar1")  # the vector layer drops its vectors with it
    assert stored(filled, ContentType.ARCHIVAL_ENTRY) == {}
    # Vectors of content that is not stored (written by other software, say) are swept too.
    vector.insert_embeddings(filled, "archival_entry", ["ghost"], model.embed(["boo"]))
    assert pending_counts(filled, model).by_type["archival_entry"].orphaned == 1
    report = index_pending(filled, model)
    assert report.by_type["archival_entry"].removed == 1
    assert stored(filled, ContentType.ARCHIVAL_ENTRY) == {}


def test_long_text_is_chunked_and_found_by_any_chunk(db: ConstellationDb) -> None:
    agents(db, "a1")
    text = "alpha beta gamma delta epsilon zeta eta theta iota kappa"
    insert(db, ArchivalEntry(id="long", agent_id="a1", content=text))
    model = SmallChunks()
    report = index_pending(db, model)
    assert (report.embedded, report.chunks) == (1, 3)
    assert stored(db, ContentType.ARCHIVAL_ENTRY) == {"long": content_hash(model, text)}
    chunks = ["alpha beta gamma delta", "delta epsilon zeta eta", "eta theta iota kappa"]
    for index, piece in enumerate(chunks):
        (hit,) = vector.knn_search(db, model.embed([piece])[0], 1)
        assert (hit.content_id, hit.chunk_index, round(hit.distance, 6)) == ("long", index, 0.0)


def test_chunks_per_item_are_capped(db: ConstellationDb) -> None:
    agents(db, "a1")
    words = " ".join(f"w{i}" for i in range(3 * (MAX_CHUNKS + 10)))
    insert(db, ArchivalEntry(id="huge", agent_id="a1", content=words))
    report = index_pending(db, SmallChunks())
    assert (report.chunks, report.by_type["archival_entry"].capped) == (MAX_CHUNKS, 1)


def test_another_model_needs_an_explicit_reembed(filled: ConstellationDb) -> None:
    index_pending(filled, HashEmbedder())
    other = HashEmbedder(16)
    with pytest.raises(InvalidData, match="reembed=True"):
        index_pending(filled, other)
    with pytest.raises(InvalidData, match="reembed=True"):
        index_pending(filled, HashEmbedder(name="other-model"))
    before = pending_counts(filled, other)
    assert (before.model_matches, before.index_model, before.pending) == (False, "hash-bow-32", 5)
    report = index_pending(filled, other, reembed=True)
    assert (report.embedded, report.reembedded) == (5, True)
    config = vector.get_index_config(filled)
    assert config is not None
    assert (config.model, config.dimensions) == ("hash-bow-16", 16)
    assert pending_counts(filled, other).pending == 0


def test_interrupted_run_keeps_finished_batches_and_resumes(db: ConstellationDb) -> None:
    agents(db, "a1")
    insert(
        db, *(ArchivalEntry(id=f"e{i:02}", agent_id="a1", content=f"fact {i}") for i in range(10))
    )
    calls: list[tuple[int, int]] = []
    with pytest.raises(KeyboardInterrupt):
        index_pending(
            db, Exploding(fail_on_call=3), batch_size=4, progress=lambda *a: calls.append(a)
        )
    assert calls == [(0, 10), (4, 10), (8, 10)]
    assert sorted(stored(db, ContentType.ARCHIVAL_ENTRY)) == [f"e{i:02}" for i in range(8)]
    assert pending_counts(db, HashEmbedder()).pending == 2
    rest = index_pending(db, HashEmbedder(), batch_size=4)
    assert (rest.embedded, rest.current) == (2, 8)


def test_pending_counts_reads_only(filled: ConstellationDb) -> None:
    counts = pending_counts(filled, HashEmbedder())
    assert counts.pending == 5
    assert counts.by_type["message"].total == 2
    assert counts.by_type["message"].empty == 1
    assert vector.get_index_config(filled) is None  # nothing was created
    index_pending(filled, HashEmbedder(), content_types=["message"])
    after = pending_counts(filled, HashEmbedder())
    assert {n: c.pending for n, c in after.by_type.items()} == {
        "message": 0,
        "memory_block": 1,
        "archival_entry": 1,
        "file_passage": 1,
    }


def test_index_pending_inside_a_transaction(filled: ConstellationDb) -> None:
    with filled.transaction() as tx:
        report = index_pending(tx, HashEmbedder())
    assert report.embedded == 5
    assert len(stored(filled, ContentType.MESSAGE)) == 2


class WrongShape(HashEmbedder):
    def embed(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        return super().embed(texts)[:, :8]


def test_bad_embedders_and_arguments_are_invalid_data(filled: ConstellationDb) -> None:
    with pytest.raises(InvalidData, match="shape"):
        index_pending(filled, WrongShape())
    with pytest.raises(InvalidData, match="Embedder"):
        index_pending(filled, object())  # type: ignore[arg-type]
    with pytest.raises(InvalidData, match="batch_size"):
        index_pending(filled, HashEmbedder(), batch_size=0)
    with pytest.raises(InvalidData, match="content type"):
        index_pending(filled, HashEmbedder(), content_types=["tweets"])
    with pytest.raises(InvalidData, match="reembed"):
        index_pending(filled, HashEmbedder(), reembed=True, content_types=["message"])
    assert stored(filled, ContentType.MESSAGE) == {}
