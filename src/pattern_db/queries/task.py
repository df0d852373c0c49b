"""User-facing (ADHD) tasks: create, look up, list, subtasks, due-soon, update, delete, summaries.

Deliberate differences from the reference (REFERENCE 3.8 and 11), each repeated where it applies:
create and update write every column (tags, estimated/actual minutes, notes, agent_id); priority
sorts by rank (low < medium < high < urgent < critical), never by string; `completed_at` is set
when a task becomes completed and cleared when it is reopened; due-soon leaves overdue tasks out
unless asked; timestamps are bound from Python in the canonical format; updates of a missing task
raise `NotFound`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pattern_db import _validate, timeutil
from pattern_db.codec import codec_for, ts_text
from pattern_db.connection import Executor, scalar
from pattern_db.errors import InvalidData, NotFound, translate_errors
from pattern_db.models.task import Task, TaskSummary, UserTaskPriority, UserTaskStatus
from pattern_db.queries._rows import fetch_all, fetch_one, write_one
from pattern_db.timeutil import now_ts

__all__ = [
    "create_user_task",
    "delete_user_task",
    "get_subtasks",
    "get_task_summaries",
    "get_tasks_due_soon",
    "get_user_task",
    "list_tasks",
    "update_user_task",
    "update_user_task_priority",
    "update_user_task_status",
]

_TASK = codec_for(Task)
_SUMMARY = codec_for(TaskSummary)
_KEEP = ("id", "created_at")

_SELECT_TASK = f"SELECT {_TASK.column_list} FROM tasks"
_INSERT_TASK = _TASK.insert_sql("tasks")
_UPDATE_TASK = f"UPDATE tasks SET {_TASK.assignments(exclude=_KEEP)} WHERE id = :id"
_OPEN = "status NOT IN ('completed', 'cancelled')"
# Most urgent first; undated tasks after dated ones; created_at and id make the order total.
_LIST_ORDER = "ORDER BY priority_rank DESC, due_at ASC NULLS LAST, created_at, id"
_SUMMARY_ORDER = "ORDER BY t.priority_rank DESC, t.due_at ASC NULLS LAST, t.created_at, t.id"
_SUBTASKS = f"{_SELECT_TASK} WHERE parent_task_id = ? ORDER BY priority_rank DESC, created_at, id"
_DUE_SOON = f"""{_SELECT_TASK}
WHERE due_at IS NOT NULL AND due_at <= :deadline AND (:include_overdue OR due_at >= :now)
  AND {_OPEN}
ORDER BY due_at, priority_rank DESC, id"""
_UPDATE_PRIORITY = "UPDATE tasks SET priority = ?, updated_at = ? WHERE id = ?"
# completed_at follows the status: completing sets it (keeping the first completion time when the
# task was already completed), any other status clears it. The reference used
# COALESCE(new, completed_at) and so never cleared it on reopen (REFERENCE 11.15).
_UPDATE_STATUS = """
UPDATE tasks SET
    completed_at = CASE
        WHEN :status <> 'completed' THEN NULL
        WHEN status = 'completed' AND completed_at IS NOT NULL THEN completed_at
        ELSE :now END,
    status = :status,
    updated_at = :now
WHERE id = :id
"""
# A task may not become a subtask of itself or of one of its own descendants.
_IS_SELF_OR_DESCENDANT = """
WITH RECURSIVE tree(id) AS (
    SELECT ? UNION SELECT t.id FROM tasks t JOIN tree ON t.parent_task_id = tree.id
)
SELECT EXISTS (SELECT 1 FROM tree WHERE id = ?)
"""
_SUMMARY_COLUMNS = """
SELECT t.id, t.title, t.status, t.priority, t.due_at, t.parent_task_id,
       (SELECT count(*) FROM tasks c WHERE c.parent_task_id = t.id),
       (SELECT count(*) FROM tasks c WHERE c.parent_task_id = t.id AND c.status = 'completed')
FROM tasks t"""


def _agent_scope(agent_id: str | None, all_agents: bool, column: str = "agent_id") -> str:
    """Return the WHERE condition for an agent scope (`?` bound to agent_id when needed)."""
    if all_agents:
        if agent_id is not None:
            raise InvalidData("pass either agent_id or all_agents=True, not both")
        return "1"
    return f"{column} = ?" if agent_id is not None else f"{column} IS NULL"


def _list_tasks_sql(
    agent_id: str | None, include_completed: bool, *, all_agents: bool = False
) -> tuple[str, tuple[Any, ...]]:
    """Return the SQL and parameters of `list_tasks` (no I/O)."""
    conditions = [_agent_scope(agent_id, all_agents)]
    if not include_completed:
        conditions.append(_OPEN)
    params: tuple[Any, ...] = (agent_id,) if agent_id is not None else ()
    return f"{_SELECT_TASK} WHERE {' AND '.join(conditions)} {_LIST_ORDER}", params


def _summaries_sql(agent_id: str | None, all_agents: bool) -> tuple[str, tuple[Any, ...]]:
    scope = _agent_scope(agent_id, all_agents, "t.agent_id")
    sql = f"{_SUMMARY_COLUMNS} WHERE {scope} AND t.{_OPEN} {_SUMMARY_ORDER}"
    return sql, (agent_id,) if agent_id is not None else ()


def create_user_task(db: Executor, task: Task) -> None:
    """Insert a task exactly as given, every column included.

    The reference dropped tags, estimated/actual minutes and notes (REFERENCE 11.15). The record
    is stored as given (completed_at included), so imports keep their history.

    Raises:
        AlreadyExists: a task with this id exists.
        ConstraintViolation: `agent_id` or `parent_task_id` names no row, or minutes are negative.
    """
    with db.writer() as conn, translate_errors("task", task.id, record=task):
        conn.execute(_INSERT_TASK, _TASK.encode(task))


def get_user_task(db: Executor, task_id: str) -> Task | None:
    """Return the task with this id, or None."""
    return fetch_one(db, _TASK, f"{_SELECT_TASK} WHERE id = ?", (task_id,))


def list_tasks(
    db: Executor,
    agent_id: str | None = None,
    include_completed: bool = False,
    *,
    all_agents: bool = False,
) -> list[Task]:
    """Return tasks, most urgent first, then by due date (undated last).

    `agent_id` None keeps the reference's meaning: constellation-level tasks only (agent_id IS
    NULL), not every task; pass `all_agents=True` for every task. Completed and cancelled tasks
    are left out unless `include_completed`. Priority sorts by rank, not by string.

    Raises:
        InvalidData: both `agent_id` and `all_agents=True` were given.
    """
    sql, params = _list_tasks_sql(agent_id, include_completed, all_agents=all_agents)
    return fetch_all(db, _TASK, sql, params)


def get_subtasks(db: Executor, parent_id: str) -> list[Task]:
    """Return a task's direct subtasks (every status), most urgent first, then oldest first."""
    return fetch_all(db, _TASK, _SUBTASKS, (parent_id,))


