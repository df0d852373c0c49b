"""The pattern-db command line: every command, --json output, exit codes, help text."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from pattern_db import ConstellationDb
from pattern_db.cli import app, main
from tests.test_migrations import _database_at


def run(*args: str) -> tuple[int, str]:
    """Run the console entry point in-process; return (exit code, stdout + stderr)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, stdout.getvalue() + stderr.getvalue()


def run_json(*args: str) -> object:
    code, output = run(*args, "--json")
    assert code == 0, output
    return json.loads(output)


@pytest.fixture
def demo_db(tmp_path: Path) -> Path:
    path = tmp_path / "demo.db"
    code, output = run("demo", "--no-search", str(path))
    assert code == 0, output
    return path


def test_every_command_has_help_text() -> None:
    for command in app.registered_commands:
        assert command.callback is not None
        assert (command.callback.__doc__ or "").strip(), command.name
    code, output = run("--help")
    assert code == 0
    for name in ("init", "migrate", "status", "backup", "restore", "vacuum", "verify", "demo"):
        assert name in output


def test_init_creates_then_reports_existing(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    first = run_json("init", str(path))
    second = run_json("init", str(path))
    assert first["created"] is True  # type: ignore[index]
    assert second["created"] is False  # type: ignore[index]
    assert second["schema_version"] == first["schema_version"]  # type: ignore[index]


def test_demo_then_status(demo_db: Path) -> None:
    status = run_json("status", str(demo_db))
    assert status["stats"]["agent_count"] == 3  # type: ignore[index]
    assert status["stats"]["message_count"] == 4  # type: ignore[index]
    assert status["stats"]["memory_block_count"] == 1  # type: ignore[index]
    assert sorted(a["name"] for a in status["agents"]) == ["Anchor", "Entropy", "Pattern"]  # type: ignore[index]
    code, output = run("status", str(demo_db))
    assert code == 0
    assert "Pattern" in output
    assert "memory blocks" in output


def test_demo_refuses_to_overwrite_unless_asked(demo_db: Path) -> None:
    code, output = run("demo", "--no-search", str(demo_db))
    assert code == 1
    assert "exists" in output
    summary = run_json("demo", "--no-search", "--overwrite", str(demo_db))
    assert summary["messages"] == 4  # type: ignore[index]
    assert len(summary["search"]) == 2  # type: ignore[index,arg-type]


def test_migrate_lists_and_applies(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _database_at(path, 1)
    listing = run_json("migrate", str(path), "--list")
    assert [row["state"] for row in listing] == ["applied", "pending", "pending", "pending"]  # type: ignore[union-attr,index]
    result = run_json("migrate", str(path))
    assert result["applied"] == 3  # type: ignore[index]
    listing = run_json("migrate", str(path), "--list")
    assert {row["state"] for row in listing} == {"applied"}  # type: ignore[union-attr,index]


def test_backup_restore_vacuum_checkpoint_verify(demo_db: Path, tmp_path: Path) -> None:
    backup = run_json("backup", str(demo_db), str(tmp_path / "copy.db"))
    assert backup["bytes"] > 0  # type: ignore[index]
    code, output = run("backup", str(demo_db), str(tmp_path / "copy.db"))
    assert code == 1
    assert "exists" in output
    restored = run_json("restore", str(tmp_path / "copy.db"), str(tmp_path / "restored.db"))
    assert restored["schema_version"] > 0  # type: ignore[index]
    with ConstellationDb.open(tmp_path / "restored.db") as db:
        assert db.stats().message_count == 4
    assert run_json("vacuum", str(demo_db))["bytes_after"] > 0  # type: ignore[index]
    assert run_json("checkpoint", str(demo_db))["busy"] == 0  # type: ignore[index]
    assert run_json("verify", str(demo_db))["problems"] == []  # type: ignore[index]
    assert run_json("stats", str(demo_db))["agent_count"] == 3  # type: ignore[index]


def test_verify_reports_a_broken_fts_index(demo_db: Path) -> None:
    with ConstellationDb.open(demo_db) as db, db.writer() as conn:
        conn.execute(
            "INSERT INTO messages_fts(messages_fts, rowid, content_preview) "
            "SELECT 'delete', rowid, content_preview FROM messages LIMIT 1"
        )
    code, output = run("verify", str(demo_db), "--json")
    assert code == 1
    report = json.loads(output)
    assert report["ok"] is False
    assert any("messages_fts" in p for p in report["problems"])
    run("vacuum", str(demo_db))
    assert run_json("verify", str(demo_db))["ok"] is True  # type: ignore[index]


@pytest.mark.parametrize("command", ["status", "stats", "vacuum", "verify", "checkpoint"])
def test_a_missing_file_is_one_clear_line(tmp_path: Path, command: str) -> None:
    code, output = run(command, str(tmp_path / "nope.db"))
    assert code == 1
    assert "no database at" in output
    assert "Traceback" not in output
    assert not (tmp_path / "nope.db").exists()


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"garbage" * 1000)
    code, output = run("status", str(path))
    assert code == 1
    assert "not a database" in output


def test_bad_usage_exits_2() -> None:
    code, _ = run("status")
    assert code == 2
    code, _ = run("no-such-command")
    assert code == 2
