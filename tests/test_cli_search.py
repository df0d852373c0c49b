"""`pattern-db search`: modes, the fallback to keywords, filters, --explain and --json."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pattern_db.cli import main


def run(*args: str) -> tuple[int, str, str]:
    """Run the console entry point in-process; return (exit code, stdout, stderr)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, stdout.getvalue(), stderr.getvalue()


def search_json(db: Path, *args: str) -> dict[str, Any]:
    code, stdout, stderr = run("search", str(db), *args, "--json")
    assert code == 0, stderr
    result: dict[str, Any] = json.loads(stdout)
    return result


@pytest.fixture(scope="module")
def plain_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo constellation, not indexed."""
    path = tmp_path_factory.mktemp("search") / "plain.db"
    code, _, stderr = run("demo", "--no-search", str(path))
    assert code == 0, stderr
    return path


@pytest.fixture(scope="module")
def indexed_db(plain_db: Path) -> Path:
    """The demo constellation with every item embedded by the local model."""
    pytest.importorskip("onnxruntime")
    path = plain_db.with_name("indexed.db")
    shutil.copy(plain_db, path)
    code, _, stderr = run("index", str(path), "--json")
    assert code == 0, stderr
    return path


def test_without_vectors_the_default_is_keywords_with_a_note(plain_db: Path) -> None:
    code, stdout, stderr = run("search", str(plain_db), "grant report", "--json")
    assert code == 0
    assert json.loads(stdout)["mode"] == "fts"
    assert stderr.count("\n") == 1
    assert "keyword search only" in stderr
    assert "pattern-db index" in stderr


@pytest.mark.parametrize("mode", ["vector", "hybrid"])
def test_vector_modes_without_vectors_fail_in_one_line(plain_db: Path, mode: str) -> None:
    code, stdout, stderr = run("search", str(plain_db), "grant report", "--mode", mode)
    assert code == 1
    assert stdout == ""
    assert stderr.startswith(f"error: --mode {mode} cannot run")
    assert stderr.count("\n") == 1


def test_keyword_results_and_their_breakdown(plain_db: Path) -> None:
    result = search_json(plain_db, "grant report", "--mode", "fts")
    contents = [r["content"] for r in result["results"]]
    assert len(contents) == 2
    assert all("grant report" in c for c in contents)
    for r in result["results"]:
        assert r["scores"]["fts_position"] >= 1
        assert r["scores"]["vector_position"] is None
    code, stdout, _ = run("search", str(plain_db), "grant report", "--mode", "fts", "--explain")
    assert code == 0
    assert "keywords: #1, bm25" in stdout
    assert "vectors: -" in stdout


def test_default_is_hybrid_once_indexed(indexed_db: Path) -> None:
    code, stdout, stderr = run("search", str(indexed_db), "a big report to write", "--json")
    assert code == 0
    assert stderr == ""
    result = json.loads(stdout)
    assert result["mode"] == "hybrid"
    top = result["results"][0]
    assert "grant report" in top["content"]
    assert top["scores"]["vector_position"] is not None
    code, stdout, _ = run("search", str(indexed_db), "a big report to write", "--explain")
    assert code == 0
    assert "(hybrid)" in stdout
    assert "vectors: #1, distance" in stdout
    assert "fused 1.000" in stdout


def test_vector_mode_finds_by_meaning(indexed_db: Path) -> None:
    result = search_json(indexed_db, "tooth doctor appointment", "--mode", "vector", "--limit", "1")
    assert result["mode"] == "vector"
    [top] = result["results"]
    assert "dentist" in top["content"]
    assert top["scores"]["fts_position"] is None


def test_type_filters(indexed_db: Path) -> None:
    only_blocks = search_json(indexed_db, "plan the day", "--type", "block")
    assert {r["content_type"] for r in only_blocks["results"]} == {"memory_block"}
    both = search_json(indexed_db, "plan the day", "--type", "block", "--type", "message")
    types = {r["content_type"] for r in both["results"]}
    assert types == {"memory_block", "message"}
    everything = search_json(indexed_db, "plan the day")
    assert len(everything["results"]) >= len(both["results"])


def test_agent_filter_takes_a_name_or_id_and_refuses_an_unknown_one(indexed_db: Path) -> None:
    mine = search_json(indexed_db, "grant report", "--agent", "Entropy")
    assert mine["results"] == []
    pattern = search_json(indexed_db, "grant report", "--agent", "Pattern", "--mode", "fts")
    assert len(pattern["results"]) == 2
    agent_id = pattern["results"][0]["agent_id"]
    assert search_json(indexed_db, "grant report", "--agent", agent_id, "--mode", "fts") == pattern
    code, stdout, stderr = run("search", str(indexed_db), "grant", "--agent", "nobody")
    assert (code, stdout) == (1, "")
    assert stderr == "error: agent not found: nobody\n"


@pytest.mark.parametrize(
    "args",
    [("   ",), ("x", "--mode", "fuzzy"), ("x", "--type", "tweet"), ("x", "--limit", "0")],
)
def test_bad_usage_exits_2(plain_db: Path, args: tuple[str, ...]) -> None:
    code, stdout, _ = run("search", str(plain_db), *args)
    assert code == 2
    assert stdout == ""


def test_a_missing_database_is_one_line(tmp_path: Path) -> None:
    code, _, stderr = run("search", str(tmp_path / "nope.db"), "x")
    assert code == 1
    assert "no database at" in stderr
    assert not (tmp_path / "nope.db").exists()