def get_tasks_due_soon(
    db: Executor,
    hours: float,
    *,
    include_overdue: bool = False,
    now: datetime | None = None,
) -> list[Task]:
    """Return open tasks due between `now` and `now + hours` (inclusive), soonest first.

    Overdue tasks (due before `now`) come back only with `include_overdue=True`; the reference
    always included them. `now` defaults to the current time; the bounds are bound as canonical
    text, so the comparison is exact to the microsecond.

    Raises:
        InvalidData: `now` is a naive datetime.
    """
    current = timeutil.now() if now is None else now
    params = {
        "now": ts_text(current),
        "deadline": ts_text(current + timedelta(hours=hours)),
        "include_overdue": int(include_overdue),
    }
    return fetch_all(db, _TASK, _DUE_SOON, params)


def update_user_task_status(db: Executor, task_id: str, status: UserTaskStatus | str) -> None:
    """Set a task's status; completing sets completed_at to now, any other status clears it.

    A task that is already completed keeps its first completion time. The reference never cleared
    completed_at when a task was reopened (REFERENCE 11.15). updated_at becomes now.

    Raises:
        NotFound: no task has this id.
        InvalidData: `status` is not a task status.
    """
    status = _validate.enum_value(UserTaskStatus, status, "task status")
    params = {"status": status, "now": now_ts(), "id": task_id}
    write_one(db, _UPDATE_STATUS, params, "task", task_id)


def update_user_task_priority(db: Executor, task_id: str, priority: UserTaskPriority | str) -> None:
    """Set a task's priority; updated_at becomes now.

    Raises:
        NotFound: no task has this id.
        InvalidData: `priority` is not a task priority.
    """
    priority = _validate.enum_value(UserTaskPriority, priority, "task priority")
    write_one(db, _UPDATE_PRIORITY, (priority, now_ts(), task_id), "task", task_id)


def update_user_task(db: Executor, task: Task) -> None:
    """Write every column of an existing task except id and created_at; updated_at becomes now.

    Unlike the reference, agent_id, tags, estimated/actual minutes and notes are written too
    (REFERENCE 11.15). completed_at follows the status as in `update_user_task_status`: a status
    other than completed clears it, and completed with no completed_at sets it to now.

    Raises:
        NotFound: no task has this id.
        InvalidData: the new parent is the task itself or one of its subtasks (a cycle).
        ConstraintViolation: `agent_id` or `parent_task_id` names no row.
    """
    params = _TASK.encode_named(task)
    stamp = now_ts()
    params["updated_at"] = stamp
    if task.status != UserTaskStatus.COMPLETED:
        params["completed_at"] = None
    elif task.completed_at is None:
        params["completed_at"] = stamp
    with db.writer() as conn, translate_errors("task", task.id, record=task):
        if task.parent_task_id is not None and scalar(
            conn, _IS_SELF_OR_DESCENDANT, (task.id, task.parent_task_id)
        ):
            raise InvalidData(
                f"task {task.id} cannot become a subtask of {task.parent_task_id}: "
                "that is the task itself or one of its subtasks"
            )
        conn.execute(_UPDATE_TASK, params)
        if conn.changes() == 0:
            raise NotFound("task", task.id)


def delete_user_task(db: Executor, task_id: str) -> bool:
    """Delete a task and, recursively, its subtasks; return whether it existed."""
    with db.writer() as conn:
        conn.execute("DELETE FROM tasks WHERE id = ?", (task_id,))
        return conn.changes() > 0


def get_task_summaries(
    db: Executor, agent_id: str | None = None, *, all_agents: bool = False
) -> list[TaskSummary]:
    """Return open tasks as summaries with their direct subtask counts, in `list_tasks` order.

    `subtask_count` counts every direct subtask whatever its status, `completed_subtask_count`
    the completed ones. `agent_id` None means constellation-level tasks only, as in
    `list_tasks`; `all_agents=True` lists every open task.

    Raises:
        InvalidData: both `agent_id` and `all_agents=True` were given.
    """
    sql, params = _summaries_sql(agent_id, all_agents)
    return fetch_all(db, _SUMMARY, sql, params)
