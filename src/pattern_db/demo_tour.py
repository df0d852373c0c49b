"""The search half of `pattern-db demo`: real text in, the local model indexes it, questions out.

On top of the demo constellation (`pattern_db.demo`) the tour loads the docstrings of some
well-known stdlib modules as constellation-wide archival memory, imports a real Letta agent file
(a MemGPT agent and its 83-message conversation, shipped in `demo_data/` under Apache-2.0),
embeds everything with the bundled model, and asks a few questions through hybrid search. It
runs offline: the model and the text are on the machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from pattern_db.connection import ConstellationDb
from pattern_db.demo_corpus import stdlib_docstrings
from pattern_db.models import ArchivalEntry
from pattern_db.models.memory import CONSTELLATION_OWNER
from pattern_db.queries.memory import create_archival_entry
from pattern_db.search import ContentFilter, SearchResult, search

if TYPE_CHECKING:
    from pattern_db.embed import Embedder

__all__ = [
    "DEMO_MODULES",
    "LETTA_SAMPLE",
    "QUESTIONS",
    "Answer",
    "TourReport",
    "ask",
    "load_stdlib_docs",
    "run_tour",
]

# Modules most Python programmers know, so the answers can be judged at a glance.
DEMO_MODULES = (
    "shutil",
    "subprocess",
    "difflib",
    "secrets",
    "textwrap",
    "json",
    "csv",
    "zipfile",
    "tempfile",
    "heapq",
    "bisect",
    "statistics",
    "calendar",
    "sched",
    "queue",
    "fnmatch",
    "glob",
    "uuid",
    "base64",
    "hashlib",
    "gzip",
    "copy",
    "pprint",
    "contextlib",
    "functools",
    "itertools",
)
LETTA_SAMPLE = Path(__file__).parent / "demo_data" / "memgpt_agent_with_convo.af"
# Docstrings are cut to this many words: a summary and its explanation, not a whole manual page.
MAX_WORDS = 200
MIN_WORDS = 8
# Questions in everyday words; several share no word with their answer.
QUESTIONS = (
    "how do I run a shell command and capture what it printed",
    "compare two lists of lines and show what changed",
    "make a random token that is hard to guess for a password reset link",
    "delete a folder and everything inside it",
    "when is the dentist appointment",
    "how old did Brad just turn",
)

Progress = Callable[[str, int, int], None]


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    """One question and its best results."""

    question: str
    seconds: float
    results: list[SearchResult]


class TourReport(msgspec.Struct, frozen=True, kw_only=True):
    """What the tour loaded, how long each step took, and the answers."""

    archival_entries: int
    imported_messages: int
    imported_blocks: int
    embedded: int
    index_seconds: float
    items_per_second: float
    answers: list[Answer]
    seconds: float


def _entries(modules: Sequence[str]) -> list[ArchivalEntry]:
    entries = []
    for name, doc in stdlib_docstrings(modules):
        words = doc.split()
        if len(words) < MIN_WORDS or name.rsplit(".", 1)[-1].startswith("_"):
            continue
        text = f"{name}: {' '.join(words[:MAX_WORDS])}"
        entries.append(
            ArchivalEntry(
                agent_id=CONSTELLATION_OWNER,
                content=text,
                metadata={"source": "python stdlib", "name": name},
            )
        )
    return entries


def load_stdlib_docs(db: ConstellationDb, modules: Sequence[str] = DEMO_MODULES) -> int:
    """Store the public docstrings of `modules` as constellation-wide archival entries.

    Returns how many were stored. Example: `load_stdlib_docs(db, ["shutil"])`.
    """
    entries = _entries(modules)
    with db.transaction(savepoints=False) as tx:
        for entry in entries:
            create_archival_entry(tx, entry)
    return len(entries)


def ask(
    db: ConstellationDb, embedder: Embedder | None, question: str, limit: int = 3
) -> list[SearchResult]:
    """Return the best `limit` results for `question` (keywords alone without an embedder)."""
    builder = search(db).text(question).filter(ContentFilter.all()).limit(limit)
    if embedder is not None:
        builder = builder.embedding(embedder.embed([question])[0])
    return builder.execute()


def run_tour(
    db: ConstellationDb,
    *,
    embedder: Embedder | None,
    modules: Sequence[str] = DEMO_MODULES,
    questions: Sequence[str] = QUESTIONS,
    progress: Progress | None = None,
) -> TourReport:
    """Load the stdlib docs and the Letta sample into `db`, index them, answer `questions`.

    `progress(step, done, total)` reports the steps "import" and "index". Without an embedder
    (the `embed` extra missing) nothing is indexed and the answers come from keywords alone.
    """
    from pattern_db.importers import import_letta

    started = time.perf_counter()
    stored = load_stdlib_docs(db, modules)
    report = import_letta(
        db,
        LETTA_SAMPLE,
        progress=None if progress is None else (lambda s, d, t: progress("import", d, t or d)),
    )
    embedded, index_seconds, rate = 0, 0.0, 0.0
    if embedder is not None:
        from pattern_db.embed import index_pending

        indexed = index_pending(
            db,
            embedder,
            progress=None if progress is None else (lambda d, t: progress("index", d, t)),
        )
        embedded, index_seconds, rate = indexed.embedded, indexed.seconds, indexed.items_per_second
    answers = []
    for question in questions:
        asked = time.perf_counter()
        results = ask(db, embedder, question)
        answers.append(
            Answer(question=question, seconds=time.perf_counter() - asked, results=results)
        )
    return TourReport(
        archival_entries=stored,
        imported_messages=report.counts.get("messages", 0),
        imported_blocks=report.counts.get("memory_blocks", 0),
        embedded=embedded,
        index_seconds=index_seconds,
        items_per_second=rate,
        answers=answers,
        seconds=time.perf_counter() - started,
    )
