"""Calendar events with RRULE recurrence and reminders, and their tracked occurrences.

Design note: recurrence is expanded in Python with python-dateutil, never stored. SQL narrows the
candidates (an event that starts inside the window, or a recurring series that started before its
end); `expand_recurrence` (`queries.recurrence`, which starts each expansion near the window) then
gives the exact instances. Every instant is an aware UTC datetime
and is bound as canonical text, so windows and reminders are exact to the microsecond (the
reference compared `datetime()` output with RFC 3339 text, which reduced reminders to a date test,
REFERENCE 11.1). A rule without its own DTSTART recurs from `starts_at` in UTC: a weekly event at
14:00Z stays at 14:00Z across a daylight-saving change (its local wall time moves). A rule whose
text starts with `DTSTART;TZID=Zone:...` recurs in that zone's wall-clock time instead; its
DTSTART must be the event's `starts_at`.

Other deliberate differences from REFERENCE 3.7: create and update write every column (all_day,
location, external_*, agent_id, REFERENCE 11.15); an RRULE is validated when written; updates of a
missing row raise `NotFound`; upcoming events and reminders expand recurring events and return
`EventInstance`s (one per occurrence) rather than the series' `Event`s.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import apsw

from pattern_db import _validate, timeutil
from pattern_db.codec import codec_for, ts_text
from pattern_db.connection import Executor
from pattern_db.errors import InvalidData, NotFound, translate_errors
from pattern_db.models.event import Event, EventInstance, EventOccurrence, OccurrenceStatus
from pattern_db.queries._rows import fetch_all, fetch_one, write_one
from pattern_db.queries.recurrence import compile_rule, expand_recurrence, validate_rrule
from pattern_db.timeutil import now_ts, to_utc

__all__ = [
    "create_event",
    "create_occurrence",
    "delete_event",
    "delete_event_occurrences",
    "delete_occurrence",
    "expand_recurrence",
    "get_event",
    "get_event_occurrences",
    "get_events_in_range",
    "get_events_needing_reminders",
    "get_occurrence",
    "get_occurrences_between",
    "get_upcoming_events",
    "list_events",
    "update_event",
    "update_occurrence",
    "update_occurrence_status",
    "validate_rrule",
]

_EVENT = codec_for(Event)
_OCCURRENCE = codec_for(EventOccurrence)
_KEEP = ("id", "created_at")

_SELECT_EVENT = f"SELECT {_EVENT.column_list} FROM events"
_INSERT_EVENT = _EVENT.insert_sql("events")
_UPDATE_EVENT = f"UPDATE events SET {_EVENT.assignments(exclude=_KEEP)} WHERE id = :id"
_EVENT_ORDER = "ORDER BY starts_at, id"
_EVENTS_IN_RANGE = f"{_SELECT_EVENT} WHERE starts_at >= ? AND starts_at <= ? {_EVENT_ORDER}"
# Candidates for a window [start, end]: a single event that starts in it or is still running at
# its start (an all-day event without ends_at lasts one day), or any series started by its end.
_WINDOW_CANDIDATES = f"""{_SELECT_EVENT}
WHERE starts_at <= :end
  AND (rrule IS NOT NULL OR starts_at >= :start OR ends_at > :start
       OR (all_day = 1 AND ends_at IS NULL AND starts_at > :day_before))"""
_UPCOMING_CANDIDATES = f"""{_SELECT_EVENT}
WHERE starts_at <= :end AND (rrule IS NOT NULL OR starts_at >= :start)"""
# julianday() only narrows the candidates (with a minute of slack for its float rounding); the
# exact test `starts_at - reminder <= now < starts_at` is done in Python on datetimes.
_REMINDER_CANDIDATES = f"""{_SELECT_EVENT}
WHERE reminder_minutes IS NOT NULL
  AND (rrule IS NOT NULL OR starts_at > :now)
  AND julianday(starts_at) <= julianday(:now) + (reminder_minutes + 1) / 1440.0"""

_SELECT_OCCURRENCE = f"SELECT {_OCCURRENCE.column_list} FROM event_occurrences"
_INSERT_OCCURRENCE = _OCCURRENCE.insert_sql("event_occurrences")
_UPDATE_OCCURRENCE = (
    f"UPDATE event_occurrences SET {_OCCURRENCE.assignments(exclude=_KEEP)} WHERE id = :id"
)
# Ordered by creation so that, when two rows track the same instant, the newest one wins.
_OCCURRENCES_BETWEEN = f"""{_SELECT_OCCURRENCE}
WHERE starts_at >= ? AND starts_at <= ? ORDER BY created_at, id"""

_ONE_DAY = timedelta(days=1)
# Occurrences in these states are not upcoming and get no reminder.
_INACTIVE = frozenset({OccurrenceStatus.CANCELLED, OccurrenceStatus.SKIPPED})


# -- events ------------------------------------------------------------------------------------


def _check_rrule(event: Event) -> None:
    if event.rrule is not None:
        compile_rule(event.rrule, event.starts_at, peek=True)


def create_event(db: Executor, event: Event) -> None:
    """Insert an event, every column included (all_day, location and external_* too).

    The RRULE is checked first, so a bad rule fails here rather than at every later read.

    Raises:
        AlreadyExists: an event with this id exists.
        InvalidData: the RRULE is invalid.
        ConstraintViolation: `agent_id` names no agent, or `ends_at` is before `starts_at`.
    """
    _check_rrule(event)
    with db.writer() as conn, translate_errors("event", event.id, record=event):
        conn.execute(_INSERT_EVENT, _EVENT.encode(event))


def get_event(db: Executor, event_id: str) -> Event | None:
    """Return the event with this id, or None."""
    return fetch_one(db, _EVENT, f"{_SELECT_EVENT} WHERE id = ?", (event_id,))


def _list_events_sql(agent_id: str | None, all_agents: bool) -> tuple[str, tuple[Any, ...]]:
    if all_agents:
        if agent_id is not None:
            raise InvalidData("pass either agent_id or all_agents=True, not both")
        return f"{_SELECT_EVENT} {_EVENT_ORDER}", ()
    if agent_id is None:
        return f"{_SELECT_EVENT} WHERE agent_id IS NULL {_EVENT_ORDER}", ()
    return f"{_SELECT_EVENT} WHERE agent_id = ? {_EVENT_ORDER}", (agent_id,)


def list_events(
    db: Executor, agent_id: str | None = None, *, all_agents: bool = False
) -> list[Event]:
    """Return events ordered by start.

    `agent_id` None keeps the reference's meaning: constellation-level events only (agent_id IS
    NULL), not every event; pass `all_agents=True` for every event.

    Raises:
        InvalidData: both `agent_id` and `all_agents=True` were given.
    """
    sql, params = _list_events_sql(agent_id, all_agents)
    return fetch_all(db, _EVENT, sql, params)


def get_events_in_range(db: Executor, start: datetime, end: datetime) -> list[Event]:
    """Return the events whose stored `starts_at` is in `[start, end]`, ordered by start.

    As in the reference this does not expand recurrence; `get_occurrences_between` does.

    Raises:
        InvalidData: a bound is naive.
    """
    return fetch_all(db, _EVENT, _EVENTS_IN_RANGE, (ts_text(start), ts_text(end)))


def update_event(db: Executor, event: Event) -> None:
    """Write every column of an existing event except id and created_at; updated_at becomes now.

    The reference left agent_id, all_day, location and external_* unchanged (REFERENCE 11.15).

    Raises:
        NotFound: no event has this id.
        InvalidData: the RRULE is invalid.
        ConstraintViolation: `agent_id` names no agent, or `ends_at` is before `starts_at`.
    """
    _check_rrule(event)
    params = _EVENT.encode_named(event)
    params["updated_at"] = now_ts()
    write_one(db, _UPDATE_EVENT, params, "event", event.id, record=event)


def delete_event(db: Executor, event_id: str) -> bool:
    """Delete an event and its occurrences; return whether it existed."""
    with db.writer() as conn:
        conn.execute("DELETE FROM events WHERE id = ?", (event_id,))
        return conn.changes() > 0


# -- expanded views ----------------------------------------------------------------------------


def _instances(
    conn: apsw.Connection, windows: Sequence[tuple[Event, datetime, datetime]]
) -> list[EventInstance]:
    """Expand each event over its window; attach each instance's tracked occurrence; sort."""
    spans = [
        (event, s, e)
        for event, low, high in windows
        for s, e in expand_recurrence(event, low, high)
    ]
    if not spans:
        return []
    first = min(s for _, s, _ in spans)
    last = max(s for _, s, _ in spans)
    rows = conn.execute(_OCCURRENCES_BETWEEN, (ts_text(first), ts_text(last))).fetchall()
    tracked = {(o.event_id, o.starts_at): o for o in _OCCURRENCE.decode_all(rows)}
    instances = [
        EventInstance(event=event, starts_at=s, ends_at=e, occurrence=tracked.get((event.id, s)))
        for event, s, e in spans
    ]
    instances.sort(key=lambda i: (i.starts_at, i.event.id))
    return instances


