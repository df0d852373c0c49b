"""Migration runner: ordered `.sql` files shipped in the package, applied one transaction each.

Design: each file `NNNN_name.sql` runs inside `BEGIN IMMEDIATE` together with the row that records
it (version, name, sha256 checksum, time taken), so a migration is either wholly applied and
recorded or not at all, and two processes opening the same new file cannot both apply it: the
second re-reads the record table inside its own transaction and skips what is done. The table is
named `pattern_db_migrations` so it never collides with a host application's Alembic or sqlx
tables. Applied files are checked against the shipped ones on every open: an edited migration is
refused rather than silently diverging. `PRAGMA user_version` mirrors the schema version for tools.

A migration may need a step SQL cannot express (reading a table that only some files have); such
steps are Python functions registered by version in `_PREPARE`, run in the same transaction just
before the file's SQL, and part of the code rather than of the checksummed text.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import apsw

from pattern_db.errors import MigrationError, translate
from pattern_db.timeutil import now_ts

__all__ = [
    "MIGRATION_TABLE",
    "AppliedMigration",
    "Migration",
    "applied_migrations",
    "apply_migrations",
    "current_version",
    "inspect_file",
    "latest_version",
    "load_migrations",
    "pending_migrations",
    "verify_history",
]

MIGRATION_TABLE = "pattern_db_migrations"
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {MIGRATION_TABLE} (
    version INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    execution_ms INTEGER NOT NULL
) STRICT
"""
_TABLE_EXISTS = "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?"
_SELECT_APPLIED = (
    f"SELECT version, name, checksum, applied_at FROM {MIGRATION_TABLE} ORDER BY version"
)
_INSERT_APPLIED = f"""
INSERT INTO {MIGRATION_TABLE} (version, name, checksum, applied_at, execution_ms)
VALUES (?, ?, ?, ?, ?)
"""


@dataclass(frozen=True)
class Migration:
    """One shipped migration file."""

    version: int
    name: str
    sql: str
    checksum: str


@dataclass(frozen=True)
class AppliedMigration:
    """One row of the migration record table."""

    version: int
    name: str
    checksum: str
    applied_at: str


def checksum_of(sql: str) -> str:
    """Return the sha256 of a migration's text with line endings normalised."""
    return hashlib.sha256(sql.replace("\r\n", "\n").encode()).hexdigest()


