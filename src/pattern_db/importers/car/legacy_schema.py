"""The records of legacy (SurrealDB-era) Pattern CAR exports, v0-v2, as msgspec Structs.

Decoding a block into these Structs checks its shape, and an error names the field
(`at $.messages[3][0].id`). Optional fields accept both a null and a missing key, as the Rust
serializer wrote either depending on the field.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "AgentExportV1",
    "AgentExportV2",
    "AgentGroup",
    "AgentRecord",
    "ConstellationExport",
    "GroupExport",
    "LegacyManifest",
    "MemoryBlock",
    "MemoryChunk",
    "MemoryRelation",
    "Message",
    "MessageChunk",
    "MessageRelation",
]

Snowflake = str | int


class LegacyManifest(msgspec.Struct, kw_only=True):
    """Root block of a v1/v2 export."""

    version: int
    exported_at: str | None = None
    export_type: str
    stats: Any = None
    data_cid: bytes


class Message(msgspec.Struct, kw_only=True):
    """A legacy message."""

    id: str
    role: str
    owner_id: str | None = None
    content: Any = None
    metadata: Any = None
    options: Any = None
    has_tool_calls: bool = False
    word_count: int = 0
    created_at: str
    position: Snowflake | None = None
    batch: Snowflake | None = None
    sequence_num: int | None = None
    batch_type: str | None = None
    embedding: Any = None
    embedding_model: str | None = None


class MessageRelation(msgspec.Struct, kw_only=True):
    """The agent-message edge; its position is the one that orders the conversation."""

    id: str | None = None
    in_id: str | None = None
    out_id: str | None = None
    message_type: str = "active"
    position: Snowflake | None = None
    added_at: str | None = None
    batch: Snowflake | None = None
    sequence_num: int | None = None
    batch_type: str | None = None


class MessageChunk(msgspec.Struct, kw_only=True):
    """Up to 1000 messages of an agent (v1, v2)."""

    chunk_id: int = 0
    start_position: Any = None
    end_position: Any = None
    messages: list[tuple[Message, MessageRelation]] = []
    next_chunk: bytes | None = None


class MemoryBlock(msgspec.Struct, kw_only=True):
    """A legacy memory (user-owned, attached to agents by relations)."""

    id: str
    owner_id: str | None = None
    label: str
    value: str = ""
    description: str | None = None
    memory_type: str = "core"
    pinned: bool = False
    permission: str | None = None
    metadata: Any = None
    embedding_model: str | None = None
    embedding: Any = None
    created_at: str | None = None
    updated_at: str | None = None
    is_active: bool = True


class MemoryRelation(msgspec.Struct, kw_only=True):
    """The agent-memory edge (its created_at is the export time, not the attach time)."""

    id: str | None = None
    in_id: str | None = None
    out_id: str | None = None
    access_level: str | None = None
    created_at: str | None = None


class MemoryChunk(msgspec.Struct, kw_only=True):
    """A batch of memories (v1: all of them; v2: up to 100)."""

    chunk_id: int = 0
    memories: list[tuple[MemoryBlock, MemoryRelation]] = []
    next_chunk: bytes | None = None


class AgentRecord(msgspec.Struct, kw_only=True):
    """A legacy agent: inline with its memories and messages (v0/v1), or slim with links (v2)."""

    id: str
    name: str
    agent_type: Any = None
    model_id: str | None = None
    model_config: Any = None
    base_instructions: str = ""
    max_messages: int | None = None
    compression_threshold: int | None = None
    memory_char_limit: int | None = None
    max_message_age_hours: int | None = None
    enable_thinking: bool | None = None
    compression_strategy: Any = None
    tool_rules: list[Any] | None = None
    total_messages: int | None = None
    total_tool_calls: int | None = None
    context_rebuilds: int | None = None
    compression_events: int | None = None
    created_at: str | None = None
    updated_at: str | None = None
    last_active: str | None = None
    owner_id: str | None = None
    message_summary: str | None = None
    message_chunks: list[bytes] | None = None
    memory_chunks: list[bytes] | None = None
    assigned_task_ids: Any = None
    scheduled_event_ids: Any = None
    memories: list[tuple[MemoryBlock, MemoryRelation]] | None = None
    messages: list[tuple[Message, MessageRelation]] | None = None


# Fields of AgentRecord that have a column of their own or are consumed by the import.
AGENT_MAPPED = frozenset(
    {"id", "name", "model_id", "base_instructions", "tool_rules", "created_at", "updated_at"}
)
# Kept in the agent's config JSON.
AGENT_CONFIG = (
    "max_messages",
    "max_message_age_hours",
    "compression_threshold",
    "memory_char_limit",
    "enable_thinking",
    "compression_strategy",
    "model_config",
    "agent_type",
)
# Kept in config["legacy"].
AGENT_LEGACY = (
    "owner_id",
    "last_active",
    "total_messages",
    "total_tool_calls",
    "context_rebuilds",
    "compression_events",
    "assigned_task_ids",
    "scheduled_event_ids",
)


class AgentExportV1(msgspec.Struct, kw_only=True):
    """v1: the whole AgentRecord inline, plus chunk links."""

    agent: Any
    message_chunk_cids: list[bytes] = []
    memory_chunk_cids: list[bytes] = []


class AgentExportV2(msgspec.Struct, kw_only=True):
    """v2: a link to the slim AgentRecord, plus chunk links."""

    agent_cid: bytes
    message_chunk_cids: list[bytes] = []
    memory_chunk_cids: list[bytes] = []


class AgentGroup(msgspec.Struct, kw_only=True):
    """A legacy group."""

    id: str
    name: str
    description: str | None = None
    coordination_pattern: Any = None
    created_at: str | None = None
    updated_at: str | None = None
    is_active: bool = True
    state: Any = None
    members: Any = None


class GroupMembership(msgspec.Struct, kw_only=True):
    """A legacy group membership (v2 from fb44bd2 on)."""

    id: str | None = None
    in_id: str | None = None
    out_id: str | None = None
    joined_at: str | None = None
    role: Any = None
    is_active: bool = True
    capabilities: list[str] = []


class GroupExport(msgspec.Struct, kw_only=True):
    """A legacy group export; `member_memberships` is missing in v1 and early v2."""

    group: AgentGroup
    member_agent_cids: list[tuple[str, bytes]] = []
    member_memberships: list[tuple[str, GroupMembership]] | None = None


class Constellation(msgspec.Struct, kw_only=True):
    """A legacy constellation (its fields have no table of their own)."""

    id: str | None = None
    owner_id: str | None = None
    name: str | None = None
    description: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    is_active: bool = True
    agents: Any = None
    groups: Any = None


class ConstellationExport(msgspec.Struct, kw_only=True):
    """A legacy constellation export; `agent_memberships` is missing in v1 and early v2."""

    constellation: Constellation
    groups: list[GroupExport] = []
    agent_export_cids: list[tuple[str, bytes]] = []
    agent_memberships: Any = None
