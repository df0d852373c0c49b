"""The records of the v3 CAR layout (Pattern's SQLite era), shared by the importer and exporter.

Field names and shapes are the Rust `pattern_core::export` ones, so files round-trip with the
Rust tools: timestamps as RFC 3339 text, JSON columns as CBOR values, the Loro frontier as an
array of small integers, snapshot chunks as byte strings.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "EXPORT_VERSION",
    "AgentExport",
    "AgentRecord",
    "ArchivalEntryExport",
    "ArchiveSummaryExport",
    "ConstellationExport",
    "ExportManifest",
    "ExportStats",
    "GroupConfigExport",
    "GroupExport",
    "GroupExportThin",
    "GroupMemberExport",
    "GroupRecord",
    "MemoryBlockExport",
    "MessageChunk",
    "MessageExport",
    "SharedBlockAttachmentExport",
    "SnapshotChunk",
]

EXPORT_VERSION = 3


class ExportStats(msgspec.Struct, kw_only=True):
    """Counts in the manifest."""

    agent_count: int = 0
    group_count: int = 0
    message_count: int = 0
    memory_block_count: int = 0
    archival_entry_count: int = 0
    archive_summary_count: int = 0
    chunk_count: int = 0
    total_blocks: int = 0
    total_bytes: int = 0


class ExportManifest(msgspec.Struct, kw_only=True):
    """The root block."""

    version: int
    exported_at: str
    export_type: str
    stats: ExportStats = msgspec.field(default_factory=ExportStats)
    data_cid: bytes


class AgentRecord(msgspec.Struct, kw_only=True):
    """An agent row."""

    id: str
    name: str
    description: str | None = None
    model_provider: str
    model_name: str
    system_prompt: str = ""
    config: Any = None
    enabled_tools: list[str] = []
    tool_rules: Any = None
    status: str = "active"
    created_at: str
    updated_at: str


class SnapshotChunk(msgspec.Struct, kw_only=True):
    """A piece (at most 900,000 bytes) of a Loro snapshot."""

    index: int
    data: bytes
    next_cid: bytes | None = None


class MemoryBlockExport(msgspec.Struct, kw_only=True):
    """A memory block row; its snapshot is in linked SnapshotChunks."""

    id: str
    agent_id: str
    label: str
    description: str = ""
    block_type: str = "working"
    char_limit: int = 5000
    permission: str = "read_write"
    pinned: bool = False
    content_preview: str | None = None
    metadata: Any = None
    is_active: bool = True
    frontier: list[int] | bytes | None = None
    last_seq: int = 0
    created_at: str
    updated_at: str
    snapshot_chunk_cids: list[bytes] = []
    total_snapshot_bytes: int = 0
    # pattern-db extension (the Rust reader ignores unknown keys): the column has no v3 field.
    embedding_model: str | None = None


class ArchivalEntryExport(msgspec.Struct, kw_only=True):
    """An archival entry row."""

    id: str
    agent_id: str
    content: str
    metadata: Any = None
    chunk_index: int = 0
    parent_entry_id: str | None = None
    created_at: str


class MessageExport(msgspec.Struct, kw_only=True):
    """A message row."""

    id: str
    agent_id: str
    position: str | int
    batch_id: str | None = None
    sequence_in_batch: int | None = None
    role: str
    content_json: Any = None
    content_preview: str | None = None
    batch_type: str | None = None
    source: str | None = None
    source_metadata: Any = None
    is_archived: bool = False
    is_deleted: bool = False
    created_at: str


class MessageChunk(msgspec.Struct, kw_only=True):
    """Up to 1000 messages (and about 900 KB) of an agent, in position order."""

    chunk_index: int
    start_position: str | int = ""
    end_position: str | int = ""
    messages: list[MessageExport] = []
    message_count: int = 0


class ArchiveSummaryExport(msgspec.Struct, kw_only=True):
    """An archive summary row."""

    id: str
    agent_id: str
    summary: str
    start_position: str | int
    end_position: str | int
    message_count: int = 0
    previous_summary_id: str | None = None
    depth: int = 0
    created_at: str


class AgentExport(msgspec.Struct, kw_only=True):
    """An agent with links to everything it owns."""

    agent: AgentRecord
    message_chunk_cids: list[bytes] = []
    memory_block_cids: list[bytes] = []
    archival_entry_cids: list[bytes] = []
    archive_summary_cids: list[bytes] = []


class GroupRecord(msgspec.Struct, kw_only=True):
    """A group row."""

    id: str
    name: str
    description: str | None = None
    pattern_type: str
    pattern_config: Any = None
    created_at: str
    updated_at: str


class GroupMemberExport(msgspec.Struct, kw_only=True):
    """A membership row; role is internally tagged (`{"type": "specialist", "domain": ...}`)."""

    group_id: str
    agent_id: str
    role: Any = None
    capabilities: list[str] = []
    joined_at: str


class SharedBlockAttachmentExport(msgspec.Struct, kw_only=True):
    """A block shared with another agent."""

    block_id: str
    agent_id: str
    permission: str = "read_only"
    attached_at: str


class GroupExport(msgspec.Struct, kw_only=True):
    """A full group export: the agents inline."""

    group: GroupRecord
    members: list[GroupMemberExport] = []
    agent_exports: list[AgentExport] = []
    shared_memory_cids: list[bytes] = []
    shared_attachment_exports: list[SharedBlockAttachmentExport] = []


class GroupConfigExport(msgspec.Struct, kw_only=True):
    """A thin group export: configuration and member ids only."""

    group: GroupRecord
    member_agent_ids: list[str] = []


class GroupExportThin(msgspec.Struct, kw_only=True):
    """A group inside a constellation export: agents by link."""

    group: GroupRecord
    members: list[GroupMemberExport] = []
    agent_cids: list[bytes] = []
    shared_memory_cids: list[bytes] = []
    shared_attachment_exports: list[SharedBlockAttachmentExport] = []


class ConstellationExport(msgspec.Struct, kw_only=True):
    """Every agent and group of a constellation."""

    version: int = EXPORT_VERSION
    owner_id: str = ""
    exported_at: str = ""
    agent_exports: dict[str, bytes] = {}
    group_exports: list[GroupExportThin] = []
    standalone_agent_cids: list[bytes] = []
    all_memory_block_cids: list[bytes] = []
    shared_attachments: list[SharedBlockAttachmentExport] = []
