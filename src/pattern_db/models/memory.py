"""Memory blocks, checkpoints and deltas, archival entries, sharing and the permission gate."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import msgspec

from pattern_db.models._base import JsonValue, Record, id_factory, utc_now

__all__ = [
    "CONSTELLATION_OWNER",
    "Allow",
    "ArchivalEntry",
    "BlockVersionInfo",
    "Deny",
    "GateDecision",
    "MemoryBlock",
    "MemoryBlockCheckpoint",
    "MemoryBlockType",
    "MemoryBlockUpdate",
    "MemoryGate",
    "MemoryOp",
    "MemoryPermission",
    "RequireConsent",
    "SharedBlockAttachment",
    "UpdateSource",
    "UpdateStats",
]

# Owner id of constellation-wide blocks and archival entries (which is why they have no agent FK).
CONSTELLATION_OWNER = "_constellation_"


class MemoryBlockType(StrEnum):
    """How a block is used in context."""

    CORE = "core"
    WORKING = "working"
    ARCHIVAL = "archival"
    LOG = "log"


class MemoryPermission(StrEnum):
    """Who may change a block, most restrictive first."""

    READ_ONLY = "read_only"
    PARTNER = "partner"
    HUMAN = "human"
    APPEND = "append"
    READ_WRITE = "read_write"
    ADMIN = "admin"

    @classmethod
    def parse(cls, text: str) -> MemoryPermission:
        """Return the permission for loose spellings (`read-only`, `ReadOnly`, `readwrite`)."""
        key = text.strip().lower().replace("-", "_").replace(" ", "_")
        key = {"readonly": "read_only", "readwrite": "read_write"}.get(key, key)
        return cls(key)


class UpdateSource(StrEnum):
    """Where a memory delta came from."""

    AGENT = "agent"
    SYNC = "sync"
    MIGRATION = "migration"
    MANUAL = "manual"


class MemoryBlock(Record, kw_only=True):
    """A memory block: a Loro document stored as a snapshot plus deltas (row of `memory_blocks`)."""

    id: str = id_factory("mem")
    agent_id: str
    label: str
    description: str = ""
    block_type: MemoryBlockType = MemoryBlockType.WORKING
    char_limit: int = 5000
    permission: MemoryPermission = MemoryPermission.READ_WRITE
    pinned: bool = False
    loro_snapshot: bytes = b""
    content_preview: str | None = None
    metadata: JsonValue | None = None
    embedding_model: str | None = None
    is_active: bool = True
    frontier: bytes | None = None
    last_seq: int = 0
    created_at: datetime = msgspec.field(default_factory=utc_now)
    updated_at: datetime = msgspec.field(default_factory=utc_now)


class MemoryBlockCheckpoint(Record, kw_only=True):
    """A consolidated snapshot of a block, covering every update with seq <= `up_to_seq`."""

    id: int | None = None
    block_id: str
    snapshot: bytes
    created_at: datetime = msgspec.field(default_factory=utc_now)
    updates_consolidated: int = 0
    frontier: bytes | None = None
    up_to_seq: int = 0


class MemoryBlockUpdate(Record, kw_only=True):
    """One Loro delta of a block, numbered by a per-block seq that never repeats."""

    id: int | None = None
    block_id: str
    seq: int
    update_blob: bytes
    byte_size: int
    source: UpdateSource | None = None
    frontier: bytes | None = None
    is_active: bool = True
    created_at: datetime = msgspec.field(default_factory=utc_now)


class UpdateStats(Record, kw_only=True):
    """Pending (unconsolidated) updates of a block, for consolidation decisions."""

    count: int = 0
    total_bytes: int = 0
    max_seq: int = 0
    oldest_at: datetime | None = None


class BlockVersionInfo(Record, kw_only=True):
    """What a cached copy of a block is checked against, without reading its snapshot.

    A block's content is a function of its latest checkpoint, `last_seq` (new deltas, and
    consolidations) and `max_active_seq` (undo and redo change which deltas count); `updated_at`
    moves on every one of those writes.
    """

    block_id: str
    last_seq: int
    max_active_seq: int
    updated_at: datetime


class ArchivalEntry(Record, kw_only=True):
    """A searchable long-term memory, optionally a chunk of a parent entry."""

    id: str = id_factory("arch")
    agent_id: str
    content: str
    metadata: JsonValue | None = None
    chunk_index: int = 0
    parent_entry_id: str | None = None
    created_at: datetime = msgspec.field(default_factory=utc_now)


class SharedBlockAttachment(Record, kw_only=True):
    """A block shared with another agent, with that agent's effective permission."""

    block_id: str
    agent_id: str
    permission: MemoryPermission = MemoryPermission.READ_ONLY
    attached_at: datetime = msgspec.field(default_factory=utc_now)


class MemoryOp(StrEnum):
    """An operation checked by the permission gate."""

    READ = "read"
    APPEND = "append"
    OVERWRITE = "overwrite"
    DELETE = "delete"


class Allow(msgspec.Struct, frozen=True):
    """The operation may proceed."""


class RequireConsent(msgspec.Struct, frozen=True):
    """The operation needs approval first (from the partner or a human)."""

    reason: str


class Deny(msgspec.Struct, frozen=True):
    """The operation is not permitted."""

    reason: str


GateDecision = Allow | RequireConsent | Deny

_PARTNER = RequireConsent("partner approval")
_HUMAN = RequireConsent("human approval")
_ALLOW = Allow()


def _deny(op: MemoryOp, permission: MemoryPermission) -> Deny:
    return Deny(f"{op.value} is not allowed on a {permission.value} block")


class MemoryGate:
    """Which operations each block permission allows, in pure code (the database never checks)."""

    @staticmethod
    def check(op: MemoryOp | str, permission: MemoryPermission | str) -> GateDecision:
        """Return Allow, RequireConsent(reason) or Deny(reason) for `op` on a block.

        Example: `MemoryGate.check(MemoryOp.APPEND, MemoryPermission.PARTNER)` ->
        `RequireConsent("partner approval")`.
        """
        op = MemoryOp(op)
        permission = MemoryPermission(permission)
        if op is MemoryOp.READ or permission is MemoryPermission.ADMIN:
            return _ALLOW
        if op is MemoryOp.DELETE:
            return _deny(op, permission)
        if permission is MemoryPermission.PARTNER:
            return _PARTNER
        if permission is MemoryPermission.HUMAN:
            return _HUMAN
        if permission is MemoryPermission.READ_WRITE:
            return _ALLOW
        if permission is MemoryPermission.APPEND and op is MemoryOp.APPEND:
            return _ALLOW
        return _deny(op, permission)

    @staticmethod
    def is_allowed(op: MemoryOp | str, permission: MemoryPermission | str) -> bool:
        """Return True when the gate allows `op` outright."""
        return isinstance(MemoryGate.check(op, permission), Allow)

    @staticmethod
    def requires_consent(op: MemoryOp | str, permission: MemoryPermission | str) -> bool:
        """Return True when `op` needs approval."""
        return isinstance(MemoryGate.check(op, permission), RequireConsent)

    @staticmethod
    def is_denied(op: MemoryOp | str, permission: MemoryPermission | str) -> bool:
        """Return True when `op` is refused."""
        return isinstance(MemoryGate.check(op, permission), Deny)