def parse_migrations(files: Iterable[tuple[str, str]]) -> tuple[Migration, ...]:
    """Return migrations from (file name, text) pairs, ordered by version.

    Raises:
        MigrationError: a file name is not `NNNN_name.sql` or two files share a version.
    """
    found: dict[int, Migration] = {}
    for file_name, sql in files:
        match = _FILE_NAME.match(file_name)
        if match is None:
            raise MigrationError(f"migration file {file_name!r} is not named NNNN_name.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"two migration files have version {version}")
        found[version] = Migration(version, match.group(2), sql, checksum_of(sql))
    return tuple(found[v] for v in sorted(found))


@cache
def load_migrations() -> tuple[Migration, ...]:
    """Return the migrations shipped in the package, ordered by version."""
    folder = resources.files("pattern_db") / "migrations"
    files = (
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    )
    return parse_migrations(files)


def latest_version(migrations: Sequence[Migration] | None = None) -> int:
    """Return the version the shipped migrations lead to."""
    migrations = load_migrations() if migrations is None else migrations
    return migrations[-1].version if migrations else 0


def applied_migrations(conn: apsw.Connection) -> list[AppliedMigration]:
    """Return the recorded migrations of a database (empty for a new file)."""
    if not conn.execute(_TABLE_EXISTS, (MIGRATION_TABLE,)).fetchall():
        return []
    return [AppliedMigration(*row) for row in conn.execute(_SELECT_APPLIED)]


def current_version(conn: apsw.Connection) -> int:
    """Return the highest applied migration version (0 for a new file)."""
    applied = applied_migrations(conn)
    return applied[-1].version if applied else 0


def verify_history(applied: Sequence[AppliedMigration], migrations: Sequence[Migration]) -> None:
    """Check that every applied migration is shipped unchanged.

    Raises:
        MigrationError: an applied migration was edited, or the database is newer than this code.
    """
    shipped = {m.version: m for m in migrations}
    for row in applied:
        migration = shipped.get(row.version)
        if migration is None:
            raise MigrationError(
                f"the database has migration {row.version:04d}_{row.name} applied, which this "
                f"version of pattern-db does not know (it ships up to "
                f"{latest_version(migrations)}); "
                "upgrade pattern-db to open this database"
            )
        if migration.checksum != row.checksum:
            raise MigrationError(
                f"migration {row.version:04d}_{row.name} was edited after it was applied to this "
                f"database (checksum {migration.checksum[:12]} != recorded {row.checksum[:12]}); "
                "restore the original file and put the change in a new migration"
            )


def pending_migrations(
    conn: apsw.Connection, migrations: Sequence[Migration] | None = None
) -> list[Migration]:
    """Return the migrations not yet applied, after verifying the applied ones.

    Raises:
        MigrationError: see `verify_history`.
    """
    migrations = load_migrations() if migrations is None else migrations
    applied = applied_migrations(conn)
    verify_history(applied, migrations)
    done = {row.version for row in applied}
    return [m for m in migrations if m.version not in done]


def apply_migrations(
    conn: apsw.Connection, migrations: Sequence[Migration] | None = None
) -> list[Migration]:
    """Apply every pending migration, one transaction each; return those this call applied.

    Raises:
        MigrationError: a migration failed (that migration is rolled back, earlier ones stay), or
            the history does not match (see `verify_history`).
    """
    migrations = load_migrations() if migrations is None else migrations
    return [m for m in pending_migrations(conn, migrations) if _apply_one(conn, m)]


def inspect_file(path: str | Path) -> list[tuple[Migration, AppliedMigration | None]]:
    """Return each shipped migration with its record in the file at `path` (None if pending).

    Opens the file read-only and changes nothing (the CLI's `migrate --list`).

    Raises:
        PathError: no file at `path`, or a directory.
        NotAConstellation: another application's database, or the Rust crate's.
        CorruptDatabase: not a SQLite database.
    """
    from pattern_db.files import check_constellation, require_file

    file_path = Path(path)
    require_file(file_path)
    check_constellation(file_path)
    conn = apsw.Connection(str(file_path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        applied = {row.version: row for row in applied_migrations(conn)}
    except apsw.Error as exc:
        raise translate(exc) from exc
    finally:
        conn.close()
    return [(m, applied.get(m.version)) for m in load_migrations()]


_LEGACY_VEC0 = """
SELECT 1 FROM sqlite_schema
WHERE type = 'table' AND name = 'embeddings' AND sql LIKE 'CREATE VIRTUAL TABLE % USING vec0(%'
"""


def _copy_vec0_vectors(conn: apsw.Connection) -> None:
    """Before 0003: copy the vectors of a sqlite-vec table into temp.legacy_vectors, drop it.

    Raises:
        MigrationError: the file has a vec0 table but sqlite-vec is not loaded to read it.
    """
    conn.execute("CREATE TEMP TABLE legacy_vectors (id INTEGER PRIMARY KEY, embedding BLOB)")
    if conn.execute(_LEGACY_VEC0).fetchone() is None:
        return
    try:
        conn.execute("INSERT INTO temp.legacy_vectors SELECT rowid, embedding FROM embeddings")
        conn.execute("DROP TABLE embeddings")
    except apsw.SQLError as exc:
        raise MigrationError(
            f"this file keeps its vectors in a sqlite-vec table that cannot be read here ({exc}); "
            "install the sqlite-vec wheel for this platform and open it again to migrate them"
        ) from exc


_PREPARE = {3: _copy_vec0_vectors}


def _apply_one(conn: apsw.Connection, migration: Migration) -> bool:
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(_CREATE_TABLE)
        # Another process may have applied it between our read and our lock.
        if any(row.version == migration.version for row in applied_migrations(conn)):
            conn.execute("ROLLBACK")
            return False
        prepare = _PREPARE.get(migration.version)
        if prepare is not None:
            prepare(conn)
        conn.execute(migration.sql).fetchall()
        elapsed_ms = round((time.perf_counter() - started) * 1000)
        conn.execute(
            _INSERT_APPLIED,
            (migration.version, migration.name, migration.checksum, now_ts(), elapsed_ms),
        )
        conn.execute(f"PRAGMA user_version = {int(migration.version)}")
        conn.execute("COMMIT")
    except apsw.Error as exc:
        if not conn.in_transaction:
            raise MigrationError(
                f"migration {migration.version:04d}_{migration.name} failed: {exc}"
            ) from exc
        conn.execute("ROLLBACK")
        raise MigrationError(
            f"migration {migration.version:04d}_{migration.name} failed and was rolled back, "
            f"leaving the database as it was: {exc}"
        ) from exc
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return True
