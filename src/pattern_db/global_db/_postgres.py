"""The server backend: the global database on PostgreSQL through psycopg 3 (extra `server`).

One connection per `GlobalDb` in autocommit mode, each operation in its own transaction
(`conn.transaction()`), behind a lock so threads sharing the handle take turns. The session time
zone is UTC, so timestamps come back as UTC datetimes. A connection the server dropped is
replaced before the next operation. psycopg is imported only when a PostgreSQL URL is opened.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pattern_db.errors import (
    AlreadyExists,
    ConstraintViolation,
    DatabaseBusy,
    DatabaseClosed,
    DbError,
    InvalidData,
)
from pattern_db.global_db import _postgres_migrate as pg_migrate
from pattern_db.global_db._backend import (
    CONSTELLATION_COLUMNS,
    IDENTITY_COLUMNS,
    USER_COLUMNS,
    Row,
    Statements,
    shipped_migrations,
)

if TYPE_CHECKING:
    import psycopg

__all__ = ["SQL", "PostgresBackend", "is_postgres_url", "safe_url"]

_USER = ", ".join(USER_COLUMNS)
_IDENTITY = ", ".join(IDENTITY_COLUMNS)
_CONSTELLATION = ", ".join(CONSTELLATION_COLUMNS)

SQL = Statements(
    insert_user=f"""
INSERT INTO users ({_USER})
VALUES (%(id)s, %(username)s, %(email)s, %(password_hash)s, %(created_at)s, %(updated_at)s)""",
    user_by_id=f"SELECT {_USER} FROM users WHERE id = %(id)s",
    user_by_username=f"SELECT {_USER} FROM users WHERE lower(username) = lower(%(username)s)",
    list_users=f"SELECT {_USER} FROM users ORDER BY lower(username), id",
    set_password_hash="""
UPDATE users SET password_hash = %(password_hash)s, updated_at = %(updated_at)s
WHERE id = %(id)s""",
    replace_password_hash="""
UPDATE users SET password_hash = %(password_hash)s, updated_at = %(updated_at)s
WHERE id = %(id)s AND password_hash = %(old_hash)s""",
    delete_user="DELETE FROM users WHERE id = %(id)s",
    insert_identity=f"""
INSERT INTO identities ({_IDENTITY})
VALUES (%(id)s, %(user_id)s, %(provider)s, %(provider_id)s, %(access_token)s,
        %(refresh_token)s, %(expires_at)s, %(created_at)s, %(updated_at)s)""",
    identity_by_id=f"SELECT {_IDENTITY} FROM identities WHERE id = %(id)s",
    identity_by_provider=f"""
SELECT {_IDENTITY} FROM identities
WHERE provider = %(provider)s AND provider_id = %(provider_id)s""",
    identities_of_user=f"""
SELECT {_IDENTITY} FROM identities WHERE user_id = %(user_id)s ORDER BY provider, provider_id""",
    update_identity_tokens="""
UPDATE identities
SET access_token = %(access_token)s, refresh_token = %(refresh_token)s,
    expires_at = %(expires_at)s, updated_at = %(updated_at)s
WHERE id = %(id)s""",
    delete_identity="DELETE FROM identities WHERE id = %(id)s",
    insert_constellation=f"""
INSERT INTO constellations ({_CONSTELLATION})
VALUES (%(id)s, %(owner_id)s, %(name)s, %(path)s, %(node)s, %(created_at)s, %(updated_at)s,
        %(last_accessed_at)s)""",
    constellation_by_id=f"SELECT {_CONSTELLATION} FROM constellations WHERE id = %(id)s",
    constellation_by_name=f"""
SELECT {_CONSTELLATION} FROM constellations WHERE owner_id = %(owner_id)s AND name = %(name)s""",
    list_constellations=f"SELECT {_CONSTELLATION} FROM constellations ORDER BY created_at, id",
    constellations_of_owner=f"""
SELECT {_CONSTELLATION} FROM constellations WHERE owner_id = %(owner_id)s
ORDER BY created_at, id""",
    count_constellations_of_owner="""
SELECT count(*) FROM constellations WHERE owner_id = %(owner_id)s""",
    touch_constellation="""
UPDATE constellations SET last_accessed_at = %(last_accessed_at)s WHERE id = %(id)s""",
    set_constellation_node="""
UPDATE constellations SET node = %(node)s, updated_at = %(updated_at)s WHERE id = %(id)s""",
    delete_constellation="DELETE FROM constellations WHERE id = %(id)s",
)

_URL_PREFIXES = ("postgresql://", "postgres://")


def is_postgres_url(target: object) -> bool:
    """Return True when `target` is a PostgreSQL connection URL."""
    return isinstance(target, str) and target.startswith(_URL_PREFIXES)


def safe_url(url: str) -> str:
    """Return `url` without its password, for messages and `describe()`."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(url)
    except psycopg.Error:  # a malformed URL: show only the scheme
        return url.split("://", 1)[0] + "://..."
    host = params.get("host") or "localhost"
    port = f":{params['port']}" if params.get("port") else ""
    user = f"{params['user']}@" if params.get("user") else ""
    return f"postgresql://{user}{host}{port}/{params.get('dbname') or ''}"


