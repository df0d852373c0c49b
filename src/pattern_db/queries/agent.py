"""Agents, groups and group members: create, look up, list, update, delete."""

from __future__ import annotations

from typing import Any

from pattern_db import _validate
from pattern_db.codec import codec_for, json_text
from pattern_db.connection import Executor, scalar
from pattern_db.errors import InvalidData, NotFound, translate_errors
from pattern_db.models.agent import (
    Agent,
    AgentGroup,
    AgentStatus,
    GroupMember,
    GroupMemberRole,
)
from pattern_db.models.memory import CONSTELLATION_OWNER
from pattern_db.queries._rows import fetch_all, fetch_one, write_one
from pattern_db.timeutil import now_ts

__all__ = [
    "RESERVED_AGENT_IDS",
    "add_group_member",
    "agent_has_capability",
    "agents_share_group",
    "create_agent",
    "create_group",
    "delete_agent",
    "delete_group",
    "get_agent",
    "get_agent_by_name",
    "get_agent_groups",
    "get_group",
    "get_group_by_name",
    "get_group_members",
    "list_agents",
    "list_agents_by_status",
    "list_groups",
    "remove_group_member",
    "update_agent",
    "update_agent_status",
    "update_agent_tool_rules",
    "update_group",
    "update_group_member",
    "update_group_member_capabilities",
    "update_group_member_role",
    "upsert_agent",
    "upsert_group",
    "upsert_group_member",
]

# Owner ids that stand for something other than an agent; no agent may take one, so no agent
# can act as the owner of constellation-wide blocks and entries.
RESERVED_AGENT_IDS = frozenset({CONSTELLATION_OWNER})

_AGENT = codec_for(Agent)
_GROUP = codec_for(AgentGroup)
_MEMBER = codec_for(GroupMember)

_SELECT_AGENT = f"SELECT {_AGENT.column_list} FROM agents"
_KEEP = ("id", "created_at")
_INSERT_AGENT = _AGENT.insert_sql("agents")
_UPSERT_AGENT = f"""{_INSERT_AGENT}
ON CONFLICT(id) DO UPDATE SET {_AGENT.excluded_assignments(exclude=_KEEP)}"""
_UPDATE_AGENT = f"UPDATE agents SET {_AGENT.assignments(exclude=_KEEP)} WHERE id = :id"

_SELECT_GROUP = f"SELECT {_GROUP.column_list} FROM agent_groups"
_INSERT_GROUP = _GROUP.insert_sql("agent_groups")
_UPSERT_GROUP = f"""{_INSERT_GROUP}
ON CONFLICT(id) DO UPDATE SET {_GROUP.excluded_assignments(exclude=_KEEP)}"""
_UPDATE_GROUP = f"UPDATE agent_groups SET {_GROUP.assignments(exclude=_KEEP)} WHERE id = :id"

_SELECT_MEMBER = f"SELECT {_MEMBER.column_list} FROM group_members"
_INSERT_MEMBER = _MEMBER.insert_sql("group_members")
_UPSERT_MEMBER = f"""{_INSERT_MEMBER}
ON CONFLICT(group_id, agent_id) DO UPDATE SET
    role = excluded.role, capabilities = excluded.capabilities"""
_AGENT_HAS_CAPABILITY = """
SELECT EXISTS (
    SELECT 1 FROM group_members
    WHERE agent_id = ?
      AND json_extract(role, '$.type') = 'specialist'
      AND EXISTS (SELECT 1 FROM json_each(capabilities) WHERE value = ?)
)
"""
_AGENTS_SHARE_GROUP = """
SELECT EXISTS (
    SELECT 1 FROM group_members a JOIN group_members b ON a.group_id = b.group_id
    WHERE a.agent_id = ? AND b.agent_id = ?
)
"""


# -- agents ------------------------------------------------------------------------------------


def get_agent(db: Executor, agent_id: str) -> Agent | None:
    """Return the agent with this id, or None."""
    return fetch_one(db, _AGENT, f"{_SELECT_AGENT} WHERE id = ?", (agent_id,))


def get_agent_by_name(db: Executor, name: str) -> Agent | None:
    """Return the agent with this (unique) name, or None."""
    return fetch_one(db, _AGENT, f"{_SELECT_AGENT} WHERE name = ?", (name,))


def list_agents(db: Executor) -> list[Agent]:
    """Return every agent ordered by name."""
    return fetch_all(db, _AGENT, f"{_SELECT_AGENT} ORDER BY name")


def list_agents_by_status(db: Executor, status: AgentStatus | str) -> list[Agent]:
    """Return the agents with this status ordered by name."""
    with db.reader() as conn:
        status = _validate.enum_value(AgentStatus, status, "agent status")
        rows = conn.execute(f"{_SELECT_AGENT} WHERE status = ? ORDER BY name", (status,))
        return _AGENT.decode_all(rows.fetchall())


