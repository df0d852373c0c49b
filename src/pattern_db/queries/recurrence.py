"""RRULE recurrence of calendar events: validation and expansion near a window. Pure code, no I/O.

Design note. dateutil generates a rule's instances from its DTSTART onwards, one period after
another, so asking a minutely series that started a year ago for tomorrow's instances walks
half a million of them. Each RRULE line is therefore re-anchored before expansion: its DTSTART
is moved forward by a whole number of its periods (INTERVAL x FREQ, in the rule's own wall-clock
time) to just before the window. Every default a rule takes from its DTSTART (time of day,
weekday, day of month, month) and every period boundary (weeks from WKST, INTERVAL parity) is
unchanged by such a move, so the re-anchored rule yields exactly the original instances from its
new start on; instances before the new start are before the window. Absolute parts (UNTIL,
RDATE, EXDATE) are untouched. A COUNT without BY* parts becomes the UNTIL of its last instance;
what cannot be re-anchored exactly (COUNT with BY* parts, a monthly rule from a day after the
28th, a yearly one from February 29, EXRULE) is expanded from its start, COUNT-bounded rules
once per rule and cached.

A rule without its own DTSTART recurs from the event's `starts_at` in UTC (dateutil drops
microseconds from DTSTART, so the fraction is added back); a rule whose text starts with
`DTSTART;TZID=Zone:...` recurs in that zone's wall-clock time, and that DTSTART must be the
event's `starts_at`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrule, rruleset, rrulestr
from dateutil.tz import gettz

from pattern_db import timeutil
from pattern_db.errors import InvalidData
from pattern_db.models.event import Event
from pattern_db.timeutil import to_utc

__all__ = ["CompiledRule", "compile_rule", "expand_recurrence", "instants_from", "validate_rrule"]

_TZID = re.compile(r"TZID=([^;:]+)", re.IGNORECASE)
_ZONE_HINT = (
    "; date-times in a rule must all be zoned or all be UTC: without a DTSTART line write them"
    " in UTC (with Z), with a DTSTART;TZID line give them the same TZID or a Z"
)
_NO_TIME = timedelta(0)
_ONE_DAY = timedelta(days=1)
# Fixed-length periods, in the rule's wall-clock time.
_STEPS = {
    "SECONDLY": timedelta(seconds=1),
    "MINUTELY": timedelta(minutes=1),
    "HOURLY": timedelta(hours=1),
    "DAILY": timedelta(days=1),
    "WEEKLY": timedelta(weeks=1),
}
_MONTHS = {"MONTHLY": 1, "YEARLY": 12}
# Expansions from the start of a COUNT-bounded rule kept per rule (at most this many instants).
_CACHED_INSTANTS = 10_000
# Converting a UTC window start to wall-clock time can be off by a zone's offset change.
_WALL_CLOCK_SLACK = timedelta(days=2)


@dataclass(frozen=True)
class CompiledRule:
    """A parsed RRULE text: its lines, the DTSTART dateutil uses, the sub-second shift."""

    text: str
    dtstart: datetime  # naive (UTC by convention) or aware in the rule's zone
    shift: timedelta  # microseconds dateutil drops from a UTC start, added back to instants
    rules: tuple[tuple[str, rrule], ...]  # each RRULE line's value and its parsed rule
    rest: str | None  # the other lines (RDATE, EXDATE, ...), with DTSTART, or None
    has_exrule: bool
    own_dtstart: bool  # the text has a DTSTART line (else it recurs from starts_at in UTC)

    def parse(self, text: str) -> rruleset:
        """Return a rule set of (some of) this rule's lines, read as the whole rule is."""
        if self.own_dtstart:
            return rrulestr(text, forceset=True)
        return rrulestr(text, dtstart=self.dtstart, forceset=True, ignoretz=True)

    def full_set(self) -> rruleset:
        """Return every instance from the start, as dateutil reads the whole text."""
        return self.parse(self.text)


def compile_rule(rule_text: str, starts_at: datetime, *, peek: bool = False) -> CompiledRule:
    """Return an RRULE text parsed for expansion from `starts_at`.

    `peek` also computes the first instance, since some mistakes (a naive EXDATE next to a TZID
    DTSTART) only show when iterating.

    Raises:
        InvalidData: the text is not a valid RRULE, or its DTSTART is not `starts_at`.
    """
    return _compile(rule_text, to_utc(starts_at), peek)


