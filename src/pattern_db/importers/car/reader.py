"""A streaming CARv1 reader that checks everything before it trusts it.

Design note. The file is scanned once, section by section: every varint length is checked
against the bytes that remain before anything is read, a section may hold at most
MAX_BLOCK_BYTES, and each block's bytes are hashed and compared with its CID (BLAKE3, SHA-256,
SHA-512 or identity, as the CID says). Only an index (CID -> offset, length) is kept; blocks are
read and decoded one at a time when the importer walks to them from the root, so memory stays
bounded by the largest block, not the file. The walk refuses a link back to a block on its own
path (a cycle) and caps the number of block visits. Every failure is `ImportFailed` naming the
byte offset or the record field.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from pattern_db.errors import ImportFailed

__all__ = [
    "CODEC_DAG_CBOR",
    "CODEC_RAW",
    "MAX_BLOCK_BYTES",
    "CarFile",
    "cid_text",
    "open_car",
]

MAX_BLOCK_BYTES = 64 * 1024 * 1024
_MAX_HEADER_BYTES = 1024 * 1024
_MAX_CID_BYTES = 128
CODEC_DAG_CBOR = 0x71
CODEC_RAW = 0x55
_CODEC_DAG_PB = 0x70
_HASH_IDENTITY = 0x00
_HASH_SHA2_256 = 0x12
_HASH_SHA2_512 = 0x13
_HASH_BLAKE3 = 0x1E


def cid_text(cid: bytes) -> str:
    """Return the multibase text of a binary CID (e.g. `bafyr4i...`), or hex if it is malformed."""
    import libipld

    try:
        return str(libipld.encode_cid(cid))
    except (ValueError, TypeError):
        return cid.hex()


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """Return (value, next position) of the LEB128 varint at `pos` of `data`."""
    value = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 9 bytes")


def parse_cid(data: bytes) -> tuple[int, int, int, bytes, int]:
    """Return (version, codec, hash code, digest, length in bytes) of the CID at the start.

    Raises:
        ValueError: not a CID.
    """
    if len(data) >= 34 and data[0] == _HASH_SHA2_256 and data[1] == 0x20:
        return 0, _CODEC_DAG_PB, _HASH_SHA2_256, data[2:34], 34
    version, pos = _varint(data, 0)
    if version != 1:
        raise ValueError(f"CID version {version} (expected 1)")
    codec, pos = _varint(data, pos)
    code, pos = _varint(data, pos)
    size, pos = _varint(data, pos)
    if size > 64 or pos + size > len(data):
        raise ValueError("digest longer than the CID")
    return version, codec, code, data[pos : pos + size], pos + size


def _digest(code: int, size: int, data: bytes) -> bytes | None:
    if code == _HASH_BLAKE3:
        import blake3

        return bytes(blake3.blake3(data).digest(length=size))
    if code == _HASH_SHA2_256:
        return hashlib.sha256(data).digest()[:size]
    if code == _HASH_SHA2_512:
        return hashlib.sha512(data).digest()[:size]
    if code == _HASH_IDENTITY:
        return data
    return None


class CarFile:
    """An indexed, verified CARv1 file; blocks are decoded on demand with `load`."""

    def __init__(self, path: Path, handle: IO[bytes], roots: list[bytes], size: int) -> None:
        self.path = path
        self.roots = roots
        self.size = size
        self._handle = handle
        self._index: dict[bytes, tuple[int, int]] = {}
        self._path_stack: list[bytes] = []
        self._visits = 0
        self.total_bytes = 0

    @property
    def block_count(self) -> int:
        """The number of distinct blocks in the file."""
        return len(self._index)

    def has(self, cid: bytes) -> bool:
        """Return True when the file holds a block with this CID."""
        return cid in self._index

    def _add(self, cid: bytes, offset: int, length: int) -> None:
        self._index.setdefault(cid, (offset, length))

    def raw(self, cid: bytes, where: str) -> bytes:
        """Return the bytes of a block.

        Raises:
            ImportFailed: no block has this CID.
        """
        found = self._index.get(cid)
        if found is None:
            raise ImportFailed(
                f"{self.path}: block {cid_text(cid)} linked from {where} is missing from the file"
            )
        offset, length = found
        self._handle.seek(offset)
        return self._handle.read(length)

    def load(self, cid: Any, where: str) -> Any:
        """Return the decoded DAG-CBOR block a link points to.

        Raises:
            ImportFailed: the link is not a CID, the block is missing, or is not DAG-CBOR.
        """
        import libipld

        if not isinstance(cid, bytes):
            raise ImportFailed(f"{self.path}: {where} should be a CID link, got {_kind(cid)}")
        try:
            codec = parse_cid(cid)[1]
        except ValueError as exc:
            raise ImportFailed(f"{self.path}: {where} is not a CID ({exc})") from exc
        data = self.raw(cid, where)
        if codec == CODEC_RAW:
            return data
        if codec != CODEC_DAG_CBOR:
            raise ImportFailed(
                f"{self.path}: block {cid_text(cid)} ({where}) has codec 0x{codec:x}; "
                "Pattern exports are DAG-CBOR (0x71)"
            )
        offset = self._index[cid][0]
        try:
            return libipld.decode_dag_cbor(data)
        except RecursionError as exc:
            raise ImportFailed(
                f"{self.path}: block at offset {offset} ({where}) is nested too deeply"
            ) from exc
        except (ValueError, TypeError, OverflowError) as exc:
            raise ImportFailed(
                f"{self.path}: block at offset {offset} ({where}) is not valid DAG-CBOR ({exc})"
            ) from exc

    @contextlib.contextmanager
    def visit(self, cid: bytes, where: str) -> Iterator[None]:
        """Mark `cid` as being walked; a link back to it from below is a cycle.

        Raises:
            ImportFailed: the block is already on the walk's path, or the walk visits far more
                blocks than the file holds (a graph built to explode).
        """
        if cid in self._path_stack:
            raise ImportFailed(
                f"{self.path}: block graph cycle: {where} links back to block {cid_text(cid)}, "
                "which contains it"
            )
        self._visits += 1
        if self._visits > 4 * len(self._index) + 16:
            raise ImportFailed(
                f"{self.path}: the block graph visits blocks far more often than the file holds "
                f"them (at {where}); refusing a graph built to explode"
            )
        self._path_stack.append(cid)
        try:
            yield
        finally:
            self._path_stack.pop()

    def close(self) -> None:
        """Close the file."""
        self._handle.close()


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _read_varint(handle: IO[bytes], pos: int, size: int, path: Path, what: str) -> tuple[int, int]:
    value = shift = 0
    start = pos
    while True:
        if pos >= size:
            raise ImportFailed(f"{path}: truncated at offset {start}: {what} length is cut off")
        byte = handle.read(1)[0]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ImportFailed(f"{path}: offset {start}: {what} length is not a valid varint")


@contextlib.contextmanager
def open_car(path: str | os.PathLike[str], *, verify: bool = True) -> Iterator[CarFile]:
    """Open, scan and verify a CARv1 file; yield it indexed, close it afterwards.

    `verify=False` skips the hash checks (tests of the walk's own defences use it).

    Raises:
        ImportFailed: the file is missing, truncated, corrupt, not CARv1, or hostile.
    """
    import libipld

    file_path = Path(path)
    try:
        handle = open(file_path, "rb")  # noqa: SIM115 - closed by CarFile.close below
    except OSError as exc:
        raise ImportFailed(f"cannot read {file_path}: {exc.strerror or exc}") from exc
    try:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            raise ImportFailed(f"{file_path}: the file is empty, not a CAR export")
        header_len, pos = _read_varint(handle, 0, size, file_path, "header")
        if header_len == 0 or header_len > min(_MAX_HEADER_BYTES, size - pos):
            raise ImportFailed(
                f"{file_path}: offset 0: header length {header_len} does not fit the file "
                f"({size - pos} bytes follow); not a CAR file, or truncated"
            )
        try:
            header = libipld.decode_dag_cbor(handle.read(header_len))
        except (ValueError, TypeError, RecursionError) as exc:
            raise ImportFailed(
                f"{file_path}: offset {pos}: the CAR header is not DAG-CBOR"
            ) from exc
        pos += header_len
        roots = _check_header(header, file_path)
        car = CarFile(file_path, handle, roots, size)
        _scan(car, handle, pos, size, verify)
    except BaseException:
        handle.close()
        raise
    try:
        yield car
    finally:
        car.close()


def _check_header(header: Any, path: Path) -> list[bytes]:
    if not isinstance(header, dict) or "version" not in header:
        raise ImportFailed(f"{path}: offset 0: not a CAR header (no `version`)")
    version = header["version"]
    if version == 2:
        raise ImportFailed(
            f"{path}: this is a CARv2 container; Pattern writes CARv1 (unwrap it with "
            "`car extract` or re-export it)"
        )
    if version != 1:
        raise ImportFailed(f"{path}: unsupported CAR version {version!r} (expected 1)")
    roots = header.get("roots")
    if not isinstance(roots, list) or not roots or not all(isinstance(r, bytes) for r in roots):
        raise ImportFailed(f"{path}: the CAR header has no root CID (`roots` is empty or invalid)")
    return list(roots)


def _scan(car: CarFile, handle: IO[bytes], pos: int, size: int, verify: bool) -> None:
    path = car.path
    while pos < size:
        start = pos
        length, pos = _read_varint(handle, pos, size, path, "section")
        remaining = size - pos
        if length == 0:
            raise ImportFailed(f"{path}: offset {start}: empty section (corrupt file)")
        if length > remaining:
            raise ImportFailed(
                f"{path}: truncated at offset {start}: the section declares {length} bytes "
                f"but only {remaining} remain"
            )
        if length > MAX_BLOCK_BYTES + _MAX_CID_BYTES:
            raise ImportFailed(
                f"{path}: offset {start}: a section of {length} bytes is larger than the "
                f"{MAX_BLOCK_BYTES // (1024 * 1024)} MiB this reader accepts"
            )
        head = handle.read(min(length, _MAX_CID_BYTES))
        try:
            _version, _codec, code, digest, cid_len = parse_cid(head)
        except ValueError as exc:
            raise ImportFailed(
                f"{path}: offset {pos}: the section does not start with a CID"
            ) from (exc)
        cid = head[:cid_len]
        data_offset, data_len = pos + cid_len, length - cid_len
        if verify:
            handle.seek(data_offset)
            data = handle.read(data_len)
            expected = _digest(code, len(digest), data)
            if expected is None:
                raise ImportFailed(
                    f"{path}: offset {start}: block {cid_text(cid)} uses hash function "
                    f"0x{code:x}, which this reader cannot verify"
                )
            if expected != digest:
                raise ImportFailed(
                    f"{path}: offset {data_offset}: block {cid_text(cid)} does not match its "
                    "CID (the file is corrupt); nothing was imported"
                )
        car._add(cid, data_offset, data_len)
        car.total_bytes += data_len
        pos = data_offset + data_len
        handle.seek(pos)
