"""Calendar events (with iCal RRULE recurrence and reminders) and their occurrences."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import msgspec

from pattern_db.models._base import Record, id_factory, utc_now

__all__ = ["Event", "EventOccurrence", "OccurrenceStatus"]


class OccurrenceStatus(StrEnum):
    """State of one occurrence of an event."""

    SCHEDULED = "scheduled"
    ACTIVE = "active"
    COMPLETED = "completed"
    SKIPPED = "skipped"
    SNOOZED = "snoozed"
    CANCELLED = "cancelled"


class Event(Record, kw_only=True):
    """A calendar event; `agent_id` None is a constellation-level event."""

    id: str = id_factory("evt")
    agent_id: str | None = None
    title: str
    description: str | None = None
    starts_at: datetime
    ends_at: datetime | None = None
    rrule: str | None = None
    reminder_minutes: int | None = None
    all_day: bool = False
    location: str | None = None
    external_id: str | None = None
    external_source: str | None = None
    created_at: datetime = msgspec.field(default_factory=utc_now)
    updated_at: datetime = msgspec.field(default_factory=utc_now)


class EventOccurrence(Record, kw_only=True):
    """One tracked instance of a (recurring) event."""

    id: str = id_factory("occ")
    event_id: str
    starts_at: datetime
    ends_at: datetime | None = None
    status: OccurrenceStatus = OccurrenceStatus.SCHEDULED
    notes: str | None = None
    created_at: datetime = msgspec.field(default_factory=utc_now)