@lru_cache(maxsize=512)
def _compile(rule_text: str, start: datetime, peek: bool) -> CompiledRule:
    # A line without a property name is the RRULE itself (`FREQ=WEEKLY;COUNT=3`), as dateutil
    # reads it.
    lines = [
        line if ":" in line else f"RRULE:{line}"
        for line in (raw.strip() for raw in rule_text.strip().splitlines())
        if line
    ]
    if not lines:
        raise InvalidData("empty RRULE; use None for an event that does not recur")
    text = "\n".join(lines)
    dtstart_lines = [line for line in lines if line.upper().startswith("DTSTART")]
    for zone in _TZID.findall(text):
        # dateutil reads an unknown TZID as a naive (here: UTC) time without a word.
        if gettz(zone) is None:
            raise InvalidData(f"unknown time zone {zone!r} in RRULE; use an IANA name")
    try:
        if dtstart_lines:
            # A yearly rule with COUNT=1 yields exactly its DTSTART: dateutil's own reading of
            # the line, TZID included.
            dtstart = rrulestr(f"{dtstart_lines[0]}\nRRULE:FREQ=YEARLY;COUNT=1")[0]
            anchor = _as_utc(dtstart)
            shift = _NO_TIME
            options: dict[str, Any] = {}
        else:
            # ignoretz: date-times in the rule (UNTIL, EXDATE) are UTC, with or without a
            # trailing Z, as the event's own instants are.
            dtstart = start.replace(tzinfo=None, microsecond=0)
            anchor = start
            shift = timedelta(microseconds=start.microsecond)
            options = {"ignoretz": True}
        rules = tuple(
            (line, rrulestr(line.split(":", 1)[1], dtstart=dtstart, **options))
            for line in lines
            if line.upper().startswith("RRULE")
        )
        others = [line for line in lines if not line.upper().startswith(("RRULE", "DTSTART"))]
        compiled = CompiledRule(
            text=text,
            dtstart=dtstart,
            shift=shift,
            rules=rules,
            rest="\n".join([*dtstart_lines[:1], *others]) if others else None,
            has_exrule=any(line.upper().startswith("EXRULE") for line in others),
            own_dtstart=bool(dtstart_lines),
        )
        if compiled.rest is not None:
            compiled.parse(compiled.rest)
        if peek:
            next(iter(compiled.full_set()), None)
    except (ValueError, TypeError, OverflowError, KeyError, IndexError) as exc:
        hint = _ZONE_HINT if isinstance(exc, TypeError) else ""
        raise InvalidData(f"invalid RRULE {rule_text!r}: {exc}{hint}") from exc
    if anchor != start:
        raise InvalidData(
            f"the RRULE's DTSTART is {timeutil.format_ts(anchor)} but the event starts at "
            f"{timeutil.format_ts(start)}; make them the same instant"
        )
    return compiled


def validate_rrule(rule_text: str, starts_at: datetime) -> None:
    """Check that an RRULE text can be expanded from `starts_at`; return None when it can.

    Raises:
        InvalidData: the rule is malformed (the message quotes dateutil's reason), or it carries
            a DTSTART that is not `starts_at`.
    """
    compile_rule(rule_text, starts_at, peek=True)


def expand_recurrence(
    event: Event, start: datetime, end: datetime
) -> list[tuple[datetime, datetime | None]]:
    """Return `(starts_at, ends_at)` of every instance of `event` in `[start, end]`, ascending.

    An instance is in the window when it starts in it or is still running at `start` (an all-day
    event without `ends_at` runs for one day). The event's duration (`ends_at - starts_at`) is
    carried to every instance; without `ends_at` the second element is None. An event without an
    rrule yields itself when it falls in the window. `start`/`end` may be in any zone; results
    are aware UTC. The cost grows with the instances near the window, not with the series' age.

    Example: a weekly rule with COUNT=3 from 2026-03-05T14:00Z, window March 2026 ->
    `[(03-05 14:00Z, None), (03-12 14:00Z, None), (03-19 14:00Z, None)]`.

    Raises:
        InvalidData: a bound or the event's start is naive, or the event's RRULE is invalid.
    """
    low, high = to_utc(start), to_utc(end)
    if high < low:
        return []
    starts_at = to_utc(event.starts_at)
    duration = None if event.ends_at is None else to_utc(event.ends_at) - starts_at
    span = duration if duration is not None else (_ONE_DAY if event.all_day else _NO_TIME)
    if event.rrule is None or not event.rrule.strip():
        instants: Iterator[datetime] = iter((starts_at,))
    else:
        try:
            compiled = compile_rule(event.rrule, starts_at)
            instants = instants_from(compiled, low - span)
        except InvalidData as exc:
            raise InvalidData(f"event {event.id}: {exc}") from exc
    found: list[tuple[datetime, datetime | None]] = []
    try:
        for instant in instants:
            if instant > high:
                break
            if instant >= low or instant + span > low:
                found.append((instant, None if duration is None else instant + duration))
    except InvalidData as exc:
        raise InvalidData(f"event {event.id}: {exc}") from exc
    return found


