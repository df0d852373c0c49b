"""Progress of long work: what backup and vacuum report, and bars only on a terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from pattern_db import ConstellationDb, backup
from tests.test_cli_search import run

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    path = tmp_path / "demo.db"
    code, _, stderr = run("demo", "--no-search", str(path))
    assert code == 0, stderr
    return path


def test_a_backup_in_steps_reports_pages_and_stays_one_snapshot(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backup, "_STEP_PAGES", 8)
    seen: list[tuple[str, int, int | None]] = []
    with ConstellationDb.open(demo) as db:

        def progress(stage: str, done: int, total: int | None) -> None:
            seen.append((stage, done, total))
            if stage == "copying" and done == 8:
                # A write between two steps must not reach (or restart) the copy.
                with db.writer() as conn:
                    conn.execute("DELETE FROM messages")

        written = db.backup(tmp_path / "copy.db", progress=progress)
        assert db.stats().message_count == 0
    copying = [(done, total) for stage, done, total in seen if stage == "copying"]
    pages = copying[-1][1]
    assert pages is not None
    assert pages > 16
    assert copying[0] == (0, None)
    assert [done for done, _ in copying[1:]] == sorted({done for done, _ in copying[1:]})
    assert copying[-1] == (pages, pages)
    assert [s for s in seen if s[0] == "verifying"] == [("verifying", 0, None), ("verifying", 1, 1)]
    with ConstellationDb.open(written) as copy:
        assert copy.stats().message_count == 4
        assert copy.verify() == []


def test_vacuum_reports_its_stages(demo: Path) -> None:
    seen: list[tuple[str, int, int | None]] = []
    with ConstellationDb.open(demo) as db:
        db.vacuum(progress=lambda stage, done, total: seen.append((stage, done, total)))
        assert db.verify() == []
    assert seen[:2] == [("vacuuming", 0, None), ("vacuuming", 1, 1)]
    rebuilt = [(done, total) for stage, done, total in seen if stage.startswith("rebuilding")]
    assert rebuilt == [(n, 4) for n in range(5)]


def _run_with_terminal(*args: str) -> tuple[int, bytes, bytes]:
    """Run the CLI with stderr on a pseudo-terminal; return (code, stdout, terminal output)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pattern_db.cli", *args],
        stdout=subprocess.PIPE,
        stderr=slave,
        env={**os.environ, "PYTHONPATH": SRC, "COLUMNS": "100"},
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    stdout, _ = proc.communicate(timeout=60)
    return proc.returncode, stdout, b"".join(chunks)


def test_bars_on_a_terminal_none_in_a_pipe_or_with_json(demo: Path, tmp_path: Path) -> None:
    code, stdout, terminal = _run_with_terminal("backup", str(demo), str(tmp_path / "a.db"))
    assert code == 0
    assert b"backed up" in stdout
    assert b"copying" in terminal
    assert b"verifying" in terminal
    code, stdout, terminal = _run_with_terminal(
        "backup", "--json", str(demo), str(tmp_path / "b.db")
    )
    assert code == 0
    assert terminal == b""
    code, stdout, stderr = run("vacuum", str(demo))  # stderr is not a terminal here
    assert code == 0
    assert stderr == ""