class _Conn:
    def __init__(self, conn: psycopg.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Mapping[str, Any]) -> int:
        return self._conn.execute(sql, params).rowcount

    def one(self, sql: str, params: Mapping[str, Any]) -> Row | None:
        row = self._conn.execute(sql, params).fetchone()
        return None if row is None else tuple(row)

    def all(self, sql: str, params: Mapping[str, Any]) -> list[Row]:
        return [tuple(row) for row in self._conn.execute(sql, params).fetchall()]


class PostgresBackend:
    """The global database in a PostgreSQL database, shared by processes and machines."""

    kind = "postgresql"
    sql = SQL

    def __init__(self, url: str, *, create: bool, connect_timeout_s: int = 10) -> None:
        try:
            import psycopg
        except ImportError as exc:
            raise DbError(
                "server mode needs psycopg; install pattern-db with the `server` extra "
                "(pip install 'pattern-db[server]')"
            ) from exc
        self._url = url
        self._safe = safe_url(url)
        self._timeout = connect_timeout_s
        self._lock = threading.RLock()
        self._closed = False
        self._conn = self._connect()
        try:
            if not create and pg_migrate.current_version(self._conn) == 0:
                raise DbError(
                    f"the PostgreSQL database {self._safe} holds no pattern-db global schema; "
                    "create it with `pattern-db users add --url URL ...` or GlobalDb.open(url)"
                )
            pg_migrate.apply_migrations(self._conn, shipped_migrations("postgres"))
        except BaseException as exc:
            self.close()
            if isinstance(exc, psycopg.Error):
                raise self._translate(exc) from exc
            raise

    def _connect(self) -> psycopg.Connection:
        import psycopg

        try:
            conn = psycopg.connect(self._url, autocommit=True, connect_timeout=self._timeout)
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DbError(
                f"cannot connect to PostgreSQL at {self._safe}: {first}; check the URL and that "
                "the server is running"
            ) from exc
        try:
            conn.execute("SET TIME ZONE 'UTC'")
        except psycopg.Error as exc:
            conn.close()
            raise self._translate(exc) from exc
        return conn

    @contextlib.contextmanager
    def transaction(
        self, *, write: bool, entity_type: str | None = None, entity_id: object = None
    ) -> Iterator[_Conn]:
        """Yield the connection inside one transaction (reads and writes alike)."""
        import psycopg

        with self._lock:
            if self._closed:
                raise DatabaseClosed("the global database is closed; open it again")
            if self._conn.closed or self._conn.broken:
                self._conn.close()
                self._conn = self._connect()
            try:
                with self._conn.transaction():
                    yield _Conn(self._conn)
            except psycopg.Error as exc:
                raise self._translate(exc, entity_type, entity_id) from exc

    def _translate(
        self, exc: psycopg.Error, entity_type: str | None = None, entity_id: object = None
    ) -> DbError:
        import psycopg
        from psycopg import errors

        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, errors.UniqueViolation):
            constraint = getattr(exc.diag, "constraint_name", None) or detail
            return AlreadyExists(entity_type or "row", entity_id or "?", constraint)
        if isinstance(exc, errors.ForeignKeyViolation):
            what = f" for {entity_type} {entity_id}" if entity_type else ""
            return ConstraintViolation(
                f"foreign key constraint failed{what}: a referenced row does not exist "
                "(or a row still refers to the one being deleted)"
            )
        if isinstance(exc, psycopg.IntegrityError):
            return ConstraintViolation(detail)
        if isinstance(exc, errors.SerializationFailure | errors.DeadlockDetected):
            return DatabaseBusy(f"PostgreSQL aborted a conflicting transaction ({detail}); retry")
        if isinstance(exc, psycopg.DataError):
            return InvalidData(detail)
        if isinstance(exc, psycopg.OperationalError):
            return DbError(
                f"lost the connection to PostgreSQL at {self._safe} ({detail}); the next call "
                "reconnects"
            )
        return DbError(f"PostgreSQL error: {detail}")

    def encode_ts(self, value: datetime) -> Any:
        """Return the datetime itself (bound as timestamptz)."""
        return value

    def schema_version(self) -> int:
        """Return the highest applied global migration."""
        with self.transaction(write=False) as _conn:
            return pg_migrate.current_version(self._conn)

    def describe(self) -> str:
        """Return the URL without its password."""
        return self._safe

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()
