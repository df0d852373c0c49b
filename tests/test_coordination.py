"""queries.coordination: activity, summaries, notable events, tasks, handoffs and state."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pattern_db import ConstellationDb, errors
from pattern_db.models import (
    ActivityEvent,
    ActivityEventType,
    Agent,
    AgentSummary,
    ConstellationSummary,
    CoordinationState,
    CoordinationTask,
    EventImportance,
    HandoffNote,
    NotableEvent,
    TaskPriority,
    TaskStatus,
)
from pattern_db.queries import agent as agents
from pattern_db.queries import coordination as q

MakeAgent = Callable[..., Agent]
T0 = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _activity(event_id: str, minutes: float, **fields: object) -> ActivityEvent:
    return ActivityEvent(
        id=event_id,
        timestamp=_at(minutes),
        event_type=fields.pop("event_type", ActivityEventType.SYSTEM),  # type: ignore[arg-type]
        **fields,  # type: ignore[arg-type]
    )


def _raw(db: ConstellationDb, sql: str, *params: object) -> list[tuple[object, ...]]:
    with db.reader() as conn:
        return [tuple(row) for row in conn.execute(sql, params).fetchall()]


# -- activity ----------------------------------------------------------------------------------


def test_activity_event_create_get_and_duplicate(
    db: ConstellationDb, make_agent: MakeAgent
) -> None:
    make_agent("a1")
    event = _activity(
        "act1",
        0,
        agent_id="a1",
        event_type=ActivityEventType.TOOL_USED,
        details={"tool": "search", "args": ["adhd", 1.5]},
        importance=EventImportance.HIGH,
    )
    q.create_activity_event(db, event)
    assert q.get_activity_event(db, "act1") == event
    assert q.get_activity_event(db, "missing") is None
    with pytest.raises(errors.AlreadyExists, match="activity event already exists: act1"):
        q.create_activity_event(db, event)
    with pytest.raises(errors.ConstraintViolation):
        q.create_activity_event(db, _activity("act2", 0, agent_id="ghost"))


def test_recent_activity_newest_first_with_limit(db: ConstellationDb) -> None:
    for i, minutes in enumerate([5, 1, 9, 3]):
        q.create_activity_event(db, _activity(f"act{i}", minutes))
    assert [e.id for e in q.get_recent_activity(db, 10)] == ["act2", "act0", "act3", "act1"]
    assert [e.id for e in q.get_recent_activity(db, 2)] == ["act2", "act0"]


def test_recent_activity_since_is_exact_to_the_microsecond(db: ConstellationDb) -> None:
    q.create_activity_event(db, _activity("early", 0))
    q.create_activity_event(db, _activity("edge", 1))
    q.create_activity_event(db, _activity("late", 2))
    since = _at(1)
    assert [e.id for e in q.get_recent_activity_since(db, since, 10)] == ["late", "edge"]
    just_after = since + timedelta(microseconds=1)
    assert [e.id for e in q.get_recent_activity_since(db, just_after, 10)] == ["late"]
    # The same instant given in another zone selects the same rows.
    eastern = since.astimezone(timezone(timedelta(hours=-5)))
    assert [e.id for e in q.get_recent_activity_since(db, eastern, 10)] == ["late", "edge"]
    assert [e.id for e in q.get_recent_activity_since(db, since, 1)] == ["late"]
    with pytest.raises(errors.InvalidData, match="naive datetime"):
        q.get_recent_activity_since(db, datetime(2026, 3, 4), 10)


def test_activity_by_importance_compares_ranks(db: ConstellationDb) -> None:
    levels = [None, "low", "medium", "high", "critical"]
    for i, level in enumerate(levels):
        q.create_activity_event(db, _activity(f"act_{level}", i, importance=level))
    by = q.get_recent_activity_by_importance
    # The reference's string comparison returned high, low and medium for min=high.
    assert [e.id for e in by(db, 10, EventImportance.HIGH)] == ["act_critical", "act_high"]
    assert [e.id for e in by(db, 10, "critical")] == ["act_critical"]
    assert [e.id for e in by(db, 10, EventImportance.LOW)] == [
        "act_critical",
        "act_high",
        "act_medium",
        "act_low",
    ]
    assert [e.id for e in by(db, 1, EventImportance.MEDIUM)] == ["act_critical"]
    with pytest.raises(
        errors.InvalidData, match="unknown event importance 'urgent'; expected one of"
    ):
        by(db, 10, "urgent")


def test_agent_activity(db: ConstellationDb, make_agent: MakeAgent) -> None:
    make_agent("a1")
    make_agent("a2")
    q.create_activity_event(db, _activity("x1", 0, agent_id="a1"))
    q.create_activity_event(db, _activity("x2", 1, agent_id="a2"))
    q.create_activity_event(db, _activity("x3", 2, agent_id="a1"))
    q.create_activity_event(db, _activity("x4", 3))
    assert [e.id for e in q.get_agent_activity(db, "a1", 10)] == ["x3", "x1"]
    assert [e.id for e in q.get_agent_activity(db, "a1", 1)] == ["x3"]
    assert q.get_agent_activity(db, "nobody", 10) == []


# -- summaries ---------------------------------------------------------------------------------


def test_agent_summaries_upsert_and_order(db: ConstellationDb, make_agent: MakeAgent) -> None:
    make_agent("a1")
    make_agent("a2")
    first = AgentSummary(
        agent_id="a1", summary="v1", messages_covered=3, generated_at=T0, last_active=_at(5)
    )
    q.upsert_agent_summary(db, first)
    assert q.get_agent_summary(db, "a1") == first
    second = AgentSummary(
        agent_id="a1", summary="v2", messages_covered=9, generated_at=_at(1), last_active=_at(1)
    )
    q.upsert_agent_summary(db, second)
    assert q.get_agent_summary(db, "a1") == second
    other = AgentSummary(agent_id="a2", summary="b", generated_at=T0, last_active=_at(3))
    q.upsert_agent_summary(db, other)
    assert [s.agent_id for s in q.get_all_agent_summaries(db)] == ["a2", "a1"]
    assert q.get_agent_summary(db, "missing") is None
    with pytest.raises(errors.ConstraintViolation):
        q.upsert_agent_summary(db, AgentSummary(agent_id="ghost", summary="x"))


def test_constellation_summaries(db: ConstellationDb) -> None:
    assert q.get_latest_constellation_summary(db) is None
    assert q.list_constellation_summaries(db, 5) == []
    summaries = [
        ConstellationSummary(
            id=f"cs{i}",
            period_start=_at(60 * i),
            period_end=_at(60 * i + end),
            summary=f"period {i}",
            key_decisions=["ship it"] if i else None,
            open_threads=[] if i == 2 else None,
            created_at=T0,
        )
        for i, end in [(0, 30), (1, 90), (2, 10)]
    ]
    for summary in summaries:
        q.create_constellation_summary(db, summary)
    # period_end: cs0 at +30, cs1 at +150, cs2 at +130.
    assert q.get_latest_constellation_summary(db) == summaries[1]
    assert [s.id for s in q.list_constellation_summaries(db, 10)] == ["cs1", "cs2", "cs0"]
    assert [s.id for s in q.list_constellation_summaries(db, 2)] == ["cs1", "cs2"]
    assert q.get_constellation_summary(db, "cs2") == summaries[2]
    assert q.get_constellation_summary(db, "nope") is None
    with pytest.raises(errors.AlreadyExists, match="constellation summary already exists"):
        q.create_constellation_summary(db, summaries[0])


def test_notable_events(db: ConstellationDb) -> None:
    events = [
        NotableEvent(
            id=f"n{i}",
            timestamp=_at(m),
            event_type="milestone",
            description=f"event {i}",
            agents_involved=["a1", "a2"] if i else None,
            importance=EventImportance.CRITICAL,
            created_at=T0,
        )
        for i, m in enumerate([2, 7, 4])
    ]
    for event in events:
        q.create_notable_event(db, event)
    assert [e.id for e in q.get_notable_events(db, 10)] == ["n1", "n2", "n0"]
    assert q.get_notable_events(db, 1) == [events[1]]
    assert q.get_notable_event(db, "n0") == events[0]
    assert q.get_notable_event(db, "zz") is None
    with pytest.raises(errors.AlreadyExists):
        q.create_notable_event(db, events[0])


# -- coordination tasks ------------------------------------------------------------------------


def _ctask(task_id: str, priority: str, minutes: float = 0, **fields: object) -> CoordinationTask:
    return CoordinationTask(
        id=task_id,
        description=f"do {task_id}",
        priority=TaskPriority(priority),
        created_at=_at(minutes),
        updated_at=_at(minutes),
        **fields,  # type: ignore[arg-type]
    )


def test_coordination_tasks_order_by_priority_rank(db: ConstellationDb) -> None:
    # Inserted so that string order (urgent, medium, low, high) and rank order differ.
    for i, priority in enumerate(["medium", "high", "low", "urgent", "high"]):
        q.create_task(db, _ctask(f"t{i}", priority, minutes=i))
    q.create_task(db, _ctask("done", "urgent", status=TaskStatus.COMPLETED))
    pending = q.get_tasks_by_status(db, TaskStatus.PENDING)
    assert [t.id for t in pending] == ["t3", "t1", "t4", "t0", "t2"]
    assert [t.priority for t in pending] == ["urgent", "high", "high", "medium", "low"]
    assert [t.id for t in q.get_tasks_by_status(db, "completed")] == ["done"]
    assert q.get_tasks_by_status(db, TaskStatus.CANCELLED) == []


def test_coordination_task_crud(db: ConstellationDb, make_agent: MakeAgent) -> None:
    make_agent("a1")
    make_agent("a2")
    task = _ctask("t1", "high", assigned_to="a1")
    q.create_task(db, task)
    assert q.get_task(db, "t1") == task
    assert q.get_task(db, "nope") is None
    with pytest.raises(errors.AlreadyExists, match="coordination task already exists: t1"):
        q.create_task(db, task)
    with pytest.raises(errors.ConstraintViolation):
        q.create_task(db, _ctask("t2", "low", assigned_to="ghost"))

    q.create_task(db, _ctask("t3", "urgent", minutes=1, assigned_to="a1"))
    assert [t.id for t in q.get_tasks_for_agent(db, "a1")] == ["t3", "t1"]

    before = datetime.now(UTC)
    q.update_task_status(db, "t1", TaskStatus.IN_PROGRESS)
    updated = q.get_task(db, "t1")
    assert updated is not None
    assert updated.status is TaskStatus.IN_PROGRESS
    assert before <= updated.updated_at <= datetime.now(UTC)
    assert updated.created_at == task.created_at
    with pytest.raises(errors.NotFound, match="coordination task not found: nope"):
        q.update_task_status(db, "nope", TaskStatus.COMPLETED)
    with pytest.raises(errors.InvalidData, match="unknown task status 'exploded'"):
        q.update_task_status(db, "t1", "exploded")

    q.assign_task(db, "t1", "a2")
    assert [t.id for t in q.get_tasks_for_agent(db, "a2")] == ["t1"]
    q.assign_task(db, "t1", None)
    assert q.get_tasks_for_agent(db, "a2") == []
    unassigned = q.get_task(db, "t1")
    assert unassigned is not None
    assert unassigned.assigned_to is None
    with pytest.raises(errors.NotFound):
        q.assign_task(db, "nope", "a1")
    with pytest.raises(errors.ConstraintViolation):
        q.assign_task(db, "t1", "ghost")

    assert q.delete_task(db, "t1") is True
    assert q.delete_task(db, "t1") is False
    assert q.get_task(db, "t1") is None


# -- handoffs ----------------------------------------------------------------------------------


def test_handoffs_targeted_and_broadcast(db: ConstellationDb, make_agent: MakeAgent) -> None:
    for agent_id in ("a1", "a2", "a3"):
        make_agent(agent_id)
    to_a2 = HandoffNote(id="h1", from_agent="a1", to_agent="a2", content="yours", created_at=_at(1))
    broadcast = HandoffNote(id="h2", from_agent="a1", content="everyone", created_at=_at(0))
    to_a3 = HandoffNote(id="h3", from_agent="a2", to_agent="a3", content="a3", created_at=_at(2))
    for note in (to_a2, broadcast, to_a3):
        q.create_handoff(db, note)
    assert q.get_handoff(db, "h1") == to_a2
    assert q.get_handoff(db, "zz") is None
    assert [n.id for n in q.get_unread_handoffs(db, "a2")] == ["h2", "h1"]
    assert [n.id for n in q.get_unread_handoffs(db, "a3")] == ["h2", "h3"]
    with pytest.raises(errors.AlreadyExists):
        q.create_handoff(db, to_a2)
    with pytest.raises(errors.ConstraintViolation):
        q.create_handoff(db, HandoffNote(from_agent="ghost", content="x"))

    before = datetime.now(UTC)
    q.mark_handoff_read(db, "h1")
    read = q.get_handoff(db, "h1")
    assert read is not None
    assert read.read_at is not None
    assert before <= read.read_at <= datetime.now(UTC)
    # Marking again keeps the first read time.
    q.mark_handoff_read(db, "h1")
    again = q.get_handoff(db, "h1")
    assert again is not None
    assert again.read_at == read.read_at
    assert [n.id for n in q.get_unread_handoffs(db, "a2")] == ["h2"]

    # A broadcast has one read_at shared by every agent (the reference's semantics).
    q.mark_handoff_read(db, "h2")
    assert q.get_unread_handoffs(db, "a2") == []
    assert [n.id for n in q.get_unread_handoffs(db, "a3")] == ["h3"]
    with pytest.raises(errors.NotFound, match="handoff note not found: zz"):
        q.mark_handoff_read(db, "zz")


# -- state -------------------------------------------------------------------------------------


def test_state_set_get_delete(db: ConstellationDb) -> None:
    assert q.get_state(db, "focus") is None
    first = CoordinationState(key="focus", value={"mode": "deep"}, updated_at=T0, updated_by="a1")
    q.set_state(db, first)
    assert q.get_state(db, "focus") == first
    second = CoordinationState(key="focus", value=["x", 1.50], updated_at=_at(1))
    q.set_state(db, second)
    assert q.get_state(db, "focus") == second
    # JSON text is stored as written: 1.50 does not turn into a REAL.
    assert _raw(db, "SELECT value FROM coordination_state WHERE key = 'focus'") == [('["x",1.5]',)]
    q.set_state(db, CoordinationState(key="nothing", value=None, updated_at=T0))
    state = q.get_state(db, "nothing")
    assert state is not None
    assert state.value is None
    assert q.delete_state(db, "focus") is True
    assert q.delete_state(db, "focus") is False
    assert q.get_state(db, "focus") is None


# -- deleting an agent (REFERENCE 1.6) ---------------------------------------------------------


def test_deleting_an_agent(db: ConstellationDb, make_agent: MakeAgent) -> None:
    make_agent("a1")
    make_agent("a2")
    q.create_activity_event(db, _activity("act", 0, agent_id="a1"))
    q.create_task(db, _ctask("t1", "high", assigned_to="a1"))
    q.create_handoff(db, HandoffNote(id="to", from_agent="a2", to_agent="a1", content="for a1"))
    q.create_handoff(db, HandoffNote(id="from", from_agent="a1", to_agent="a2", content="by a1"))
    q.upsert_agent_summary(db, AgentSummary(agent_id="a1", summary="s"))

    assert agents.delete_agent(db, "a1") is True

    activity = q.get_activity_event(db, "act")
    assert activity is not None
    assert activity.agent_id is None
    task = q.get_task(db, "t1")
    assert task is not None
    assert task.assigned_to is None
    # The targeted note becomes a broadcast, so every agent now sees it as unread.
    became_broadcast = q.get_handoff(db, "to")
    assert became_broadcast is not None
    assert became_broadcast.to_agent is None
    assert [n.id for n in q.get_unread_handoffs(db, "a2")] == ["to"]
    # Notes the agent sent cascade, and so does its summary.
    assert q.get_handoff(db, "from") is None
    assert q.get_agent_summary(db, "a1") is None


# -- round trips -------------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
_id = _text.filter(bool)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False,
        allow_infinity=False) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=10,
)  # fmt: skip
_when = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
)
_agent_ref = st.none() | st.just("a1")

_records = st.one_of(
    st.builds(
        ActivityEvent,
        id=_id,
        timestamp=_when,
        agent_id=_agent_ref,
        event_type=st.sampled_from(ActivityEventType),
        details=_json,
        importance=st.none() | st.sampled_from(EventImportance),
    ),
    st.builds(
        AgentSummary,
        agent_id=st.just("a1"),
        summary=_text,
        messages_covered=st.integers(0, 2**63 - 1),
        generated_at=_when,
        last_active=_when,
    ),
    st.builds(
        ConstellationSummary,
        id=_id,
        period_start=_when,
        period_end=_when,
        summary=_text,
        key_decisions=st.none() | st.lists(_text, max_size=3),
        open_threads=st.none() | st.lists(_text, max_size=3),
        created_at=_when,
    ),
    st.builds(
        NotableEvent,
        id=_id,
        timestamp=_when,
        event_type=_text,
        description=_text,
        agents_involved=st.none() | st.lists(_text, max_size=3),
        importance=st.sampled_from(EventImportance),
        created_at=_when,
    ),
    st.builds(
        CoordinationTask,
        id=_id,
        description=_text,
        assigned_to=_agent_ref,
        status=st.sampled_from(TaskStatus),
        priority=st.sampled_from(TaskPriority),
        created_at=_when,
        updated_at=_when,
    ),
    st.builds(
        HandoffNote,
        id=_id,
        from_agent=st.just("a1"),
        to_agent=_agent_ref,
        content=_text,
        created_at=_when,
        read_at=st.none() | _when,
    ),
    st.builds(
        CoordinationState,
        key=_text,
        value=_json,
        updated_at=_when,
        updated_by=st.none() | _text,
    ),
)

_TABLES = (
    "activity_events",
    "agent_summaries",
    "constellation_summaries",
    "notable_events",
    "coordination_tasks",
    "handoff_notes",
    "coordination_state",
)


def _write_and_read(db: ConstellationDb, record: msgspec.Struct) -> msgspec.Struct | None:
    if isinstance(record, ActivityEvent):
        q.create_activity_event(db, record)
        return q.get_activity_event(db, record.id)
    if isinstance(record, AgentSummary):
        q.upsert_agent_summary(db, record)
        return q.get_agent_summary(db, record.agent_id)
    if isinstance(record, ConstellationSummary):
        q.create_constellation_summary(db, record)
        return q.get_constellation_summary(db, record.id)
    if isinstance(record, NotableEvent):
        q.create_notable_event(db, record)
        return q.get_notable_event(db, record.id)
    if isinstance(record, CoordinationTask):
        q.create_task(db, record)
        return q.get_task(db, record.id)
    if isinstance(record, HandoffNote):
        q.create_handoff(db, record)
        return q.get_handoff(db, record.id)
    assert isinstance(record, CoordinationState)
    q.set_state(db, record)
    return q.get_state(db, record.key)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(record=_records)
def test_round_trips(db: ConstellationDb, record: msgspec.Struct) -> None:
    with db.writer() as conn:
        for table in _TABLES:
            conn.execute(f"DELETE FROM {table}")
        conn.execute("DELETE FROM agents")
    agents.create_agent(
        db, Agent(id="a1", name="a1", model_provider="p", model_name="m", system_prompt="s")
    )
    assert _write_and_read(db, record) == record
