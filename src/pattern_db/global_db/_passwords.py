"""Password hashing with argon2id (argon2-cffi); argon2 is imported on first use only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pattern_db.errors import InvalidData
from pattern_db.global_db.models import PasswordParams

if TYPE_CHECKING:
    from argon2 import PasswordHasher

__all__ = ["Passwords"]

# Longer inputs only cost hashing time; no password manager produces more.
MAX_PASSWORD_LENGTH = 1024


class Passwords:
    """Hash and verify passwords with one set of argon2id parameters."""

    def __init__(self, params: PasswordParams) -> None:
        if (
            params.time_cost < 1
            or params.parallelism < 1
            or params.memory_cost < 8 * max(params.parallelism, 1)
        ):
            raise InvalidData(
                f"invalid argon2 parameters {params}: time_cost and parallelism must be >= 1 and "
                "memory_cost (KiB) >= 8 x parallelism"
            )
        self._params = params
        self._hasher: PasswordHasher | None = None
        self._dummy_hash: str | None = None

    def _ph(self) -> PasswordHasher:
        if self._hasher is None:
            from argon2 import PasswordHasher, Type

            self._hasher = PasswordHasher(
                time_cost=self._params.time_cost,
                memory_cost=self._params.memory_cost,
                parallelism=self._params.parallelism,
                type=Type.ID,
            )
        return self._hasher

    def hash(self, password: str) -> str:
        """Return the argon2id hash (PHC string) of a password.

        Raises:
            InvalidData: the password is empty or longer than 1024 characters.
        """
        check_password(password)
        return self._ph().hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """Return True when `password` matches `stored_hash`.

        A missing hash (unknown user, or no password set) still costs one hash computation, so
        the time taken does not tell whether a username exists.
        """
        from argon2.exceptions import InvalidHashError, VerificationError

        if stored_hash is None:
            if self._dummy_hash is None:
                self._dummy_hash = self._ph().hash("pattern-db dummy password")
            candidate, result = self._dummy_hash, False
        else:
            candidate, result = stored_hash, True
        try:
            self._ph().verify(candidate, password)
        except (VerificationError, InvalidHashError):
            return False
        return result

    def needs_rehash(self, stored_hash: str) -> bool:
        """Return True when `stored_hash` was made with other parameters (or another variant)."""
        from argon2.exceptions import InvalidHashError

        try:
            return self._ph().check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True


def check_password(password: str) -> None:
    """Refuse an empty or oversized password.

    Raises:
        InvalidData: the password is empty or longer than 1024 characters.
    """
    if not isinstance(password, str):
        raise TypeError(f"password must be str, not {type(password).__name__}")
    if not password:
        raise InvalidData("the password is empty; choose a non-empty password (or set none)")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidData(f"the password is longer than {MAX_PASSWORD_LENGTH} characters")
