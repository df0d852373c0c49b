"""The bundled model (LocalEmbedder) and the `pattern-db index` command, on the real int8 model."""

from __future__ import annotations

import hashlib
import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pattern_db import ConstellationDb, ExtensionError, InvalidData, vector
from pattern_db.embed import (
    HashEmbedder,
    LocalEmbedder,
    content_hash,
    index_pending,
    pending_counts,
)
from pattern_db.embed.local import CHUNK_TOKENS, MODEL_ID, bundled_model_path
from pattern_db.models import ArchivalEntry
from pattern_db.search import ContentFilter, SearchMode, search
from tests.search_support import agents, insert
from tests.test_cli import run, run_json

# Published by sentence-transformers for all-MiniLM-L6-v2 (sbert.net: Quickstart / Usage, and
# "Semantic Textual Similarity"), cosine similarities to 4 decimals.
QUICKSTART = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
QUICKSTART_SIMILARITIES = [[1.0, 0.6660, 0.1046], [0.6660, 1.0, 0.1411], [0.1046, 0.1411, 1.0]]
STS_LEFT = ["The new movie is awesome", "The cat sits outside", "A man is playing guitar"]
STS_RIGHT = ["The dog plays in the garden", "The new movie is so great", "A woman watches TV"]
STS_SIMILARITIES = [
    [0.0543, 0.8939, -0.0502],
    [0.2838, -0.0029, 0.1310],
    [0.2277, -0.0136, -0.0327],
]


@pytest.fixture(scope="module")
def model() -> LocalEmbedder:
    return LocalEmbedder()


def test_reproduces_the_published_reference_similarities(model: LocalEmbedder) -> None:
    quick = model.embed(QUICKSTART)
    left, right = model.embed(STS_LEFT), model.embed(STS_RIGHT)
    np.testing.assert_allclose(quick @ quick.T, QUICKSTART_SIMILARITIES, atol=0.01)
    np.testing.assert_allclose(left @ right.T, STS_SIMILARITIES, atol=0.01)


def test_vectors_are_unit_float32_in_input_order(model: LocalEmbedder) -> None:
    texts = ["short", "a somewhat longer sentence about databases and agents", ""]
    together = model.embed(texts)
    assert together.shape == (3, 384)
    assert together.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    alone = np.vstack([model.embed([t]) for t in texts])
    # Batching pads to the longest text of a batch; the mask keeps padding out of the result.
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert model.embed([]).shape == (0, 384)
    assert (model.dimensions, model.model_name) == (384, MODEL_ID)


