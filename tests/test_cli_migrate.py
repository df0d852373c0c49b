"""`pattern-db migrate --dry-run`: the pending migrations tried on a copy, the file untouched."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.test_cli_search import run
from tests.test_migrations import _database_at


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_dry_run_reports_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _database_at(path, 1)
    before = digest(path)
    code, stdout, stderr = run("migrate", "--dry-run", "--json", str(path))
    assert (code, stderr) == (0, "")
    report = json.loads(stdout)
    assert [m["version"] for m in report["would_apply"]] == [2, 3, 4]
    assert report["schema_version"] == 4
    assert report["problems"] == []
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.db"]  # no copy, no backup left
    code, stdout, _ = run("migrate", "--list", "--json", str(path))
    assert [m["state"] for m in json.loads(stdout)] == ["applied", "pending", "pending", "pending"]
    code, stdout, _ = run("migrate", "--dry-run", str(path))
    assert code == 0
    assert "3 migration(s) apply cleanly" in stdout
    assert "is unchanged" in stdout


def test_a_dry_run_of_a_current_file_copies_nothing(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    assert run("init", str(path))[0] == 0
    code, stdout, _ = run("migrate", "--dry-run", "--json", str(path))
    assert code == 0
    assert json.loads(stdout)["would_apply"] == []


def test_list_and_dry_run_exclude_each_other(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _database_at(path, 1)
    code, stdout, stderr = run("migrate", "--dry-run", "--list", str(path))
    assert (code, stdout) == (2, "")
    assert "exclude each other" in stderr
