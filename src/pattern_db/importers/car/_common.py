"""Pieces the CAR layouts share: checked decoding into Structs and the import context."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from pattern_db.errors import ImportFailed
from pattern_db.importers._report import Recorder
from pattern_db.importers._sink import Sink
from pattern_db.importers.car.reader import CarFile, cid_text

__all__ = ["Context", "convert", "strip_prefix"]

T = TypeVar("T")


def convert(value: Any, kind: type[T], car: CarFile, where: str) -> T:
    """Return `value` decoded into `kind`, or raise ImportFailed naming the field.

    Raises:
        ImportFailed: the value does not have the shape of `kind`.
    """
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:
        raise ImportFailed(f"{car.path}: {where} is not a valid {kind.__name__}: {exc}") from exc


def strip_prefix(value: str) -> str:
    """Return a legacy id without the `mem:`/`group:`/`user:`... prefix its Rust Display added."""
    head, sep, rest = value.partition(":")
    if sep and head in ("mem", "group", "user", "constellation", "rel", "agent") and rest:
        return rest
    return value


class Context:
    """One CAR import: the file, where rows go, and what was seen already."""

    def __init__(self, car: CarFile, sink: Sink, rec: Recorder) -> None:
        self.car = car
        self.sink = sink
        self.rec = rec
        # Legacy memories are user-owned and shared by relations: first agent seen owns them.
        self.memory_owner: dict[str, str] = {}
        self.imported_agents: dict[str, str] = {}
        self.imported_cids: set[bytes] = set()

    def load(self, cid: Any, where: str) -> Any:
        """Return the decoded block a link points to (see CarFile.load)."""
        return self.car.load(cid, where)

    def where(self, cid: bytes, what: str) -> str:
        """Return a description of a block for error messages."""
        return f"{what} (block {cid_text(cid)})"