def _active(instance: EventInstance) -> bool:
    return instance.occurrence is None or instance.occurrence.status not in _INACTIVE


def get_occurrences_between(
    db: Executor, start: datetime, end: datetime, *, agent_id: str | None = None
) -> list[EventInstance]:
    """Return every instance of every event in `[start, end]`, recurring events expanded.

    Ordered by instance start, then event id. An instance is in the window when it starts in it
    or is still running at `start` (see `expand_recurrence`). Each carries the tracked
    occurrence starting at that exact instant, if any (cancelled ones included). `agent_id`
    None here means no filter (every agent and the constellation); a value keeps that agent's
    events only.

    Raises:
        InvalidData: a bound is naive, or a stored RRULE is invalid (the message names the event).
    """
    low, high = to_utc(start), to_utc(end)
    params: dict[str, Any] = {
        "start": ts_text(low),
        "end": ts_text(high),
        "day_before": ts_text(low - _ONE_DAY),
    }
    sql = _WINDOW_CANDIDATES
    if agent_id is not None:
        sql += " AND agent_id = :agent_id"
        params["agent_id"] = agent_id
    with db.reader() as conn:
        events = _EVENT.decode_all(conn.execute(sql, params).fetchall())
        return _instances(conn, [(event, low, high) for event in events])


