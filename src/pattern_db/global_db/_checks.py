"""Input checks of the global database: names, emails, node names, tokens."""

from __future__ import annotations

import re

from pattern_db.errors import InvalidData

__all__ = [
    "check_constellation_name",
    "check_email",
    "check_node",
    "check_provider",
    "check_token",
    "check_username",
]

_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_NODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,252}")
_PROVIDER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_NAME = 200
MAX_PROVIDER_ID = 255
MAX_TOKEN = 65536


def check_username(username: str) -> str:
    """Return `username` if it is 1-64 letters, digits or `. _ @ + -`, starting alphanumeric.

    Raises:
        InvalidData: it is not.
    """
    if not isinstance(username, str) or _USERNAME.fullmatch(username) is None:
        raise InvalidData(
            f"invalid username {username!r}: use 1-64 letters, digits or . _ @ + - "
            "starting with a letter or digit"
        )
    return username


def check_email(email: str | None) -> str | None:
    """Return `email` (None stays None) if it looks like `name@domain`.

    Raises:
        InvalidData: it does not, or it is longer than 254 characters.
    """
    if email is None:
        return None
    if not isinstance(email, str) or len(email) > 254 or _EMAIL.fullmatch(email) is None:
        raise InvalidData(f"invalid email {email!r}: expected name@domain")
    return email


def check_node(node: str) -> str:
    """Return `node` if it is a host-like name (letters, digits, `. _ : -`).

    Raises:
        InvalidData: it is not.
    """
    if not isinstance(node, str) or _NODE.fullmatch(node) is None:
        raise InvalidData(
            f"invalid node name {node!r}: use letters, digits or . _ : - (e.g. a hostname)"
        )
    return node


def check_constellation_name(name: str) -> str:
    """Return `name` if it is 1-200 characters, no control characters, no outer whitespace.

    Raises:
        InvalidData: it is not.
    """
    if (
        not isinstance(name, str)
        or not name
        or len(name) > MAX_NAME
        or name != name.strip()
        or _CONTROL.search(name)
    ):
        raise InvalidData(
            f"invalid constellation name {name!r}: use 1-{MAX_NAME} characters without control "
            "characters or leading/trailing spaces"
        )
    return name


def check_provider(provider: str, provider_id: str) -> None:
    """Check an identity's provider name and the user's id at that provider.

    Raises:
        InvalidData: the provider is not a short name, or the provider id is empty or too long.
    """
    if not isinstance(provider, str) or _PROVIDER.fullmatch(provider) is None:
        raise InvalidData(
            f"invalid provider {provider!r}: use 1-64 letters, digits or . _ - (e.g. github)"
        )
    if (
        not isinstance(provider_id, str)
        or not provider_id
        or len(provider_id) > MAX_PROVIDER_ID
        or _CONTROL.search(provider_id)
    ):
        raise InvalidData(
            f"invalid provider id {provider_id!r}: use 1-{MAX_PROVIDER_ID} printable characters"
        )


def check_token(token: str | None, what: str) -> str | None:
    """Return `token` (None stays None) if it is a non-empty string of at most 64 KiB.

    Raises:
        InvalidData: it is empty or too long.
    """
    if token is None:
        return None
    if not isinstance(token, str):
        raise TypeError(f"{what} must be str or None, not {type(token).__name__}")
    if not token or len(token) > MAX_TOKEN:
        raise InvalidData(f"the {what} must be 1-{MAX_TOKEN} characters (or None for no token)")
    return token
