"""The consolidation policy, the errors and the result records of memory documents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec

from pattern_db.errors import DbError, InvalidData
from pattern_db.models.memory import MemoryOp, MemoryPermission, UpdateStats
from pattern_db.timeutil import now

__all__ = [
    "BlockVersion",
    "CharLimitExceeded",
    "ConsentRequired",
    "EditResult",
    "LoroStorageConfig",
    "MemoryAccessError",
    "PermissionDenied",
]


@dataclass(frozen=True, kw_only=True)
class LoroStorageConfig:
    """How memory documents are stored: compression threshold and consolidation policy.

    A block is consolidated (its deltas merged into a new checkpoint) once its pending deltas
    reach `checkpoint_update_count`, or total `checkpoint_update_size` bytes, or the oldest is
    older than `checkpoint_interval`. Snapshots over `compression_threshold_bytes` are stored
    zstd-compressed. `auto_consolidate` runs the policy after every edit, in the edit's own
    transaction; `max_cached_docs` bounds the documents kept in memory per `MemoryDocs`.

    Raises:
        InvalidData: a threshold is not positive.
    """

    compression_threshold_bytes: int = 10_240
    checkpoint_update_count: int = 100
    checkpoint_update_size: int = 51_200
    checkpoint_interval: timedelta = timedelta(hours=1)
    auto_consolidate: bool = True
    max_cached_docs: int = 256

    def __post_init__(self) -> None:
        for name in ("checkpoint_update_count", "checkpoint_update_size", "max_cached_docs"):
            if getattr(self, name) <= 0:
                raise InvalidData(f"LoroStorageConfig.{name} must be positive")
        if self.compression_threshold_bytes < 0:
            raise InvalidData("LoroStorageConfig.compression_threshold_bytes must be >= 0")
        if self.checkpoint_interval <= timedelta(0):
            raise InvalidData("LoroStorageConfig.checkpoint_interval must be positive")

    def should_consolidate(self, stats: UpdateStats, *, at: datetime | None = None) -> bool:
        """Return True when the pending deltas described by `stats` are due for consolidation.

        Example: `LoroStorageConfig().should_consolidate(UpdateStats(count=100))` -> True.
        """
        if stats.count == 0:
            return False
        if stats.count >= self.checkpoint_update_count:
            return True
        if stats.total_bytes >= self.checkpoint_update_size:
            return True
        if stats.oldest_at is None:
            return False
        return (at or now()) - stats.oldest_at >= self.checkpoint_interval


class MemoryAccessError(DbError, PermissionError):
    """An agent may not perform an operation on a memory block."""

    def __init__(
        self,
        message: str,
        *,
        block_id: str,
        actor: str,
        op: MemoryOp,
        permission: MemoryPermission | None,
    ) -> None:
        self.block_id = block_id
        self.actor = actor
        self.op = op
        self.permission = permission
        super().__init__(message)


class PermissionDenied(MemoryAccessError):
    """The permission gate said Deny, or the agent has no access to the block at all."""


class ConsentRequired(MemoryAccessError):
    """The gate said RequireConsent: retry with `consent=True` once approval was given."""

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        block_id: str,
        actor: str,
        op: MemoryOp,
        permission: MemoryPermission | None,
    ) -> None:
        self.reason = reason
        super().__init__(message, block_id=block_id, actor=actor, op=op, permission=permission)


class CharLimitExceeded(InvalidData):
    """An edit would make a block's content longer than its char_limit; nothing was written."""

    def __init__(self, block_id: str, label: str, char_limit: int, length: int) -> None:
        self.block_id = block_id
        self.char_limit = char_limit
        self.length = length
        super().__init__(
            f"edit refused: block {label!r} ({block_id}) would hold {length} characters, over "
            f"its char_limit of {char_limit}; shorten the text, replace instead of appending, "
            "or raise the limit with queries.memory.update_block_config(char_limit=...)"
        )


class EditResult(msgspec.Struct, frozen=True, kw_only=True):
    """What an edit did.

    `seq` is the stored delta's (None when the edit changed nothing), `length` the content's
    length after it, `checkpoint_id` set when the edit triggered a consolidation.
    """

    block_id: str
    seq: int | None
    length: int
    checkpoint_id: int | None = None


class BlockVersion(msgspec.Struct, frozen=True, kw_only=True):
    """One version in a block's history.

    `kind` is "base" for the state a checkpoint (or the creation snapshot, seq 0) holds, and
    "update" for a delta; `is_active` is False for an undone delta (redo can bring it back).
    `frontier` is the encoded Loro frontier of the version, when it was stored.
    """

    seq: int
    created_at: datetime
    kind: str
    source: str | None
    byte_size: int
    is_active: bool = True
    frontier: bytes | None = None