def get_upcoming_events(
    db: Executor, hours: float, *, now: datetime | None = None
) -> list[EventInstance]:
    """Return the instances starting in `[now, now + hours]`, soonest first.

    Recurring events contribute each of their instances in the window (the reference only looked
    at the series' first start). Instances whose tracked occurrence is cancelled or skipped are
    left out. `now` defaults to the current time.

    Raises:
        InvalidData: `now` is naive, or a stored RRULE is invalid.
    """
    low = to_utc(timeutil.now() if now is None else now)
    high = low + timedelta(hours=hours)
    params = {"start": ts_text(low), "end": ts_text(high)}
    with db.reader() as conn:
        events = _EVENT.decode_all(conn.execute(_UPCOMING_CANDIDATES, params).fetchall())
        instances = _instances(conn, [(event, low, high) for event in events])
    return [i for i in instances if i.starts_at >= low and _active(i)]


def get_events_needing_reminders(
    db: Executor, *, now: datetime | None = None
) -> list[EventInstance]:
    """Return the instances whose reminder is due (`starts_at - reminder <= now < starts_at`).

    Exact to the microsecond (the reference's comparison was in effect date-only), recurring
    events expanded, soonest first. Instances whose tracked occurrence is cancelled or skipped
    are left out. An instance stays due until it starts; callers record what they have sent
    (for example as an occurrence). `now` defaults to the current time.

    Example: an event at 10:15Z with `reminder_minutes=15` is due from `now=10:00:00.000000Z`
    (inclusive) until 10:15Z (exclusive).

    Raises:
        InvalidData: `now` is naive, or a stored RRULE is invalid.
    """
    current = to_utc(timeutil.now() if now is None else now)
    with db.reader() as conn:
        rows = conn.execute(_REMINDER_CANDIDATES, {"now": ts_text(current)}).fetchall()
        windows = [
            (event, current, current + timedelta(minutes=event.reminder_minutes or 0))
            for event in _EVENT.decode_all(rows)
        ]
        instances = _instances(conn, windows)
    return [i for i in instances if i.starts_at > current and _active(i)]


