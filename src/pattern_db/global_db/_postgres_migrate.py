"""Migration runner for the PostgreSQL backend, with the rules of `pattern_db.migrate`.

Ordered `NNNN_name.sql` files (parsed and checksummed by `pattern_db.migrate`), each applied in
one transaction together with its row in `pattern_db_migrations`; an applied file whose text
changed is refused. Several processes or machines may start at once: each migration transaction
first takes a transaction-scoped advisory lock and re-reads the record table, so exactly one of
them applies each file and the others skip it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pattern_db import migrate
from pattern_db.errors import MigrationError
from pattern_db.timeutil import format_ts, now

if TYPE_CHECKING:
    import psycopg

__all__ = ["applied_migrations", "apply_migrations", "current_version"]

TABLE = migrate.MIGRATION_TABLE
# Any constant works; it only has to be the same in every process that migrates this schema.
_LOCK_KEY = 0x7061_7474_6572_6E01  # "pattern" + 1

_CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL,
    execution_ms INTEGER NOT NULL
)"""
_TABLE_EXISTS = "SELECT to_regclass(%s) IS NOT NULL"
_SELECT_APPLIED = f"SELECT version, name, checksum, applied_at FROM {TABLE} ORDER BY version"
_INSERT_APPLIED = f"""
INSERT INTO {TABLE} (version, name, checksum, applied_at, execution_ms) VALUES (%s, %s, %s, %s, %s)
"""
_LOCK = "SELECT pg_advisory_xact_lock(%s)"


def applied_migrations(conn: psycopg.Connection) -> list[migrate.AppliedMigration]:
    """Return the recorded migrations (empty for a new database)."""
    row = conn.execute(_TABLE_EXISTS, (TABLE,)).fetchone()
    if row is None or not row[0]:
        return []
    return [
        migrate.AppliedMigration(version, name, checksum, format_ts(applied_at))
        for version, name, checksum, applied_at in conn.execute(_SELECT_APPLIED)
    ]


def current_version(conn: psycopg.Connection) -> int:
    """Return the highest applied migration (0 for a new database)."""
    applied = applied_migrations(conn)
    return applied[-1].version if applied else 0


def apply_migrations(
    conn: psycopg.Connection, migrations: Sequence[migrate.Migration]
) -> list[migrate.Migration]:
    """Apply every pending migration, one transaction each; return those this call applied.

    `conn` must be in autocommit mode (each migration opens its own transaction).

    Raises:
        MigrationError: a migration failed (it is rolled back, earlier ones stay), an applied
            one was edited, or the database is newer than this code.
    """
    import psycopg

    migrate.verify_history(applied_migrations(conn), migrations)
    done: list[migrate.Migration] = []
    for migration in migrations:
        started = time.perf_counter()
        try:
            with conn.transaction():
                conn.execute(_LOCK, (_LOCK_KEY,))
                conn.execute(_CREATE_TABLE)
                applied = applied_migrations(conn)
                migrate.verify_history(applied, migrations)
                if any(row.version == migration.version for row in applied):
                    continue
                conn.execute(migration.sql)
                elapsed_ms = round((time.perf_counter() - started) * 1000)
                conn.execute(
                    _INSERT_APPLIED,
                    (migration.version, migration.name, migration.checksum, now(), elapsed_ms),
                )
        except psycopg.Error as exc:
            raise MigrationError(
                f"migration {migration.version:04d}_{migration.name} failed and was rolled back, "
                f"leaving the database as it was: {str(exc).strip()}"
            ) from exc
        done.append(migration)
    return done
