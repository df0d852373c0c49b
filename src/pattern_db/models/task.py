"""User-facing (ADHD-aware) tasks with hierarchy, estimates and tags."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import msgspec

from pattern_db.models._base import RankedEnum, Record, id_factory, utc_now

__all__ = ["Task", "TaskSummary", "UserTaskPriority", "UserTaskStatus"]


class UserTaskStatus(StrEnum):
    """State of a user task."""

    BACKLOG = "backlog"
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    BLOCKED = "blocked"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    DEFERRED = "deferred"


class UserTaskPriority(RankedEnum):
    """Priority of a user task, ordered low < medium < high < urgent < critical."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"
    CRITICAL = "critical"


class Task(Record, kw_only=True):
    """A user task; `agent_id` None is a constellation-level task."""

    id: str = id_factory("task")
    agent_id: str | None = None
    title: str
    description: str | None = None
    status: UserTaskStatus = UserTaskStatus.PENDING
    priority: UserTaskPriority = UserTaskPriority.MEDIUM
    due_at: datetime | None = None
    scheduled_at: datetime | None = None
    completed_at: datetime | None = None
    parent_task_id: str | None = None
    tags: list[str] | None = None
    estimated_minutes: int | None = None
    actual_minutes: int | None = None
    notes: str | None = None
    created_at: datetime = msgspec.field(default_factory=utc_now)
    updated_at: datetime = msgspec.field(default_factory=utc_now)


class TaskSummary(Record, kw_only=True):
    """A task projection with the number of its direct subtasks (all, and completed ones)."""

    id: str
    title: str
    status: UserTaskStatus
    priority: UserTaskPriority
    due_at: datetime | None = None
    parent_task_id: str | None = None
    subtask_count: int = 0
    completed_subtask_count: int = 0
