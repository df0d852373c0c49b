"""Messages, their summaries, archive summaries and the agent-to-agent queue."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import msgspec

from pattern_db.ids import next_position
from pattern_db.models._base import JsonValue, Record, id_factory, utc_now

__all__ = [
    "ArchiveSummary",
    "BatchType",
    "Message",
    "MessageRole",
    "MessageSummary",
    "QueuedMessage",
]


class MessageRole(StrEnum):
    """Who spoke."""

    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"
    TOOL = "tool"


class BatchType(StrEnum):
    """What started a request/response cycle."""

    USER_REQUEST = "user_request"
    AGENT_TO_AGENT = "agent_to_agent"
    SYSTEM_TRIGGER = "system_trigger"
    CONTINUATION = "continuation"


class Message(Record, kw_only=True):
    """One message of an agent's conversation, ordered by its snowflake `position`."""

    id: str = id_factory("msg")
    agent_id: str
    position: str = msgspec.field(default_factory=next_position)
    batch_id: str | None = None
    sequence_in_batch: int | None = None
    role: MessageRole = MessageRole.USER
    content_json: JsonValue
    content_preview: str | None = None
    batch_type: BatchType | None = None
    source: str | None = None
    source_metadata: JsonValue | None = None
    is_archived: bool = False
    is_deleted: bool = False
    created_at: datetime = msgspec.field(default_factory=utc_now)


class MessageSummary(Record, kw_only=True):
    """A light projection of a message for listings."""

    id: str
    position: str
    role: MessageRole
    content_preview: str | None = None
    source: str | None = None
    created_at: datetime


class ArchiveSummary(Record, kw_only=True):
    """A summary of archived messages; `depth` > 0 summarises earlier summaries."""

    id: str = id_factory("sum")
    agent_id: str
    summary: str
    start_position: str
    end_position: str
    message_count: int
    previous_summary_id: str | None = None
    depth: int = 0
    created_at: datetime = msgspec.field(default_factory=utc_now)


class QueuedMessage(Record, kw_only=True):
    """A message waiting for delivery to another agent (row of `queued_messages`).

    The `*_json` fields hold raw JSON text.
    """

    id: str = id_factory("queue")
    target_agent_id: str
    source_agent_id: str | None = None
    content: str
    origin_json: str | None = None
    metadata_json: str | None = None
    priority: int = 0
    created_at: datetime = msgspec.field(default_factory=utc_now)
    processed_at: datetime | None = None
    content_json: str | None = None
    metadata_json_full: str | None = None
    batch_id: str | None = None
    role: MessageRole = MessageRole.USER
