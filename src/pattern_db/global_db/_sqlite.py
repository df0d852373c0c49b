"""The embedded backend: `data_dir/global.db` through apsw, migrated by `pattern_db.migrate`.

One connection behind a lock (the global database sees a handful of writes per session, never a
stream); writes run in `BEGIN IMMEDIATE` so the busy timeout applies when several processes
write at once, and WAL mode lets readers in other processes go on meanwhile.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import apsw

from pattern_db import migrate
from pattern_db.errors import DatabaseClosed, DbError, translate
from pattern_db.global_db._backend import (
    CONSTELLATION_COLUMNS,
    IDENTITY_COLUMNS,
    USER_COLUMNS,
    Row,
    Statements,
    shipped_migrations,
)
from pattern_db.global_db._layout import create_private_file
from pattern_db.timeutil import format_ts

__all__ = ["SQL", "SqliteBackend"]

_USER = ", ".join(USER_COLUMNS)
_IDENTITY = ", ".join(IDENTITY_COLUMNS)
_CONSTELLATION = ", ".join(CONSTELLATION_COLUMNS)

SQL = Statements(
    insert_user=f"""
INSERT INTO users ({_USER})
VALUES (:id, :username, :email, :password_hash, :created_at, :updated_at)""",
    user_by_id=f"SELECT {_USER} FROM users WHERE id = :id",
    user_by_username=f"SELECT {_USER} FROM users WHERE username = :username",
    list_users=f"SELECT {_USER} FROM users ORDER BY username, id",
    set_password_hash="""
UPDATE users SET password_hash = :password_hash, updated_at = :updated_at WHERE id = :id""",
    replace_password_hash="""
UPDATE users SET password_hash = :password_hash, updated_at = :updated_at
WHERE id = :id AND password_hash = :old_hash""",
    delete_user="DELETE FROM users WHERE id = :id",
    insert_identity=f"""
INSERT INTO identities ({_IDENTITY})
VALUES (:id, :user_id, :provider, :provider_id, :access_token, :refresh_token, :expires_at,
        :created_at, :updated_at)""",
    identity_by_id=f"SELECT {_IDENTITY} FROM identities WHERE id = :id",
    identity_by_provider=f"""
SELECT {_IDENTITY} FROM identities WHERE provider = :provider AND provider_id = :provider_id""",
    identities_of_user=f"""
SELECT {_IDENTITY} FROM identities WHERE user_id = :user_id ORDER BY provider, provider_id""",
    update_identity_tokens="""
UPDATE identities
SET access_token = :access_token, refresh_token = :refresh_token, expires_at = :expires_at,
    updated_at = :updated_at
WHERE id = :id""",
    delete_identity="DELETE FROM identities WHERE id = :id",
    insert_constellation=f"""
INSERT INTO constellations ({_CONSTELLATION})
VALUES (:id, :owner_id, :name, :path, :node, :created_at, :updated_at, :last_accessed_at)""",
    constellation_by_id=f"SELECT {_CONSTELLATION} FROM constellations WHERE id = :id",
    constellation_by_name=f"""
SELECT {_CONSTELLATION} FROM constellations WHERE owner_id = :owner_id AND name = :name""",
    list_constellations=f"SELECT {_CONSTELLATION} FROM constellations ORDER BY created_at, id",
    constellations_of_owner=f"""
SELECT {_CONSTELLATION} FROM constellations WHERE owner_id = :owner_id ORDER BY created_at, id""",
    count_constellations_of_owner="SELECT count(*) FROM constellations WHERE owner_id = :owner_id",
    touch_constellation="""
UPDATE constellations SET last_accessed_at = :last_accessed_at WHERE id = :id""",
    set_constellation_node="""
UPDATE constellations SET node = :node, updated_at = :updated_at WHERE id = :id""",
    delete_constellation="DELETE FROM constellations WHERE id = :id",
)

_PRAGMAS = (("synchronous", "NORMAL"), ("foreign_keys", "ON"))


class _Conn:
    def __init__(self, conn: apsw.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Mapping[str, Any]) -> int:
        self._conn.execute(sql, dict(params)).fetchall()
        return self._conn.changes()

    def one(self, sql: str, params: Mapping[str, Any]) -> Row | None:
        row = self._conn.execute(sql, dict(params)).fetchone()
        return None if row is None else tuple(row)

    def all(self, sql: str, params: Mapping[str, Any]) -> list[Row]:
        return [tuple(row) for row in self._conn.execute(sql, dict(params))]


class SqliteBackend:
    """The global database in one SQLite file."""

    kind = "sqlite"
    sql = SQL

    def __init__(self, path: Path, *, create: bool, busy_timeout_ms: int) -> None:
        if not path.is_file() or path.stat().st_size == 0:
            if not create:
                raise DbError(
                    f"no global database at {path}; create it with `pattern-db users add "
                    f"--data-dir {path.parent} USERNAME` or GlobalDb.open(data_dir)"
                )
            create_private_file(path)
        self._path = path
        self._lock = threading.RLock()
        try:
            self._conn = apsw.Connection(
                str(path), flags=apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE
            )
        except apsw.Error as exc:
            raise translate(exc) from exc
        self._closed = False
        try:
            self._conn.setbusytimeout(busy_timeout_ms)
            mode = self._conn.execute("PRAGMA journal_mode").fetchone()
            if mode is None or str(mode[0]).lower() != "wal":
                self._conn.execute("PRAGMA journal_mode = WAL").fetchall()
            for name, value in _PRAGMAS:
                self._conn.execute(f"PRAGMA {name} = {value}").fetchall()
            migrate.apply_migrations(self._conn, shipped_migrations("sqlite"))
        except BaseException as exc:
            self.close()
            if isinstance(exc, apsw.Error):
                raise translate(exc) from exc
            raise

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    @contextlib.contextmanager
    def transaction(
        self, *, write: bool, entity_type: str | None = None, entity_id: object = None
    ) -> Iterator[_Conn]:
        """Yield the connection inside `BEGIN IMMEDIATE` (write) or a deferred read transaction."""
        with self._lock:
            if self._closed:
                raise DatabaseClosed("the global database is closed; open it again")
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield _Conn(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except apsw.Error as exc:
                raise translate(exc, entity_type, entity_id) from exc

    def encode_ts(self, value: datetime) -> Any:
        """Return the canonical timestamp text the constellation files use as well."""
        return format_ts(value)

    def schema_version(self) -> int:
        """Return the highest applied global migration."""
        with self._lock:
            if self._closed:
                raise DatabaseClosed("the global database is closed; open it again")
            return migrate.current_version(self._conn)

    def describe(self) -> str:
        """Return the file path."""
        return str(self._path)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()
