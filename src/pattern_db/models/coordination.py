"""Activity stream, summaries, notable events and coordination state, tasks and handoffs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import msgspec

from pattern_db.models._base import JsonValue, RankedEnum, Record, id_factory, utc_now

__all__ = [
    "ActivityEvent",
    "ActivityEventType",
    "AgentSummary",
    "ConstellationSummary",
    "CoordinationState",
    "CoordinationTask",
    "EventImportance",
    "HandoffNote",
    "NotableEvent",
    "TaskPriority",
    "TaskStatus",
]


class ActivityEventType(StrEnum):
    """Kind of entry in the activity stream."""

    MESSAGE_SENT = "message_sent"
    TOOL_USED = "tool_used"
    MEMORY_UPDATED = "memory_updated"
    TASK_CHANGED = "task_changed"
    AGENT_STATUS_CHANGED = "agent_status_changed"
    EXTERNAL_EVENT = "external_event"
    COORDINATION = "coordination"
    SYSTEM = "system"


class EventImportance(RankedEnum):
    """Importance, ordered low < medium < high < critical."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class TaskStatus(StrEnum):
    """State of a coordination task."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class TaskPriority(RankedEnum):
    """Priority of a coordination task, ordered low < medium < high < urgent."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class ActivityEvent(Record, kw_only=True):
    """One entry of the activity stream; `agent_id` None means the system."""

    id: str = id_factory("act")
    timestamp: datetime = msgspec.field(default_factory=utc_now)
    agent_id: str | None = None
    event_type: ActivityEventType
    details: JsonValue = msgspec.field(default_factory=dict)
    importance: EventImportance | None = None


class AgentSummary(Record, kw_only=True):
    """The catch-up summary of one agent."""

    agent_id: str
    summary: str
    messages_covered: int = 0
    generated_at: datetime = msgspec.field(default_factory=utc_now)
    last_active: datetime = msgspec.field(default_factory=utc_now)


class ConstellationSummary(Record, kw_only=True):
    """A periodic summary of the whole constellation."""

    id: str = id_factory("csum")
    period_start: datetime
    period_end: datetime
    summary: str
    key_decisions: list[str] | None = None
    open_threads: list[str] | None = None
    created_at: datetime = msgspec.field(default_factory=utc_now)


class NotableEvent(Record, kw_only=True):
    """An event worth remembering, with the agents involved."""

    id: str = id_factory("note")
    timestamp: datetime = msgspec.field(default_factory=utc_now)
    event_type: str
    description: str
    agents_involved: list[str] | None = None
    importance: EventImportance = EventImportance.MEDIUM
    created_at: datetime = msgspec.field(default_factory=utc_now)


class CoordinationTask(Record, kw_only=True):
    """A task handed between agents."""

    id: str = id_factory("ctask")
    description: str
    assigned_to: str | None = None
    status: TaskStatus = TaskStatus.PENDING
    priority: TaskPriority = TaskPriority.MEDIUM
    created_at: datetime = msgspec.field(default_factory=utc_now)
    updated_at: datetime = msgspec.field(default_factory=utc_now)


class HandoffNote(Record, kw_only=True):
    """A note from one agent to another; `to_agent` None is a broadcast."""

    id: str = id_factory("handoff")
    from_agent: str
    to_agent: str | None = None
    content: str
    created_at: datetime = msgspec.field(default_factory=utc_now)
    read_at: datetime | None = None


class CoordinationState(Record, kw_only=True):
    """One key of the shared coordination key-value store."""

    key: str
    value: JsonValue
    updated_at: datetime = msgspec.field(default_factory=utc_now)
    updated_by: str | None = None
