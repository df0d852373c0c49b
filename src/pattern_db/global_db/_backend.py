"""The interface both storage backends implement, and the statements each must provide.

The logic of the global database (`_core`) is written once against this interface; each backend
module holds only its SQL text (its own parameter style, types and collations), its connection
handling and its driver's error translation. Every statement takes named parameters and selects
its columns in the order of the `*_COLUMNS` tuples below, so rows decode the same way from both.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any, Protocol

from pattern_db import migrate

__all__ = [
    "CONSTELLATION_COLUMNS",
    "IDENTITY_COLUMNS",
    "USER_COLUMNS",
    "Backend",
    "Connection",
    "Statements",
    "shipped_migrations",
]

USER_COLUMNS = ("id", "username", "email", "password_hash", "created_at", "updated_at")
IDENTITY_COLUMNS = (
    "id",
    "user_id",
    "provider",
    "provider_id",
    "access_token",
    "refresh_token",
    "expires_at",
    "created_at",
    "updated_at",
)
CONSTELLATION_COLUMNS = (
    "id",
    "owner_id",
    "name",
    "path",
    "node",
    "created_at",
    "updated_at",
    "last_accessed_at",
)

Row = tuple[Any, ...]


@cache
def shipped_migrations(kind: str) -> tuple[migrate.Migration, ...]:
    """Return a backend's migrations of the global schema (`migrations/<kind>/`), in order."""
    folder = resources.files("pattern_db.global_db") / "migrations" / kind
    return migrate.parse_migrations(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    )


@dataclass(frozen=True)
class Statements:
    """The SQL of one backend, statement by statement (parameter names in comments)."""

    insert_user: str  # USER_COLUMNS
    user_by_id: str  # id
    user_by_username: str  # username (case-insensitive)
    list_users: str  # ordered by username
    set_password_hash: str  # id, password_hash, updated_at
    replace_password_hash: str  # id, old_hash, password_hash, updated_at (only if unchanged)
    delete_user: str  # id
    insert_identity: str  # IDENTITY_COLUMNS
    identity_by_id: str  # id
    identity_by_provider: str  # provider, provider_id
    identities_of_user: str  # user_id, ordered by provider, provider_id
    update_identity_tokens: str  # id, access_token, refresh_token, expires_at, updated_at
    delete_identity: str  # id
    insert_constellation: str  # CONSTELLATION_COLUMNS
    constellation_by_id: str  # id
    constellation_by_name: str  # owner_id, name
    list_constellations: str  # ordered by created_at, id
    constellations_of_owner: str  # owner_id, ordered by created_at, id
    count_constellations_of_owner: str  # owner_id
    touch_constellation: str  # id, last_accessed_at
    set_constellation_node: str  # id, node, updated_at
    delete_constellation: str  # id

    def names(self) -> list[str]:
        """Return the statement names (for tests that compare the backends)."""
        return [f.name for f in fields(self)]


class Connection(Protocol):
    """A connection inside one transaction of a backend."""

    def execute(self, sql: str, params: Mapping[str, Any]) -> int:
        """Run a statement; return the number of rows it changed."""

    def one(self, sql: str, params: Mapping[str, Any]) -> Row | None:
        """Return the first row of a query, or None."""

    def all(self, sql: str, params: Mapping[str, Any]) -> list[Row]:
        """Return every row of a query."""


class Backend(Protocol):
    """Where the global database lives: an SQLite file or a PostgreSQL database."""

    kind: str
    sql: Statements

    def transaction(
        self, *, write: bool, entity_type: str | None = None, entity_id: object = None
    ) -> contextlib.AbstractContextManager[Connection]:
        """Yield a connection inside one transaction; driver errors become DbErrors.

        A unique-constraint clash is reported as `AlreadyExists(entity_type, entity_id)`.
        """

    def encode_ts(self, value: datetime) -> Any:
        """Return the value to bind for an aware UTC datetime."""

    def schema_version(self) -> int:
        """Return the highest applied migration of the global schema."""

    def describe(self) -> str:
        """Return where the database is, for messages (never a password)."""

    def close(self) -> None:
        """Close the connection; idempotent."""
