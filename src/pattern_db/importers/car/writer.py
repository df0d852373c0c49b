"""Writing a CARv1 file: DAG-CBOR blocks addressed by CIDv1 (dag-cbor, BLAKE3-256).

Blocks are streamed to a temporary body file as they are made; the root (the manifest, which
needs every other CID) is written last into the header, and the file is moved into place only
when complete, with owner-only permissions.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any

import msgspec

from pattern_db.files import prepare_parent

__all__ = ["RUST_BLOCK_LIMIT", "CarWriter", "block_cid"]

# The Rust tools refuse blocks over this size; larger ones are written but reported.
RUST_BLOCK_LIMIT = 1_000_000
_CID_PREFIX = bytes([0x01, 0x71, 0x1E, 0x20])


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def block_cid(data: bytes) -> bytes:
    """Return the CIDv1 (dag-cbor, BLAKE3-256) of a block's bytes."""
    import blake3

    return _CID_PREFIX + blake3.blake3(data).digest()


def encode(value: Any) -> bytes:
    """Return the DAG-CBOR bytes of a Struct or plain value (bytes stay byte strings/links)."""
    import libipld

    plain = msgspec.to_builtins(value, builtin_types=(bytes, bytearray))
    return bytes(libipld.encode_dag_cbor(plain))


class CarWriter:
    """Collects blocks into a temporary file; `finish` writes the CAR with its root."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        prepare_parent(dest)  # missing directories 0700 whatever the umask
        self._body: IO[bytes] = tempfile.TemporaryFile(dir=dest.parent)  # noqa: SIM115
        self._seen: set[bytes] = set()
        self.blocks = 0
        self.oversized = 0

    def put(self, value: Any) -> bytes:
        """Add a block (deduplicated by CID) and return its CID."""
        data = encode(value)
        cid = block_cid(data)
        if cid not in self._seen:
            self._seen.add(cid)
            self._write(self._body, cid, data)
            if len(data) > RUST_BLOCK_LIMIT:
                self.oversized += 1
        return cid

    def _write(self, handle: IO[bytes], cid: bytes, data: bytes) -> None:
        handle.write(_varint(len(cid) + len(data)))
        handle.write(cid)
        handle.write(data)
        self.blocks += 1

    def finish(self, root: Any) -> tuple[bytes, int]:
        """Write the file with `root` as its root block; return (root CID, file size)."""
        import libipld

        data = encode(root)
        cid = block_cid(data)
        header = bytes(libipld.encode_dag_cbor({"version": 1, "roots": [cid]}))
        fd, tmp_name = tempfile.mkstemp(dir=self.dest.parent, prefix=f".{self.dest.name}.")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(_varint(len(header)))
                out.write(header)
                self._write(out, cid, data)
                self._body.seek(0)
                shutil.copyfileobj(self._body, out, 1024 * 1024)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        finally:
            self._body.close()
        return cid, self.dest.stat().st_size

    def abort(self) -> None:
        """Discard the blocks written so far."""
        self._body.close()
