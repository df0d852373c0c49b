"""Activity stream, summaries, notable events, coordination tasks, handoffs and shared state.

Deliberate differences from the reference (REFERENCE 3.6 and 11), each repeated where it applies:
importance and priority filter and sort by their generated `*_rank` column (low < medium < high <
urgent/critical), never by string; every timestamp is bound from Python in the canonical format;
updates of a missing row raise `NotFound`; deletes return whether a row went away.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from pattern_db import _validate
from pattern_db.codec import codec_for, ts_text
from pattern_db.connection import Executor
from pattern_db.errors import NotFound, translate_errors
from pattern_db.models._base import RankedEnum
from pattern_db.models.coordination import (
    ActivityEvent,
    AgentSummary,
    ConstellationSummary,
    CoordinationState,
    CoordinationTask,
    EventImportance,
    HandoffNote,
    NotableEvent,
    TaskStatus,
)
from pattern_db.queries._rows import fetch_all, fetch_one, write_one
from pattern_db.timeutil import now_ts

__all__ = [
    "assign_coordination_task",
    "assign_task",
    "create_activity_event",
    "create_constellation_summary",
    "create_coordination_task",
    "create_handoff",
    "create_notable_event",
    "create_task",
    "delete_coordination_task",
    "delete_state",
    "delete_task",
    "get_activity_event",
    "get_agent_activity",
    "get_agent_summary",
    "get_all_agent_summaries",
    "get_constellation_summary",
    "get_coordination_task",
    "get_coordination_tasks_by_status",
    "get_coordination_tasks_for_agent",
    "get_handoff",
    "get_latest_constellation_summary",
    "get_notable_event",
    "get_notable_events",
    "get_recent_activity",
    "get_recent_activity_by_importance",
    "get_recent_activity_since",
    "get_state",
    "get_task",
    "get_tasks_by_status",
    "get_tasks_for_agent",
    "get_unread_handoffs",
    "list_constellation_summaries",
    "mark_handoff_read",
    "set_state",
    "update_coordination_task_status",
    "update_task_status",
    "upsert_agent_summary",
]

_ACTIVITY = codec_for(ActivityEvent)
_AGENT_SUMMARY = codec_for(AgentSummary)
_CSUMMARY = codec_for(ConstellationSummary)
_NOTABLE = codec_for(NotableEvent)
_TASK = codec_for(CoordinationTask)
_HANDOFF = codec_for(HandoffNote)
_STATE = codec_for(CoordinationState)

# -- activity ----------------------------------------------------------------------------------

_SELECT_ACTIVITY = f"SELECT {_ACTIVITY.column_list} FROM activity_events"
_INSERT_ACTIVITY = _ACTIVITY.insert_sql("activity_events")
# `id DESC` breaks ties between events of the same microsecond so pages are stable.
_RECENT_ACTIVITY = f"{_SELECT_ACTIVITY} ORDER BY timestamp DESC, id DESC LIMIT ?"
_ACTIVITY_SINCE = (
    f"{_SELECT_ACTIVITY} WHERE timestamp >= ? ORDER BY timestamp DESC, id DESC LIMIT ?"
)
# NULL importance has a NULL rank, which `>=` excludes, as in the reference.
_ACTIVITY_BY_IMPORTANCE = f"""{_SELECT_ACTIVITY} WHERE importance_rank >= ?
ORDER BY timestamp DESC, id DESC LIMIT ?"""
_AGENT_ACTIVITY = f"{_SELECT_ACTIVITY} WHERE agent_id = ? ORDER BY timestamp DESC, id DESC LIMIT ?"

# -- summaries ---------------------------------------------------------------------------------

_SELECT_AGENT_SUMMARY = f"SELECT {_AGENT_SUMMARY.column_list} FROM agent_summaries"
_UPSERT_AGENT_SUMMARY = f"""{_AGENT_SUMMARY.insert_sql("agent_summaries")}
ON CONFLICT(agent_id) DO UPDATE SET {_AGENT_SUMMARY.excluded_assignments(exclude=("agent_id",))}"""
_SELECT_CSUMMARY = f"SELECT {_CSUMMARY.column_list} FROM constellation_summaries"
_INSERT_CSUMMARY = _CSUMMARY.insert_sql("constellation_summaries")
_LIST_CSUMMARIES = f"{_SELECT_CSUMMARY} ORDER BY period_end DESC, created_at DESC, id DESC LIMIT ?"

# -- notable events ----------------------------------------------------------------------------

_SELECT_NOTABLE = f"SELECT {_NOTABLE.column_list} FROM notable_events"
_INSERT_NOTABLE = _NOTABLE.insert_sql("notable_events")

# -- coordination tasks ------------------------------------------------------------------------

_SELECT_TASK = f"SELECT {_TASK.column_list} FROM coordination_tasks"
_INSERT_TASK = _TASK.insert_sql("coordination_tasks")
_TASK_ORDER = "ORDER BY priority_rank DESC, created_at, id"
_UPDATE_TASK_STATUS = "UPDATE coordination_tasks SET status = ?, updated_at = ? WHERE id = ?"
_ASSIGN_TASK = "UPDATE coordination_tasks SET assigned_to = ?, updated_at = ? WHERE id = ?"

# -- handoffs ----------------------------------------------------------------------------------

_SELECT_HANDOFF = f"SELECT {_HANDOFF.column_list} FROM handoff_notes"
_INSERT_HANDOFF = _HANDOFF.insert_sql("handoff_notes")
_UNREAD_HANDOFFS = f"""{_SELECT_HANDOFF}
WHERE (to_agent = ? OR to_agent IS NULL) AND read_at IS NULL ORDER BY created_at, id"""
# The first read wins: marking a note read again keeps the time it was first read.
_MARK_HANDOFF_READ = "UPDATE handoff_notes SET read_at = COALESCE(read_at, ?) WHERE id = ?"

# -- state -------------------------------------------------------------------------------------

_SELECT_STATE = f"SELECT {_STATE.column_list} FROM coordination_state WHERE key = ?"
_UPSERT_STATE = f"""{_STATE.insert_sql("coordination_state")}
ON CONFLICT(key) DO UPDATE SET {_STATE.excluded_assignments(exclude=("key",))}"""

E = TypeVar("E", bound=RankedEnum)


def _rank(enum_type: type[E], value: E | str) -> int:
    return _validate.enum_value(enum_type, value).rank


# -- activity events ---------------------------------------------------------------------------


def create_activity_event(db: Executor, event: ActivityEvent) -> None:
    """Insert an activity event (every column from the record).

    Raises:
        AlreadyExists: an event with this id exists.
        ConstraintViolation: `agent_id` names no agent.
    """
    with db.writer() as conn, translate_errors("activity event", event.id, record=event):
        conn.execute(_INSERT_ACTIVITY, _ACTIVITY.encode(event))


def get_activity_event(db: Executor, event_id: str) -> ActivityEvent | None:
    """Return the activity event with this id, or None."""
    return fetch_one(db, _ACTIVITY, f"{_SELECT_ACTIVITY} WHERE id = ?", (event_id,))


def get_recent_activity(db: Executor, limit: int) -> list[ActivityEvent]:
    """Return the newest `limit` activity events, newest first."""
    with db.reader() as conn:
        return _ACTIVITY.decode_all(
            conn.execute(_RECENT_ACTIVITY, (_validate.limit(limit),)).fetchall()
        )


def get_recent_activity_since(db: Executor, since: datetime, limit: int) -> list[ActivityEvent]:
    """Return up to `limit` events at or after `since` (an aware instant), newest first.

    `since` is bound as canonical UTC text, so the window is exact to the microsecond.

    Raises:
        InvalidData: `since` is a naive datetime.
    """
    with db.reader() as conn:
        rows = conn.execute(
            _ACTIVITY_SINCE, (ts_text(since, "since"), _validate.limit(limit))
        ).fetchall()
    return _ACTIVITY.decode_all(rows)


def get_recent_activity_by_importance(
    db: Executor, limit: int, min_importance: EventImportance | str
) -> list[ActivityEvent]:
    """Return up to `limit` events at least as important as `min_importance`, newest first.

    Compares the importance rank (low < medium < high < critical), so `HIGH` returns high and
    critical events; the reference compared strings and returned high, low and medium but not
    critical (REFERENCE 11.14). Events without an importance are never returned.

    Raises:
        InvalidData: `min_importance` is not an importance.
    """
    rank = _rank(EventImportance, min_importance)
    return fetch_all(db, _ACTIVITY, _ACTIVITY_BY_IMPORTANCE, (rank, _validate.limit(limit)))


def get_agent_activity(db: Executor, agent_id: str, limit: int) -> list[ActivityEvent]:
    """Return an agent's newest `limit` activity events, newest first."""
    with db.reader() as conn:
        return _ACTIVITY.decode_all(
            conn.execute(_AGENT_ACTIVITY, (agent_id, _validate.limit(limit))).fetchall()
        )


