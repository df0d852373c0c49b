"""GlobalDb: opening either backend, and users with argon2id passwords.

Design: everything here is written once against `_backend.Backend`; the backends differ only in
SQL text, connection handling and error translation. The class is assembled from parts: `Handle`
(shared state), `Identities`, `Registry`, and the users and `open()` below. Slow work (argon2
hashing, creating a constellation file) happens outside database transactions, so one process
hashing a password never holds the registry lock that another is waiting for.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from pattern_db.errors import ConstraintViolation, DbError, InvalidData, NotFound
from pattern_db.global_db import _layout as layout
from pattern_db.global_db._backend import Backend, Row
from pattern_db.global_db._checks import check_email, check_node, check_username
from pattern_db.global_db._identities import Identities
from pattern_db.global_db._passwords import MAX_PASSWORD_LENGTH
from pattern_db.global_db._registry import Registry
from pattern_db.global_db.models import PasswordParams, User
from pattern_db.ids import new_id
from pattern_db.timeutil import now, parse_ts

__all__ = ["GlobalDb"]

DEFAULT_BUSY_TIMEOUT_MS = 30_000


class GlobalDb(Registry, Identities):
    """The global database. Open with `GlobalDb.open(data_dir)` or a PostgreSQL URL.

    Example:
        >>> with GlobalDb.open("data") as g:  # doctest: +SKIP
        ...     alice = g.create_user("alice", password="s3cret")
        ...     c = g.create_constellation(alice.id, "home")
        ...     with g.open_constellation(c.id) as db:
        ...         db.schema_version()
    """

    @classmethod
    def open(
        cls,
        target: str | os.PathLike[str],
        *,
        data_dir: str | os.PathLike[str] | None = None,
        key_path: str | os.PathLike[str] | None = None,
        node: str | None = None,
        password_params: PasswordParams | None = None,
        create: bool = True,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    ) -> GlobalDb:
        """Open the global database of a data directory, or on PostgreSQL (server mode).

        `target` is a data directory (its `global.db` holds the database) or a
        `postgresql://` URL, in which case `data_dir` says where this node keeps its
        constellation files. Tokens are encrypted with `key_path` (default
        `data_dir/global.key`, created 0600 on first use; every node needs the same file).
        `node` names this machine in the registry (default: the hostname). With
        `create=False` a missing database is an error instead of being created.

        Raises:
            InvalidData: a PostgreSQL URL without `data_dir`, a data directory that is a file,
                or an invalid node name.
            MigrationError: the global schema could not be migrated or was edited.
            DbError: no database (with `create=False`), the data directory cannot be created,
                or the server cannot be reached.
        """
        from pattern_db.global_db._postgres import is_postgres_url

        node_name = check_node(node if node is not None else socket.gethostname())
        backend: Backend
        if is_postgres_url(target):
            if data_dir is None:
                raise InvalidData(
                    "server mode needs data_dir=...: the directory where this node keeps its "
                    "constellation files and the token key"
                )
            root = _data_root(data_dir, create=create)
            from pattern_db.global_db._postgres import PostgresBackend

            backend = PostgresBackend(os.fspath(target), create=create)
        else:
            if data_dir is not None and Path(data_dir) != Path(target):
                raise InvalidData(
                    "data_dir= is only for server mode; for SQLite the data directory is the "
                    "first argument"
                )
            root = _data_root(target, create=create)
            from pattern_db.global_db._sqlite import SqliteBackend

            backend = SqliteBackend(
                root / layout.GLOBAL_DB_NAME, create=create, busy_timeout_ms=busy_timeout_ms
            )
        key = Path(key_path).expanduser().absolute() if key_path else root / layout.KEY_NAME
        try:
            return cls(
                backend,
                data_dir=root,
                key_path=key,
                node=node_name,
                password_params=password_params or PasswordParams(),
            )
        except BaseException:
            backend.close()
            raise

    def __enter__(self) -> GlobalDb:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- users ---------------------------------------------------------------------------------

    def create_user(
        self, username: str, email: str | None = None, password: str | None = None
    ) -> User:
        """Create a user; `password` is stored as an argon2id hash (None: no password login).

        Raises:
            InvalidData: the username, email or password is not acceptable.
            AlreadyExists: the username (or email) is taken, compared case-insensitively.
        """
        check_username(username)
        check_email(email)
        password_hash = None if password is None else self._passwords.hash(password)
        stamp = now()
        user = User(
            id=new_id("user"),
            username=username,
            email=email,
            has_password=password_hash is not None,
            created_at=stamp,
            updated_at=stamp,
        )
        params = {
            "id": user.id,
            "username": username,
            "email": email,
            "password_hash": password_hash,
            "created_at": self._ts(stamp),
            "updated_at": self._ts(stamp),
        }
        with self._tx(write=True, entity_type="user", entity_id=username) as conn:
            conn.execute(self._sql.insert_user, params)
        return user

    def get_user(self, user_id: str) -> User | None:
        """Return the user with this id, or None."""
        with self._tx(write=False) as conn:
            row = conn.one(self._sql.user_by_id, {"id": user_id})
        return None if row is None else _user(row)

    def get_user_by_username(self, username: str) -> User | None:
        """Return the user with this username (case-insensitive), or None."""
        with self._tx(write=False) as conn:
            row = conn.one(self._sql.user_by_username, {"username": username})
        return None if row is None else _user(row)

    def list_users(self) -> list[User]:
        """Return every user, ordered by username."""
        with self._tx(write=False) as conn:
            return [_user(row) for row in conn.all(self._sql.list_users, {})]

    def verify_password(self, username: str, password: str) -> bool:
        """Return True when `password` is the password of `username`.

        Unknown users, users without a password and wrong passwords all return False (taking
        about as long). A correct password whose hash was made with other argon2 parameters
        than this handle's is re-hashed with the current ones.
        """
        if not isinstance(password, str):
            raise TypeError(f"password must be str, not {type(password).__name__}")
        with self._tx(write=False) as conn:
            row = conn.one(self._sql.user_by_username, {"username": username})
        stored = None if row is None else row[3]
        if len(password) > MAX_PASSWORD_LENGTH or not password:
            stored = None
        if not self._passwords.verify(stored, password):
            return False
        assert row is not None
        assert stored is not None
        if self._passwords.needs_rehash(stored):
            params = {
                "id": row[0],
                "old_hash": stored,
                "password_hash": self._passwords.hash(password),
                "updated_at": self._ts(now()),
            }
            # Only if unchanged meanwhile: a concurrent `passwd` wins over the re-hash.
            with self._tx(write=True) as conn:
                conn.execute(self._sql.replace_password_hash, params)
        return True

    def set_password(self, user_id: str, password: str | None) -> User:
        """Set (or with None, remove) a user's password; return the updated user.

        Raises:
            InvalidData: the password is empty or too long.
            NotFound: no user has this id.
        """
        password_hash = None if password is None else self._passwords.hash(password)
        params = {"id": user_id, "password_hash": password_hash, "updated_at": self._ts(now())}
        with self._tx(write=True) as conn:
            if not conn.execute(self._sql.set_password_hash, params):
                raise NotFound("user", user_id)
            row = conn.one(self._sql.user_by_id, {"id": user_id})
        assert row is not None
        return _user(row)

    def delete_user(self, user_id: str) -> User:
        """Delete a user and their identities; return the deleted user.

        Raises:
            NotFound: no user has this id.
            ConstraintViolation: the user still owns constellations.
        """
        with self._tx(write=True, entity_type="user", entity_id=user_id) as conn:
            row = conn.one(self._sql.user_by_id, {"id": user_id})
            if row is None:
                raise NotFound("user", user_id)
            owned = conn.one(self._sql.count_constellations_of_owner, {"owner_id": user_id})
            count = int(owned[0]) if owned else 0
            if count:
                raise ConstraintViolation(
                    f"user {row[1]} owns {count} constellation(s); remove them first "
                    "(`pattern-db constellations list --owner "
                    f"{row[1]}`, then `pattern-db constellations remove ID`)"
                )
            conn.execute(self._sql.delete_user, {"id": user_id})
        return _user(row)


def _data_root(path: str | os.PathLike[str], *, create: bool) -> Path:
    root = Path(path).expanduser().absolute()
    if root.exists() and not root.is_dir():
        raise InvalidData(
            f"{root} is not a directory; pass the data directory (the one that holds global.db "
            "and constellations/)"
        )
    if create:
        try:
            layout.make_private_dir(root)
        except OSError as exc:
            raise DbError(
                f"cannot create the data directory {root}: {exc.strerror or exc}"
            ) from exc
    return root


def _user(row: Row) -> User:
    return User(
        id=row[0],
        username=row[1],
        email=row[2],
        has_password=row[3] is not None,
        created_at=parse_ts(row[4]),
        updated_at=parse_ts(row[5]),
    )
