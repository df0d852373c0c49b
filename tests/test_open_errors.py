"""Bad paths and other applications' files: one clear DbError, one CLI line, nothing changed."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import apsw
import pytest

from pattern_db import ConstellationDb
from pattern_db import migrate as mig
from pattern_db.backup import restore_backup
from pattern_db.demo import create_demo
from pattern_db.errors import (
    CorruptDatabase,
    DbError,
    DestinationExists,
    NotAConstellation,
    PathError,
)
from tests.test_cli import run


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def paths(tmp_path: Path) -> dict[str, Path]:
    """Each kind of bad path, ready to be given where a database file is expected."""
    a_file = tmp_path / "notes.txt"
    a_file.write_text("plain text, not a database\n" * 50)
    a_dir = tmp_path / "a_dir"
    a_dir.mkdir()
    return {
        "file as directory": a_file / "c.db",
        "directory as database": a_dir,
        "not a database": a_file,
    }


def _api_calls(target: Path, good: Path) -> dict[str, Callable[[], object]]:
    return {
        "open": lambda: ConstellationDb.open(target).close(),
        "inspect": lambda: mig.inspect_file(target),
        "restore from": lambda: restore_backup(target, good.with_name("r.db")),
        "restore to": lambda: restore_backup(good, target, overwrite=True),
        "demo": lambda: create_demo(target),
    }


@pytest.mark.parametrize("kind", ["file as directory", "directory as database", "not a database"])
def test_bad_paths_are_db_errors_through_the_api(
    tmp_path: Path, paths: dict[str, Path], kind: str
) -> None:
    good = tmp_path / "good.db"
    ConstellationDb.open(good).close()
    target = paths[kind]
    if kind != "not a database":  # replacing a file is allowed when asked
        with ConstellationDb.open(good) as db, pytest.raises(DbError):
            db.backup(target, overwrite=True)
    for name, call in _api_calls(target, good).items():
        if kind == "not a database" and name in ("restore to", "demo"):
            continue  # a file may be replaced when asked to
        with pytest.raises(DbError) as info:
            call()
        assert not isinstance(info.value, apsw.Error), name
        assert str(info.value), name
    if kind == "not a database":
        assert paths[kind].read_text().startswith("plain text")


@pytest.mark.parametrize("kind", ["file as directory", "directory as database", "not a database"])
@pytest.mark.parametrize(
    "command",
    [
        ["init", "{p}"],
        ["migrate", "{p}"],
        ["migrate", "--list", "{p}"],
        ["status", "{p}"],
        ["backup", "{good}", "{p}"],
        ["restore", "{p}", "{tmp}/r.db"],
        ["demo", "{p}"],
    ],
)
def test_bad_paths_are_one_line_in_the_cli(
    tmp_path: Path, paths: dict[str, Path], kind: str, command: list[str]
) -> None:
    good = tmp_path / "good.db"
    ConstellationDb.open(good).close()
    args = [a.format(p=paths[kind], good=good, tmp=tmp_path) for a in command]
    code, output = run(*args)
    if kind == "not a database" and command[0] in ("backup", "demo"):
        assert code == 1
        assert "pass --overwrite" in output
        return
    assert code == 1, output
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith("error: ")
    assert "Traceback" not in output
    assert "=True" not in output  # flags, not Python keywords


def test_existing_destinations_name_the_flag(tmp_path: Path) -> None:
    good = tmp_path / "good.db"
    ConstellationDb.open(good).close()
    (tmp_path / "copy.db").write_bytes(b"x")
    with ConstellationDb.open(good) as db, pytest.raises(DestinationExists, match="overwrite=True"):
        db.backup(tmp_path / "copy.db")
    code, output = run("backup", str(good), str(tmp_path / "copy.db"))
    assert (code, output.strip()) == (
        1,
        f"error: {tmp_path / 'copy.db'} exists; choose another path, or pass --overwrite to "
        "replace it",
    )


def test_verify_reports_a_file_that_is_not_a_database(paths: dict[str, Path]) -> None:
    code, output = run("verify", "--json", str(paths["not a database"]))
    assert code == 1
    assert output.strip().startswith("{")
    assert '"ok": false' in output
    assert "not a database" in output
    assert "pattern-db verify" not in output  # it does not advise itself
    code, output = run("verify", str(paths["not a database"]))
    assert code == 1
    assert "\nproblem: file: " in output


# -- another application's file (item 9) -----------------------------------------------------


def _foreign(path: Path, *tables: str) -> str:
    conn = apsw.Connection(str(path))
    for table in tables:
        conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, v TEXT)")
        conn.execute(f"INSERT INTO {table} (v) VALUES ('keep me')")
    conn.close()
    return _digest(path)


def test_another_applications_database_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    before = _foreign(path, "invoices", "customers")
    with pytest.raises(NotAConstellation, match="another application's SQLite database") as info:
        ConstellationDb.open(path)
    assert info.value.kind == "foreign"
    assert info.value.tables == ["customers", "invoices"]
    code, output = run("init", str(path))
    assert code == 1
    assert "left untouched" in output
    assert _digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db"]  # no -wal, no backup


def test_a_rust_crate_database_names_the_import_command(tmp_path: Path) -> None:
    path = tmp_path / "rust.db"
    before = _foreign(path, "_sqlx_migrations", "agents", "messages")
    with pytest.raises(NotAConstellation, match=r"pattern-db import rust-db .*rust\.db NEW\.db"):
        ConstellationDb.open(path)
    code, output = run("status", str(path))
    assert code == 1
    assert "pattern-db import rust-db" in output
    assert _digest(path) == before


def test_an_empty_file_and_a_constellation_open(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    ConstellationDb.open(empty).close()
    ConstellationDb.open(empty).close()
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    with pytest.raises(CorruptDatabase):
        ConstellationDb.open(bad)
    with pytest.raises(PathError, match="is a directory"):
        ConstellationDb.open(tmp_path)


def test_the_console_script_prints_one_line_without_traceback(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("pattern-db")
    result = subprocess.run(
        [str(script), "migrate", str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ")