# -- agent summaries ---------------------------------------------------------------------------


def get_agent_summary(db: Executor, agent_id: str) -> AgentSummary | None:
    """Return an agent's summary, or None."""
    return fetch_one(db, _AGENT_SUMMARY, f"{_SELECT_AGENT_SUMMARY} WHERE agent_id = ?", (agent_id,))


def get_all_agent_summaries(db: Executor) -> list[AgentSummary]:
    """Return every agent summary, most recently active first."""
    with db.reader() as conn:
        rows = conn.execute(f"{_SELECT_AGENT_SUMMARY} ORDER BY last_active DESC, agent_id")
        return _AGENT_SUMMARY.decode_all(rows.fetchall())


def upsert_agent_summary(db: Executor, summary: AgentSummary) -> None:
    """Insert an agent's summary, or replace every column of the existing one.

    Raises:
        ConstraintViolation: `agent_id` names no agent.
    """
    with db.writer() as conn, translate_errors("agent summary", summary.agent_id):
        conn.execute(_UPSERT_AGENT_SUMMARY, _AGENT_SUMMARY.encode(summary))


# -- constellation summaries -------------------------------------------------------------------


def create_constellation_summary(db: Executor, summary: ConstellationSummary) -> None:
    """Insert a constellation summary.

    Raises:
        AlreadyExists: a summary with this id exists.
    """
    with db.writer() as conn, translate_errors("constellation summary", summary.id, record=summary):
        conn.execute(_INSERT_CSUMMARY, _CSUMMARY.encode(summary))


