"""RRULE expansion near the window: exactly the instances of a walk from the start, found fast."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pattern_db import ConstellationDb
from pattern_db.models import Event
from pattern_db.queries import event as q
from pattern_db.queries.recurrence import compile_rule, instants_from


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def _walked(rule: str, start: datetime, low: datetime, high: datetime) -> list[datetime]:
    """The reference: every instance from the series' start, kept when in [low, high]."""
    compiled = compile_rule(rule, start)
    found = []
    for instant in compiled.full_set():
        aware = instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant
        at = aware.astimezone(UTC) + compiled.shift
        if at > high:
            break
        if at >= low:
            found.append(at)
    return found


def _near(rule: str, start: datetime, low: datetime, high: datetime) -> list[datetime]:
    found = []
    for at in instants_from(compile_rule(rule, start), low):
        if at > high:
            break
        if at >= low:
            found.append(at)
    return found


RULES = [
    "FREQ=SECONDLY;INTERVAL=7",
    "FREQ=MINUTELY;INTERVAL=13",
    "FREQ=MINUTELY;BYSECOND=0,30",
    "FREQ=HOURLY;INTERVAL=5;BYMINUTE=0,20",
    "FREQ=DAILY",
    "FREQ=DAILY;INTERVAL=3;BYHOUR=9,17",
    "FREQ=DAILY;BYDAY=MO,WE,FR",
    "FREQ=WEEKLY;INTERVAL=2",
    "FREQ=WEEKLY;BYDAY=TU,TH;WKST=SU",
    "FREQ=WEEKLY;INTERVAL=3;BYDAY=SA,SU;BYHOUR=10",
    "FREQ=MONTHLY",
    "FREQ=MONTHLY;INTERVAL=2;BYDAY=2TU",
    "FREQ=MONTHLY;BYMONTHDAY=1,15,-1",
    "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
    "FREQ=YEARLY",
    "FREQ=YEARLY;BYMONTH=3,9;BYDAY=1MO",
    "FREQ=DAILY;COUNT=400",
    "FREQ=HOURLY;INTERVAL=2;COUNT=3000",
    "FREQ=DAILY;BYHOUR=8,20;COUNT=500",
    "FREQ=WEEKLY;UNTIL=20290101T000000Z",
    "RRULE:FREQ=DAILY\nEXDATE:20260310T091500Z,20270101T091500Z",
    "RRULE:FREQ=WEEKLY;BYDAY=MO\nRRULE:FREQ=MONTHLY;BYMONTHDAY=13",
]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rule=st.sampled_from(RULES),
    start=st.datetimes(datetime(2024, 1, 1), datetime(2026, 6, 1)).map(
        lambda d: d.replace(tzinfo=UTC)
    ),
    after=st.timedeltas(timedelta(0), timedelta(days=900)),
    width=st.sampled_from([timedelta(minutes=3), timedelta(hours=5), timedelta(days=40)]),
    zoned=st.booleans(),
)
def test_expansion_near_the_window_equals_the_walk_from_the_start(
    rule: str, start: datetime, after: timedelta, width: timedelta, zoned: bool
) -> None:
    if zoned:
        # Wall-clock recurrence across daylight-saving changes.
        start = start.replace(microsecond=0)
        local = start.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris"))
        rule = f"DTSTART;TZID=Europe/Paris:{local:%Y%m%dT%H%M%S}\n" + (
            rule if rule.startswith("RRULE") else f"RRULE:{rule}"
        )
        rule = rule.replace("Z\n", "\n").replace("T091500Z", "T091500")
        if "UNTIL" in rule or "EXDATE" in rule:
            return  # zoned rules take UTC (Z) UNTIL and zoned EXDATEs: covered by examples
    # The reference walks every instance: keep the fine-grained series' walks short.
    if "SECONDLY" in rule:
        after %= timedelta(days=2)
    elif "MINUTELY" in rule:
        after %= timedelta(days=60)
    low = start + after
    high = low + width
    assert _near(rule, start, low, high) == _walked(rule, start, low, high)


def test_expansion_starts_near_the_window() -> None:
    start = utc(1996, 1, 1, 0, 0, 0)
    compiled = compile_rule("FREQ=SECONDLY", start)
    low = utc(2026, 12, 2, 12, 0, 0)
    first = next(iter(instants_from(compiled, low)))
    # Thirty years of seconds are skipped, not walked.
    assert low - timedelta(days=3) <= first <= low


def test_a_secondly_series_from_1996_answers_upcoming_and_reminders(db: ConstellationDb) -> None:
    q.create_event(
        db,
        Event(
            id="tick",
            title="tick",
            starts_at=utc(1996, 1, 1, 0, 0, 0, 250),
            rrule="FREQ=SECONDLY;INTERVAL=20",
            reminder_minutes=1,
        ),
    )
    now = utc(2026, 12, 2, 12, 0, 5)
    upcoming = q.get_upcoming_events(db, 1 / 60, now=now)
    assert [i.starts_at for i in upcoming] == [
        utc(2026, 12, 2, 12, 0, 20, 250),
        utc(2026, 12, 2, 12, 0, 40, 250),
        utc(2026, 12, 2, 12, 1, 0, 250),
    ]
    due = q.get_events_needing_reminders(db, now=now)
    assert [i.starts_at for i in due] == [i.starts_at for i in upcoming]


def test_a_monthly_series_from_the_31st_is_still_exact() -> None:
    start = utc(2020, 1, 31, 9, 0)
    low, high = utc(2026, 1, 1), utc(2026, 12, 31, 23)
    got = _near("FREQ=MONTHLY", start, low, high)
    assert [d.month for d in got] == [1, 3, 5, 7, 8, 10, 12]
    assert got == _walked("FREQ=MONTHLY", start, low, high)


@pytest.mark.parametrize("rule", ["FREQ=DAILY;COUNT=10", "FREQ=MINUTELY;BYSECOND=5;COUNT=7"])
def test_a_count_ends_the_series_wherever_the_window_is(rule: str) -> None:
    start = utc(2026, 1, 1, 8)
    assert _near(rule, start, utc(2027, 1, 1), utc(2028, 1, 1)) == []
    assert _near(rule, start, start, utc(2027, 1, 1)) == _walked(
        rule, start, start, utc(2027, 1, 1)
    )
