"""queries.event: events, RRULE expansion, upcoming events, reminders and occurrences."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pattern_db import ConstellationDb, errors
from pattern_db.models import Agent, Event, EventInstance, EventOccurrence, OccurrenceStatus
from pattern_db.queries import agent as agents
from pattern_db.queries import event as q

MakeAgent = Callable[..., Agent]
T0 = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def _event(event_id: str, starts_at: datetime, **fields: object) -> Event:
    return Event(
        id=event_id,
        title=str(fields.pop("title", event_id)),
        starts_at=starts_at,
        created_at=T0,
        updated_at=T0,
        **fields,  # type: ignore[arg-type]
    )


def _starts(instances: list[EventInstance]) -> list[tuple[str, datetime]]:
    return [(i.event.id, i.starts_at) for i in instances]


# -- CRUD --------------------------------------------------------------------------------------


def test_create_get_writes_every_column(db: ConstellationDb, make_agent: MakeAgent) -> None:
    make_agent("a1")
    event = _event(
        "e1",
        utc(2026, 3, 5, 14, 0, 0, 123456),
        agent_id="a1",
        description="weekly planning",
        ends_at=utc(2026, 3, 5, 15, 0, 0, 123456),
        rrule="FREQ=WEEKLY;COUNT=3",
        reminder_minutes=15,
        all_day=False,
        location="kitchen table",
        external_id="ical-123",
        external_source="google",
    )
    q.create_event(db, event)
    assert q.get_event(db, "e1") == event
    assert q.get_event(db, "missing") is None
    all_day = _event("e2", utc(2026, 3, 10), all_day=True, location="home")
    q.create_event(db, all_day)
    assert q.get_event(db, "e2") == all_day


def test_create_rejects_bad_input(db: ConstellationDb, make_agent: MakeAgent) -> None:
    q.create_event(db, _event("e1", utc(2026, 3, 5, 14)))
    with pytest.raises(errors.AlreadyExists, match="event already exists: e1"):
        q.create_event(db, _event("e1", utc(2026, 3, 5, 14)))
    with pytest.raises(errors.InvalidData, match="invalid 'BYDAY': XX"):
        q.create_event(db, _event("e2", utc(2026, 3, 5, 14), rrule="FREQ=WEEKLY;BYDAY=XX"))
    with pytest.raises(errors.InvalidData, match="empty RRULE"):
        q.create_event(db, _event("e2", utc(2026, 3, 5, 14), rrule="  "))
    with pytest.raises(errors.InvalidData, match="the RRULE's DTSTART is 2026-03-05T14:00"):
        q.create_event(
            db,
            _event(
                "e2",
                utc(2026, 3, 5, 15),
                rrule="DTSTART;TZID=America/New_York:20260305T090000\nRRULE:FREQ=DAILY",
            ),
        )
    with pytest.raises(errors.ConstraintViolation):
        q.create_event(db, _event("e2", utc(2026, 3, 5, 14), ends_at=utc(2026, 3, 5, 13)))
    with pytest.raises(errors.ConstraintViolation):
        q.create_event(db, _event("e2", utc(2026, 3, 5, 14), agent_id="ghost"))
    with pytest.raises(errors.InvalidData, match="naive datetime"):
        q.create_event(db, _event("e2", datetime(2026, 3, 5, 14)))
    assert [e.id for e in q.list_events(db)] == ["e1"]


def test_validate_rrule() -> None:
    q.validate_rrule("FREQ=DAILY;INTERVAL=2", utc(2026, 1, 1))
    q.validate_rrule("RRULE:FREQ=WEEKLY;UNTIL=20260301T000000Z\nEXDATE:20260108T000000Z", T0)
    with pytest.raises(errors.InvalidData, match="invalid RRULE 'FREQ=SOMETIMES'"):
        q.validate_rrule("FREQ=SOMETIMES", T0)
    with pytest.raises(errors.InvalidData, match="unknown time zone 'Mars/Base'"):
        q.validate_rrule("DTSTART;TZID=Mars/Base:20260305T090000\nRRULE:FREQ=DAILY", T0)
    # A naive EXDATE next to a zoned DTSTART only fails when iterating; it is still caught.
    with pytest.raises(errors.InvalidData, match="invalid RRULE"):
        q.validate_rrule(
            "DTSTART;TZID=America/New_York:20260305T090000\nRRULE:FREQ=DAILY\n"
            "EXDATE:20260306T090000",
            utc(2026, 3, 5, 14),
        )


def test_list_events_scopes(db: ConstellationDb, make_agent: MakeAgent) -> None:
    make_agent("a1")
    make_agent("a2")
    q.create_event(db, _event("c2", utc(2026, 3, 2)))
    q.create_event(db, _event("c1", utc(2026, 3, 1)))
    q.create_event(db, _event("x1", utc(2026, 3, 3), agent_id="a1"))
    q.create_event(db, _event("x0", utc(2026, 2, 1), agent_id="a1"))
    q.create_event(db, _event("y1", utc(2026, 3, 4), agent_id="a2"))
    # None keeps the reference's meaning: constellation-level events only.
    assert [e.id for e in q.list_events(db)] == ["c1", "c2"]
    assert [e.id for e in q.list_events(db, None)] == ["c1", "c2"]
    assert [e.id for e in q.list_events(db, "a1")] == ["x0", "x1"]
    assert [e.id for e in q.list_events(db, all_agents=True)] == ["x0", "c1", "c2", "x1", "y1"]
    with pytest.raises(errors.InvalidData, match="not both"):
        q.list_events(db, "a1", all_agents=True)


def test_events_in_range_is_inclusive_and_not_expanded(db: ConstellationDb) -> None:
    q.create_event(db, _event("before", utc(2026, 3, 1, 8, 59, 59, 999999)))
    q.create_event(db, _event("start", utc(2026, 3, 1, 9)))
    q.create_event(db, _event("end", utc(2026, 3, 1, 17)))
    q.create_event(db, _event("after", utc(2026, 3, 1, 17, 0, 0, 1)))
    q.create_event(db, _event("series", utc(2026, 2, 1, 12), rrule="FREQ=DAILY"))
    found = q.get_events_in_range(db, utc(2026, 3, 1, 9), utc(2026, 3, 1, 17))
    assert [e.id for e in found] == ["start", "end"]


def test_update_event_writes_every_column(db: ConstellationDb, make_agent: MakeAgent) -> None:
    make_agent("a1")
    event = _event("e1", utc(2026, 3, 5, 14))
    q.create_event(db, event)
    changed = msgspec.structs.replace(
        event,
        agent_id="a1",
        title="moved",
        description="now with details",
        starts_at=utc(2026, 3, 6, 10),
        ends_at=utc(2026, 3, 6, 11),
        rrule="FREQ=MONTHLY;COUNT=2",
        reminder_minutes=5,
        all_day=True,
        location="library",
        external_id="x-9",
        external_source="caldav",
        created_at=utc(2000, 1, 1),
    )
    before = datetime.now(UTC)
    q.update_event(db, changed)
    stored = q.get_event(db, "e1")
    assert stored is not None
    assert before <= stored.updated_at <= datetime.now(UTC)
    assert stored == msgspec.structs.replace(changed, created_at=T0, updated_at=stored.updated_at)
    with pytest.raises(errors.NotFound, match="event not found: nope"):
        q.update_event(db, _event("nope", utc(2026, 3, 5)))
    with pytest.raises(errors.InvalidData):
        q.update_event(db, msgspec.structs.replace(changed, rrule="FREQ=NEVER"))
    with pytest.raises(errors.ConstraintViolation):
        q.update_event(db, msgspec.structs.replace(changed, agent_id="ghost"))


def test_delete_event_cascades_occurrences(db: ConstellationDb) -> None:
    q.create_event(db, _event("e1", utc(2026, 3, 5, 14), rrule="FREQ=DAILY"))
    q.create_occurrence(db, EventOccurrence(id="o1", event_id="e1", starts_at=utc(2026, 3, 5, 14)))
    q.create_occurrence(db, EventOccurrence(id="o2", event_id="e1", starts_at=utc(2026, 3, 6, 14)))
    assert q.delete_event(db, "e1") is True
    assert q.delete_event(db, "e1") is False
    assert q.get_occurrence(db, "o1") is None
    assert q.get_event_occurrences(db, "e1") == []


# -- occurrences -------------------------------------------------------------------------------


def test_occurrences_crud(db: ConstellationDb) -> None:
    q.create_event(db, _event("e1", utc(2026, 3, 5, 14), rrule="FREQ=DAILY"))
    q.create_event(db, _event("e2", utc(2026, 3, 5, 16)))
    later = EventOccurrence(
        id="o2", event_id="e1", starts_at=utc(2026, 3, 7, 14), notes="bring notes", created_at=T0
    )
    earlier = EventOccurrence(
        id="o1",
        event_id="e1",
        starts_at=utc(2026, 3, 6, 14),
        ends_at=utc(2026, 3, 6, 15),
        created_at=T0,
    )
    q.create_occurrence(db, later)
    q.create_occurrence(db, earlier)
    q.create_occurrence(db, EventOccurrence(id="o3", event_id="e2", starts_at=utc(2026, 3, 5, 16)))
    assert q.get_occurrence(db, "o2") == later
    assert q.get_occurrence(db, "zz") is None
    assert q.get_event_occurrences(db, "e1") == [earlier, later]
    with pytest.raises(errors.AlreadyExists, match="event occurrence already exists: o1"):
        q.create_occurrence(db, earlier)
    with pytest.raises(errors.ConstraintViolation):
        q.create_occurrence(db, EventOccurrence(event_id="ghost", starts_at=T0))

    q.update_occurrence_status(db, "o1", OccurrenceStatus.SKIPPED)
    skipped = q.get_occurrence(db, "o1")
    assert skipped is not None
    assert skipped.status is OccurrenceStatus.SKIPPED
    with pytest.raises(errors.NotFound, match="event occurrence not found: zz"):
        q.update_occurrence_status(db, "zz", OccurrenceStatus.ACTIVE)
    with pytest.raises(errors.InvalidData, match="unknown occurrence status 'vanished'"):
        q.update_occurrence_status(db, "o1", "vanished")

    edited = msgspec.structs.replace(
        later, status=OccurrenceStatus.SNOOZED, notes=None, ends_at=utc(2026, 3, 7, 15)
    )
    q.update_occurrence(db, edited)
    assert q.get_occurrence(db, "o2") == edited
    with pytest.raises(errors.NotFound):
        q.update_occurrence(db, EventOccurrence(id="zz", event_id="e1", starts_at=T0))

    assert q.delete_occurrence(db, "o2") is True
    assert q.delete_occurrence(db, "o2") is False
    assert q.delete_event_occurrences(db, "e1") == 1
    assert q.delete_event_occurrences(db, "e1") == 0
    assert q.get_event(db, "e1") is not None
    assert [o.id for o in q.get_event_occurrences(db, "e2")] == ["o3"]


# -- RRULE expansion ---------------------------------------------------------------------------


def test_expand_weekly_count_across_us_dst_change() -> None:
    # 09:00 EST on Thursday 5 March; US clocks go forward on Sunday 8 March 2026. The rule recurs
    # in UTC, so the instants stay at 14:00Z (10:00 EDT locally after the change).
    event = _event("e", utc(2026, 3, 5, 14), rrule="FREQ=WEEKLY;COUNT=3")
    window_start = datetime(2026, 3, 1, tzinfo=NEW_YORK)
    window_end = datetime(2026, 3, 31, 23, 59, tzinfo=NEW_YORK)
    assert q.expand_recurrence(event, window_start, window_end) == [
        (utc(2026, 3, 5, 14), None),
        (utc(2026, 3, 12, 14), None),
        (utc(2026, 3, 19, 14), None),
    ]
    # A window after the last counted instance is empty; one inside it is cut to the window.
    assert q.expand_recurrence(event, utc(2026, 3, 20), utc(2026, 6, 1)) == []
    assert q.expand_recurrence(event, utc(2026, 3, 12, 14), utc(2026, 3, 12, 14)) == [
        (utc(2026, 3, 12, 14), None)
    ]


def test_expand_weekly_until_across_eu_and_us_dst_end() -> None:
    # Europe/London falls back on 25 October 2026, the US on 1 November; UNTIL is inclusive.
    event = _event(
        "e",
        utc(2026, 10, 20, 8, 30),
        ends_at=utc(2026, 10, 20, 9, 15),
        rrule="RRULE:FREQ=WEEKLY;UNTIL=20261110T083000Z",
    )
    expected = [
        (utc(2026, 10, 20, 8, 30), utc(2026, 10, 20, 9, 15)),
        (utc(2026, 10, 27, 8, 30), utc(2026, 10, 27, 9, 15)),
        (utc(2026, 11, 3, 8, 30), utc(2026, 11, 3, 9, 15)),
        (utc(2026, 11, 10, 8, 30), utc(2026, 11, 10, 9, 15)),
    ]
    window = (datetime(2026, 10, 1, tzinfo=LONDON), datetime(2026, 12, 31, tzinfo=LONDON))
    assert q.expand_recurrence(event, *window) == expected
    # An UNTIL written without Z is read as UTC, like every instant of the event.
    naive_until = msgspec.structs.replace(event, rrule="FREQ=WEEKLY;UNTIL=20261110T083000")
    assert q.expand_recurrence(naive_until, *window) == expected


def test_expand_rule_anchored_in_a_zone_follows_its_wall_clock() -> None:
    # A DTSTART with a TZID recurs at 09:00 New York time: 14:00Z before the change, 13:00Z after.
    event = _event(
        "e",
        utc(2026, 3, 5, 14),
        rrule="DTSTART;TZID=America/New_York:20260305T090000\nRRULE:FREQ=WEEKLY;COUNT=3",
    )
    assert q.expand_recurrence(event, utc(2026, 3, 1), utc(2026, 4, 1)) == [
        (utc(2026, 3, 5, 14), None),
        (utc(2026, 3, 12, 13), None),
        (utc(2026, 3, 19, 13), None),
    ]


def test_expand_details() -> None:
    window = (utc(2026, 3, 1), utc(2026, 3, 31))
    # Microseconds of starts_at are kept on every instance (dateutil drops them).
    precise = _event("p", utc(2026, 3, 5, 14, 0, 0, 250), rrule="FREQ=DAILY;COUNT=2")
    assert q.expand_recurrence(precise, *window) == [
        (utc(2026, 3, 5, 14, 0, 0, 250), None),
        (utc(2026, 3, 6, 14, 0, 0, 250), None),
    ]
    excluded = _event(
        "x", utc(2026, 3, 5, 14), rrule="RRULE:FREQ=DAILY;COUNT=4\nEXDATE:20260306T140000Z"
    )
    assert [s for s, _ in q.expand_recurrence(excluded, *window)] == [
        utc(2026, 3, 5, 14),
        utc(2026, 3, 7, 14),
        utc(2026, 3, 8, 14),
    ]
    # Without an rrule the event yields itself when it falls in the window.
    single = _event("s", utc(2026, 3, 5, 14), ends_at=utc(2026, 3, 5, 16))
    assert q.expand_recurrence(single, *window) == [(utc(2026, 3, 5, 14), utc(2026, 3, 5, 16))]
    assert q.expand_recurrence(single, utc(2026, 4, 1), utc(2026, 5, 1)) == []
    # ...or is still running at the window's start.
    assert q.expand_recurrence(single, utc(2026, 3, 5, 15), utc(2026, 3, 5, 18)) == [
        (utc(2026, 3, 5, 14), utc(2026, 3, 5, 16))
    ]
    assert q.expand_recurrence(single, utc(2026, 3, 5, 16), utc(2026, 3, 5, 18)) == []
    # An end before the start is an empty window.
    assert q.expand_recurrence(single, utc(2026, 3, 31), utc(2026, 3, 1)) == []
    with pytest.raises(errors.InvalidData, match="naive datetime"):
        q.expand_recurrence(single, datetime(2026, 3, 1), utc(2026, 3, 31))


def test_expand_all_day_events() -> None:
    day = _event("d", utc(2026, 3, 10), all_day=True)
    # An all-day event without ends_at covers its whole day: a working-hours window sees it.
    assert q.expand_recurrence(day, utc(2026, 3, 10, 9), utc(2026, 3, 10, 17)) == [
        (utc(2026, 3, 10), None)
    ]
    assert q.expand_recurrence(day, utc(2026, 3, 11), utc(2026, 3, 12)) == []
    weekly = _event("w", utc(2026, 3, 10), all_day=True, rrule="FREQ=WEEKLY;BYDAY=TU;COUNT=3")
    assert q.expand_recurrence(weekly, utc(2026, 3, 17, 12), utc(2026, 3, 31)) == [
        (utc(2026, 3, 17), None),
        (utc(2026, 3, 24), None),
    ]
    trip = _event("t", utc(2026, 3, 10), ends_at=utc(2026, 3, 13), all_day=True)
    assert q.expand_recurrence(trip, utc(2026, 3, 12), utc(2026, 3, 12, 1)) == [
        (utc(2026, 3, 10), utc(2026, 3, 13))
    ]


# -- expanded views ----------------------------------------------------------------------------


def test_occurrences_between(db: ConstellationDb, make_agent: MakeAgent) -> None:
    make_agent("a1")
    q.create_event(db, _event("weekly", utc(2026, 3, 5, 14), rrule="FREQ=WEEKLY;COUNT=3"))
    q.create_event(db, _event("mine", utc(2026, 3, 12, 9), agent_id="a1"))
    q.create_event(db, _event("running", utc(2026, 3, 9, 22), ends_at=utc(2026, 3, 10, 2)))
    q.create_event(db, _event("allday", utc(2026, 3, 9, 12), all_day=True))
    q.create_event(db, _event("outside", utc(2026, 4, 1)))
    q.create_occurrence(
        db,
        EventOccurrence(
            id="o1",
            event_id="weekly",
            starts_at=utc(2026, 3, 12, 14),
            status=OccurrenceStatus.CANCELLED,
        ),
    )
    found = q.get_occurrences_between(db, utc(2026, 3, 10), utc(2026, 3, 31))
    assert _starts(found) == [
        ("allday", utc(2026, 3, 9, 12)),
        ("running", utc(2026, 3, 9, 22)),
        ("mine", utc(2026, 3, 12, 9)),
        ("weekly", utc(2026, 3, 12, 14)),
        ("weekly", utc(2026, 3, 19, 14)),
    ]
    assert found[1].ends_at == utc(2026, 3, 10, 2)
    occurrence = found[3].occurrence
    assert occurrence is not None
    assert occurrence.id == "o1"
    assert found[4].occurrence is None
    mine = q.get_occurrences_between(db, utc(2026, 3, 10), utc(2026, 3, 31), agent_id="a1")
    assert _starts(mine) == [("mine", utc(2026, 3, 12, 9))]
    assert q.get_occurrences_between(db, utc(2027, 1, 1), utc(2027, 2, 1)) == []


def test_upcoming_events_expand_recurrence(db: ConstellationDb) -> None:
    now = utc(2026, 3, 11)
    q.create_event(db, _event("weekly", utc(2026, 3, 5, 14), rrule="FREQ=WEEKLY"))
    q.create_event(db, _event("daily", utc(2026, 3, 1, 8), rrule="FREQ=DAILY"))
    q.create_event(db, _event("single", utc(2026, 3, 12, 9)))
    q.create_event(db, _event("at_end", utc(2026, 3, 13)))
    q.create_event(db, _event("past", utc(2026, 3, 10, 23, 59)))
    q.create_event(db, _event("too_late", utc(2026, 3, 13, 0, 0, 0, 1)))
    q.create_occurrence(
        db,
        EventOccurrence(
            event_id="daily", starts_at=utc(2026, 3, 12, 8), status=OccurrenceStatus.SKIPPED
        ),
    )
    upcoming = q.get_upcoming_events(db, 48, now=now)
    assert _starts(upcoming) == [
        ("daily", utc(2026, 3, 11, 8)),
        ("single", utc(2026, 3, 12, 9)),
        ("weekly", utc(2026, 3, 12, 14)),
        ("at_end", utc(2026, 3, 13)),
    ]
    assert q.get_upcoming_events(db, 0, now=utc(2026, 3, 12, 9)) == [
        EventInstance(event=upcoming[1].event, starts_at=utc(2026, 3, 12, 9))
    ]


def test_reminders_are_due_exactly_at_the_minute(db: ConstellationDb) -> None:
    q.create_event(db, _event("e", utc(2026, 3, 5, 10, 15), reminder_minutes=15))
    # Same date, later: the reference's date-only comparison reported this one as due too.
    q.create_event(db, _event("evening", utc(2026, 3, 5, 23), reminder_minutes=15))
    q.create_event(db, _event("no_reminder", utc(2026, 3, 5, 10, 10)))
    due = q.get_events_needing_reminders
    assert due(db, now=utc(2026, 3, 5, 9, 59, 59, 999999)) == []
    at_minute = due(db, now=utc(2026, 3, 5, 10))
    assert _starts(at_minute) == [("e", utc(2026, 3, 5, 10, 15))]
    assert at_minute[0].remind_at == utc(2026, 3, 5, 10)
    assert _starts(due(db, now=utc(2026, 3, 5, 10, 14, 59, 999999))) == [
        ("e", utc(2026, 3, 5, 10, 15))
    ]
    assert due(db, now=utc(2026, 3, 5, 10, 15)) == []


def test_reminders_for_recurring_events(db: ConstellationDb) -> None:
    q.create_event(
        db, _event("weekly", utc(2026, 3, 5, 14), rrule="FREQ=WEEKLY", reminder_minutes=30)
    )
    q.create_event(
        db, _event("daily", utc(2026, 3, 1, 13, 45), rrule="FREQ=DAILY", reminder_minutes=60)
    )
    now = utc(2026, 3, 12, 13, 30)
    assert _starts(q.get_events_needing_reminders(db, now=now)) == [
        ("daily", utc(2026, 3, 12, 13, 45)),
        ("weekly", utc(2026, 3, 12, 14)),
    ]
    q.create_occurrence(
        db,
        EventOccurrence(
            event_id="weekly", starts_at=utc(2026, 3, 12, 14), status=OccurrenceStatus.CANCELLED
        ),
    )
    assert _starts(q.get_events_needing_reminders(db, now=now)) == [
        ("daily", utc(2026, 3, 12, 13, 45))
    ]
    with pytest.raises(errors.InvalidData, match="naive datetime"):
        q.get_events_needing_reminders(db, now=datetime(2026, 3, 12))


def test_defaults_use_the_current_time(db: ConstellationDb) -> None:
    soon = datetime.now(UTC) + timedelta(minutes=10)
    q.create_event(db, _event("soon", soon, reminder_minutes=30))
    assert _starts(q.get_upcoming_events(db, 1)) == [("soon", soon)]
    assert _starts(q.get_events_needing_reminders(db)) == [("soon", soon)]


def test_deleting_an_agent_keeps_its_events(db: ConstellationDb, make_agent: MakeAgent) -> None:
    make_agent("a1")
    q.create_event(db, _event("e1", utc(2026, 3, 5), agent_id="a1"))
    assert agents.delete_agent(db, "a1") is True
    event = q.get_event(db, "e1")
    assert event is not None
    assert event.agent_id is None
    assert [e.id for e in q.list_events(db)] == ["e1"]


# -- round trips -------------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
_when = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.just(UTC)
)
_rules = st.sampled_from(
    [None, "FREQ=DAILY", "FREQ=WEEKLY;COUNT=3", "RRULE:FREQ=MONTHLY;BYMONTHDAY=1;INTERVAL=2"]
)


@st.composite
def _events(draw: st.DrawFn) -> Event:
    starts_at = draw(_when)
    duration = draw(st.none() | st.timedeltas(timedelta(0), timedelta(days=3)))
    return Event(
        id=draw(_text.filter(bool)),
        agent_id=draw(st.none() | st.just("a1")),
        title=draw(_text.filter(lambda t: bool(t.strip()))),
        description=draw(st.none() | _text),
        starts_at=starts_at,
        ends_at=None if duration is None else starts_at + duration,
        rrule=draw(_rules),
        reminder_minutes=draw(st.none() | st.integers(0, 2**62)),
        all_day=draw(st.booleans()),
        location=draw(st.none() | _text),
        external_id=draw(st.none() | _text),
        external_source=draw(st.none() | _text),
        created_at=draw(_when),
        updated_at=draw(_when),
    )


_occurrences = st.builds(
    EventOccurrence,
    id=_text.filter(bool),
    event_id=st.just("parent"),
    starts_at=_when,
    ends_at=st.none() | _when,
    status=st.sampled_from(OccurrenceStatus),
    notes=st.none() | _text,
    created_at=_when,
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(event=_events(), occurrence=_occurrences)
def test_round_trips(db: ConstellationDb, event: Event, occurrence: EventOccurrence) -> None:
    with db.writer() as conn:
        conn.execute("DELETE FROM events")
        conn.execute("DELETE FROM agents")
    agents.create_agent(
        db, Agent(id="a1", name="a1", model_provider="p", model_name="m", system_prompt="s")
    )
    q.create_event(db, _event("parent", T0))
    if event.id != "parent":
        q.create_event(db, event)
        assert q.get_event(db, event.id) == event
    q.create_occurrence(db, occurrence)
    assert q.get_occurrence(db, occurrence.id) == occurrence
