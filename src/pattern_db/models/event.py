"""Calendar events (with iCal RRULE recurrence and reminders) and their occurrences."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

import msgspec

from pattern_db.models._base import Record, id_factory, utc_now

__all__ = ["Event", "EventInstance", "EventOccurrence", "OccurrenceStatus"]


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


class EventInstance(Record, kw_only=True):
    """One occurrence of an event in a time window (a projection, not a table row).

    `starts_at`/`ends_at` are this instance's (for a recurring event, the expanded RRULE instant
    with the event's duration); `occurrence` is the tracked occurrence row starting at exactly
    this instant, if one was recorded.
    """

    event: Event
    starts_at: datetime
    ends_at: datetime | None = None
    occurrence: EventOccurrence | None = None

    @property
    def remind_at(self) -> datetime | None:
        """When this instance's reminder is due (None when the event has no reminder)."""
        minutes = self.event.reminder_minutes
        return None if minutes is None else self.starts_at - timedelta(minutes=minutes)
