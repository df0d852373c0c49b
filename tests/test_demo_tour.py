"""The demo's search tour: stdlib docs and a real Letta agent, indexed by the real local model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pattern_db import ConstellationDb
from pattern_db.demo import create_demo
from pattern_db.demo_tour import LETTA_SAMPLE, load_stdlib_docs, run_tour
from pattern_db.embed import LocalEmbedder
from pattern_db.queries.memory import list_archival_entries
from tests.test_cli import run

QUESTION = "make a random token that is hard to guess"


@pytest.fixture
def demo(tmp_path: Path) -> ConstellationDb:
    path = tmp_path / "demo.db"
    create_demo(path)
    with ConstellationDb.open(path) as db:
        yield db


def test_the_tour_answers_from_real_text_with_the_local_model(demo: ConstellationDb) -> None:
    steps: set[str] = set()
    report = run_tour(
        demo,
        embedder=LocalEmbedder(),
        modules=["secrets"],
        questions=[QUESTION, "how old did Brad just turn"],
        progress=lambda step, done, total: steps.add(step),
    )
    assert steps == {"import", "index"}
    # secrets has four public docstrings of 8 words or more; the Letta file 83 messages, 2 blocks.
    assert (report.archival_entries, report.imported_messages, report.imported_blocks) == (4, 83, 2)
    # Everything is embedded: the demo's 4 messages and persona block too.
    assert report.embedded == 4 + 83 + 2 + 4 + 1
    token, brad = report.answers
    assert token.results[0].content.startswith("secrets.token_")
    assert token.results[0].scores.vector_position == 1
    assert "30" in brad.results[0].content
    assert brad.results[0].content_type == "message"


def test_without_a_model_the_answers_come_from_keywords(demo: ConstellationDb) -> None:
    report = run_tour(demo, embedder=None, modules=["secrets"], questions=["random token"])
    assert report.embedded == 0
    [answer] = report.answers
    assert answer.results[0].content.startswith("secrets.token_")
    assert {r.scores.vector_position for r in answer.results} == {None}


def test_stdlib_docs_are_constellation_wide_archival_memory(demo: ConstellationDb) -> None:
    assert load_stdlib_docs(demo, ["secrets"]) == 4
    entries = list_archival_entries(demo, "_constellation_", limit=10)
    assert sorted(e.metadata["name"] for e in entries) == [  # type: ignore[index,call-overload]
        "secrets.randbelow",
        "secrets.token_bytes",
        "secrets.token_hex",
        "secrets.token_urlsafe",
    ]


def test_the_letta_sample_ships_with_its_licence() -> None:
    folder = LETTA_SAMPLE.parent
    assert "Apache License" in (folder / "LICENSE").read_text()
    assert "letta-ai/agent-file" in (folder / "NOTICE").read_text()
    assert len(json.loads(LETTA_SAMPLE.read_text())["messages"]) == 83


@pytest.mark.slow
def test_the_whole_demo_from_the_command_line(tmp_path: Path) -> None:
    code, output = run("demo", "--json", str(tmp_path / "demo.db"))
    assert code == 0, output
    tour = json.loads(output)["tour"]
    assert tour["imported_messages"] == 83
    assert tour["embedded"] > 300
    assert len(tour["answers"]) == 6