def create_agent(db: Executor, agent: Agent) -> None:
    """Insert a new agent, every column taken from the record.

    Raises:
        AlreadyExists: an agent with this id or name exists.
        InvalidData: the id is reserved (`_constellation_`).
    """
    _check_not_reserved(agent.id)
    with db.writer() as conn, translate_errors("agent", agent.id, record=agent):
        conn.execute(_INSERT_AGENT, _AGENT.encode(agent))


def upsert_agent(db: Executor, agent: Agent) -> None:
    """Insert the agent, or update every column but id and created_at if the id exists.

    Raises:
        AlreadyExists: another agent already has this name.
        InvalidData: the id is reserved (`_constellation_`).
    """
    _check_not_reserved(agent.id)
    with db.writer() as conn, translate_errors("agent", agent.id, record=agent):
        conn.execute(_UPSERT_AGENT, _AGENT.encode(agent))


def update_agent(db: Executor, agent: Agent) -> None:
    """Write every column of an existing agent except id and created_at; updated_at becomes now.

    Raises:
        NotFound: no agent has this id.
        AlreadyExists: another agent already has the new name.
    """
    params = _AGENT.encode_named(agent)
    params["updated_at"] = now_ts()
    write_one(db, _UPDATE_AGENT, params, "agent", agent.id, record=agent)


def update_agent_status(db: Executor, agent_id: str, status: AgentStatus | str) -> None:
    """Set an agent's status (and updated_at to now).

    Raises:
        NotFound: no agent has this id.
    """
    _update_agent_column(
        db, agent_id, "status", _validate.enum_value(AgentStatus, status, "agent status")
    )


def update_agent_tool_rules(db: Executor, agent_id: str, tool_rules: Any | None) -> None:
    """Set an agent's tool rules (JSON, or None for NULL) and updated_at to now.

    Raises:
        NotFound: no agent has this id.
    """
    _update_agent_column(db, agent_id, "tool_rules", _json_or_null(tool_rules))


_AGENT_COLUMN_UPDATES = {
    column: f"UPDATE agents SET {column} = ?, updated_at = ? WHERE id = ?"
    for column in ("status", "tool_rules")
}


def _update_agent_column(db: Executor, agent_id: str, column: str, value: Any) -> None:
    with db.writer() as conn, translate_errors("agent", agent_id):
        conn.execute(_AGENT_COLUMN_UPDATES[column], (value, now_ts(), agent_id))
        if conn.changes() == 0:
            raise NotFound("agent", agent_id)


def delete_agent(db: Executor, agent_id: str) -> bool:
    """Delete an agent; return whether it existed.

    Cascades to its messages, memberships, summaries, attachments, handoffs sent and queued
    messages; sets agent_id to NULL on its tasks, events, activity and coordination tasks; leaves
    its memory blocks and archival entries in place.
    """
    with db.writer() as conn, translate_errors("agent", agent_id):
        conn.execute("DELETE FROM agents WHERE id = ?", (agent_id,))
        return conn.changes() > 0


# -- groups ------------------------------------------------------------------------------------


def get_group(db: Executor, group_id: str) -> AgentGroup | None:
    """Return the group with this id, or None."""
    return fetch_one(db, _GROUP, f"{_SELECT_GROUP} WHERE id = ?", (group_id,))


def get_group_by_name(db: Executor, name: str) -> AgentGroup | None:
    """Return the group with this (unique) name, or None."""
    return fetch_one(db, _GROUP, f"{_SELECT_GROUP} WHERE name = ?", (name,))


def list_groups(db: Executor) -> list[AgentGroup]:
    """Return every group ordered by name."""
    return fetch_all(db, _GROUP, f"{_SELECT_GROUP} ORDER BY name")


def create_group(db: Executor, group: AgentGroup) -> None:
    """Insert a new group.

    Raises:
        AlreadyExists: a group with this id or name exists.
    """
    with db.writer() as conn, translate_errors("group", group.id, record=group):
        conn.execute(_INSERT_GROUP, _GROUP.encode(group))


def upsert_group(db: Executor, group: AgentGroup) -> None:
    """Insert the group, or update every column but id and created_at if the id exists.

    Raises:
        AlreadyExists: another group already has this name.
    """
    with db.writer() as conn, translate_errors("group", group.id, record=group):
        conn.execute(_UPSERT_GROUP, _GROUP.encode(group))


def update_group(db: Executor, group: AgentGroup) -> None:
    """Write every column of an existing group except id and created_at; updated_at becomes now.

    Raises:
        NotFound: no group has this id.
    """
    params = _GROUP.encode_named(group)
    params["updated_at"] = now_ts()
    write_one(db, _UPDATE_GROUP, params, "group", group.id, record=group)


