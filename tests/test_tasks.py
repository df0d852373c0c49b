"""queries.task: user tasks, subtasks, due-soon, status transitions and summaries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pattern_db import ConstellationDb, errors
from pattern_db.models import Agent, Task, TaskSummary, UserTaskPriority, UserTaskStatus
from pattern_db.queries import agent as agents
from pattern_db.queries import task as q

MakeAgent = Callable[..., Agent]
T0 = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


def _at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def _task(task_id: str, **fields: object) -> Task:
    created = fields.pop("created_at", T0)
    return Task(
        id=task_id,
        title=str(fields.pop("title", task_id)),
        created_at=created,  # type: ignore[arg-type]
        updated_at=created,  # type: ignore[arg-type]
        **fields,  # type: ignore[arg-type]
    )


def _ids(tasks: list[Task]) -> list[str]:
    return [t.id for t in tasks]


def test_create_get_writes_every_column(db: ConstellationDb, make_agent: MakeAgent) -> None:
    make_agent("a1")
    q.create_user_task(db, _task("parent"))
    task = _task(
        "t1",
        agent_id="a1",
        description="sort the inbox",
        status=UserTaskStatus.BLOCKED,
        priority=UserTaskPriority.CRITICAL,
        due_at=_at(24),
        scheduled_at=_at(2),
        completed_at=None,
        parent_task_id="parent",
        tags=["admin", "email"],
        estimated_minutes=25,
        actual_minutes=40,
        notes="start with the oldest",
    )
    q.create_user_task(db, task)
    assert q.get_user_task(db, "t1") == task
    assert q.get_user_task(db, "missing") is None
    with pytest.raises(errors.AlreadyExists, match="task already exists: t1"):
        q.create_user_task(db, task)
    with pytest.raises(errors.ConstraintViolation):
        q.create_user_task(db, _task("t2", agent_id="ghost"))
    with pytest.raises(errors.ConstraintViolation):
        q.create_user_task(db, _task("t2", parent_task_id="ghost"))
    with pytest.raises(errors.InvalidData, match=r"Task.estimated_minutes must be an integer >= 0"):
        q.create_user_task(db, _task("t2", estimated_minutes=-1))


def test_priority_order_is_by_rank(db: ConstellationDb) -> None:
    # String order would be urgent, medium, low, high, critical.
    for i, priority in enumerate(["medium", "critical", "low", "urgent", "high"]):
        q.create_user_task(db, _task(f"t_{priority}", priority=priority, created_at=_at(i)))
    assert _ids(q.list_tasks(db)) == ["t_critical", "t_urgent", "t_high", "t_medium", "t_low"]
    ranks = [p.rank for p in UserTaskPriority]
    assert list(UserTaskPriority) == ["low", "medium", "high", "urgent", "critical"]
    assert ranks == [0, 1, 2, 3, 4]


def test_list_tasks_scopes_completion_and_due_order(
    db: ConstellationDb, make_agent: MakeAgent
) -> None:
    make_agent("a1")
    q.create_user_task(db, _task("undated", priority="high"))
    q.create_user_task(db, _task("later", priority="high", due_at=_at(48)))
    q.create_user_task(db, _task("sooner", priority="high", due_at=_at(1)))
    q.create_user_task(db, _task("low", priority="low", due_at=_at(0.5)))
    q.create_user_task(db, _task("done", status="completed", completed_at=_at(1)))
    q.create_user_task(db, _task("dropped", status="cancelled"))
    q.create_user_task(db, _task("mine", agent_id="a1"))
    q.create_user_task(db, _task("mine_done", agent_id="a1", status="completed"))
    # None keeps the reference's meaning: constellation-level tasks only.
    assert _ids(q.list_tasks(db)) == ["sooner", "later", "undated", "low"]
    assert _ids(q.list_tasks(db, None, True)) == [
        "sooner",
        "later",
        "undated",
        "done",
        "dropped",
        "low",
    ]
    assert _ids(q.list_tasks(db, "a1")) == ["mine"]
    assert _ids(q.list_tasks(db, "a1", include_completed=True)) == ["mine", "mine_done"]
    assert _ids(q.list_tasks(db, all_agents=True)) == ["sooner", "later", "undated", "mine", "low"]
    with pytest.raises(errors.InvalidData, match="not both"):
        q.list_tasks(db, "a1", all_agents=True)


def test_subtasks(db: ConstellationDb) -> None:
    q.create_user_task(db, _task("p"))
    q.create_user_task(db, _task("c1", parent_task_id="p", created_at=_at(1)))
    q.create_user_task(db, _task("c2", parent_task_id="p", priority="urgent", created_at=_at(2)))
    q.create_user_task(db, _task("c3", parent_task_id="p", status="completed", created_at=_at(0)))
    q.create_user_task(db, _task("g1", parent_task_id="c1"))
    assert _ids(q.get_subtasks(db, "p")) == ["c2", "c3", "c1"]
    assert _ids(q.get_subtasks(db, "c1")) == ["g1"]
    assert q.get_subtasks(db, "g1") == []


def test_due_soon_includes_overdue_only_when_asked(db: ConstellationDb) -> None:
    now = _at(0)
    q.create_user_task(db, _task("overdue", due_at=now - timedelta(microseconds=1)))
    q.create_user_task(db, _task("now", due_at=now))
    q.create_user_task(db, _task("in_2h", due_at=_at(2), priority="low"))
    q.create_user_task(db, _task("in_2h_urgent", due_at=_at(2), priority="urgent"))
    q.create_user_task(db, _task("at_deadline", due_at=_at(24)))
    q.create_user_task(db, _task("past_deadline", due_at=_at(24) + timedelta(microseconds=1)))
    q.create_user_task(db, _task("done", due_at=_at(1), status="completed"))
    q.create_user_task(db, _task("cancelled", due_at=_at(1), status="cancelled"))
    q.create_user_task(db, _task("undated"))
    soon = ["now", "in_2h_urgent", "in_2h", "at_deadline"]
    assert _ids(q.get_tasks_due_soon(db, 24, now=now)) == soon
    assert _ids(q.get_tasks_due_soon(db, 24, include_overdue=True, now=now)) == [
        "overdue",
        *soon,
    ]
    assert _ids(q.get_tasks_due_soon(db, 0.5, now=now)) == ["now"]
    with pytest.raises(errors.InvalidData, match="naive datetime"):
        q.get_tasks_due_soon(db, 1, now=datetime(2026, 3, 4))


def test_due_soon_defaults_to_the_current_time(db: ConstellationDb) -> None:
    current = datetime.now(UTC)
    q.create_user_task(db, _task("soon", due_at=current + timedelta(minutes=30)))
    q.create_user_task(db, _task("late", due_at=current - timedelta(minutes=30)))
    assert _ids(q.get_tasks_due_soon(db, 1)) == ["soon"]
    assert _ids(q.get_tasks_due_soon(db, 1, include_overdue=True)) == ["late", "soon"]


def test_status_transitions_set_and_clear_completed_at(db: ConstellationDb) -> None:
    q.create_user_task(db, _task("t1"))
    before = datetime.now(UTC)
    q.update_user_task_status(db, "t1", UserTaskStatus.COMPLETED)
    done = q.get_user_task(db, "t1")
    assert done is not None
    assert done.status is UserTaskStatus.COMPLETED
    assert done.completed_at is not None
    assert before <= done.completed_at <= datetime.now(UTC)
    assert done.updated_at == done.completed_at
    # Completing again keeps the first completion time.
    q.update_user_task_status(db, "t1", "completed")
    again = q.get_user_task(db, "t1")
    assert again is not None
    assert again.completed_at == done.completed_at
    # Reopening clears it (the reference kept it).
    q.update_user_task_status(db, "t1", UserTaskStatus.IN_PROGRESS)
    reopened = q.get_user_task(db, "t1")
    assert reopened is not None
    assert reopened.status is UserTaskStatus.IN_PROGRESS
    assert reopened.completed_at is None
    q.update_user_task_status(db, "t1", UserTaskStatus.COMPLETED)
    q.update_user_task_status(db, "t1", UserTaskStatus.CANCELLED)
    cancelled = q.get_user_task(db, "t1")
    assert cancelled is not None
    assert cancelled.completed_at is None
    with pytest.raises(errors.NotFound, match="task not found: nope"):
        q.update_user_task_status(db, "nope", UserTaskStatus.COMPLETED)
    with pytest.raises(errors.InvalidData, match="unknown task status 'exploded'"):
        q.update_user_task_status(db, "t1", "exploded")


def test_update_priority(db: ConstellationDb) -> None:
    q.create_user_task(db, _task("t1"))
    q.update_user_task_priority(db, "t1", UserTaskPriority.URGENT)
    task = q.get_user_task(db, "t1")
    assert task is not None
    assert task.priority is UserTaskPriority.URGENT
    assert task.updated_at > T0
    with pytest.raises(errors.NotFound):
        q.update_user_task_priority(db, "nope", "low")
    with pytest.raises(errors.InvalidData, match="unknown task priority 'whenever'"):
        q.update_user_task_priority(db, "t1", "whenever")


def test_update_task_writes_every_column(db: ConstellationDb, make_agent: MakeAgent) -> None:
    make_agent("a1")
    q.create_user_task(db, _task("p"))
    task = _task("t1")
    q.create_user_task(db, task)
    changed = msgspec.structs.replace(
        task,
        agent_id="a1",
        title="renamed",
        description="d",
        status=UserTaskStatus.DEFERRED,
        priority=UserTaskPriority.HIGH,
        due_at=_at(5),
        scheduled_at=_at(4),
        completed_at=_at(3),  # cleared: the task is not completed
        parent_task_id="p",
        tags=["x"],
        estimated_minutes=10,
        actual_minutes=12,
        notes="n",
        created_at=datetime(2000, 1, 1, tzinfo=UTC),
    )
    before = datetime.now(UTC)
    q.update_user_task(db, changed)
    stored = q.get_user_task(db, "t1")
    assert stored is not None
    assert before <= stored.updated_at <= datetime.now(UTC)
    assert stored == msgspec.structs.replace(
        changed, completed_at=None, created_at=T0, updated_at=stored.updated_at
    )
    # Completed with a completion time keeps it; completed without one gets now.
    q.update_user_task(db, msgspec.structs.replace(changed, status="completed"))
    kept = q.get_user_task(db, "t1")
    assert kept is not None
    assert kept.completed_at == _at(3)
    q.update_user_task(db, msgspec.structs.replace(changed, status="completed", completed_at=None))
    stamped = q.get_user_task(db, "t1")
    assert stamped is not None
    assert stamped.completed_at == stamped.updated_at
    with pytest.raises(errors.NotFound, match="task not found: nope"):
        q.update_user_task(db, _task("nope"))


def test_update_task_refuses_a_parent_cycle(db: ConstellationDb) -> None:
    q.create_user_task(db, _task("a"))
    q.create_user_task(db, _task("b", parent_task_id="a"))
    q.create_user_task(db, _task("c", parent_task_id="b"))
    root = q.get_user_task(db, "a")
    assert root is not None
    with pytest.raises(errors.InvalidData, match="cannot become a subtask of c"):
        q.update_user_task(db, msgspec.structs.replace(root, parent_task_id="c"))
    with pytest.raises(errors.InvalidData, match="cannot become a subtask of a"):
        q.update_user_task(db, msgspec.structs.replace(root, parent_task_id="a"))
    with pytest.raises(errors.ConstraintViolation):
        q.update_user_task(db, msgspec.structs.replace(root, parent_task_id="ghost"))
    leaf = q.get_user_task(db, "c")
    assert leaf is not None
    q.update_user_task(db, msgspec.structs.replace(leaf, parent_task_id="a"))
    assert _ids(q.get_subtasks(db, "a")) == ["b", "c"]


def test_delete_cascades_subtasks_recursively(db: ConstellationDb) -> None:
    q.create_user_task(db, _task("root"))
    q.create_user_task(db, _task("child", parent_task_id="root"))
    q.create_user_task(db, _task("grandchild", parent_task_id="child"))
    q.create_user_task(db, _task("great", parent_task_id="grandchild"))
    q.create_user_task(db, _task("other"))
    assert q.delete_user_task(db, "root") is True
    assert q.delete_user_task(db, "root") is False
    for task_id in ("child", "grandchild", "great"):
        assert q.get_user_task(db, task_id) is None
    assert _ids(q.list_tasks(db)) == ["other"]


def test_task_summaries_count_subtasks(db: ConstellationDb, make_agent: MakeAgent) -> None:
    make_agent("a1")
    q.create_user_task(db, _task("p", priority="high", due_at=_at(3)))
    q.create_user_task(db, _task("c1", parent_task_id="p"))
    q.create_user_task(db, _task("c2", parent_task_id="p", status="completed"))
    q.create_user_task(db, _task("c3", parent_task_id="p", status="cancelled"))
    q.create_user_task(db, _task("g", parent_task_id="c1"))
    q.create_user_task(db, _task("closed", status="completed"))
    q.create_user_task(db, _task("mine", agent_id="a1"))
    summaries = q.get_task_summaries(db)
    assert summaries == [
        TaskSummary(
            id="p",
            title="p",
            status=UserTaskStatus.PENDING,
            priority=UserTaskPriority.HIGH,
            due_at=_at(3),
            subtask_count=3,
            completed_subtask_count=1,
        ),
        TaskSummary(
            id="c1",
            title="c1",
            status=UserTaskStatus.PENDING,
            priority=UserTaskPriority.MEDIUM,
            parent_task_id="p",
            subtask_count=1,
        ),
        TaskSummary(
            id="g",
            title="g",
            status=UserTaskStatus.PENDING,
            priority=UserTaskPriority.MEDIUM,
            parent_task_id="c1",
        ),
    ]
    assert [s.id for s in q.get_task_summaries(db, "a1")] == ["mine"]
    assert [s.id for s in q.get_task_summaries(db, all_agents=True)] == ["p", "c1", "g", "mine"]


def test_deleting_an_agent_keeps_its_tasks(db: ConstellationDb, make_agent: MakeAgent) -> None:
    make_agent("a1")
    q.create_user_task(db, _task("t1", agent_id="a1"))
    assert agents.delete_agent(db, "a1") is True
    task = q.get_user_task(db, "t1")
    assert task is not None
    assert task.agent_id is None
    assert _ids(q.list_tasks(db)) == ["t1"]


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
_name = _text.filter(lambda t: bool(t.strip()))  # required non-blank
_when = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
)
_minutes = st.none() | st.integers(0, 2**63 - 1)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    task=st.builds(
        Task,
        id=_text.filter(lambda s: bool(s) and s != "parent"),
        agent_id=st.none() | st.just("a1"),
        title=_name,
        description=st.none() | _text,
        status=st.sampled_from(UserTaskStatus),
        priority=st.sampled_from(UserTaskPriority),
        due_at=st.none() | _when,
        scheduled_at=st.none() | _when,
        completed_at=st.none() | _when,
        parent_task_id=st.none() | st.just("parent"),
        tags=st.none() | st.lists(_text, max_size=4),
        estimated_minutes=_minutes,
        actual_minutes=_minutes,
        notes=st.none() | _text,
        created_at=_when,
        updated_at=_when,
    )
)
def test_round_trips(db: ConstellationDb, task: Task) -> None:
    with db.writer() as conn:
        conn.execute("DELETE FROM tasks")
        conn.execute("DELETE FROM agents")
    agents.create_agent(
        db, Agent(id="a1", name="a1", model_provider="p", model_name="m", system_prompt="s")
    )
    q.create_user_task(db, _task("parent"))
    q.create_user_task(db, task)
    assert q.get_user_task(db, task.id) == task