def get_constellation_summary(db: Executor, summary_id: str) -> ConstellationSummary | None:
    """Return the constellation summary with this id, or None."""
    return fetch_one(db, _CSUMMARY, f"{_SELECT_CSUMMARY} WHERE id = ?", (summary_id,))


def get_latest_constellation_summary(db: Executor) -> ConstellationSummary | None:
    """Return the summary with the latest `period_end`, or None when there is none."""
    return fetch_one(db, _CSUMMARY, _LIST_CSUMMARIES, (1,))


def list_constellation_summaries(db: Executor, limit: int) -> list[ConstellationSummary]:
    """Return up to `limit` constellation summaries, latest `period_end` first."""
    with db.reader() as conn:
        return _CSUMMARY.decode_all(
            conn.execute(_LIST_CSUMMARIES, (_validate.limit(limit),)).fetchall()
        )


# -- notable events ----------------------------------------------------------------------------


def create_notable_event(db: Executor, event: NotableEvent) -> None:
    """Insert a notable event.

    Raises:
        AlreadyExists: an event with this id exists.
    """
    with db.writer() as conn, translate_errors("notable event", event.id, record=event):
        conn.execute(_INSERT_NOTABLE, _NOTABLE.encode(event))


def get_notable_event(db: Executor, event_id: str) -> NotableEvent | None:
    """Return the notable event with this id, or None."""
    return fetch_one(db, _NOTABLE, f"{_SELECT_NOTABLE} WHERE id = ?", (event_id,))


def get_notable_events(db: Executor, limit: int) -> list[NotableEvent]:
    """Return the newest `limit` notable events, newest first."""
    with db.reader() as conn:
        rows = conn.execute(
            f"{_SELECT_NOTABLE} ORDER BY timestamp DESC, id DESC LIMIT ?", (_validate.limit(limit),)
        )
        return _NOTABLE.decode_all(rows.fetchall())


# -- coordination tasks ------------------------------------------------------------------------


def create_coordination_task(db: Executor, task: CoordinationTask) -> None:
    """Insert a coordination task.

    Raises:
        AlreadyExists: a task with this id exists.
        ConstraintViolation: `assigned_to` names no agent.
    """
    with db.writer() as conn, translate_errors("coordination task", task.id, record=task):
        conn.execute(_INSERT_TASK, _TASK.encode(task))


def get_coordination_task(db: Executor, task_id: str) -> CoordinationTask | None:
    """Return the coordination task with this id, or None."""
    return fetch_one(db, _TASK, f"{_SELECT_TASK} WHERE id = ?", (task_id,))


def get_coordination_tasks_by_status(
    db: Executor, status: TaskStatus | str
) -> list[CoordinationTask]:
    """Return the tasks with this status, most urgent first, then oldest first.

    Orders by priority rank (urgent > high > medium > low); the reference sorted the strings,
    which put urgent, medium, low, high (REFERENCE 11.14).
    """
    with db.reader() as conn:
        status = _validate.enum_value(TaskStatus, status, "task status")
        rows = conn.execute(f"{_SELECT_TASK} WHERE status = ? {_TASK_ORDER}", (status,))
        return _TASK.decode_all(rows.fetchall())