def delete_group(db: Executor, group_id: str) -> bool:
    """Delete a group and its memberships in one transaction; return whether it existed."""
    with db.writer() as conn:
        conn.execute("DELETE FROM group_members WHERE group_id = ?", (group_id,))
        conn.execute("DELETE FROM agent_groups WHERE id = ?", (group_id,))
        return conn.changes() > 0


# -- members -----------------------------------------------------------------------------------


def get_group_members(db: Executor, group_id: str) -> list[GroupMember]:
    """Return a group's members in the order they joined."""
    with db.reader() as conn:
        rows = conn.execute(
            f"{_SELECT_MEMBER} WHERE group_id = ? ORDER BY joined_at, agent_id", (group_id,)
        )
        return _MEMBER.decode_all(rows.fetchall())


def add_group_member(db: Executor, member: GroupMember) -> None:
    """Add an agent to a group.

    Raises:
        AlreadyExists: the agent is already a member.
        ConstraintViolation: the group or the agent does not exist.
    """
    with db.writer() as conn, translate_errors("group member", _member_key(member)):
        conn.execute(_INSERT_MEMBER, _MEMBER.encode(member))


def upsert_group_member(db: Executor, member: GroupMember) -> None:
    """Add a member, or update its role and capabilities (joined_at is kept).

    Raises:
        ConstraintViolation: the group or the agent does not exist.
    """
    with db.writer() as conn, translate_errors("group member", _member_key(member)):
        conn.execute(_UPSERT_MEMBER, _MEMBER.encode(member))


def remove_group_member(db: Executor, group_id: str, agent_id: str) -> bool:
    """Remove an agent from a group; return whether it was a member."""
    with db.writer() as conn:
        conn.execute(
            "DELETE FROM group_members WHERE group_id = ? AND agent_id = ?", (group_id, agent_id)
        )
        return conn.changes() > 0


def update_group_member_role(
    db: Executor, group_id: str, agent_id: str, role: GroupMemberRole | None
) -> None:
    """Set a member's role (None clears it).

    Raises:
        NotFound: the agent is not a member of the group.
    """
    _update_member(db, group_id, agent_id, "role = ?", (_json_or_null(role),))


def update_group_member_capabilities(
    db: Executor, group_id: str, agent_id: str, capabilities: list[str]
) -> None:
    """Set a member's capabilities.

    Raises:
        NotFound: the agent is not a member of the group.
    """
    _update_member(db, group_id, agent_id, "capabilities = ?", (json_text(capabilities),))


def update_group_member(
    db: Executor,
    group_id: str,
    agent_id: str,
    role: GroupMemberRole | None,
    capabilities: list[str],
) -> None:
    """Set a member's role and capabilities together.

    Raises:
        NotFound: the agent is not a member of the group.
    """
    _update_member(
        db,
        group_id,
        agent_id,
        "role = ?, capabilities = ?",
        (_json_or_null(role), json_text(capabilities)),
    )


def _update_member(
    db: Executor, group_id: str, agent_id: str, assignments: str, values: tuple[Any, ...]
) -> None:
    # `assignments` is one of three literals above, never caller text.
    sql = f"UPDATE group_members SET {assignments} WHERE group_id = ? AND agent_id = ?"
    write_one(db, sql, (*values, group_id, agent_id), "group member", f"{group_id}/{agent_id}")


def get_agent_groups(db: Executor, agent_id: str) -> list[AgentGroup]:
    """Return the groups an agent belongs to, ordered by name."""
    sql = f"""
    SELECT {_GROUP.select_list("g")} FROM agent_groups g
    JOIN group_members m ON m.group_id = g.id
    WHERE m.agent_id = ? ORDER BY g.name
    """
    return fetch_all(db, _GROUP, sql, (agent_id,))


def agent_has_capability(db: Executor, agent_id: str, capability: str) -> bool:
    """Return True if any membership gives the agent a specialist role listing `capability`.

    Supervisor, regular and observer roles never count.
    """
    with db.reader() as conn:
        return bool(scalar(conn, _AGENT_HAS_CAPABILITY, (agent_id, capability)))


def agents_share_group(db: Executor, agent_a: str, agent_b: str) -> bool:
    """Return True if the two agents are members of a common group (symmetric)."""
    with db.reader() as conn:
        return bool(scalar(conn, _AGENTS_SHARE_GROUP, (agent_a, agent_b)))


def _json_or_null(value: Any | None) -> str | None:
    return None if value is None else json_text(value)


def _member_key(member: GroupMember) -> str:
    return f"{member.group_id}/{member.agent_id}"


def _check_not_reserved(agent_id: str) -> None:
    if agent_id in RESERVED_AGENT_IDS:
        raise InvalidData(
            f"agent id {agent_id!r} is reserved (it owns the constellation-wide blocks and "
            "archival entries); give the agent another id"
        )
