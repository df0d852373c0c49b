"""The state every part of GlobalDb shares: the backend, the data directory, node, key, hasher."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from pattern_db.global_db._backend import Backend, Connection, Statements
from pattern_db.global_db._passwords import Passwords
from pattern_db.global_db._tokens import TokenCipher
from pattern_db.global_db.models import PasswordParams
from pattern_db.timeutil import to_utc

__all__ = ["Handle"]


class Handle:
    """The open backend and this node's settings (the base of GlobalDb)."""

    def __init__(
        self,
        backend: Backend,
        *,
        data_dir: Path,
        key_path: Path,
        node: str,
        password_params: PasswordParams,
    ) -> None:
        self._backend = backend
        self._data_dir = data_dir
        self._node = node
        self._passwords = Passwords(password_params)
        self._tokens = TokenCipher(key_path)

    def close(self) -> None:
        """Close the database connection; later calls raise DatabaseClosed."""
        self._backend.close()

    @property
    def backend(self) -> str:
        """`sqlite` or `postgresql`."""
        return self._backend.kind

    @property
    def location(self) -> str:
        """The database file, or the PostgreSQL URL without its password."""
        return self._backend.describe()

    @property
    def data_dir(self) -> Path:
        """The directory holding this node's constellation files."""
        return self._data_dir

    @property
    def node(self) -> str:
        """This machine's name in the registry."""
        return self._node

    @property
    def key_path(self) -> Path:
        """The token key file."""
        return self._tokens.key_path

    def schema_version(self) -> int:
        """Return the global schema's migration version."""
        return self._backend.schema_version()

    @contextmanager
    def _tx(
        self, *, write: bool, entity_type: str | None = None, entity_id: object = None
    ) -> Iterator[Connection]:
        with self._backend.transaction(
            write=write, entity_type=entity_type, entity_id=entity_id
        ) as conn:
            yield conn

    def _ts(self, value: datetime | None) -> Any:
        return None if value is None else self._backend.encode_ts(to_utc(value))

    @property
    def _sql(self) -> Statements:
        return self._backend.sql