# -- occurrences -------------------------------------------------------------------------------


def create_occurrence(db: Executor, occurrence: EventOccurrence) -> None:
    """Insert a tracked occurrence of an event.

    Raises:
        AlreadyExists: an occurrence with this id exists.
        ConstraintViolation: `event_id` names no event.
    """
    with (
        db.writer() as conn,
        translate_errors("event occurrence", occurrence.id, record=occurrence),
    ):
        conn.execute(_INSERT_OCCURRENCE, _OCCURRENCE.encode(occurrence))


def get_occurrence(db: Executor, occurrence_id: str) -> EventOccurrence | None:
    """Return the occurrence with this id, or None."""
    return fetch_one(db, _OCCURRENCE, f"{_SELECT_OCCURRENCE} WHERE id = ?", (occurrence_id,))


def get_event_occurrences(db: Executor, event_id: str) -> list[EventOccurrence]:
    """Return an event's tracked occurrences ordered by start."""
    with db.reader() as conn:
        rows = conn.execute(
            f"{_SELECT_OCCURRENCE} WHERE event_id = ? ORDER BY starts_at, id", (event_id,)
        )
        return _OCCURRENCE.decode_all(rows.fetchall())


def update_occurrence_status(
    db: Executor, occurrence_id: str, status: OccurrenceStatus | str
) -> None:
    """Set an occurrence's status.

    Raises:
        NotFound: no occurrence has this id (the reference returned False).
        InvalidData: `status` is not an occurrence status.
    """
    with db.writer() as conn, translate_errors("event occurrence", occurrence_id):
        status = _validate.enum_value(OccurrenceStatus, status, "occurrence status")
        conn.execute(
            "UPDATE event_occurrences SET status = ? WHERE id = ?", (status, occurrence_id)
        )
        if conn.changes() == 0:
            raise NotFound("event occurrence", occurrence_id)


def update_occurrence(db: Executor, occurrence: EventOccurrence) -> None:
    """Write every column of an existing occurrence except id and created_at.

    Raises:
        NotFound: no occurrence has this id.
        ConstraintViolation: `event_id` names no event.
    """
    with (
        db.writer() as conn,
        translate_errors("event occurrence", occurrence.id, record=occurrence),
    ):
        conn.execute(_UPDATE_OCCURRENCE, _OCCURRENCE.encode_named(occurrence))
        if conn.changes() == 0:
            raise NotFound("event occurrence", occurrence.id)


def delete_occurrence(db: Executor, occurrence_id: str) -> bool:
    """Delete one tracked occurrence; return whether it existed."""
    with db.writer() as conn:
        conn.execute("DELETE FROM event_occurrences WHERE id = ?", (occurrence_id,))
        return conn.changes() > 0


def delete_event_occurrences(db: Executor, event_id: str) -> int:
    """Delete every tracked occurrence of an event (the event stays); return how many."""
    with db.writer() as conn:
        conn.execute("DELETE FROM event_occurrences WHERE event_id = ?", (event_id,))
        return int(conn.changes())
