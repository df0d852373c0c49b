"""Files pattern-db creates are 0600 in 0700 directories whatever the umask; file_mode relaxes."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from pattern_db import ConstellationDb
from pattern_db.backup import restore_backup
from pattern_db.errors import InvalidData
from pattern_db.importers import export_car
from pattern_db.models import Agent
from pattern_db.queries.agent import create_agent


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(params=[0o000, 0o022, 0o077, 0o277])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def test_database_wal_shm_and_directories_are_private(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "a" / "b" / "c.db"
    with ConstellationDb.open(path) as db:
        create_agent(db, Agent(id="a1", name="a1", model_provider="p", model_name="m"))
        for name in ("c.db", "c.db-wal", "c.db-shm"):
            assert _mode(path.with_name(name)) == 0o600, (name, oct(umask))
        assert _mode(tmp_path / "a") == 0o700
        assert _mode(tmp_path / "a" / "b") == 0o700
        backup = db.backup(tmp_path / "backups" / "one.db")
        car = export_car(db, tmp_path / "exports" / "all.car").path
    assert _mode(backup) == 0o600
    assert _mode(tmp_path / "backups") == 0o700
    assert _mode(Path(car)) == 0o600
    assert _mode(tmp_path / "exports") == 0o700
    restored = restore_backup(backup, tmp_path / "restored" / "r.db")
    assert _mode(restored) == 0o600
    assert _mode(tmp_path / "restored") == 0o700


def test_file_mode_relaxes_files_and_directories(tmp_path: Path) -> None:
    old = os.umask(0o077)  # the option wins over a strict umask too
    try:
        path = tmp_path / "shared" / "c.db"
        with ConstellationDb.open(path, file_mode=0o640) as db:
            create_agent(db, Agent(id="a1", name="a1", model_provider="p", model_name="m"))
            assert _mode(path) == 0o640
            assert _mode(path.with_name("c.db-wal")) == 0o640
            assert _mode(path.with_name("c.db-shm")) == 0o640
            assert _mode(tmp_path / "shared") == 0o750
            assert _mode(db.backup(tmp_path / "b.db")) == 0o640  # the handle's mode
            assert _mode(db.backup(tmp_path / "p.db", file_mode=0o600)) == 0o600
        restored = restore_backup(tmp_path / "b.db", tmp_path / "r.db", file_mode=0o644)
        assert _mode(restored) == 0o644
    finally:
        os.umask(old)


def test_existing_files_keep_their_mode(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    ConstellationDb.open(path).close()
    path.chmod(0o644)
    with ConstellationDb.open(path) as db:
        create_agent(db, Agent(id="a1", name="a1", model_provider="p", model_name="m"))
        assert _mode(path) == 0o644
        assert _mode(path.with_name("c.db-wal")) == 0o644  # SQLite follows the database file


@pytest.mark.parametrize("bad", [0o700, 0o400, 0o1600, -1, True, "0600"])
def test_bad_file_modes_are_refused(tmp_path: Path, bad: object) -> None:
    with pytest.raises(InvalidData, match="file_mode"):
        ConstellationDb.open(tmp_path / "c.db", file_mode=bad)  # type: ignore[arg-type]
    assert not (tmp_path / "c.db").exists()
    with ConstellationDb.open(tmp_path / "ok.db") as db, pytest.raises(InvalidData):
        db.backup(tmp_path / "b.db", file_mode=bad)  # type: ignore[arg-type]