def instants_from(compiled: CompiledRule, low: datetime) -> Iterator[datetime]:
    """Yield every instance from just before `low` on, ascending, as aware UTC datetimes.

    Raises:
        InvalidData: dateutil cannot expand the rule (the message quotes its reason).
    """
    try:
        for instant in _near(compiled, to_utc(low)):
            yield _as_utc(instant) + compiled.shift
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidData(f"cannot expand RRULE {compiled.text!r}: {exc}") from exc


def _near(compiled: CompiledRule, low: datetime) -> Iterator[datetime]:
    if compiled.has_exrule:
        yield from compiled.full_set()
        return
    anchored = [_re_anchor(value, rule, compiled.dtstart, low) for value, rule in compiled.rules]
    if any(r is None for r in anchored):
        yield from _cached(compiled) or compiled.full_set()
        return
    result = rruleset() if compiled.rest is None else compiled.parse(compiled.rest)
    for r in anchored:
        assert r is not None
        result.rrule(r)
    yield from result


def _re_anchor(value: str, rule: rrule, dtstart: datetime, low: datetime) -> rrule | None:
    """Return `rule` started by whole periods later, just before `low`; None when not exact."""
    parts = dict(p.split("=", 1) for p in value.split(":", 1)[1].upper().split(";") if "=" in p)
    freq = parts.get("FREQ", "")
    interval = int(parts.get("INTERVAL", "1"))
    has_by = any(key.startswith("BY") for key in parts)
    target = _wall_clock(low, dtstart) - _WALL_CLOCK_SLACK
    if freq in _STEPS:
        step = _STEPS[freq] * interval
        periods = math.floor((target - dtstart.replace(tzinfo=None)) / step)
        if "COUNT" in parts:
            if has_by:
                return None
            count = int(parts["COUNT"])
            last = dtstart + step * (count - 1)
            if periods <= 0:
                return rule
            return rule.replace(
                dtstart=dtstart + step * min(periods, count), count=None, until=last
            )
        return rule if periods <= 0 else rule.replace(dtstart=dtstart + step * periods)
    if freq in _MONTHS and "COUNT" not in parts:
        months = _MONTHS[freq] * interval
        if dtstart.day > 28:
            return None  # the day of month does not exist in every month
        naive = dtstart.replace(tzinfo=None)
        elapsed = (target.year - naive.year) * 12 + (target.month - naive.month) - 1
        periods = elapsed // months
        if periods <= 0:
            return rule
        return rule.replace(dtstart=dtstart + relativedelta(months=months * periods))
    if freq in _MONTHS and has_by:
        return None
    return rule  # COUNT-bounded monthly/yearly: few instances, expanded from the start


@lru_cache(maxsize=256)
def _expanded(compiled: CompiledRule) -> tuple[datetime, ...] | None:
    found = []
    for instant in compiled.full_set():
        found.append(instant)
        if len(found) > _CACHED_INSTANTS:
            return None
    return tuple(found)


def _cached(compiled: CompiledRule) -> tuple[datetime, ...] | None:
    """Return every instance of a COUNT-bounded rule, computed once per rule (None if huge)."""
    return _expanded(compiled) if "COUNT=" in compiled.text.upper() else None


def _wall_clock(instant: datetime, dtstart: datetime) -> datetime:
    """Return a UTC instant as naive wall-clock time of the rule's zone."""
    if dtstart.tzinfo is None:
        return instant.astimezone(UTC).replace(tzinfo=None)
    return instant.astimezone(dtstart.tzinfo).replace(tzinfo=None)


def _as_utc(value: datetime) -> datetime:
    # A naive date-time from a rule is UTC by our convention; an aware one is converted.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