def get_coordination_tasks_for_agent(db: Executor, agent_id: str) -> list[CoordinationTask]:
    """Return the tasks assigned to an agent, most urgent first, then oldest first (by rank)."""
    with db.reader() as conn:
        rows = conn.execute(f"{_SELECT_TASK} WHERE assigned_to = ? {_TASK_ORDER}", (agent_id,))
        return _TASK.decode_all(rows.fetchall())


def update_coordination_task_status(db: Executor, task_id: str, status: TaskStatus | str) -> None:
    """Set a task's status; updated_at becomes now (canonical text, not `datetime('now')`).

    Raises:
        NotFound: no coordination task has this id.
        ConstraintViolation: `status` is not a task status.
    """
    with db.writer() as conn, translate_errors("coordination task", task_id):
        status = _validate.enum_value(TaskStatus, status, "task status")
        conn.execute(_UPDATE_TASK_STATUS, (status, now_ts(), task_id))
        if conn.changes() == 0:
            raise NotFound("coordination task", task_id)


def assign_coordination_task(db: Executor, task_id: str, agent_id: str | None) -> None:
    """Assign a task to an agent (None unassigns it); updated_at becomes now.

    Raises:
        NotFound: no coordination task has this id.
        ConstraintViolation: `agent_id` names no agent.
    """
    write_one(db, _ASSIGN_TASK, (agent_id, now_ts(), task_id), "coordination task", task_id)


def delete_coordination_task(db: Executor, task_id: str) -> bool:
    """Delete a coordination task; return whether it existed."""
    with db.writer() as conn:
        conn.execute("DELETE FROM coordination_tasks WHERE id = ?", (task_id,))
        return conn.changes() > 0


# -- handoff notes -----------------------------------------------------------------------------


def create_handoff(db: Executor, note: HandoffNote) -> None:
    """Insert a handoff note (`to_agent` None is a broadcast to every agent).

    Raises:
        AlreadyExists: a note with this id exists.
        ConstraintViolation: `from_agent` or `to_agent` names no agent.
    """
    with db.writer() as conn, translate_errors("handoff note", note.id, record=note):
        conn.execute(_INSERT_HANDOFF, _HANDOFF.encode(note))


def get_handoff(db: Executor, note_id: str) -> HandoffNote | None:
    """Return the handoff note with this id, or None."""
    return fetch_one(db, _HANDOFF, f"{_SELECT_HANDOFF} WHERE id = ?", (note_id,))


def get_unread_handoffs(db: Executor, agent_id: str) -> list[HandoffNote]:
    """Return the unread notes addressed to an agent or broadcast, oldest first.

    Broadcast semantics are the reference's: a broadcast note has a single `read_at` shared by
    every agent, so once any agent marks it read it is no longer unread for anyone. A targeted
    note whose recipient is deleted becomes a broadcast (ON DELETE SET NULL).
    """
    return fetch_all(db, _HANDOFF, _UNREAD_HANDOFFS, (agent_id,))


def mark_handoff_read(db: Executor, note_id: str) -> None:
    """Mark a note read now; a note already read keeps its first `read_at`.

    The reference overwrote read_at with `datetime('now')` on every call.

    Raises:
        NotFound: no handoff note has this id.
    """
    write_one(db, _MARK_HANDOFF_READ, (now_ts(), note_id), "handoff note", note_id)


# -- coordination state ------------------------------------------------------------------------


def get_state(db: Executor, key: str) -> CoordinationState | None:
    """Return the state entry under `key`, or None."""
    return fetch_one(db, _STATE, _SELECT_STATE, (key,))


def set_state(db: Executor, state: CoordinationState) -> None:
    """Insert or replace the entry under `state.key` (value, updated_at and updated_by)."""
    with db.writer() as conn, translate_errors("coordination state", state.key):
        conn.execute(_UPSERT_STATE, _STATE.encode(state))


def delete_state(db: Executor, key: str) -> bool:
    """Delete the entry under `key`; return whether it existed."""
    with db.writer() as conn:
        conn.execute("DELETE FROM coordination_state WHERE key = ?", (key,))
        return conn.changes() > 0


# The Rust crate's names for the coordination-task functions (`queries.task` holds the person's
# own tasks, `create_user_task` and so on).
create_task = create_coordination_task
get_task = get_coordination_task
get_tasks_by_status = get_coordination_tasks_by_status
get_tasks_for_agent = get_coordination_tasks_for_agent
update_task_status = update_coordination_task_status
assign_task = assign_coordination_task
delete_task = delete_coordination_task
