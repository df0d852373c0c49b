"""The migration runner: versions, checksums, refusal of edits, atomic failure, upgrades."""

from __future__ import annotations

from pathlib import Path

import apsw
import pytest

from pattern_db import ConstellationDb, errors
from pattern_db import migrate as mig
from tests.schema_snapshot import schema_text

SHIPPED = mig.load_migrations()


def _raw(path: Path) -> apsw.Connection:
    return apsw.Connection(str(path))


def _database_at(path: Path, version: int) -> None:
    """Build a database file holding only the migrations up to `version`."""
    conn = _raw(path)
    try:
        mig.apply_migrations(conn, [m for m in SHIPPED if m.version <= version])
    finally:
        conn.close()


def test_shipped_migrations_are_ordered_and_named() -> None:
    assert [m.version for m in SHIPPED] == sorted(m.version for m in SHIPPED)
    assert SHIPPED[0].version == 1
    assert all(len(m.checksum) == 64 for m in SHIPPED)


def test_fresh_database_records_every_migration(db: ConstellationDb) -> None:
    with db.reader() as conn:
        applied = mig.applied_migrations(conn)
        user_version = conn.execute("PRAGMA user_version").fetchone()
    assert [(a.version, a.checksum) for a in applied] == [(m.version, m.checksum) for m in SHIPPED]
    assert db.schema_version() == mig.latest_version() == SHIPPED[-1].version
    assert user_version == (SHIPPED[-1].version,)


@pytest.mark.parametrize("version", [m.version for m in SHIPPED[:-1]])
def test_upgrading_from_every_earlier_version_gives_the_fresh_schema(
    tmp_path: Path, version: int
) -> None:
    path = tmp_path / "old.db"
    _database_at(path, version)
    with ConstellationDb.open(path) as upgraded, ConstellationDb.open_in_memory() as fresh:
        assert schema_text(upgraded) == schema_text(fresh)
        assert upgraded.schema_version() == mig.latest_version()


def test_open_without_migrating_refuses_an_old_schema(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _database_at(path, SHIPPED[0].version)
    with pytest.raises(errors.MigrationRequired, match="pattern-db migrate") as caught:
        ConstellationDb.open(path, migrate=False)
    assert (caught.value.current, caught.value.target) == (1, mig.latest_version())
    # Nothing was changed by the refusal.
    conn = _raw(path)
    try:
        assert mig.current_version(conn) == 1
    finally:
        conn.close()


def test_open_without_migrating_refuses_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    with pytest.raises(errors.MigrationRequired):
        ConstellationDb.open(path, migrate=False)
    assert not path.exists()


def test_open_without_migrating_accepts_a_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    ConstellationDb.open(path).close()
    with ConstellationDb.open(path, migrate=False) as db:
        assert db.schema_version() == mig.latest_version()


def test_migrating_an_existing_file_takes_a_backup_first(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _database_at(path, SHIPPED[0].version)
    with ConstellationDb.open(path):
        pass
    backups = list(tmp_path.glob("old.db.v1-*.bak"))
    assert len(backups) == 1
    conn = _raw(backups[0])
    try:
        assert mig.current_version(conn) == 1
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()


def test_a_new_file_needs_no_backup(tmp_path: Path) -> None:
    ConstellationDb.open(tmp_path / "c.db").close()
    assert list(tmp_path.glob("*.bak")) == []


def test_an_edited_migration_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.db"
    ConstellationDb.open(path).close()
    first = SHIPPED[0]
    edited = mig.Migration(
        first.version, first.name, first.sql + "\n-- edited", mig.checksum_of(first.sql + "x")
    )
    monkeypatch.setattr(mig, "load_migrations", lambda: (edited, *SHIPPED[1:]))
    with pytest.raises(errors.MigrationError, match="was edited after it was applied"):
        ConstellationDb.open(path)
    with pytest.raises(errors.MigrationError, match="was edited after it was applied"):
        ConstellationDb.open(path, migrate=False)


def test_a_database_newer_than_the_code_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "c.db"
    ConstellationDb.open(path).close()
    monkeypatch.setattr(mig, "load_migrations", lambda: SHIPPED[:1])
    with pytest.raises(errors.MigrationError, match="upgrade pattern-db"):
        ConstellationDb.open(path)


def test_a_failing_migration_leaves_nothing_behind(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    ConstellationDb.open(path).close()
    broken = mig.Migration(
        999,
        "broken",
        "CREATE TABLE half_done (x INTEGER);\nINSERT INTO agents (id) VALUES ('x');",
        mig.checksum_of("broken"),
    )
    conn = _raw(path)
    try:
        before = conn.execute("SELECT name FROM sqlite_schema ORDER BY name").fetchall()
        with pytest.raises(errors.MigrationError, match="rolled back"):
            mig.apply_migrations(conn, [*SHIPPED, broken])
        after = conn.execute("SELECT name FROM sqlite_schema ORDER BY name").fetchall()
        assert after == before
        assert mig.current_version(conn) == mig.latest_version()
        assert not conn.in_transaction
    finally:
        conn.close()


def test_bad_migration_file_names_are_refused() -> None:
    with pytest.raises(errors.MigrationError, match=r"NNNN_name\.sql"):
        mig.parse_migrations([("1_x.sql", "")])
    with pytest.raises(errors.MigrationError, match="two migration files"):
        mig.parse_migrations([("0001_a.sql", ""), ("0001_b.sql", "")])


def test_two_openers_of_a_new_file_apply_each_migration_once(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    first = _raw(path)
    second = _raw(path)
    try:
        first.setbusytimeout(5000)
        second.setbusytimeout(5000)
        assert [m.version for m in mig.apply_migrations(first)] == [m.version for m in SHIPPED]
        # A second opener that read "nothing applied" before the first finished re-checks
        # inside its own transaction and skips.
        assert mig._apply_one(second, SHIPPED[0]) is False
        assert mig.apply_migrations(second) == []
        assert len(mig.applied_migrations(second)) == len(SHIPPED)
    finally:
        first.close()
        second.close()
