"""Identity tokens encrypted at rest: AES-256-GCM with a key file kept outside the database.

Design: the key is 32 random bytes in a file created 0600 on first use (default
`data_dir/global.key`), so a copy of the database alone, or a database dump, reveals no token.
Each value gets a fresh 96-bit random nonce; the associated data names the row and column
(`identity:<id>:access_token`), so a ciphertext copied into another row or column fails to
decrypt instead of handing out someone else's token. Stored form: version byte 1, nonce,
ciphertext with its tag. In server mode every node needs the same key file to read tokens.
`cryptography` is imported on first use only.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from pattern_db.errors import DbError, InvalidData

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["TokenCipher"]

KEY_BYTES = 32
_NONCE_BYTES = 12
_FORMAT_V1 = b"\x01"


class TokenCipher:
    """Encrypt and decrypt token strings with the key in `key_path` (created when missing)."""

    def __init__(self, key_path: Path) -> None:
        self._key_path = key_path
        self._aead: AESGCM | None = None
        self._lock = threading.Lock()

    @property
    def key_path(self) -> Path:
        """The key file this cipher reads (it may not exist until the first token is stored)."""
        return self._key_path

    def encrypt(self, plaintext: str, associated: str) -> bytes:
        """Return the stored form of `plaintext`, bound to `associated` (row and column)."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._cipher().encrypt(nonce, plaintext.encode(), associated.encode())
        return _FORMAT_V1 + nonce + sealed

    def decrypt(self, stored: bytes, associated: str) -> str:
        """Return the token sealed in `stored`.

        Raises:
            DbError: the key file is not the one the token was encrypted with, or the stored
                value was altered or moved to another row.
        """
        from cryptography.exceptions import InvalidTag

        data = bytes(stored)
        if not data.startswith(_FORMAT_V1) or len(data) < 1 + _NONCE_BYTES + 16:
            raise DbError(f"the stored token of {associated} is not in a known format")
        nonce, sealed = data[1 : 1 + _NONCE_BYTES], data[1 + _NONCE_BYTES :]
        try:
            return self._cipher().decrypt(nonce, sealed, associated.encode()).decode()
        except InvalidTag as exc:
            raise DbError(
                f"cannot decrypt the token of {associated}: {self._key_path} is not the key it "
                "was encrypted with (or the stored value was altered); restore the original key "
                "file, or store the token again"
            ) from exc

    def _cipher(self) -> AESGCM:
        with self._lock:
            if self._aead is None:
                from cryptography.hazmat.primitives.ciphers.aead import AESGCM

                self._aead = AESGCM(load_or_create_key(self._key_path))
            return self._aead


def load_or_create_key(path: Path) -> bytes:
    """Return the key in `path`, creating the file (0600, 32 random bytes) when it is missing.

    Two processes creating it at once end up with the same key: the file appears atomically,
    already complete (written to a private temporary name, then hard-linked into place).

    Raises:
        InvalidData: the file has the wrong size, or group/other may read it.
    """
    if not path.exists():
        _create_key(path)
    info = path.stat()
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise InvalidData(
            f"the token key file {path} is readable by other users "
            f"(mode {stat.S_IMODE(info.st_mode):04o}); run `chmod 600 {path}`"
        )
    key = path.read_bytes()
    if len(key) != KEY_BYTES:
        raise InvalidData(
            f"the token key file {path} holds {len(key)} bytes, not {KEY_BYTES}; restore the "
            "original key file (tokens encrypted with it cannot be read without it)"
        )
    return key


def _create_key(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(os.urandom(KEY_BYTES))
            handle.flush()
            os.fsync(handle.fileno())
        # The loser of a race keeps the winner's key.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
