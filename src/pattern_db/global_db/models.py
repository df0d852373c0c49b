"""Records of the global database: users, OAuth identities, constellation registry entries."""

from __future__ import annotations

from datetime import datetime

import msgspec

from pattern_db.models import Record

__all__ = ["Constellation", "Identity", "PasswordParams", "User"]


class User(Record, kw_only=True):
    """An account; the password hash never leaves the database (`has_password` tells if set)."""

    id: str
    username: str
    email: str | None = None
    has_password: bool = False
    created_at: datetime
    updated_at: datetime


class Identity(Record, kw_only=True):
    """An OAuth identity of a user at a provider.

    The tokens are stored encrypted; `access_token` and `refresh_token` hold the decrypted values
    only when read with `with_tokens=True`, otherwise None (see `has_access_token`).
    """

    id: str
    user_id: str
    provider: str
    provider_id: str
    expires_at: datetime | None = None
    has_access_token: bool = False
    has_refresh_token: bool = False
    access_token: str | None = None
    refresh_token: str | None = None
    created_at: datetime
    updated_at: datetime


class Constellation(Record, kw_only=True):
    """A registry entry: who owns a constellation, which node holds its file, and where.

    `path` is relative to the data directory of the node that holds it, e.g.
    `constellations/<id>/pattern.db`.
    """

    id: str
    owner_id: str
    name: str
    path: str
    node: str
    created_at: datetime
    updated_at: datetime
    last_accessed_at: datetime | None = None


class PasswordParams(msgspec.Struct, kw_only=True, frozen=True):
    """argon2id cost parameters for new password hashes.

    The defaults are argon2-cffi's (RFC 9106's low-memory recommendation). A stored hash made with
    other parameters is re-hashed on the next successful `verify_password`.
    """

    time_cost: int = 3
    memory_cost: int = 65536  # KiB
    parallelism: int = 4
