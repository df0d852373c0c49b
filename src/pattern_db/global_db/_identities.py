"""OAuth identities of users, with their tokens sealed by the key file (part of GlobalDb)."""

from __future__ import annotations

from datetime import datetime

from pattern_db.errors import NotFound
from pattern_db.global_db._backend import Row
from pattern_db.global_db._base import Handle
from pattern_db.global_db._checks import check_provider, check_token
from pattern_db.global_db.models import Identity
from pattern_db.ids import new_id
from pattern_db.timeutil import now, parse_ts, to_utc

__all__ = ["Identities"]


class Identities(Handle):
    """Link, read, refresh and unlink identities."""

    def add_identity(
        self,
        user_id: str,
        provider: str,
        provider_id: str,
        access_token: str | None = None,
        refresh_token: str | None = None,
        expires_at: datetime | None = None,
    ) -> Identity:
        """Link an OAuth identity to a user; the tokens are stored encrypted.

        Raises:
            InvalidData: a bad provider, provider id, token or naive `expires_at`.
            NotFound: no user has this id.
            AlreadyExists: this provider identity is linked already (to anyone).
        """
        check_provider(provider, provider_id)
        check_token(access_token, "access token")
        check_token(refresh_token, "refresh token")
        expires = None if expires_at is None else to_utc(expires_at)
        stamp = now()
        identity_id = new_id("ident")
        params = {
            "id": identity_id,
            "user_id": user_id,
            "provider": provider,
            "provider_id": provider_id,
            "access_token": self._seal(identity_id, "access_token", access_token),
            "refresh_token": self._seal(identity_id, "refresh_token", refresh_token),
            "expires_at": self._ts(expires),
            "created_at": self._ts(stamp),
            "updated_at": self._ts(stamp),
        }
        entity = f"{provider}:{provider_id}"
        with self._tx(write=True, entity_type="identity", entity_id=entity) as conn:
            if conn.one(self._sql.user_by_id, {"id": user_id}) is None:
                raise NotFound("user", user_id)
            conn.execute(self._sql.insert_identity, params)
        return Identity(
            id=identity_id,
            user_id=user_id,
            provider=provider,
            provider_id=provider_id,
            expires_at=expires,
            has_access_token=access_token is not None,
            has_refresh_token=refresh_token is not None,
            created_at=stamp,
            updated_at=stamp,
        )

    def get_identity(self, identity_id: str, *, with_tokens: bool = False) -> Identity | None:
        """Return an identity (decrypting its tokens when `with_tokens`), or None.

        Raises:
            DbError: `with_tokens` and the key file is not the one the tokens were sealed with.
        """
        with self._tx(write=False) as conn:
            row = conn.one(self._sql.identity_by_id, {"id": identity_id})
        return None if row is None else self._identity(row, with_tokens)

    def find_identity(
        self, provider: str, provider_id: str, *, with_tokens: bool = False
    ) -> Identity | None:
        """Return the identity of `provider_id` at `provider` (an OAuth login), or None."""
        with self._tx(write=False) as conn:
            row = conn.one(
                self._sql.identity_by_provider, {"provider": provider, "provider_id": provider_id}
            )
        return None if row is None else self._identity(row, with_tokens)

    def list_identities(self, user_id: str, *, with_tokens: bool = False) -> list[Identity]:
        """Return a user's identities, ordered by provider."""
        with self._tx(write=False) as conn:
            rows = conn.all(self._sql.identities_of_user, {"user_id": user_id})
        return [self._identity(row, with_tokens) for row in rows]

    def update_identity_tokens(
        self,
        identity_id: str,
        access_token: str | None,
        refresh_token: str | None = None,
        expires_at: datetime | None = None,
    ) -> Identity:
        """Replace an identity's tokens and expiry (None clears one); return it without tokens.

        Raises:
            InvalidData: a bad token or naive `expires_at`.
            NotFound: no identity has this id.
        """
        check_token(access_token, "access token")
        check_token(refresh_token, "refresh token")
        params = {
            "id": identity_id,
            "access_token": self._seal(identity_id, "access_token", access_token),
            "refresh_token": self._seal(identity_id, "refresh_token", refresh_token),
            "expires_at": self._ts(expires_at),
            "updated_at": self._ts(now()),
        }
        with self._tx(write=True) as conn:
            if not conn.execute(self._sql.update_identity_tokens, params):
                raise NotFound("identity", identity_id)
            row = conn.one(self._sql.identity_by_id, {"id": identity_id})
        assert row is not None
        return self._identity(row, False)

    def remove_identity(self, identity_id: str) -> None:
        """Unlink an identity.

        Raises:
            NotFound: no identity has this id.
        """
        with self._tx(write=True) as conn:
            if not conn.execute(self._sql.delete_identity, {"id": identity_id}):
                raise NotFound("identity", identity_id)

    def _seal(self, identity_id: str, column: str, token: str | None) -> bytes | None:
        if token is None:
            return None
        return self._tokens.encrypt(token, f"identity:{identity_id}:{column}")

    def _identity(self, row: Row, with_tokens: bool) -> Identity:
        identity_id, access, refresh = row[0], row[4], row[5]
        identity = Identity(
            id=identity_id,
            user_id=row[1],
            provider=row[2],
            provider_id=row[3],
            expires_at=None if row[6] is None else parse_ts(row[6]),
            has_access_token=access is not None,
            has_refresh_token=refresh is not None,
            created_at=parse_ts(row[7]),
            updated_at=parse_ts(row[8]),
        )
        if with_tokens:
            if access is not None:
                identity.access_token = self._tokens.decrypt(
                    access, f"identity:{identity_id}:access_token"
                )
            if refresh is not None:
                identity.refresh_token = self._tokens.decrypt(
                    refresh, f"identity:{identity_id}:refresh_token"
                )
        return identity
