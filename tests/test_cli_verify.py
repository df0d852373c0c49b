"""`pattern-db verify`: each check finds what it is for, the report, the exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import apsw
import pytest

from pattern_db import ConstellationDb
from pattern_db.embed import HashEmbedder, index_pending
from tests.test_cli_search import run

CHECKS = [
    "integrity",
    "foreign keys",
    "migrations",
    "full-text indexes",
    "vectors",
    "embeddings",
]


def verify_json(path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    code, stdout, stderr = run("verify", str(path), "--json", *args)
    assert stderr == ""
    report: dict[str, Any] = json.loads(stdout)
    return code, report


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["status"] for c in report["checks"]}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("verify") / "demo.db"
    code, _, stderr = run("demo", "--no-search", str(path))
    assert code == 0, stderr
    return path


@pytest.fixture
def hashed(demo: Path, tmp_path: Path) -> Path:
    """A copy of the demo with every item embedded by a fake model."""
    path = tmp_path / "hashed.db"
    shutil.copy(demo, path)
    with ConstellationDb.open(path) as db:
        assert index_pending(db, HashEmbedder(8)).embedded == 5
    return path


def raw_sql(path: Path, *statements: str) -> None:
    """Write around pattern-db, as a careless tool would (no foreign keys, no triggers' help)."""
    conn = apsw.Connection(str(path))
    try:
        for statement in statements:
            conn.execute(statement)
    finally:
        conn.close()


def test_a_sound_file_passes_every_check(demo: Path) -> None:
    code, report = verify_json(demo)
    assert code == 0
    assert [c["name"] for c in report["checks"]] == CHECKS
    assert report["ok"] is True
    assert report["problems"] == report["warnings"] == []
    assert statuses(report)["embeddings"] == "skipped"  # not indexed yet
    code, stdout, _ = run("verify", str(demo))
    assert code == 0
    assert stdout.rstrip().endswith("demo.db: ok")
    for name in CHECKS:
        assert name in stdout


def test_a_dangling_foreign_key(hashed: Path) -> None:
    raw_sql(
        hashed,
        "UPDATE group_members SET agent_id = 'agent_ghost' "
        "WHERE rowid = (SELECT min(rowid) FROM group_members)",
    )
    code, report = verify_json(hashed)
    assert code == 1
    assert statuses(report)["foreign keys"] == "problem"
    assert report["problems"] == ["foreign key: group_members row 1 refers to a missing agents"]


def test_vectors_of_content_that_is_gone(hashed: Path) -> None:
    raw_sql(
        hashed,
        "INSERT INTO embeddings (content_type, content_id, embedding) "
        "SELECT 'message', 'msg_never_stored', embedding FROM embeddings LIMIT 1",
    )
    code, report = verify_json(hashed)
    assert code == 1
    assert statuses(report)["vectors"] == "problem"
    assert report["problems"] == [
        "vectors: 1 message vector(s) embed content that is not stored; remove them with "
        "vector.purge_orphans (or keep them as constellation-wide)"
    ]


def test_vectors_under_the_wrong_owner(hashed: Path) -> None:
    raw_sql(
        hashed,
        "UPDATE embeddings SET agent_id = 'agent_other' WHERE content_type = 'memory_block'",
    )
    code, report = verify_json(hashed)
    assert code == 1
    [problem] = report["problems"]
    assert problem.startswith("vectors: 1 memory_block vector(s) are recorded under another owner")


def test_vectors_of_a_deleted_message(hashed: Path) -> None:
    # Tombstoning around pattern-db, with the trigger that drops the vectors gone.
    raw_sql(
        hashed,
        "DROP TRIGGER messages_vectors_tombstone",
        "UPDATE messages SET is_deleted = 1 WHERE rowid = (SELECT min(rowid) FROM messages)",
    )
    code, report = verify_json(hashed)
    assert code == 1
    assert any("1 message vector(s)" in p and "deleted" in p for p in report["problems"])


def test_vectors_of_the_wrong_size(hashed: Path) -> None:
    raw_sql(hashed, "UPDATE embeddings SET embedding = zeroblob(12) WHERE id = 1")
    code, report = verify_json(hashed)
    assert code == 1
    assert report["problems"] == [
        "vectors: 1 vector(s) have not 8 dimensions; re-embed with `pattern-db index --reembed`"
    ]


def test_vectors_of_another_model_are_not_counted_as_pending(hashed: Path) -> None:
    code, report = verify_json(hashed)
    assert code == 0
    embeddings = report["checks"][-1]
    assert embeddings["status"] == "skipped"
    assert "hash-bow-8" in embeddings["detail"]


def test_pending_embeddings_warn_and_fail_only_with_strict(demo: Path, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    path = tmp_path / "indexed.db"
    shutil.copy(demo, path)
    code, _, stderr = run("index", str(path), "--json")
    assert code == 0, stderr
    code, report = verify_json(path)
    assert code == 0
    assert statuses(report)["embeddings"] == "ok"
    raw_sql(path, "UPDATE messages SET content_preview = 'new words' WHERE rowid = 1")
    code, report = verify_json(path)
    assert code == 0
    assert report["ok"] is True
    assert statuses(report)["embeddings"] == "warning"
    assert report["warnings"] == [
        "embeddings: 1 item(s) wait to be embedded (1 message); run `pattern-db index`"
    ]
    assert report["checks"][-1]["by_type"]["message"]["pending"] == 1
    code, report = verify_json(path, "--strict")
    assert code == 1
    assert report["ok"] is False
    code, stdout, _ = run("verify", str(path))
    assert code == 0
    assert "warning: embeddings: 1 item(s) wait to be embedded" in stdout
    assert stdout.rstrip().endswith("indexed.db: ok (1 warning(s))")


def test_a_file_that_is_not_a_database_is_a_finding(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"garbage" * 1000)
    code, report = verify_json(path)
    assert code == 1
    assert [c["name"] for c in report["checks"]] == ["file"]
    assert report["problems"][0].startswith("file: ")