def test_text_over_256_tokens_is_truncated(model: LocalEmbedder) -> None:
    words = [f"word{i % 10}" for i in range(400)]  # "word3" is two WordPiece tokens
    text = " ".join(words)
    head = " ".join(words[: CHUNK_TOKENS // 2])  # exactly the 254 tokens the model keeps
    np.testing.assert_allclose(model.embed([text]), model.embed([head]), atol=1e-5)
    assert not np.allclose(model.embed([text]), model.embed([" ".join(words[:100])]), atol=1e-3)


def test_chunk_text_makes_overlapping_windows_within_the_limit(model: LocalEmbedder) -> None:
    words = [f"w{i}" for i in range(300)]  # each "w<i>" is 2 or 3 tokens
    pieces = model.chunk_text(" ".join(words))
    assert len(pieces) == 4
    assert pieces[0].startswith("w0 w1 ")
    assert pieces[-1].endswith("w298 w299")
    for first, second in itertools.pairwise(pieces):
        assert first[-12:] in second  # the windows overlap
    assert model.chunk_text("hello world") == ["hello world"]


def test_bad_model_files_and_arguments(tmp_path: Path) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not a model")
    with pytest.raises(InvalidData, match="sha256"):
        LocalEmbedder(model_path=fake).embed(["x"])
    with pytest.raises(InvalidData, match="sha256"):
        LocalEmbedder(model_path=fake).load()
    with pytest.raises(InvalidData, match="cannot read"):
        LocalEmbedder(model_path=tmp_path / "missing.onnx").embed(["x"])
    with pytest.raises(InvalidData, match="threads"):
        LocalEmbedder(threads=0)
    with pytest.raises(InvalidData, match="max_batch_tokens"):
        LocalEmbedder(max_batch_tokens=100)
    with pytest.raises(InvalidData, match="strings"):
        LocalEmbedder().embed([b"bytes"])  # type: ignore[list-item]
    assert bundled_model_path().name == "model.onnx"
    assert issubclass(ExtensionError, Exception)


def test_index_then_semantic_search_finds_a_paraphrase(
    db: ConstellationDb, model: LocalEmbedder
) -> None:
    agents(db, "a1")
    insert(
        db,
        ArchivalEntry(id="e1", agent_id="a1", content="The meeting moved to Thursday afternoon."),
        ArchivalEntry(id="e2", agent_id="a1", content="Buy oat milk and coffee beans."),
        ArchivalEntry(id="e3", agent_id="a1", content="The server crashed after the upgrade."),
    )
    report = index_pending(db, model)
    assert (report.embedded, report.chunks, report.model) == (3, 3, MODEL_ID)
    query = model.embed(["groceries to pick up"])[0]
    results = (
        search(db)
        .embedding(query)
        .filter(ContentFilter.archival())
        .mode(SearchMode.VECTOR_ONLY)
        .limit(1)
        .execute()
    )
    assert [r.id for r in results] == ["e2"]
    assert pending_counts(db, model).pending == 0


# -- the command line -------------------------------------------------------------------------


@pytest.fixture
def demo_path(tmp_path: Path) -> Path:
    path = tmp_path / "demo.db"
    code, output = run("demo", "--no-search", str(path))
    assert code == 0, output
    return path


def test_index_command_embeds_then_has_nothing_left(demo_path: Path) -> None:
    first = run_json("index", str(demo_path))
    assert isinstance(first, dict)
    assert (first["model"], first["embedded"], first["current"]) == (MODEL_ID, 5, 0)
    assert first["by_type"]["message"]["embedded"] == 4
    code, output = run("index", str(demo_path))
    assert code == 0, output
    assert "embedded 0 items (0 vectors)" in output
    assert "5 already current" in output
    again = run_json("index", "--reembed", str(demo_path))
    assert isinstance(again, dict)
    assert (again["embedded"], again["reembedded"]) == (5, True)


def test_index_command_refuses_another_model_in_one_line(demo_path: Path) -> None:
    with ConstellationDb.open(demo_path) as db:
        index_pending(db, HashEmbedder())
    code, output = run("index", str(demo_path))
    assert code == 1
    assert output.startswith("error: this constellation's vectors were made by model 'hash-bow-32'")
    assert "--reembed" in output
    assert "Traceback" not in output
    code, output = run("index", str(demo_path.parent / "missing.db"))
    assert code == 1


def test_index_console_script(demo_path: Path) -> None:
    script = Path(sys.executable).parent / "pattern-db"
    done = subprocess.run(
        [str(script), "index", "--json", str(demo_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["embedded"] == 5
    with ConstellationDb.open(demo_path) as db:
        assert vector.get_embedding_stats(db).total_embeddings == 5


def test_pending_counts_with_the_local_model_needs_no_model_run(db: ConstellationDb) -> None:
    agents(db, "a1")
    insert(db, ArchivalEntry(id="e1", agent_id="a1", content="hello"))
    counts = pending_counts(db, LocalEmbedder(model_path="/nonexistent/model.onnx"))
    assert (counts.pending, counts.model, counts.index_model) == (1, MODEL_ID, None)
    expected = hashlib.sha256(b"all-MiniLM-L6-v2-onnx-int8\ntokens:254/32;max256\nhello")
    assert content_hash(LocalEmbedder(), "hello") == expected.hexdigest()
